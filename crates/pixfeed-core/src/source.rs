//! Where image bytes come from: a file path or caller-owned memory.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Files at least this large are memory-mapped instead of read, so that region decodes
/// (BMP rows, the top of a JPEG) only fault in the pages they touch.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// A borrowed image source.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Path(&'a Path),
    Bytes(&'a [u8]),
}

impl Source<'_> {
    /// The name used in error messages: the path, or `<bytes>`.
    pub fn name(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Bytes(_) => "<bytes>".to_string(),
        }
    }
}

fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        err,
    }
}

fn is_a_directory() -> std::io::Error {
    // EISDIR, so Python sees the same errno and message as open() gives.
    #[cfg(target_os = "linux")]
    {
        std::io::Error::from_raw_os_error(21)
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::io::Error::new(std::io::ErrorKind::IsADirectory, "Is a directory")
    }
}

/// Run `f` over the source's bytes: memory as is, small files read whole, large files mapped.
pub fn with_bytes<R>(source: Source<'_>, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    match source {
        Source::Bytes(b) => f(b),
        Source::Path(path) => {
            let file = File::open(path).map_err(|e| io_error(path, e))?;
            let meta = file.metadata().map_err(|e| io_error(path, e))?;
            if meta.is_dir() {
                return Err(io_error(path, is_a_directory()));
            }
            if meta.len() >= MMAP_THRESHOLD {
                // SAFETY: the map is read-only and lives only for this call. A file truncated by
                // another process while mapped could fault (SIGBUS); that is the same contract as
                // Pillow's and OpenCV's mapped readers, and documented in the README.
                let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io_error(path, e))?;
                f(&map)
            } else {
                let mut buf = Vec::with_capacity(meta.len() as usize);
                std::io::Read::read_to_end(&mut &file, &mut buf).map_err(|e| io_error(path, e))?;
                f(&buf)
            }
        }
    }
}
