//! `pixfeed.scan`: the files under a folder whose extension is in a set, sorted.
//!
//! # How
//! A parallel walk: every folder is one job on the pool (`rayon::scope` + `spawn`), so
//! sibling folders are read concurrently, and the walk never recurses on a thread's stack
//! (a deep tree cannot overflow it). On Linux a folder is read with raw `getdents64` into a
//! per-folder buffer (rustix's `RawDir`): entries are classified from the listing's `d_type`
//! and names are copied once, into one byte arena per folder, with no allocation and no
//! `stat` per entry (`std::fs::read_dir` allocates two strings per entry, and its
//! `DirEntry::path` a third). Only symlinks (and entries of unknown type) are `stat`ed.
//!
//! Sorting: each folder sorts its own entries, a sub-folder keyed as its name followed by
//! `/`. Concatenating the folders depth-first in that order gives exactly the byte order of
//! the full paths (two paths first differ inside the names of two siblings, or where one name
//! ends: there a folder continues with `/` and a file ends the string), so no global sort of
//! long, prefix-sharing strings is needed. The result keeps the folders; a cursor
//! ([`ScanOutput::paths`]) writes each full path into the caller's buffer in turn, so the
//! binding makes the Python strings without any intermediate list of paths.
//!
//! Why not `jwalk` (or `walkdir` + rayon): both sit on `std::fs::read_dir` (the per-entry
//! allocations above), build a rich entry per file, and leave the global sort to us; on the
//! benchmark tree jwalk is slower than this walker even before the Python list is made.
//! `benchmarks/io_bench.py` compares it with Python's `os.scandir`, `os.walk` and `glob`;
//! figures in benchmarks/RESULTS.md.
//!
//! # Semantics (those of Python's `os.walk`, `followlinks=False` by default)
//! - a symlink to a file is listed like a file; a symlink to a folder is not listed, and is
//!   descended only with `follow_symlinks`; a broken symlink is listed like a file (`os.walk`
//!   puts it among the files too);
//! - every non-folder counts as a file (fifos and sockets too, as in `os.walk`);
//! - hidden files and folders are included;
//! - a file's extension is what `os.path.splitext` returns (after the last dot, leading dots of
//!   the name ignored: `.jpg` has none, `a.tar.gz` has `gz`), compared case-insensitively;
//! - with `follow_symlinks`, a folder that is already an ancestor of the current path (same
//!   device and inode) is not entered again, so symlink cycles end (as `find -L`); a folder
//!   reached through two different paths is listed under both;
//! - a path is `root` joined to the names by `/` as `os.path.join` does, `root` as given.
//!
//! # Errors
//! The root must be a readable folder, else the walk fails with `Error::Io` naming it. A
//! folder below it that cannot be read (permission denied, removed meanwhile) does not stop
//! the walk: it is reported in `ScanOutput::errors`, sorted by path; the caller applies its
//! policy.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{pool, Error, Result};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Extensions without the dot (`"jpg"`, any case); `None` lists every file.
    pub extensions: Option<Vec<String>>,
    /// Descend into sub-folders.
    pub recursive: bool,
    /// Descend into symlinked folders (cycles are cut, see the module docs).
    pub follow_symlinks: bool,
}

/// The walk's result: the listed folders, walked in order by [`ScanOutput::paths`].
#[derive(Default)]
pub struct ScanOutput {
    folders: Vec<Option<Folder>>,
    count: usize,
    /// Folders that could not be read, sorted by path, with why.
    pub errors: Vec<(PathBuf, io::Error)>,
}

