//! Array-op bindings: take a list of images, release the GIL, run the core kernel on the
//! pool, hand back numpy arrays. Argument semantics live in Python (`pixfeed/_batch.py`).

use numpy::ndarray::{Array2, Array3};
use numpy::IntoPyArray;
use pixfeed_core::image::ImageViewMut;
use pixfeed_core::kernels;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arrays::{ArrayIn, ArrayOut};
use crate::errors::to_pyerr;

/// Extract `images` (a list of uint8 arrays) for a batch op.
pub fn extract_images<'py>(images: &Bound<'py, PyList>) -> PyResult<Vec<ArrayIn<'py>>> {
    images
        .iter()
        .enumerate()
        .map(|(i, a)| ArrayIn::extract(&a, &format!("images[{i}]")))
        .collect()
}

/// A fresh (h, w[, c]) array from a contiguous buffer, keeping 2-D when asked.
pub fn to_numpy(
    py: Python<'_>,
    data: Vec<u8>,
    h: usize,
    w: usize,
    c: usize,
    two_d: bool,
) -> PyResult<Py<PyAny>> {
    let bad =
        |e: numpy::ndarray::ShapeError| pyo3::exceptions::PyRuntimeError::new_err(e.to_string());
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

/// Flip each image; into `out` (validated by Python: (N, H, W[, C]), all images that size)
/// when given, returning None, else into fresh arrays.
#[pyfunction]
#[pyo3(signature = (images, horizontal, vertical, threads, out=None))]
pub fn flip<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    horizontal: bool,
    vertical: bool,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyList>>> {
    let arrays = extract_images(images)?;
    let work: usize = arrays.iter().map(|a| a.height * a.width * a.channels).sum();
    if let Some(out) = out {
        let mut out = ArrayOut::extract(out)?;
        let slot = out.slot_len(arrays.len())?;
        let buf = out.bytes();
        py.detach(|| {
            pixfeed_core::pool::for_each_slot(buf, slot, threads, |i, s| {
                let v = arrays[i].view();
                let dst = ImageViewMut::new(s, v.width, v.height, v.channels)?;
                kernels::flip::flip_into(v, dst, horizontal, vertical);
                Ok(())
            })
        })
        .map_err(|e| to_pyerr(py, "flip", e))?;
        return Ok(None);
    }
    let outs = py
        .detach(|| {
            pixfeed_core::pool::map(arrays.len(), work, threads, |i| {
                let v = arrays[i].view();
                let mut out = vec![0u8; v.width * v.height * v.channels];
                let dst = ImageViewMut::new(&mut out, v.width, v.height, v.channels)?;
                kernels::flip::flip_into(v, dst, horizontal, vertical);
                Ok(out)
            })
        })
        .map_err(|e| to_pyerr(py, "flip", e))?;
    let list = PyList::empty(py);
    for (a, data) in arrays.iter().zip(outs) {
        list.append(to_numpy(
            py,
            data,
            a.height,
            a.width,
            a.channels,
            a.ndim == 2,
        )?)?;
    }
    Ok(Some(list))
}
