//! Where image bytes come from: a file path, a member of a file (a tar shard's image: the
//! byte range `offset..offset + size` of the file) or caller-owned memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::FileExt;
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
    /// `size` bytes at `offset` in the file at `path`, read alone (nothing else of the file).
    Member {
        path: &'a Path,
        offset: u64,
        size: u64,
    },
}

impl Source<'_> {
    /// The name used in error messages: the path, or `<bytes>`.
    pub fn name(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Bytes(_) => "<bytes>".to_string(),
            Source::Member { path, offset, .. } => format!("{} @ offset {offset}", path.display()),
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

/// Open `path` as a regular file and give its size. A directory is EISDIR (as Python's
/// `open` says); a FIFO, socket or device is an error too: reading one never ends
/// (`/dev/zero`) or waits for a writer (a FIFO), which would hang the batch. The file is
/// opened non-blocking so that opening a FIFO with no writer returns at once (regular files
/// ignore the flag).
pub(crate) fn open(path: &Path) -> Result<(File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(io_error(path, is_a_directory()));
    }
    if !meta.is_file() {
        return Err(io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a FIFO, socket or device)",
            ),
        ));
    }
    Ok((file, meta.len()))
}

/// What changes when another process writes or truncates the file (size, mtime, ctime).
fn stamp(path: &Path, file: &File) -> Result<(u64, i64, i64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = file.metadata().map_err(|e| io_error(path, e))?;
    Ok((
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    ))
}

/// Run `read_once` (which reads the file into memory) until the file did not change while
/// it ran: a read racing another process's truncation and rewrite can copy the zeros the
/// kernel leaves in the page where the file was cut, then the rewritten rest, i.e. a
/// complete-looking but torn file. Retried once; a file still changing is an error.
pub(crate) fn consistent<T>(
    path: &Path,
    file: &File,
    mut read_once: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut before = stamp(path, file)?;
    for _ in 0..2 {
        let out = read_once()?;
        let after = stamp(path, file)?;
        if after == before {
            return Ok(out);
        }
        before = after;
    }
    Err(io_error(
        path,
        std::io::Error::other("the file changed while it was being read"),
    ))
}

/// Read at most `limit` bytes of `file` (whose size was `len` when opened) into memory.
///
/// Files are read, never memory-mapped: a mapped file that another process truncates
/// faults (SIGBUS) when a decoder touches a page past the new end, which kills the
/// interpreter. A read sees the file as it is at that moment: cut short, it decodes as
/// truncated data (a typed error), never a signal.
fn read(path: &Path, file: &File, len: u64, limit: u64) -> Result<Vec<u8>> {
    consistent(path, file, || read_once(path, file, len, limit))
}

/// An empty buffer with room for `want` bytes of `path` (`what` names them in the error).
/// The size comes from outside: allocation failure is an error, not an abort.
fn room(path: &Path, want: u64, what: impl FnOnce() -> String) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(usize::try_from(want).unwrap_or(usize::MAX))
        .map_err(|_| {
            io_error(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!("cannot hold the {} in memory", what()),
                ),
            )
        })?;
    Ok(buf)
}

fn read_once(path: &Path, file: &File, len: u64, limit: u64) -> Result<Vec<u8>> {
    let mut buf = room(path, len.min(limit), || format!("{len}-byte file"))?;
    let mut f = file;
    f.seek(SeekFrom::Start(0)).map_err(|e| io_error(path, e))?;
    f.take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(path, e))?;
    Ok(buf)
}

/// Files at least this large may be read sparsely (see [`with_ranges`]).
const SPARSE_MIN: u64 = 1 << 20;
/// What [`with_ranges`] reads first: headers (and a BMP palette) fit.
const HEAD: u64 = 4 << 10;

/// Sparse buffers up to this size are kept per thread for the next file: the pages a
/// decode touched stay mapped (re-zeroed), so the next file's rows are copied, not faulted in.
const REUSE_MAX: usize = 64 << 20;

std::thread_local! {
    static SPARE: std::cell::RefCell<Option<memmap2::MmapMut>> = const { std::cell::RefCell::new(None) };
}

/// A zero-filled buffer of at least `n` bytes: this thread's spare one when large enough,
/// else fresh anonymous memory (pages zeroed by the OS when first touched), which no other
/// process can truncate (unlike a mapped file). `None` when it cannot be had (the caller
/// then reads the whole file, never aborts).
fn lazy_zeroed(n: usize) -> Option<memmap2::MmapMut> {
    let spare = SPARE.with(|s| s.borrow_mut().take());
    match spare {
        Some(m) if m.len() >= n => Some(m),
        _ => memmap2::MmapMut::map_anon(n.max(1)).ok(),
    }
}

