//! Resize bindings: `resize_into` (into arrays the caller allocated: one allocation per call),
//! `resize_one` (the single-image fast path: all argument checks here, no Python-level work),
//! and the random resized crop. Argument conventions for batches live in Python (`pixfeed/resize.py`).

use std::sync::Mutex;

use numpy::PyUntypedArrayMethods;
use pixfeed_core::geometry::{random_resized_crop_box, CropSampling};
use pixfeed_core::image::{ImageView, ImageViewMut, Rect};
use pixfeed_core::kernels::resize as kernel;
use pixfeed_core::kernels::resize::{Filter, Interpolation};
use pixfeed_core::rng::SampleRng;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyList, PyString};

use crate::arrays::{ArrayIn, ArrayOut};
use crate::entry;
use crate::ops::{extract_images, to_numpy};

fn filter(py: Python<'_>, interpolation: &str, antialias: bool) -> PyResult<Filter> {
    let i = entry::held(py, "interpolation", || {
        interpolation.parse::<Interpolation>()
    })?;
    Ok(Filter::new(i, antialias))
}

fn threads_arg(threads: Option<i64>) -> PyResult<Option<usize>> {
    match threads {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(n as usize)),
        Some(n) => Err(PyValueError::new_err(format!(
            "threads: must be >= 1, got {n}"
        ))),
    }
}

fn non_empty(a: &ArrayIn<'_>, name: &str) -> PyResult<()> {
    if a.height == 0 || a.width == 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: image is empty, shape ({}, {})",
            a.height, a.width
        )));
    }
    Ok(())
}

/// "image is empty" for an empty array (numpy gives those zero strides), else `err`.
fn empty_or(obj: &Bound<'_, PyAny>, err: PyErr) -> PyErr {
    match obj.cast::<numpy::PyUntypedArray>() {
        Ok(a) if a.shape().contains(&0) => {
            PyValueError::new_err(format!("images: image is empty, shape {:?}", a.shape()))
        }
        _ => err,
    }
}

/// One positive dimension of a size argument (ints only; bools refused).
fn dim(v: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected an int or (width, height), got a bool"
        )));
    }
    let n: i64 = v.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name}: expected an int or (width, height), got {}",
            v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    })?;
    if n < 1 {
        return Err(PyValueError::new_err(format!(
            "{name}: sizes must be >= 1, got {n}"
        )));
    }
    Ok(n as usize)
}

/// `sizes` of the fast path: an int (shorter side) or a (width, height) pair (any sequence).
fn output_size(size: &Bound<'_, PyAny>, width: usize, height: usize) -> PyResult<(usize, usize)> {
    if size.is_instance_of::<PyInt>() || !size.hasattr("__len__")? {
        let s = dim(size, "sizes")?;
        return Ok(kernel::shorter_side_size(width, height, s));
    }
    if !size.is_instance_of::<PyString>() && size.len()? == 2 {
        return Ok((
            dim(&size.get_item(0)?, "sizes")?,
            dim(&size.get_item(1)?, "sizes")?,
        ));
    }
    Err(PyTypeError::new_err(format!(
        "sizes: expected an int or (width, height) for one image, got {}",
        size.repr().map_or_else(|_| "?".into(), |r| r.to_string())
    )))
}

fn resize_to_vec(
    v: ImageView<'_>,
    w: usize,
    h: usize,
    f: Filter,
    threads: Option<usize>,
) -> pixfeed_core::Result<Vec<u8>> {
    let mut out = vec![0u8; w * h * v.channels];
    kernel::resize_into_par(
        v,
        ImageViewMut::new(&mut out, w, h, v.channels)?,
        f,
        threads,
    )?;
    Ok(out)
}

/// One array in, one array out: the per-call overhead of the common case kept to a minimum.
#[pyfunction]
pub fn resize_one<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    sizes: &Bound<'py, PyAny>,
    interpolation: &str,
    antialias: bool,
    threads: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let f = filter(py, interpolation, antialias)?;
    let threads = threads_arg(threads)?;
    let a = ArrayIn::extract(image, "images").map_err(|e| empty_or(image, e))?;
    non_empty(&a, "images")?;
    let (w, h) = output_size(sizes, a.width, a.height)?;
    let v = a.view();
    // Tiny images are not worth a GIL round trip either.
    let data = if a.height * a.width * a.channels + w * h * a.channels < 16 * 1024 {
        entry::held(py, "resize", || resize_to_vec(v, w, h, f, threads))
    } else {
        entry::native(py, "resize", || resize_to_vec(v, w, h, f, threads))
    }?;
    to_numpy(py, data, h, w, a.channels, a.ndim == 2)
}