impl ScanOutput {
    /// The number of matching files.
    pub fn len(&self) -> usize {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The matching files' paths, sorted by their bytes, made one at a time (no list of
    /// paths is ever built here). Where every path is UTF-8 that
    /// is also Unicode code point order, Python's order of `str`; names that are not UTF-8
    /// decode to surrogates in Python, which sort differently: the caller sorts those again.
    pub fn paths(&self) -> Paths<'_> {
        Paths {
            folders: &self.folders,
            stack: vec![(0, 0)],
            remaining: self.count,
            buf: Vec::with_capacity(256),
            prefix: None,
        }
    }
    /// All the paths, for callers that want them owned.
    pub fn to_vec(&self) -> Vec<PathBuf> {
        let mut out = Vec::with_capacity(self.count);
        let mut paths = self.paths();
        while let Some(p) = paths.next_path() {
            out.push(path_of(p.to_vec()));
        }
        out
    }
}

impl std::fmt::Debug for ScanOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOutput")
            .field("len", &self.count)
            .field("errors", &self.errors)
            .finish()
    }
}

/// A cursor over the sorted paths: the folders depth-first, each in its sorted order (see
/// the module docs). Each path is written into the cursor's own buffer, where the folder's
/// part stays from one file to the next.
pub struct Paths<'a> {
    folders: &'a [Option<Folder>],
    stack: Vec<(usize, usize)>, // (folder, next item)
    remaining: usize,
    buf: Vec<u8>,
    /// The folder whose path (and separator) `buf` starts with, and that prefix's length.
    prefix: Option<(usize, usize)>,
}

impl Paths<'_> {
    /// Paths not yet returned.
    pub fn remaining(&self) -> usize {
        self.remaining
    }
    /// The next path's bytes (`OsStr::as_encoded_bytes`), or None after the last.
    pub fn next_path(&mut self) -> Option<&[u8]> {
        while let Some(top) = self.stack.last_mut() {
            let index = top.0;
            let Some(folder) = self.folders.get(index).and_then(Option::as_ref) else {
                self.stack.pop();
                continue;
            };
            let Some(item) = folder.items.get(top.1) else {
                self.stack.pop();
                continue;
            };
            top.1 += 1;
            if let Some(child) = item.child {
                self.stack.push((child, 0));
                continue;
            }
            match self.prefix {
                Some((f, len)) if f == index => self.buf.truncate(len),
                _ => {
                    self.buf.clear();
                    self.buf.extend_from_slice(&folder.path);
                    if !folder.path.ends_with(b"/") {
                        self.buf.push(b'/');
                    }
                    self.prefix = Some((index, self.buf.len()));
                }
            }
            self.buf.extend_from_slice(folder.name(item));
            self.remaining -= 1;
            return Some(&self.buf);
        }
        None
    }
}

/// The extension set, matched without allocating per entry.
struct Extensions {
    /// ASCII extensions of up to 8 bytes, lowercase, packed into a zero-padded `u64` (names
    /// hold no zero byte, so the padding also tells the length): one integer compare each.
    short: Vec<u64>,
    /// Longer ASCII extensions, lowercase.
    long: Vec<Vec<u8>>,
    /// Non-ASCII extensions, lowercased as Python's `str.lower()`.
    other: Vec<String>,
}

/// An ASCII extension of at most 8 bytes, lowercased, as an integer.
fn pack_lower(ext: &[u8]) -> Option<u64> {
    if ext.len() > 8 {
        return None;
    }
    let mut v = 0u64;
    for (i, b) in ext.iter().enumerate() {
        v |= u64::from(b.to_ascii_lowercase()) << (8 * i);
    }
    Some(v)
}

impl Extensions {
    fn new(exts: &[String]) -> Result<Self> {
        let (mut short, mut long, mut other) = (Vec::new(), Vec::new(), Vec::new());
        for e in exts {
            if e.is_empty() || e.contains(['.', '/', '\0']) {
                return Err(Error::invalid(
                    "extensions",
                    format!("{e:?} is not a file extension"),
                ));
            }
            if !e.is_ascii() {
                other.push(e.to_lowercase());
            } else if let Some(packed) = pack_lower(e.as_bytes()) {
                short.push(packed);
            } else {
                long.push(e.to_ascii_lowercase().into_bytes());
            }
        }
        Ok(Extensions { short, long, other })
    }

