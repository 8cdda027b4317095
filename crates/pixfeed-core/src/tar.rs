//! Tar shards: the member index of a tar file built from its headers alone, and the errors
//! that name the shard and the byte offset where it is wrong.
//!
//! Our own header parser rather than the `tar` crate: the index needs each member's data
//! offset while seeking past the data (never reading it), a typed error with the byte offset
//! of every fault (bad checksum, a member running past the end of the file, a cut header),
//! and ceilings on every size read from the file; the crate's reader gives `io::Error`s
//! without offsets and reads GNU long names and pax records of any declared size.
//!
//! Formats: ustar (with its 155-byte name prefix), GNU (`L` long names; `K` long link names
//! skipped), pax (`x` records override the next member's `path` and `size`; `g` global
//! records are skipped), old v7 headers. Only regular files are indexed (types `0`, NUL and
//! `7`); directories, links, devices and FIFOs are skipped. GNU sparse files (old GNU type
//! `S` with its extension headers, pax `GNU.sparse.*` formats 0.0, 0.1 and 1.0) are indexed
//! under their real name with `sparse` set: their stored bytes are not the file (the holes
//! are left out), so readers refuse them rather than skip them. The archive ends
//! at a zero block or at end of file on a block boundary (as GNU tar and Python's `tarfile`
//! accept); a header cut short, a bad header checksum or a member whose data runs past the
//! end of the file is an error.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::DecodeErrorKind;
use crate::{pool, Error, Result};

const BLOCK: u64 = 512;
/// The longest name a GNU `L` record or a pax `path` may give (Linux's PATH_MAX is 4096).
pub const MAX_NAME: u64 = 64 << 10;
/// The largest pax extended header read (a few records are a few hundred bytes).
pub const MAX_PAX: u64 = 1 << 20;

/// One regular file of a shard: its name (bytes as stored; pax names are UTF-8), the offset
/// of its data in the shard and its size; `sparse`: a GNU sparse file, whose `size` stored
/// bytes (from `offset`) are not its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: Vec<u8>,
    pub offset: u64,
    pub size: u64,
    pub sparse: bool,
}

/// A shard's members in archive order, and the file's size and mtime (ns) when indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub members: Vec<Member>,
    pub file_size: u64,
    pub mtime_ns: i128,
}

fn tar_error(kind: DecodeErrorKind, offset: u64, reason: impl Into<String>) -> Error {
    Error::Shard {
        kind,
        offset,
        reason: reason.into(),
    }
}

fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        err,
    }
}

/// Read exactly `buf.len()` bytes at `offset`; fewer (the file ends) is `Ok(n)` with n short.
fn read_full(path: &Path, file: &File, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(k) => done += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path, e)),
        }
    }
    Ok(done)
}

/// Bytes up to the first NUL.
fn nts(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|&b| b == 0)
        .map_or(field, |n| &field[..n])
}

/// A numeric header field: octal digits (leading spaces, ended by NUL or space), or GNU's
/// base-256 form (first byte 0x80, big-endian after it) for values past 8 GiB.
fn number(field: &[u8]) -> Option<u64> {
    if field.first() == Some(&0x80) {
        let mut v: u64 = 0;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text = nts(field);
    let text = std::str::from_utf8(text).ok()?.trim_matches(' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The checksum rule of POSIX (and Python's `tarfile`): the header's bytes summed with the
/// checksum field read as spaces, as unsigned or (old tars) signed bytes.
fn checksum_ok(header: &[u8; 512]) -> bool {
    let Some(stored) = number(&header[148..156]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in header.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

fn round_up(n: u64) -> Option<u64> {
    n.checked_add(BLOCK - 1).map(|v| v / BLOCK * BLOCK)
}

/// What the records of a pax header say about the next member.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    size: Option<u64>,
    /// Any `GNU.sparse.*` record: the member is a GNU sparse file.
    sparse: bool,
    /// `GNU.sparse.name`: a sparse file's real name (formats 0.1 and 1.0 store a made-up
    /// one in `path` or the header).
    sparse_name: Option<Vec<u8>>,
}

/// Parse pax records (`"<len> <key>=<value>\n"`), each checked against its length.
fn parse_pax(data: &[u8], at: u64) -> Result<Pax> {
    let bad = |why: &str| tar_error(DecodeErrorKind::Corrupt, at, format!("pax header: {why}"));
    let mut out = Pax::default();
    let mut rest = data;
    while !rest.is_empty() && rest[0] != 0 {
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| bad("a record without a length"))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("a record length that is not a number"))?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad("a record length that does not match the record"));
        }
        let record = &rest[sp + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| bad("a record without '='"))?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => out.path = Some(value.to_vec()),
            b"GNU.sparse.name" => {
                out.sparse = true;
                out.sparse_name = Some(value.to_vec());
            }
            _ if key.starts_with(b"GNU.sparse.") => out.sparse = true,
            b"size" => {
                let size = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| bad("a size that is not a number"))?;
                out.size = Some(size);
            }
            _ => {}
        }
        rest = &rest[len..];
    }
    Ok(out)
}

