//! Where image bytes come from: a file path or caller-owned memory.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// `probe` reads this much of a file first (headers: EXIF, ICC and the like fit), and the
/// whole file only when the headers go on past it.
const PROBE_PREFIX: u64 = 1 << 20;

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

/// Open `path` as a regular file (a directory is EISDIR, as Python's `open` says).
fn open(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(io_error(path, is_a_directory()));
    }
    Ok((file, meta.len()))
}

/// Read at most `limit` bytes of `file` (whose size was `len` when opened) into memory.
///
/// Files are read, never memory-mapped: a mapped file that another process truncates
/// faults (SIGBUS) when a decoder touches a page past the new end, which kills the
/// interpreter. A read sees the file as it is at that moment: cut short, it decodes as
/// truncated data (a typed error), never a signal.
fn read(path: &Path, file: &File, len: u64, limit: u64) -> Result<Vec<u8>> {
    let want = len.min(limit);
    let mut buf = Vec::new();
    // The size comes from outside: allocation failure is an error, not an abort.
    buf.try_reserve_exact(usize::try_from(want).unwrap_or(usize::MAX))
        .map_err(|_| {
            io_error(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!("cannot hold the {len}-byte file in memory"),
                ),
            )
        })?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit), &mut buf)
        .map_err(|e| io_error(path, e))?;
    Ok(buf)
}

/// Run `f` over the source's bytes: memory as is, files read whole.
pub fn with_bytes<R>(source: Source<'_>, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    match source {
        Source::Bytes(b) => f(b),
        Source::Path(path) => {
            let (file, len) = open(path)?;
            let buf = read(path, &file, len, u64::MAX)?;
            f(&buf)
        }
    }
}

/// Like [`with_bytes`] for header-only work: `f` first sees the file's first
/// [`PROBE_PREFIX`] bytes, and the whole file only if that fails on a cut prefix.
pub fn with_prefix<R>(source: Source<'_>, f: impl Fn(&[u8]) -> Result<R>) -> Result<R> {
    match source {
        Source::Bytes(b) => f(b),
        Source::Path(path) => {
            let (file, len) = open(path)?;
            let buf = read(path, &file, len, PROBE_PREFIX)?;
            let first = f(&buf);
            let cut = buf.len() as u64 == PROBE_PREFIX;
            match first {
                // Any error from a cut prefix may be the cut's: decide on the whole file.
                Err(_) if cut => {
                    drop(buf);
                    let (file, len) = open(path)?;
                    f(&read(path, &file, len, u64::MAX)?)
                }
                r => r,
            }
        }
    }
}
