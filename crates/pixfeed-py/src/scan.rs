//! `scan` binding: the walk runs with the GIL released; the sorted paths come back as one
//! Python list built here (no intermediate Python objects).

use std::cell::Cell;
use std::path::PathBuf;

use pixfeed_core::scan::{scan as core_scan, Paths, ScanOptions};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::entry;
use crate::errors::to_pyerr;

/// Walk `root`. Returns `(paths, errors, sorted)`: `paths` sorted by bytes, `errors` a list
/// of `(folder, exception)` for folders that could not be read, and whether byte order is
/// also Python's `str` order (False only when a name is not valid UTF-8).
#[pyfunction]
#[pyo3(signature = (root, extensions, recursive, follow_symlinks, threads))]
#[allow(clippy::type_complexity)]
pub fn scan<'py>(
    py: Python<'py>,
    root: PathBuf,
    extensions: Option<Vec<String>>,
    recursive: bool,
    follow_symlinks: bool,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, bool)> {
    let opts = ScanOptions {
        extensions,
        recursive,
        follow_symlinks,
    };
    let out = entry::native(py, root.as_path(), || core_scan(&root, &opts, threads))?;
    let in_str_order = Cell::new(true);
    let paths = PyList::new(
        py,
        PyPaths {
            py,
            cursor: out.paths(),
            in_str_order: &in_str_order,
        },
    )?;
    let errors = PyList::empty(py);
    for (folder, err) in out.errors {
        let exc = to_pyerr(
            py,
            folder.as_path(),
            pixfeed_core::Error::Io {
                path: folder.to_string_lossy().into_owned(),
                err,
            },
        );
        errors.append((folder.as_os_str(), exc.into_value(py)))?;
    }
    Ok((paths, errors, in_str_order.get()))
}

/// The sorted paths as Python `str`, made one by one from the cursor's buffer (no
/// intermediate list of paths). One UTF-8 check per path, in CPython's decoder; a path that is not UTF-8
/// takes the filesystem decoding (surrogateescape), as `os.fsdecode` does.
struct PyPaths<'py, 'a> {
    py: Python<'py>,
    cursor: Paths<'a>,
    in_str_order: &'a Cell<bool>,
}

impl<'py> Iterator for PyPaths<'py, '_> {
    type Item = Bound<'py, PyString>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.cursor.next_path()?;
        Some(match PyString::from_bytes(self.py, path) {
            Ok(s) => s,
            Err(_) => {
                self.in_str_order.set(false);
                fs_decode(self.py, path)
            }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.cursor.remaining();
        (n, Some(n))
    }
}

impl ExactSizeIterator for PyPaths<'_, '_> {}

#[cfg(unix)]
fn fs_decode<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    let os: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(bytes);
    os.into_pyobject(py).unwrap_or_else(|e| match e {})
}

#[cfg(not(unix))]
fn fs_decode<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    PyString::new(py, &String::from_utf8_lossy(bytes))
}