/// Where the results go: the slots of one `(N, h, w[, C])` batch, or one array per image.
enum Dest<'py> {
    Batch(ArrayOut<'py>),
    Each(Vec<ArrayOut<'py>>),
}

impl<'py> Dest<'py> {
    fn extract(out: &Bound<'py, PyAny>, n: usize) -> PyResult<Self> {
        if let Ok(list) = out.cast::<PyList>() {
            if list.len() != n {
                return Err(PyValueError::new_err(format!(
                    "out: expected {n} arrays (one per image), got {}",
                    list.len()
                )));
            }
            return list
                .iter()
                .map(|o| ArrayOut::extract(&o))
                .collect::<PyResult<Vec<_>>>()
                .map(Dest::Each);
        }
        let batch = ArrayOut::extract(out)?;
        batch.slot_len(n)?;
        Ok(Dest::Batch(batch))
    }

    /// `(width, height, channels)` of image `i`'s destination.
    fn shape(&self, i: usize) -> PyResult<(usize, usize, usize)> {
        let s: &[usize] = match self {
            Dest::Batch(b) => &b.shape[1..],
            Dest::Each(v) => &v[i].shape,
        };
        match *s {
            [h, w] => Ok((w, h, 1)),
            [h, w, c] => Ok((w, h, c)),
            _ => Err(PyValueError::new_err(format!(
                "out: expected (h, w) or (h, w, C) images, got shape {s:?}"
            ))),
        }
    }

    /// The destination buffers, one per image.
    fn slots(&mut self, n: usize) -> Vec<Mutex<&mut [u8]>> {
        match self {
            Dest::Batch(b) => {
                let buf = b.bytes();
                let len = buf.len().checked_div(n).unwrap_or(0);
                if len == 0 {
                    return (0..n).map(|_| Mutex::new(&mut [][..])).collect();
                }
                buf.chunks_exact_mut(len).map(Mutex::new).collect()
            }
            Dest::Each(v) => v.iter_mut().map(|o| Mutex::new(o.bytes())).collect(),
        }
    }
}

/// Write image `i` resized from `views[i]` (a view or a crop of one) into `slots[i]`.
fn run_into(
    py: Python<'_>,
    views: &[ImageView<'_>],
    dims: &[(usize, usize, usize)],
    slots: Vec<Mutex<&mut [u8]>>,
    f: Filter,
    threads: Option<usize>,
) -> PyResult<()> {
    let work: usize = views
        .iter()
        .zip(dims)
        .map(|(v, (w, h, c))| v.width * v.height * v.channels + w * h * c)
        .sum();
    entry::native(py, "resize", || {
        pixfeed_core::pool::map(views.len(), work, threads, |i| {
            let (w, h, c) = dims[i];
            let mut slot = slots[i].lock().unwrap_or_else(|e| e.into_inner());
            let dst = ImageViewMut::new(&mut slot[..], w, h, c)?;
            kernel::resize_into_par(views[i], dst, f, threads)
        })
    })?;
    Ok(())
}

fn check_dims(arrays: &[ArrayIn<'_>], dest: &Dest<'_>) -> PyResult<Vec<(usize, usize, usize)>> {
    arrays
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (w, h, c) = dest.shape(i)?;
            if c != a.channels || w == 0 || h == 0 {
                return Err(PyValueError::new_err(format!(
                    "out: image {i} has {} channels, its destination is {h}x{w}x{c}",
                    a.channels
                )));
            }
            Ok((w, h, c))
        })
        .collect()
}

/// Resize each image to the size of its destination in `out`: one `(N, h, w[, C])` array or
/// a list of N arrays (for example the frames of preallocated clips).
#[pyfunction]
pub fn resize_into<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    out: &Bound<'py, PyAny>,
    interpolation: &str,
    antialias: bool,
    threads: Option<i64>,
) -> PyResult<()> {
    let f = filter(py, interpolation, antialias)?;
    let threads = threads_arg(threads)?;
    let arrays = extract_images(images)?;
    let mut dest = Dest::extract(out, arrays.len())?;
    let dims = check_dims(&arrays, &dest)?;
    let views: Vec<ImageView<'_>> = arrays.iter().map(|a| a.view()).collect();
    let slots = dest.slots(arrays.len());
    run_into(py, &views, &dims, slots, f, threads)
}