/// Zero what a sparse read filled (the head and the ranges, below `n`) and keep the buffer
/// for this thread's next file.
fn give_back(mut map: memmap2::MmapMut, head: usize, ranges: &[Range<u64>], n: usize) {
    if map.len() > REUSE_MAX {
        return;
    }
    map[..head].fill(0);
    for r in ranges {
        // Offsets below `n <= map.len()`, which fits in usize.
        let (a, b) = (r.start.min(n as u64) as usize, r.end.min(n as u64) as usize);
        map[a..b].fill(0);
    }
    SPARE.with(|s| *s.borrow_mut() = Some(map));
}

/// Like [`with_bytes`], but for a large file `plan` may name, from the file's first
/// [`HEAD`] bytes, the ranges of offsets beyond them that `f` will read (a BMP region's rows):
/// only those are read from disk, the rest of the buffer `f` sees is zeros. A file found
/// shorter than its size while reading (truncated meanwhile) ends where the data ended, so
/// `f` sees the truncation, never zeros in its place.
pub fn with_ranges<R>(
    source: Source<'_>,
    plan: impl FnOnce(&[u8]) -> Option<Vec<Range<u64>>>,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    let Source::Path(path) = source else {
        return with_bytes(source, f);
    };
    let (file, len) = open(path)?;
    if len >= SPARSE_MIN {
        let head = read(path, &file, len, HEAD)?;
        let ranges = plan(&head).filter(|rs| {
            rs.windows(2).all(|w| w[0].end <= w[1].start)
                && rs.iter().all(|r| r.start <= r.end && r.end <= len)
        });
        if let Some(ranges) = ranges {
            let sparse = consistent(path, &file, || {
                read_sparse(path, &file, len, &head, &ranges)
            })?;
            if let Some((map, n)) = sparse {
                let out = f(&map[..n]);
                give_back(map, head.len().min(n), &ranges, n);
                return out;
            }
        }
    }
    f(&read(path, &file, len, u64::MAX)?)
}

/// A `len`-byte image of the file holding `head` and the bytes of `ranges` (ascending,
/// disjoint), zeros elsewhere, and how many of its bytes are the file's (fewer than `len`
/// where the file ended early). `Ok(None)`: no such buffer could be allocated.
fn read_sparse(
    path: &Path,
    file: &File,
    len: u64,
    head: &[u8],
    ranges: &[Range<u64>],
) -> Result<Option<(memmap2::MmapMut, usize)>> {
    let Some(mut buf) = usize::try_from(len).ok().and_then(lazy_zeroed) else {
        return Ok(None);
    };
    let n = head.len();
    buf[..n].copy_from_slice(head);
    if (n as u64) < HEAD.min(len) {
        // The file ended inside the head (it shrank since it was measured).
        return Ok(Some((buf, n)));
    }
    for r in ranges {
        let start = r.start.max(n as u64);
        if start >= r.end {
            continue;
        }
        // In range: start < end <= len, which fits in usize (buf has len bytes or more).
        let dst = &mut buf[start as usize..r.end as usize];
        let mut done = 0;
        while done < dst.len() {
            match file.read_at(&mut dst[done..], start + done as u64) {
                Ok(0) => return Ok(Some((buf, start as usize + done))),
                Ok(k) => done += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(path, e)),
            }
        }
    }
    Ok(Some((buf, len as usize)))
}

/// Read at most `limit` bytes of the member at `offset..offset + size` of the file at `path`
/// (read, never mapped, with the same re-check as a whole file). A member that runs past the
/// file's end (the file shrank since it was indexed) is an `Error::Shard` at its offset.
fn read_member(path: &Path, offset: u64, size: u64, limit: u64) -> Result<Vec<u8>> {
    let (file, len) = open(path)?;
    let past_end = |len: u64| Error::Shard {
        kind: crate::DecodeErrorKind::Truncated,
        offset,
        reason: format!(
            "the member's {size} bytes at offset {offset} run past the end of the file \
                 ({len} bytes): the shard changed since it was indexed"
        ),
    };
    if offset.checked_add(size).map_or(true, |end| end > len) {
        return Err(past_end(len));
    }
    let want = size.min(limit);
    consistent(path, &file, || {
        let mut buf = room(path, want, || format!("{want}-byte member"))?;
        buf.resize(want as usize, 0);
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => return Err(past_end(offset + done as u64)),
                Ok(k) => done += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(path, e)),
            }
        }
        Ok(buf)
    })
}

/// Run `f` over the source's bytes: memory as is, files and members read whole.
pub fn with_bytes<R>(source: Source<'_>, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    match source {
        Source::Bytes(b) => f(b),
        Source::Member { path, offset, size } => f(&read_member(path, offset, size, u64::MAX)?),
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
        Source::Member { path, offset, size } => {
            let buf = read_member(path, offset, size, PROBE_PREFIX)?;
            match f(&buf) {
                Err(_) if size > PROBE_PREFIX => f(&read_member(path, offset, size, u64::MAX)?),
                r => r,
            }
        }
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
