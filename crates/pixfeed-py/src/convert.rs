//! Core images -> numpy arrays, without copying the pixel buffer.

use numpy::ndarray::{Array2, Array3};
use numpy::IntoPyArray;
use pixfeed_core::{Image, PixelData};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// A fresh (h, w[, c]) array owning `data` (no copy), 2-D when `two_d`.
pub fn shaped<T: numpy::Element>(
    py: Python<'_>,
    h: usize,
    w: usize,
    c: usize,
    two_d: bool,
    data: Vec<T>,
) -> PyResult<Py<PyAny>> {
    let bad = |e: numpy::ndarray::ShapeError| PyRuntimeError::new_err(format!("shape: {e}"));
    Ok(if two_d {
        Array2::from_shape_vec((h, w), data)
            .map_err(bad)?
            .into_pyarray(py)
            .into_any()
            .unbind()
    } else {
        Array3::from_shape_vec((h, w, c), data)
            .map_err(bad)?
            .into_pyarray(py)
            .into_any()
            .unbind()
    })
}

/// An owned, writeable, C-contiguous (H, W[, C]) array; one-channel images are 2-D.
pub fn image_to_numpy(py: Python<'_>, img: Image) -> PyResult<Py<PyAny>> {
    let (h, w, c) = (img.height, img.width, img.channels);
    match img.data {
        PixelData::U8(v) => shaped(py, h, w, c, c == 1, v),
        PixelData::U16(v) => shaped(py, h, w, c, c == 1, v),
    }
}
