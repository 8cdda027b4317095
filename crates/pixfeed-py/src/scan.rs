//! `scan` binding: the walk runs with the GIL released; the sorted paths come back as one
//! Python list built here (no intermediate Python objects).

use std::path::PathBuf;

use pixfeed_core::error::catch_panic;
use pixfeed_core::scan::{scan as core_scan, ScanOptions};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

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
    let out = py
        .detach(|| catch_panic(|| core_scan(&root, &opts, threads)))
        .map_err(|e| to_pyerr(py, &root.to_string_lossy(), e))?;
    // One UTF-8 check per path (in CPython's decoder); a path that is not UTF-8 takes the
    // filesystem decoding (surrogateescape), as os.fsdecode does.
    let mut in_str_order = true;
    let paths = PyList::new(
        py,
        out.paths
            .iter()
            .map(|p| match PyString::from_bytes(py, p.as_encoded_bytes()) {
                Ok(s) => s,
                Err(_) => {
                    in_str_order = false;
                    p.into_pyobject(py).unwrap_or_else(|e| match e {})
                }
            }),
    )?;
    let errors = PyList::empty(py);
    for (folder, err) in out.errors {
        let name = folder.to_string_lossy().into_owned();
        let exc = to_pyerr(
            py,
            &name,
            pixfeed_core::Error::Io {
                path: name.clone(),
                err,
            },
        );
        errors.append((folder.as_os_str(), exc.into_value(py)))?;
    }
    Ok((paths, errors, in_str_order))
}