fn sampling(py: Python<'_>, scale: (f64, f64), ratio: (f64, f64)) -> PyResult<CropSampling> {
    entry::held(py, "", || CropSampling::new(scale, ratio))
}

/// The sample index of image `i`: `indices[i]`, or `i`.
fn sample_indices(n: usize, indices: Option<Vec<u64>>) -> PyResult<Vec<u64>> {
    match indices {
        None => Ok((0..n as u64).collect()),
        Some(v) if v.len() == n => Ok(v),
        Some(v) => Err(PyValueError::new_err(format!(
            "indices: expected {n} (one per image), got {}",
            v.len()
        ))),
    }
}

fn boxes_for(
    py: Python<'_>,
    sizes: &[(u32, u32)],
    s: &CropSampling,
    seed: u64,
    epoch: u64,
    indices: &[u64],
) -> PyResult<Vec<Rect>> {
    entry::held(py, "random_resized_crop", || {
        Ok(sizes
            .iter()
            .zip(indices)
            .map(|(&(w, h), &idx)| {
                random_resized_crop_box(w, h, s, &mut SampleRng::new(seed, epoch, idx))
            })
            .collect())
    })
}

/// `(x, y, width, height)`.
type BoxTuple = (u32, u32, u32, u32);

fn box_tuple(r: &Rect) -> BoxTuple {
    (r.x, r.y, r.width, r.height)
}

/// torchvision's RandomResizedCrop boxes for images of the given `(width, height)`s.
#[pyfunction]
#[pyo3(signature = (sizes, scale, ratio, seed, epoch, indices=None))]
pub fn random_resized_crop_params(
    py: Python<'_>,
    sizes: Vec<(u32, u32)>,
    scale: (f64, f64),
    ratio: (f64, f64),
    seed: u64,
    epoch: u64,
    indices: Option<Vec<u64>>,
) -> PyResult<Vec<BoxTuple>> {
    let s = sampling(py, scale, ratio)?;
    let idx = sample_indices(sizes.len(), indices)?;
    Ok(boxes_for(py, &sizes, &s, seed, epoch, &idx)?
        .iter()
        .map(box_tuple)
        .collect())
}

/// Crop each image to its sampled box and resize the crop to `size` into `out` (one
/// `(N, h, w[, C])` array or one array per image), in one pass: the crop is a view, and only
/// pixels inside the box contribute, as torchvision's crop-then-resize. Returns the boxes.
#[pyfunction]
#[pyo3(signature = (images, size, scale, ratio, interpolation, antialias, seed, epoch, indices, threads, out))]
#[allow(clippy::too_many_arguments)]
pub fn random_resized_crop<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    size: (usize, usize),
    scale: (f64, f64),
    ratio: (f64, f64),
    interpolation: &str,
    antialias: bool,
    seed: u64,
    epoch: u64,
    indices: Option<Vec<u64>>,
    threads: Option<i64>,
    out: &Bound<'py, PyAny>,
) -> PyResult<Vec<BoxTuple>> {
    let f = filter(py, interpolation, antialias)?;
    let threads = threads_arg(threads)?;
    let s = sampling(py, scale, ratio)?;
    let arrays = extract_images(images)?;
    for (i, a) in arrays.iter().enumerate() {
        non_empty(a, &format!("images[{i}]"))?;
    }
    let idx = sample_indices(arrays.len(), indices)?;
    let dims_in: Vec<(u32, u32)> = arrays
        .iter()
        .map(|a| (a.width as u32, a.height as u32))
        .collect();
    let boxes = boxes_for(py, &dims_in, &s, seed, epoch, &idx)?;
    let views = entry::held(py, "random_resized_crop", || {
        arrays
            .iter()
            .zip(&boxes)
            .map(|(a, b)| kernel::crop_view(a.view(), *b))
            .collect::<pixfeed_core::Result<Vec<_>>>()
    })?;
    let mut dest = Dest::extract(out, arrays.len())?;
    let dims = check_dims(&arrays, &dest)?;
    if let Some(bad) = dims.iter().find(|&&(w, h, _)| (w, h) != size) {
        return Err(PyValueError::new_err(format!(
            "out: expected images of {}x{}, got {}x{}",
            size.1, size.0, bad.1, bad.0
        )));
    }
    let slots = dest.slots(arrays.len());
    run_into(py, &views, &dims, slots, f, threads)?;
    Ok(boxes.iter().map(box_tuple).collect())
}