    fn matches(&self, name: &[u8]) -> bool {
        let Some(ext) = extension(name) else {
            return false;
        };
        if ext.is_ascii() {
            return match pack_lower(ext) {
                Some(packed) => self.short.contains(&packed),
                None => self.long.iter().any(|e| e.eq_ignore_ascii_case(ext)),
            };
        }
        // Rare: Unicode lowercasing, as Python's `str.lower()` (it may change the length, so
        // compared as text; a name that is not UTF-8 never matches a non-ASCII extension).
        !self.other.is_empty()
            && std::str::from_utf8(ext).is_ok_and(|s| self.other.contains(&s.to_lowercase()))
    }
}

/// A file name's extension as `os.path.splitext` sees it: after the last dot, unless all that
/// precedes that dot is dots (`.bashrc`, `..x` have none).
fn extension(name: &[u8]) -> Option<&[u8]> {
    let dot = name.iter().rposition(|&b| b == b'.')?;
    if name[..dot].iter().all(|&b| b == b'.') {
        return None;
    }
    Some(&name[dot + 1..])
}

/// What an entry is, through a symlink when it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir { via_symlink: bool },
}

/// A folder's identity (device, inode), to cut symlink cycles.
type DirId = (u64, u64);

/// The folders on the current path, innermost first.
struct Ancestor {
    id: DirId,
    parent: Option<Arc<Ancestor>>,
}

/// Whether a reader must identify the folder and refuse an ancestor (`follow_symlinks`).
#[derive(Clone, Copy)]
enum Guard<'a> {
    Off,
    /// Below these ancestors (None: the root).
    Below(Option<&'a Ancestor>),
}

/// What reading a folder gave.
#[derive(Debug, PartialEq, Eq)]
enum Listing {
    /// Entries were visited; the folder's identity when guarded.
    Read(Option<DirId>),
    /// The folder is one of its ancestors: not read.
    Cycle,
}

impl Guard<'_> {
    fn admit(self, id: impl FnOnce() -> io::Result<DirId>) -> io::Result<Option<Listing>> {
        match self {
            Guard::Off => Ok(None),
            Guard::Below(anc) => {
                let id = id()?;
                if anc.is_some_and(|a| a.contains(id)) {
                    Ok(Some(Listing::Cycle))
                } else {
                    Ok(Some(Listing::Read(Some(id))))
                }
            }
        }
    }
}

impl Ancestor {
    fn contains(&self, id: DirId) -> bool {
        let mut cur = Some(self);
        while let Some(a) = cur {
            if a.id == id {
                return true;
            }
            cur = a.parent.as_deref();
        }
        false
    }
}

/// Reading one folder: `visit(name, kind)` for every entry but `.` and `..` (after `guard`
/// admitted the folder). An error after some entries were visited (an I/O error
/// mid-listing) is returned too: the caller keeps what was visited.
#[cfg(target_os = "linux")]
mod backend {
    use super::{Guard, Kind, Listing};
    use rustix::fs::{open, statat, AtFlags, FileType, Mode, OFlags, RawDir};
    use std::io;
    use std::path::Path;

    /// getdents64 buffer: one call reads a folder of ~500 typical entries.
    const BUF: usize = 32 * 1024;