/// Past the extension headers of an old GNU sparse member (type `S` whose header flags more
/// sparse entries at byte 482): each 512-byte block holds 21 entries and, at byte 504, the
/// flag for one more block. Returns the offset of the member's data. A file that ends
/// inside them is cut short.
fn skip_sparse_extensions(path: &Path, file: &File, mut at: u64) -> Result<u64> {
    let mut block = [0u8; 512];
    loop {
        if read_full(path, file, &mut block, at)? < block.len() {
            return Err(tar_error(
                DecodeErrorKind::Truncated,
                at,
                "the file ends inside a GNU sparse extension header",
            ));
        }
        at += BLOCK;
        if block[504] == 0 {
            return Ok(at);
        }
    }
}

/// Index one open shard of `len` bytes.
fn index_file(path: &Path, file: &File, len: u64) -> Result<Vec<Member>> {
    let mut members = Vec::new();
    let mut header = [0u8; 512];
    let mut at: u64 = 0;
    // What a GNU long-name record or a pax header says about the next header's member.
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax = Pax::default();
    loop {
        let got = read_full(path, file, &mut header, at)?;
        if got == 0 && at == 0 {
            // An empty file is no archive (a download cut at its start), not an empty one.
            return Err(tar_error(
                DecodeErrorKind::Truncated,
                0,
                "the file is empty",
            ));
        }
        if got == 0 {
            break; // End of file on a block boundary: accepted without the zero blocks.
        }
        if got < header.len() {
            return Err(tar_error(
                DecodeErrorKind::Truncated,
                at,
                format!("the file ends {got} bytes into a 512-byte header"),
            ));
        }
        if header.iter().all(|&b| b == 0) {
            break; // The end-of-archive marker.
        }
        if !checksum_ok(&header) {
            return Err(tar_error(
                DecodeErrorKind::Corrupt,
                at,
                "the header checksum does not match (not a tar file, or a corrupt header)",
            ));
        }
        let typ = header[156];
        let mut size = number(&header[124..136]).ok_or_else(|| {
            tar_error(
                DecodeErrorKind::Corrupt,
                at,
                "the size field is not a number",
            )
        })?;
        if let Some(s) = pax
            .size
            .filter(|_| !matches!(typ, b'x' | b'g' | b'L' | b'K'))
        {
            size = s;
        }
        let mut data = at + BLOCK;
        if typ == b'S' && header[482] != 0 {
            data = skip_sparse_extensions(path, file, data)?;
        }
        let end = data.checked_add(size).filter(|&e| e <= len);
        let Some(end) = end else {
            return Err(tar_error(
                DecodeErrorKind::Truncated,
                at,
                format!(
                    "the member's {size} bytes of data at offset {data} run past the end of \
                     the file ({len} bytes)"
                ),
            ));
        };
        let next = round_up(end).unwrap_or(u64::MAX);
        // The body of a metadata record, read whole (sizes capped).
        let body = |cap: u64, what: &str| -> Result<Vec<u8>> {
            if size > cap {
                return Err(tar_error(
                    DecodeErrorKind::Corrupt,
                    at,
                    format!("a {what} of {size} bytes (at most {cap} are accepted)"),
                ));
            }
            let mut buf = vec![0u8; size as usize];
            read_full(path, file, &mut buf, data)?;
            Ok(buf)
        };
        match typ {
            b'L' => {
                long_name = Some(nts(&body(MAX_NAME, "GNU long name")?).to_vec());
                at = next;
                continue;
            }
            b'x' => {
                let p = parse_pax(&body(MAX_PAX, "pax header")?, at)?;
                for name in [&p.path, &p.sparse_name].into_iter().flatten() {
                    if name.len() as u64 > MAX_NAME {
                        return Err(tar_error(
                            DecodeErrorKind::Corrupt,
                            at,
                            format!("a pax path of {} bytes", name.len()),
                        ));
                    }
                }
                pax = p;
                at = next;
                continue;
            }
            b'K' | b'g' => {
                at = next;
                continue;
            }
            _ => {}
        }
        let mut name = match long_name.take() {
            Some(n) => n,
            None => {
                let base = nts(&header[0..100]);
                let prefix = nts(&header[345..500]);
                // The prefix field exists in POSIX ustar only (GNU puts times there).
                if &header[257..263] == b"ustar\0" && !prefix.is_empty() {
                    [prefix, b"/", base].concat()
                } else {
                    base.to_vec()
                }
            }
        };
        if let Some(p) = pax.sparse_name.take().or(pax.path.take()) {
            name = p;
        }
        let sparse = typ == b'S' || pax.sparse;
        pax = Pax::default();
        // Regular files (`0`, NUL, contiguous `7`, GNU sparse `S`); v7 tars mark directories
        // by a '/'.
        let regular = matches!(typ, b'0' | 0 | b'7' | b'S') && !name.ends_with(b"/");
        // Only regular files and unknown types carry data blocks (Python's tarfile rule:
        // links, directories and devices have none whatever their size field says); GNU
        // sparse files store `size` bytes.
        let has_data = regular || !matches!(typ, b'1'..=b'6');
        if regular {
            members.push(Member {
                name,
                offset: data,
                size,
                sparse,
            });
        }
        at = if has_data { next } else { data };
    }
    if long_name.is_some() || pax.path.is_some() || pax.size.is_some() || pax.sparse {
        return Err(tar_error(
            DecodeErrorKind::Truncated,
            at,
            "the archive ends after a long-name or pax header, before its member",
        ));
    }
    Ok(members)
}

