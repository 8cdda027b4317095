//! The one place where core errors become Python exceptions (SPEC section 1).
//! pixfeed's own classes live in `pixfeed/errors.py`; they are looked up once and cached.

use pixfeed_core::{DecodeErrorKind, Error};
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static DECODE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNSUPPORTED_FORMAT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TOO_LARGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "pixfeed.errors", name)
}

/// A pixfeed exception instance `cls(source, reason, kind)`.
fn pixfeed_error(
    py: Python<'_>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    source: &str,
    reason: String,
    kind: &str,
) -> PyErr {
    match class(py, cell, name).and_then(|c| c.call1((source, reason, kind))) {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => e,
    }
}

fn os_error(path: &str, err: &std::io::Error) -> PyErr {
    let errno = err.raw_os_error().unwrap_or(0);
    // Drop std's " (os error N)" suffix: Python prints "[Errno N] message: 'path'" itself.
    let text = err.to_string();
    let msg = text
        .split_once(" (os error ")
        .map_or(text.as_str(), |(m, _)| m)
        .to_string();
    let args = (errno, msg, path.to_string());
    match err.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
        std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
        _ => PyOSError::new_err(args),
    }
}

/// Map a core error about `source` (a path, or `<bytes>`) to its Python exception.
pub fn to_pyerr(py: Python<'_>, source: &str, err: Error) -> PyErr {
    match err {
        Error::Io { path, err } => os_error(&path, &err),
        Error::UnsupportedFormat(reason) => pixfeed_error(
            py,
            &UNSUPPORTED_FORMAT,
            "UnsupportedFormatError",
            source,
            format!("unsupported format: {reason}"),
            "format",
        ),
        e @ Error::TooLarge { .. } => pixfeed_error(
            py,
            &TOO_LARGE,
            "ImageTooLargeError",
            source,
            e.to_string(),
            "too_large",
        ),
        Error::Decode {
            format,
            kind,
            reason,
        } => {
            let kind_name = match kind {
                DecodeErrorKind::Truncated => "truncated",
                DecodeErrorKind::Corrupt => "corrupt",
                DecodeErrorKind::Unsupported => "unsupported",
            };
            pixfeed_error(
                py,
                &DECODE_ERROR,
                "DecodeError",
                source,
                format!("{format} {kind_name}: {reason}"),
                kind_name,
            )
        }
        Error::InvalidArgument { arg, reason } => PyValueError::new_err(format!("{arg}: {reason}")),
        Error::Internal(msg) => PyRuntimeError::new_err(format!(
            "{source}: internal error in pixfeed (please report): {msg}"
        )),
        other => PyRuntimeError::new_err(format!("{source}: {other}")),
    }
}
