//! The one way into the core: every binding runs its native work through [`native`] (GIL
//! released) or [`held`] (work too small for a GIL round trip). Both catch a panic as
//! `Error::Internal` and map core errors through `errors.rs`, so an internal bug surfaces as
//! pixfeed's `RuntimeError` ("... please report"), never as pyo3's `PanicException`.

use pixfeed_core::error::catch_panic;
use pyo3::prelude::*;

use crate::errors::{to_pyerr, Subject};

/// Run `f` with the GIL released; a panic or an error becomes the exception about `subject`.
pub fn native<T, S, F>(py: Python<'_>, subject: &S, f: F) -> PyResult<T>
where
    T: Send,
    S: Subject + ?Sized,
    F: FnOnce() -> pixfeed_core::Result<T> + Send,
{
    py.detach(|| catch_panic(f))
        .map_err(|e| to_pyerr(py, subject, e))
}

/// [`native`] for work too small to release the GIL for (argument checks, a few boxes).
pub fn held<T, S, F>(py: Python<'_>, subject: &S, f: F) -> PyResult<T>
where
    S: Subject + ?Sized,
    F: FnOnce() -> pixfeed_core::Result<T>,
{
    catch_panic(f).map_err(|e| to_pyerr(py, subject, e))
}

/// Test only (`tests/test_entry_helper.py`): panic inside the core's call path, to show that
/// the panic comes back as pixfeed's `RuntimeError`. Not part of the API.
#[pyfunction]
#[pyo3(name = "_panic_for_test", signature = (release_gil=true))]
pub fn panic_for_test(py: Python<'_>, release_gil: bool) -> PyResult<()> {
    let boom = || -> pixfeed_core::Result<()> { panic!("deliberate test panic") };
    if release_gil {
        native(py, "_panic_for_test", boom)
    } else {
        held(py, "_panic_for_test", boom)
    }
}