/// Index the tar file at `path` from its headers (member data is never read). The file is
/// re-checked after (size, mtime): one changed while indexed is indexed again, once.
pub fn index(path: &Path) -> Result<Index> {
    let (file, _) = crate::source::open(path)?;
    crate::source::consistent(path, &file, || {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().map_err(|e| io_error(path, e))?;
        let len = meta.len();
        let members = index_file(path, &file, len)?;
        Ok(Index {
            members,
            file_size: len,
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        })
    })
}

/// [`index`] of every path on the pool, results in order (one failure never stops the
/// others).
pub fn index_many(paths: &[PathBuf], threads: Option<usize>) -> Result<Vec<Result<Index>>> {
    // A shard's headers are a few reads of 512 bytes each: count each shard as 1 MiB of work
    // so that a few shards still go to the pool.
    pool::map(
        paths.len(),
        paths.len().saturating_mul(1 << 20),
        threads,
        |i| Ok(index(&paths[i])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header block for `name` (v7 name field) with `typ`, `size` and ustar/GNU `magic`.
    fn header(name: &[u8], typ: u8, size: u64, magic: &[u8; 8]) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = typ;
        h[257..265].copy_from_slice(magic);
        fix_checksum(&mut h);
        h
    }

    fn fix_checksum(h: &mut [u8; 512]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    }

    const USTAR: &[u8; 8] = b"ustar\x0000";
    const GNU: &[u8; 8] = b"ustar  \0";

    /// Append a member (header + data padded to a block).
    fn member(tar: &mut Vec<u8>, h: [u8; 512], data: &[u8]) {
        tar.extend_from_slice(&h);
        tar.extend_from_slice(data);
        tar.resize(round_up(tar.len() as u64).unwrap() as usize, 0);
    }

    fn file(tar: &mut Vec<u8>, name: &[u8], data: &[u8]) {
        member(tar, header(name, b'0', data.len() as u64, USTAR), data);
    }

    fn finish(mut tar: Vec<u8>) -> Vec<u8> {
        tar.extend_from_slice(&[0u8; 1024]);
        tar
    }

    fn write(tar: &[u8]) -> (tempdir::Dir, PathBuf) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("shard.tar");
        std::fs::write(&path, tar).unwrap();
        (dir, path)
    }

    /// A test directory removed when dropped (no dev-dependency needed).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "pixfeed-tar-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn names(idx: &Index) -> Vec<String> {
        idx.members
            .iter()
            .map(|m| String::from_utf8(m.name.clone()).unwrap())
            .collect()
    }

    fn read_member(path: &Path, m: &Member) -> Vec<u8> {
        let all = std::fs::read(path).unwrap();
        all[m.offset as usize..(m.offset + m.size) as usize].to_vec()
    }

    fn shard_err(r: Result<Index>) -> (DecodeErrorKind, u64, String) {
        match r {
            Err(Error::Shard {
                kind,
                offset,
                reason,
            }) => (kind, offset, reason),
            other => panic!("expected a shard error, got {other:?}"),
        }
    }

    #[test]
    fn ustar_members_and_offsets() {
        let mut tar = Vec::new();
        file(&mut tar, b"a.jpg", b"hello");
        file(&mut tar, b"a.cls", b"3");
        member(&mut tar, header(b"dir/", b'5', 0, USTAR), b"");
        member(&mut tar, header(b"link", b'2', 0, USTAR), b"");
        file(&mut tar, b"b.jpg", &[7u8; 1000]);
        let (_d, path) = write(&finish(tar));
        let idx = index(&path).unwrap();
        assert_eq!(names(&idx), ["a.jpg", "a.cls", "b.jpg"]);
        assert_eq!(idx.members[0].offset, 512);
        assert_eq!(read_member(&path, &idx.members[0]), b"hello");
        assert_eq!(read_member(&path, &idx.members[1]), b"3");
        assert_eq!(read_member(&path, &idx.members[2]), vec![7u8; 1000]);
        assert_eq!(idx.file_size, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn ustar_prefix_joins_the_name() {
        let mut h = header(b"x.jpg", b'0', 2, USTAR);
        h[345..352].copy_from_slice(b"a/b/c.d");
        fix_checksum(&mut h);
        let mut tar = Vec::new();
        member(&mut tar, h, b"ok");
        let (_d, path) = write(&finish(tar));
        assert_eq!(names(&index(&path).unwrap()), ["a/b/c.d/x.jpg"]);
    }

    #[test]
    fn gnu_long_names_and_long_links() {
        let long = format!("{}/sample.with.dots.JPG", "d".repeat(150));
        let mut tar = Vec::new();
        let data = format!("{long}\0");
        member(
            &mut tar,
            header(b"././@LongLink", b'L', data.len() as u64, GNU),
            data.as_bytes(),
        );
        member(
            &mut tar,
            header(&long.as_bytes()[..100], b'0', 3, GNU),
            b"abc",
        );
        // A long link name applies to a symlink, which is skipped.
        member(
            &mut tar,
            header(b"././@LongLink", b'K', 200, GNU),
            &[b'x'; 200],
        );
        member(&mut tar, header(b"lnk", b'2', 0, GNU), b"");
        file(&mut tar, b"next.cls", b"1");
        let (_d, path) = write(&finish(tar));
        let idx = index(&path).unwrap();
        assert_eq!(names(&idx), [long.as_str(), "next.cls"]);
        assert_eq!(read_member(&path, &idx.members[0]), b"abc");
    }

    #[test]
    fn pax_path_and_size_override() {
        let long = "p".repeat(180) + ".jpeg";
        let rec = |k: &str, v: &str| {
            // "<len> k=v\n" where len counts itself.
            let body = format!(" {k}={v}\n");
            let mut n = body.len() + 1;
            while format!("{n}{body}").len() != n {
                n += 1;
            }
            format!("{n}{body}")
        };
        let pax = rec("path", &long) + &rec("size", "4") + &rec("mtime", "1.5");
        let mut tar = Vec::new();
        // A global header is skipped.
        let g = rec("comment", "hi");
        member(
            &mut tar,
            header(b"pax_global", b'g', g.len() as u64, USTAR),
            g.as_bytes(),
        );
        member(
            &mut tar,
            header(b"PaxHeader/x", b'x', pax.len() as u64, USTAR),
            pax.as_bytes(),
        );
        // The header's own size field says 0; the pax size (4) wins.
        let mut h = header(b"short", b'0', 0, USTAR);
        fix_checksum(&mut h);
        tar.extend_from_slice(&h);
        tar.extend_from_slice(b"data");
        tar.resize(round_up(tar.len() as u64).unwrap() as usize, 0);
        file(&mut tar, b"after.cls", b"9");
        let (_d, path) = write(&finish(tar));
        let idx = index(&path).unwrap();
        assert_eq!(names(&idx), [long.as_str(), "after.cls"]);
        assert_eq!(read_member(&path, &idx.members[0]), b"data");
        assert_eq!(read_member(&path, &idx.members[1]), b"9");
    }

    #[test]
    fn gnu_sparse_members_are_flagged_under_their_real_name() {
        // Old GNU `S`: one extension header block (flag at 482) before the stored data.
        let mut h = header(b"old.jpg", b'S', 5, GNU);
        h[482] = 1;
        fix_checksum(&mut h);
        let mut tar = Vec::new();
        tar.extend_from_slice(&h);
        tar.extend_from_slice(&[0u8; 512]); // the extension block, its own flag at 504 clear
        tar.extend_from_slice(b"holes");
        tar.resize(round_up(tar.len() as u64).unwrap() as usize, 0);
        // pax format 1.0: a made-up header name, the real one in GNU.sparse.name.
        let pax = "22 GNU.sparse.major=1\n22 GNU.sparse.minor=0\n27 GNU.sparse.name=new.jpg\n";
        member(
            &mut tar,
            header(b"PaxHeader/x", b'x', pax.len() as u64, USTAR),
            pax.as_bytes(),
        );
        member(
            &mut tar,
            header(b"./GNUSparseFile.7/new.jpg", b'0', 3, USTAR),
            b"abc",
        );
        file(&mut tar, b"plain.cls", b"4");
        let (_d, path) = write(&finish(tar));
        let idx = index(&path).unwrap();
        assert_eq!(names(&idx), ["old.jpg", "new.jpg", "plain.cls"]);
        let sparse: Vec<bool> = idx.members.iter().map(|m| m.sparse).collect();
        assert_eq!(sparse, [true, true, false]);
        assert_eq!(idx.members[0].offset, 1024);
        assert_eq!(read_member(&path, &idx.members[0]), b"holes");
        assert_eq!(read_member(&path, &idx.members[2]), b"4");
        // Cut inside the extension header.
        let (_d2, path) = write(&std::fs::read(&path).unwrap()[..700]);
        let (kind, offset, _) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Truncated, 512));
    }

    #[test]
    fn end_without_zero_blocks_is_accepted() {
        let mut tar = Vec::new();
        file(&mut tar, b"a.jpg", b"x");
        let (_d, path) = write(&tar);
        assert_eq!(names(&index(&path).unwrap()), ["a.jpg"]);
    }

    #[test]
    fn corrupt_checksum_names_the_offset() {
        let mut tar = Vec::new();
        file(&mut tar, b"a.jpg", b"x");
        let at = tar.len();
        file(&mut tar, b"b.jpg", b"y");
        tar[at + 3] ^= 0x40;
        let (_d, path) = write(&finish(tar));
        let (kind, offset, reason) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Corrupt, at as u64));
        assert!(reason.contains("checksum"), "{reason}");
    }

    #[test]
    fn truncated_data_and_headers() {
        let mut tar = Vec::new();
        file(&mut tar, b"a.jpg", b"x");
        file(&mut tar, b"b.jpg", &[1u8; 3000]);
        // Cut inside b's data.
        let (_d, path) = write(&tar[..512 * 3 + 100]);
        let (kind, offset, reason) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Truncated, 1024));
        assert!(reason.contains("past the end"), "{reason}");
        // Cut inside a header.
        let (_d2, path) = write(&tar[..1024 + 200]);
        let (kind, offset, _) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Truncated, 1024));
    }

    #[test]
    fn member_larger_than_the_file() {
        let mut tar = Vec::new();
        member(
            &mut tar,
            header(b"huge.jpg", b'0', 5_000_000_000, USTAR),
            b"abc",
        );
        let (_d, path) = write(&finish(tar));
        let (kind, offset, reason) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Truncated, 0));
        assert!(reason.contains("5000000000"), "{reason}");
    }

    #[test]
    fn oversized_long_name_is_refused() {
        let mut tar = Vec::new();
        let big = vec![b'n'; (MAX_NAME + 1) as usize];
        member(
            &mut tar,
            header(b"././@LongLink", b'L', big.len() as u64, GNU),
            &big,
        );
        file(&mut tar, b"a.jpg", b"x");
        let (_d, path) = write(&finish(tar));
        let (kind, offset, _) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Corrupt, 0));
    }

    #[test]
    fn bad_pax_record_is_corrupt() {
        let mut tar = Vec::new();
        let pax = "99 path=x\n";
        member(
            &mut tar,
            header(b"PaxHeader", b'x', pax.len() as u64, USTAR),
            pax.as_bytes(),
        );
        file(&mut tar, b"a.jpg", b"x");
        let (_d, path) = write(&finish(tar));
        let (kind, _, reason) = shard_err(index(&path));
        assert_eq!(kind, DecodeErrorKind::Corrupt);
        assert!(reason.contains("pax"), "{reason}");
    }

    #[test]
    fn base256_size_and_not_a_tar() {
        let mut h = header(b"a.jpg", b'0', 0, GNU);
        h[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
        fix_checksum(&mut h);
        let mut tar = Vec::new();
        member(&mut tar, h, b"12345");
        let (_d, path) = write(&finish(tar));
        assert_eq!(index(&path).unwrap().members[0].size, 5);
        let (_d2, path) = write(&[b'J'; 2048]);
        let (kind, offset, _) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Corrupt, 0));
        let (_d3, path) = write(b"");
        let (kind, offset, reason) = shard_err(index(&path));
        assert_eq!((kind, offset), (DecodeErrorKind::Truncated, 0));
        assert!(reason.contains("empty"), "{reason}");
    }

    #[test]
    fn many_shards_in_order_with_errors_kept_apart() {
        let dir = tempdir::Dir::new();
        let mut paths = Vec::new();
        for i in 0..6 {
            let mut tar = Vec::new();
            for j in 0..=i {
                file(&mut tar, format!("s{i}_{j}.jpg").as_bytes(), b"z");
            }
            let p = dir.0.join(format!("{i}.tar"));
            std::fs::write(&p, finish(tar)).unwrap();
            paths.push(p);
        }
        paths.push(dir.0.join("missing.tar"));
        let out = index_many(&paths, Some(2)).unwrap();
        for (i, r) in out.iter().take(6).enumerate() {
            assert_eq!(r.as_ref().unwrap().members.len(), i + 1);
        }
        assert!(matches!(out[6], Err(Error::Io { .. })));
    }

    #[test]
    fn a_member_decodes_as_its_bytes_and_a_cut_shard_is_an_error() {
        use crate::decode::{decode, decode_source, probe, probe_source, DecodeOptions};
        use crate::{Format, Rect, Source};
        let (w, h) = (61u32, 47u32);
        let pixels: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let jpeg = crate::codecs::encode::encode(&pixels, w, h, 3, Format::Jpeg, 90).unwrap();
        let mut tar = Vec::new();
        file(&mut tar, b"a.cls", b"1");
        file(&mut tar, b"a.jpg", &jpeg);
        file(&mut tar, b"b.cls", b"2");
        let (_d, path) = write(&finish(tar));
        let m = index(&path).unwrap().members[1].clone();
        let src = Source::Member {
            path: &path,
            offset: m.offset,
            size: m.size,
        };
        for roi in [None, Some(Rect::new(5, 3, 20, 30))] {
            let opts = DecodeOptions {
                roi,
                ..Default::default()
            };
            assert_eq!(
                decode_source(src, &opts).unwrap(),
                decode(&jpeg, &opts).unwrap()
            );
        }
        assert_eq!(
            probe_source(src).unwrap().width,
            probe(&jpeg).unwrap().width
        );
        // The shard cut inside the member after it was indexed.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(m.offset + m.size / 2).unwrap();
        match decode_source(src, &DecodeOptions::default()) {
            Err(Error::Shard { kind, offset, .. }) => {
                assert_eq!((kind, offset), (DecodeErrorKind::Truncated, m.offset));
            }
            other => panic!("expected a shard error, got {other:?}"),
        }
    }
}