    pub fn read_folder(
        dir: &Path,
        guard: Guard<'_>,
        visit: &mut dyn FnMut(&[u8], Kind),
    ) -> io::Result<Listing> {
        let fd = open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let listing = match guard.admit(|| {
            let st = rustix::fs::fstat(&fd)?;
            Ok((st.st_dev, st.st_ino))
        })? {
            Some(Listing::Cycle) => return Ok(Listing::Cycle),
            Some(read) => read,
            None => Listing::Read(None),
        };
        let mut buf: Vec<u8> = Vec::with_capacity(BUF);
        let mut entries = RawDir::new(&fd, buf.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name();
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Directory => Kind::Dir { via_symlink: false },
                FileType::Symlink => resolve_symlink(&fd, name),
                FileType::Unknown => match statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                        FileType::Directory => Kind::Dir { via_symlink: false },
                        FileType::Symlink => resolve_symlink(&fd, name),
                        _ => Kind::File,
                    },
                    // Gone since the listing: `os.walk` would list it as a file.
                    Err(_) => Kind::File,
                },
                _ => Kind::File,
            };
            visit(bytes, kind);
        }
        Ok(listing)
    }

    /// `os.walk`'s rule: a folder if the target is one; a broken link is a file.
    fn resolve_symlink(dir: &rustix::fd::OwnedFd, name: &std::ffi::CStr) -> Kind {
        match statat(dir, name, AtFlags::empty()) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                Kind::Dir { via_symlink: true }
            }
            _ => Kind::File,
        }
    }
}

/// The portable reader, on `std::fs::read_dir`. Used where there is no `getdents64`, and
/// compiled in the tests so that both readers are checked against each other.
#[cfg(any(test, not(target_os = "linux")))]
mod portable {
    use super::{DirId, Guard, Kind, Listing};
    use std::fs;
    use std::io;
    use std::path::Path;

    pub fn read_folder(
        dir: &Path,
        guard: Guard<'_>,
        visit: &mut dyn FnMut(&[u8], Kind),
    ) -> io::Result<Listing> {
        let entries = fs::read_dir(dir)?;
        let listing = match guard.admit(|| Ok(dir_id(&fs::metadata(dir)?)))? {
            Some(Listing::Cycle) => return Ok(Listing::Cycle),
            Some(read) => read,
            None => Listing::Read(None),
        };
        for entry in entries {
            let entry = entry?;
            let kind = match entry.file_type() {
                Ok(ft) if ft.is_dir() => Kind::Dir { via_symlink: false },
                Ok(ft) if ft.is_symlink() => match fs::metadata(entry.path()) {
                    Ok(m) if m.is_dir() => Kind::Dir { via_symlink: true },
                    _ => Kind::File,
                },
                _ => Kind::File,
            };
            visit(entry.file_name().as_encoded_bytes(), kind);
        }
        Ok(listing)
    }

    #[cfg(unix)]
    fn dir_id(meta: &fs::Metadata) -> DirId {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }

    #[cfg(not(unix))]
    fn dir_id(meta: &fs::Metadata) -> DirId {
        // No inode numbers here: identify by creation time and size (cycles through
        // symlinks are rare outside unix; the OS's path length limit still ends them).
        let t = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        (t.map_or(0, |d| d.as_nanos() as u64), meta.len())
    }
}

