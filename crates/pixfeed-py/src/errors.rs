//! The one place where core errors become Python exceptions (docs/conventions.md).
//! pixfeed's own classes live in `pixfeed/errors.py`; they are looked up once and cached.

use std::path::Path;

use pixfeed_core::{DecodeErrorKind, Error};
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

static DECODE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNSUPPORTED_FORMAT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TOO_LARGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SHARD_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "pixfeed.errors", name)
}

/// What an error is about, as the exception names it.
pub trait Subject {
    /// The `source` of a pixfeed exception (a path, `<bytes>`, a function's name).
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny>;
    /// The `filename` of an `OSError` about this subject, when it is a file.
    fn filename<'py>(&self, _py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        None
    }
    /// The subject in a message: bytes that are not UTF-8 show as `\xNN`.
    fn shown(&self) -> String;
}

impl Subject for str {
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        PyString::new(py, self).into_any()
    }
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Subject for String {
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.as_str().source(py)
    }
    fn shown(&self) -> String {
        self.clone()
    }
}

/// A file: named by the `str` Python spells it with (a name that is not UTF-8 comes back
/// with surrogate escapes, as `os.fsdecode` gives it), so `e.filename` opens the same file.
impl Subject for Path {
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self.as_os_str().into_pyobject(py) {
            Ok(s) => s.into_any(),
            Err(e) => match e {},
        }
    }
    fn filename<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        Some(self.source(py))
    }
    fn shown(&self) -> String {
        let mut out = String::new();
        for chunk in self.as_os_str().as_encoded_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }
}

/// A pixfeed exception instance `cls(source, reason, kind)`.
fn pixfeed_error(
    py: Python<'_>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    source: &Bound<'_, PyAny>,
    reason: String,
    kind: &str,
) -> PyErr {
    match class(py, cell, name).and_then(|c| c.call1((source, reason, kind))) {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => e,
    }
}

fn os_error(path: Bound<'_, PyAny>, err: &std::io::Error) -> PyErr {
    let errno = err.raw_os_error().unwrap_or(0);
    // Drop std's " (os error N)" suffix: Python prints "[Errno N] message: 'path'" itself.
    let text = err.to_string();
    let msg = text
        .split_once(" (os error ")
        .map_or(text.as_str(), |(m, _)| m)
        .to_string();
    let args = (errno, msg, path.unbind());
    match err.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
        std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
        _ => PyOSError::new_err(args),
    }
}

/// Map a core error about `source` (a path, `<bytes>`, a function) to its Python exception.
pub fn to_pyerr<S: Subject + ?Sized>(py: Python<'_>, subject: &S, err: Error) -> PyErr {
    let source = subject.source(py);
    match err {
        Error::Io { path, err } => {
            let name = subject
                .filename(py)
                .unwrap_or_else(|| PyString::new(py, &path).into_any());
            os_error(name, &err)
        }
        Error::UnsupportedFormat(reason) => pixfeed_error(
            py,
            &UNSUPPORTED_FORMAT,
            "UnsupportedFormatError",
            &source,
            format!("unsupported format: {reason}"),
            "format",
        ),
        e @ Error::TooLarge { .. } => pixfeed_error(
            py,
            &TOO_LARGE,
            "ImageTooLargeError",
            &source,
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
                &source,
                format!("{format} {kind_name}: {reason}"),
                kind_name,
            )
        }
        e @ Error::Shard { kind, offset, .. } => {
            let kind = kind.to_string();
            match class(py, &SHARD_ERROR, "ShardError")
                .and_then(|c| c.call1((source, e.to_string(), kind, offset)))
            {
                Ok(obj) => PyErr::from_value(obj),
                Err(err) => err,
            }
        }
        Error::InvalidArgument { arg, reason } => PyValueError::new_err(format!("{arg}: {reason}")),
        Error::Internal(msg) => PyRuntimeError::new_err(format!(
            "{}: internal error in pixfeed (please report): {msg}",
            subject.shown()
        )),
        other => PyRuntimeError::new_err(format!("{}: {other}", subject.shown())),
    }
}