type ReadFolder = fn(&Path, Guard<'_>, &mut dyn FnMut(&[u8], Kind)) -> io::Result<Listing>;

#[cfg(target_os = "linux")]
const READ_FOLDER: ReadFolder = backend::read_folder;
#[cfg(not(target_os = "linux"))]
const READ_FOLDER: ReadFolder = portable::read_folder;

/// A kept entry of a folder.
#[derive(Clone, Copy)]
struct Item {
    /// The first 8 bytes of the sort key (the name, `/` appended for a sub-folder), big
    /// endian, zero-padded (names hold no zero byte): most comparisons end here.
    head: u64,
    /// The name's range in `Folder::names`.
    start: usize,
    end: usize,
    /// A sub-folder's index in `Walker::folders`; None for a file.
    child: Option<usize>,
}

/// One listed folder: its path, the names of its kept entries in one arena, and those
/// entries sorted (files, and sub-folders pointing at their own `Folder`).
#[derive(Default)]
struct Folder {
    path: Vec<u8>,
    names: Vec<u8>,
    items: Vec<Item>,
}

impl Folder {
    fn name(&self, item: &Item) -> &[u8] {
        &self.names[item.start..item.end]
    }

    fn push(&mut self, name: &[u8], child: Option<usize>) {
        let mut head = [0u8; 8];
        let n = name.len().min(8);
        head[..n].copy_from_slice(&name[..n]);
        if child.is_some() && name.len() < 8 {
            head[name.len()] = b'/';
        }
        let start = self.names.len();
        self.names.extend_from_slice(name);
        self.items.push(Item {
            head: u64::from_be_bytes(head),
            start,
            end: self.names.len(),
            child,
        });
    }

    /// Sort as the full paths will sort: a sub-folder's name as if followed by `/`.
    fn sort(&mut self) {
        let names = &self.names;
        self.items.sort_unstable_by(|a, b| {
            a.head.cmp(&b.head).then_with(|| {
                let (na, nb) = (&names[a.start..a.end], &names[b.start..b.end]);
                let common = na.len().min(nb.len());
                na[..common].cmp(&nb[..common]).then_with(|| {
                    let next = |n: &[u8], child: Option<usize>| {
                        n.get(common).copied().or(child.map(|_| b'/'))
                    };
                    next(na, a.child).cmp(&next(nb, b.child))
                })
            })
        });
    }
}

struct Walker<'a> {
    exts: Option<&'a Extensions>,
    opts: &'a ScanOptions,
    read_folder: ReadFolder,
    /// Identify folders to cut symlink cycles (`follow_symlinks` and `recursive`).
    guarded: bool,
    /// Folder slots by index; a folder's job fills its own slot.
    folders: Mutex<Vec<Option<Folder>>>,
    next_index: AtomicUsize,
    errors: Mutex<Vec<(PathBuf, io::Error)>>,
    /// Why the root itself could not be read (the caller's error, not a skipped folder).
    root_error: Mutex<Option<io::Error>>,
}

fn path_of(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        // Encoded bytes are WTF-8 there; only unpaired surrogates (never valid names) change.
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

impl<'a> Walker<'a> {
    fn fail(&self, path: PathBuf, err: io::Error) {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((path, err));
    }

    fn store(&self, index: usize, folder: Folder) {
        let mut folders = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
        if folders.len() <= index {
            folders.resize_with(index + 1, || None);
        }
        folders[index] = Some(folder);
    }

    /// Read folder `index` at `path`; spawn a job per sub-folder to descend into.
    fn visit<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        index: usize,
        path: Vec<u8>,
        parent: Option<Arc<Ancestor>>,
    ) {
        let mut folder = Folder {
            path,
            ..Folder::default()
        };
        let dir = path_of(folder.path.clone());
        let guard = if self.guarded {
            Guard::Below(parent.as_deref())
        } else {
            Guard::Off
        };
        let mut subdirs: Vec<(usize, usize)> = Vec::new(); // (item, child index)
        let result = (self.read_folder)(&dir, guard, &mut |name, kind| {
            let child = match kind {
                Kind::Dir { via_symlink } => {
                    if !self.opts.recursive || (via_symlink && !self.opts.follow_symlinks) {
                        return;
                    }
                    Some(self.next_index.fetch_add(1, Ordering::Relaxed))
                }
                Kind::File => {
                    if self.exts.is_some_and(|e| !e.matches(name)) {
                        return;
                    }
                    None
                }
            };
            if let Some(c) = child {
                subdirs.push((folder.items.len(), c));
            }
            folder.push(name, child);
        });
        let ancestors = match result {
            // A symlink cycle: this folder is one of its own ancestors; not entered again.
            Ok(Listing::Cycle) => return,
            Ok(Listing::Read(Some(id))) => Some(Arc::new(Ancestor { id, parent })),
            Ok(Listing::Read(None)) => None,
            Err(err) => {
                if index == 0 {
                    *self
                        .root_error
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(err);
                    return;
                }
                self.fail(dir, err);
                // Entries read before a mid-listing error are kept (and descended).
                parent
            }
        };
        for &(item, child) in &subdirs {
            let name = folder.name(&folder.items[item]);
            let mut sub = Vec::with_capacity(folder.path.len() + 1 + name.len());
            sub.extend_from_slice(&folder.path);
            if !sub.ends_with(b"/") {
                sub.push(b'/');
            }
            sub.extend_from_slice(name);
            let anc = ancestors.clone();
            scope.spawn(move |s| self.visit(s, child, sub, anc));
        }
        folder.sort();
        self.store(index, folder);
    }
}

/// List the files under `root` (see the module docs) on `threads` pool threads (None: the
/// library default).
pub fn scan(root: &Path, opts: &ScanOptions, threads: Option<usize>) -> Result<ScanOutput> {
    scan_with(root, opts, threads, READ_FOLDER)
}

fn scan_with(
    root: &Path,
    opts: &ScanOptions,
    threads: Option<usize>,
    read_folder: ReadFolder,
) -> Result<ScanOutput> {
    let exts = opts
        .extensions
        .as_deref()
        .map(Extensions::new)
        .transpose()?;
    let walker = Walker {
        exts: exts.as_ref(),
        opts,
        read_folder,
        guarded: opts.follow_symlinks && opts.recursive,
        folders: Mutex::new(Vec::new()),
        next_index: AtomicUsize::new(1),
        errors: Mutex::new(Vec::new()),
        root_error: Mutex::new(None),
    };
    let root_bytes = root.as_os_str().as_encoded_bytes().to_vec();
    pool::install(threads, || {
        rayon::scope(|s| walker.visit(s, 0, root_bytes, None));
    })?;
    // The root's own failure (missing, not a folder, unreadable) is the caller's error.
    let root_error = walker
        .root_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(err) = root_error {
        return Err(Error::Io {
            path: root.to_string_lossy().into_owned(),
            err,
        });
    }
    let mut errors = walker
        .errors
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    errors.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    let folders = walker
        .folders
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let count = folders
        .iter()
        .flatten()
        .map(|f| f.items.iter().filter(|i| i.child.is_none()).count())
        .sum();
    Ok(ScanOutput {
        folders,
        count,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "pixfeed-scan-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn root(&self) -> &str {
            self.0.to_str().unwrap()
        }
        fn file(&self, rel: &str) {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            File::create(p).unwrap();
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn opts(exts: Option<&[&str]>, recursive: bool, follow: bool) -> ScanOptions {
        ScanOptions {
            extensions: exts.map(|e| e.iter().map(|s| s.to_string()).collect()),
            recursive,
            follow_symlinks: follow,
        }
    }

    fn strings(out: &ScanOutput) -> Vec<String> {
        let v: Vec<String> = out
            .to_vec()
            .into_iter()
            .map(|p| p.into_os_string().into_string().unwrap())
            .collect();
        assert_eq!(v.len(), out.len());
        v
    }

    /// Both folder readers must agree; returns the (Linux) result.
    fn run(root: &str, o: &ScanOptions) -> Vec<String> {
        let out = scan(Path::new(root), o, Some(2)).unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let portable = scan_with(Path::new(root), o, Some(2), portable::read_folder).unwrap();
        assert_eq!(strings(&out), strings(&portable));
        strings(&out)
    }

    /// `os.path.join(dir, name)`.
    fn join(dir: &str, name: &str) -> String {
        if dir.ends_with('/') {
            format!("{dir}{name}")
        } else {
            format!("{dir}/{name}")
        }
    }

    #[test]
    fn splitext_rule() {
        assert_eq!(extension(b"a.jpg"), Some(&b"jpg"[..]));
        assert_eq!(extension(b"a.tar.gz"), Some(&b"gz"[..]));
        assert_eq!(extension(b".jpg"), None);
        assert_eq!(extension(b"..jpg"), None);
        assert_eq!(extension(b".a.jpg"), Some(&b"jpg"[..]));
        assert_eq!(extension(b"a..jpg"), Some(&b"jpg"[..]));
        assert_eq!(extension(b"noext"), None);
        assert_eq!(extension(b"trailing."), Some(&b""[..]));
    }

    #[test]
    fn extension_matching() {
        let e = Extensions::new(&["JPG".into(), "jpeg2000xl".into(), "ÄBC".into()]).unwrap();
        for yes in [
            &b"a.jpg"[..],
            b"a.JpG",
            b".h.jpg",
            b"x.JPEG2000XL",
            "y.äbc".as_bytes(),
        ] {
            assert!(e.matches(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"jpg"[..],
            b".jpg",
            b"a.jpgx",
            b"a.pg",
            b"a.jpeg2000x",
            b"a.abc",
            b"a.",
        ] {
            assert!(!e.matches(no), "{}", String::from_utf8_lossy(no));
        }
        assert!(Extensions::new(&["a.b".into()]).is_err());
        assert!(Extensions::new(&["".into()]).is_err());
    }

    #[test]
    fn case_insensitive_sorted_recursive() {
        let t = TempDir::new("basic");
        for f in [
            "b.JPG",
            "a.jpg",
            "c.png",
            "noext",
            ".jpg",
            ".hidden.jpeg",
            "sub/x.Jpg",
            "sub/deeper/y.jpg",
            "sub.jpg",
            "sub-2/z.jpg",
            "sub!/w.jpg",
            "dir.jpg/inside.png",
        ] {
            t.file(f);
        }
        let r = t.root();
        let got = run(r, &opts(Some(&["jpg", "jpeg"]), true, false));
        let mut want: Vec<String> = [
            "a.jpg",
            "b.JPG",
            ".hidden.jpeg",
            "sub/x.Jpg",
            "sub/deeper/y.jpg",
            "sub.jpg",
            "sub-2/z.jpg",
            "sub!/w.jpg",
        ]
        .iter()
        .map(|f| join(r, f))
        .collect();
        want.sort();
        assert_eq!(got, want);

        let top = run(r, &opts(Some(&["JPG"]), false, false));
        assert_eq!(
            top,
            vec![join(r, "a.jpg"), join(r, "b.JPG"), join(r, "sub.jpg")]
        );
        let mut all = run(r, &opts(None, true, false));
        assert_eq!(all.len(), 12);
        let sorted = {
            all.sort();
            all
        };
        assert_eq!(run(r, &opts(None, true, false)), sorted);
        assert!(run(r, &opts(Some(&[]), true, false)).is_empty());
    }

    #[test]
    fn root_with_trailing_slash_joins_like_os_path_join() {
        let t = TempDir::new("slash");
        t.file("d/a.jpg");
        t.file("b.jpg");
        let root = format!("{}/", t.root());
        let got = run(&root, &opts(Some(&["jpg"]), true, false));
        assert_eq!(got, vec![format!("{root}b.jpg"), format!("{root}d/a.jpg")]);
    }

    #[test]
    fn root_errors_name_the_root() {
        let t = TempDir::new("rooterr");
        t.file("f.jpg");
        let missing = t.0.join("missing");
        match scan(&missing, &opts(None, true, false), None) {
            Err(Error::Io { path, err }) => {
                assert_eq!(err.kind(), io::ErrorKind::NotFound);
                assert!(path.ends_with("missing"));
            }
            other => panic!("{other:?}"),
        }
        let file = t.0.join("f.jpg");
        for follow in [false, true] {
            match scan(&file, &opts(None, true, follow), None) {
                Err(Error::Io { path, err }) => {
                    assert_eq!(err.raw_os_error(), Some(20)); // ENOTDIR
                    assert!(path.ends_with("f.jpg"));
                }
                other => panic!("{other:?}"),
            }
        }
        let bad = opts(Some(&["a.b"]), true, false);
        assert!(matches!(
            scan(&t.0, &bad, None),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_cycles() {
        use std::os::unix::fs::symlink;
        let t = TempDir::new("links");
        t.file("real/a.jpg");
        t.file("real/inner/b.jpg");
        t.file("target.jpg");
        symlink(t.0.join("target.jpg"), t.0.join("link.jpg")).unwrap();
        symlink(t.0.join("real"), t.0.join("linkdir")).unwrap();
        symlink(t.0.join("nowhere.jpg"), t.0.join("broken.jpg")).unwrap();
        // A cycle: real/inner/up -> real.
        symlink(t.0.join("real"), t.0.join("real/inner/up")).unwrap();
        let r = t.root();
        let paths = |names: &[&str]| names.iter().map(|f| join(r, f)).collect::<Vec<_>>();

        let plain = run(r, &opts(Some(&["jpg"]), true, false));
        assert_eq!(
            plain,
            paths(&[
                "broken.jpg",
                "link.jpg",
                "real/a.jpg",
                "real/inner/b.jpg",
                "target.jpg"
            ])
        );
        // Following: linkdir is a second path to real; real/inner/up is a cycle, entered
        // once from linkdir/inner/up (real is not an ancestor there... it is: linkdir *is*
        // real, same inode), so never.
        let follow = run(r, &opts(Some(&["jpg"]), true, true));
        assert_eq!(
            follow,
            paths(&[
                "broken.jpg",
                "link.jpg",
                "linkdir/a.jpg",
                "linkdir/inner/b.jpg",
                "real/a.jpg",
                "real/inner/b.jpg",
                "target.jpg",
            ])
        );
        // The root itself a symlink to a folder: listed through it (as os.walk does).
        let via = format!("{r}/linkdir");
        assert_eq!(
            run(&via, &opts(Some(&["jpg"]), true, false)),
            vec![join(&via, "a.jpg"), join(&via, "inner/b.jpg")]
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_kept() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let t = TempDir::new("bytes");
        let name = OsStr::from_bytes(b"caf\xe9.jpg");
        if File::create(t.0.join(name)).is_err() {
            return; // a filesystem that insists on UTF-8 names
        }
        let out = scan(&t.0, &opts(Some(&["jpg"]), true, false), None).unwrap();
        assert_eq!(out.to_vec(), vec![t.0.join(name)]);
    }

    #[test]
    fn many_folders_in_parallel_equal_serial_and_sorted() {
        let t = TempDir::new("many");
        for d in 0..40 {
            for f in 0..25 {
                let ext = if f % 5 == 0 { "txt" } else { "jpg" };
                t.file(&format!("d{d:02}/s{}/f{f:02}.{ext}", d % 3));
                t.file(&format!("d{d:02}.x/f{f}.jpg"));
            }
        }
        let r = Path::new(t.root());
        let o = opts(Some(&["jpg"]), true, false);
        let one = strings(&scan(r, &o, Some(1)).unwrap());
        let two = strings(&scan(r, &o, Some(2)).unwrap());
        assert_eq!(one.len(), 40 * 20 + 40 * 25);
        assert_eq!(one, two);
        let mut sorted = one.clone();
        sorted.sort();
        assert_eq!(one, sorted);
    }

    #[test]
    fn sibling_order_puts_folders_as_if_followed_by_slash() {
        let t = TempDir::new("order");
        // '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), '0' (0x30) after; names longer
        // than the 8-byte sort head too.
        let names = [
            "a/x.jpg",
            "a-b.jpg",
            "a.jpg",
            "a0.jpg",
            "a.d/y.jpg",
            "ab/z.jpg",
            "abcdefgh/1.jpg",
            "abcdefgh.jpg",
            "abcdefgh-2.jpg",
            "abcdefg/3.jpg",
            "abcdefg.jpg",
            "abcdefghij/4.jpg",
            "abcdefghi.jpg",
        ];
        for f in names {
            t.file(f);
        }
        let r = t.root();
        let got = run(r, &opts(Some(&["jpg"]), true, false));
        let mut want: Vec<String> = names.iter().map(|f| join(r, f)).collect();
        want.sort();
        assert_eq!(got, want);
    }
}
