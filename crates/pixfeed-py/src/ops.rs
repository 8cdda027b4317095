//! Array-op bindings: take a list of images, release the GIL, run the core kernel on the
//! pool, hand back numpy arrays. Argument semantics live in Python (`pixfeed/_batch.py`).

use numpy::ndarray::IxDyn;
use numpy::{
    Element, PyArray1, PyArrayDyn, PyArrayMethods, PyReadwriteArrayDyn, PyUntypedArrayMethods,
};
use pixfeed_core::codecs::Layout;
use pixfeed_core::image::ImageViewMut;
use pixfeed_core::kernels;
use pixfeed_core::kernels::crop::CropBox;
use pixfeed_core::names::Named;
use pixfeed_core::rng::SampleRng;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arrays::{ArrayIn, ArrayOut};
use crate::entry;

/// Extract `images` (a list of uint8 arrays) for a batch op.
pub fn extract_images<'py>(images: &Bound<'py, PyList>) -> PyResult<Vec<ArrayIn<'py>>> {
    images
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = format!("images[{i}]");
            let arr = ArrayIn::extract(&a, &name)?;
            if arr.height == 0 || arr.width == 0 {
                return Err(PyValueError::new_err(format!(
                    "{name}: image is empty, {}x{}",
                    arr.width, arr.height
                )));
            }
            Ok(arr)
        })
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
    crate::convert::shaped(py, h, w, c, two_d, data)
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
        entry::native(py, "flip", || {
            pixfeed_core::pool::for_each_slot(buf, slot, threads, |i, s| {
                let v = arrays[i].view();
                let dst = ImageViewMut::new(s, v.width, v.height, v.channels)?;
                kernels::flip::flip_into(v, dst, horizontal, vertical);
                Ok(())
            })
        })?;
        return Ok(None);
    }
    let outs = entry::native(py, "flip", || {
        pixfeed_core::pool::map(arrays.len(), work, threads, |i| {
            let v = arrays[i].view();
            let mut out = vec![0u8; v.width * v.height * v.channels];
            let dst = ImageViewMut::new(&mut out, v.width, v.height, v.channels)?;
            kernels::flip::flip_into(v, dst, horizontal, vertical);
            Ok(out)
        })
    })?;
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

/// Per-image destination buffers written by pool tasks: (pointer, length) of each, every one
/// handed to exactly one task.
pub(crate) struct Dests<T> {
    pub(crate) slots: Vec<(*mut T, usize)>,
}

// SAFETY: the pointers target distinct buffers owned by numpy arrays that the caller keeps
// alive (and does not touch) until the pool work has finished; each is used by one task.
unsafe impl<T: Send> Send for Dests<T> {}
// SAFETY: as above: tasks never share a slot.
unsafe impl<T: Send> Sync for Dests<T> {}

impl<T> Dests<T> {
    /// Slot `i` as a mutable slice.
    ///
    /// # Safety
    /// Call at most once per `i` while the buffers are alive, and never concurrently for the
    /// same `i`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get(&self, i: usize) -> &mut [T] {
        let (ptr, len) = self.slots[i];
        // SAFETY: the caller's contract: `ptr` is valid for `len` elements and not aliased.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }
}

/// A writeable C-contiguous `out=` array of element type `T`, as a mutable slice holder.
pub(crate) struct TypedOut<'py, T: Element> {
    _borrow: PyReadwriteArrayDyn<'py, T>,
    ptr: *mut T,
    len: usize,
}

// SAFETY: the pointer targets the numpy buffer exclusively borrowed by `_borrow`.
unsafe impl<T: Element> Send for TypedOut<'_, T> {}

impl<'py, T: Element> TypedOut<'py, T> {
    pub(crate) fn extract(obj: &Bound<'py, PyAny>, dtype: &str) -> PyResult<Self> {
        let arr = obj
            .cast::<PyArrayDyn<T>>()
            .map_err(|_| PyTypeError::new_err(format!("out: expected a {dtype} numpy array")))?;
        if !arr.is_c_contiguous() {
            return Err(PyValueError::new_err("out: must be C-contiguous"));
        }
        let mut borrow = arr
            .try_readwrite()
            .map_err(|e| PyValueError::new_err(format!("out: not writeable ({e})")))?;
        let len = borrow.len();
        let ptr = borrow
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(format!("out: {e}")))?
            .as_mut_ptr();
        Ok(TypedOut {
            _borrow: borrow,
            ptr,
            len,
        })
    }

    /// `n` consecutive slots of `slot` elements each.
    pub(crate) fn slots(&mut self, n: usize, slot: usize) -> PyResult<Dests<T>> {
        if n * slot != self.len {
            return Err(PyValueError::new_err(format!(
                "out: holds {} elements, {n} images need {}",
                self.len,
                n * slot
            )));
        }
        let slots = (0..n)
            // SAFETY: `i * slot + slot <= len`: inside the buffer.
            .map(|i| (unsafe { self.ptr.add(i * slot) }, slot))
            .collect();
        Ok(Dests { slots })
    }
}

/// Output shape of an image, keeping 2-D inputs 2-D.
fn shape_of(h: usize, w: usize, c: usize, two_d: bool) -> Vec<usize> {
    if two_d {
        vec![h, w]
    } else {
        vec![h, w, c]
    }
}

/// Run `kernel(i, dst_i)` for every image, writing the results one after the other into a
/// single buffer (the GIL is released meanwhile) and return it:
/// - `out` (a preallocated `(N, *shape)` uint8 batch) when given;
/// - else, when all results have one shape, a fresh `(N, *shape)` array (`shape` alone when
///   `squeeze`: one image in, one array out);
/// - else a list of per-image arrays, views of one fresh flat buffer.
///
/// One allocation per call rather than one per image: fresh memory costs a page fault per
/// 4 KiB, which otherwise dominates a batch of crops.
fn run_u8<'py, F>(
    py: Python<'py>,
    name: &str,
    shapes: Vec<Vec<usize>>,
    squeeze: bool,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    kernel: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Fn(usize, &mut [u8]) -> pixfeed_core::Result<()> + Sync + Send,
{
    let n = shapes.len();
    let same = shapes.windows(2).all(|w| w[0] == w[1]);
    let first = shapes.first().cloned().unwrap_or_default();
    let batch_shape: Vec<usize> = std::iter::once(n).chain(first.iter().copied()).collect();
    let (result, mut view) = match out {
        Some(out) => {
            if !same {
                return Err(PyValueError::new_err(format!(
                    "out: needs all results to have the same shape, got {shapes:?}"
                )));
            }
            let view = ArrayOut::extract(out)?;
            if view.shape != batch_shape {
                return Err(PyValueError::new_err(format!(
                    "out: expected shape {batch_shape:?}, got {:?}",
                    view.shape
                )));
            }
            (out.clone(), view)
        }
        None => {
            let dims: Vec<usize> = if !same {
                vec![shapes.iter().map(|s| s.iter().product::<usize>()).sum()]
            } else if squeeze && n == 1 {
                first.clone()
            } else {
                batch_shape
            };
            // SAFETY: u8 needs no initialization to be dropped; every byte is written by the
            // kernels below before the array is handed to Python (on error it is dropped).
            let arr = unsafe { PyArrayDyn::<u8>::new(py, IxDyn(&dims), false) }.into_any();
            let view = ArrayOut::extract(&arr)?;
            (arr, view)
        }
    };
    let sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
    let total: usize = sizes.iter().sum();
    let buf = view.bytes();
    if buf.len() != total {
        return Err(PyValueError::new_err(format!(
            "out: holds {} bytes, the results need {total}",
            buf.len()
        )));
    }
    let base = buf.as_mut_ptr();
    let mut offset = 0;
    let slots = sizes
        .iter()
        .map(|&len| {
            // SAFETY: offsets are cumulative sizes, `offset + len <= total == buf.len()`.
            let p = unsafe { base.add(offset) };
            offset += len;
            (p, len)
        })
        .collect();
    let dests = Dests { slots };
    entry::native(py, name, || {
        pixfeed_core::pool::map(n, total, threads, |i| {
            // SAFETY: index `i` is handed to exactly one task; slots are disjoint parts of
            // the buffer, which is borrowed until the call returns.
            kernel(i, unsafe { dests.get(i) })
        })
    })?;
    drop(view);
    if same || out.is_some() {
        return Ok(result);
    }
    // Mixed shapes: per-image views of the flat buffer.
    let list = PyList::empty(py);
    let mut offset = 0;
    for (shape, len) in shapes.iter().zip(&sizes) {
        let part = result.get_item(pyo3::types::PySlice::new(
            py,
            offset as isize,
            (offset + len) as isize,
            1,
        ))?;
        list.append(part.call_method1("reshape", (pyo3::types::PyTuple::new(py, shape)?,))?)?;
        offset += len;
    }
    Ok(list.into_any())
}

/// Per-image pad bytes: one value for every channel, or one per channel.
fn pads(pad: Option<&[u8]>, arrays: &[ArrayIn<'_>]) -> PyResult<Vec<Option<Vec<u8>>>> {
    arrays
        .iter()
        .enumerate()
        .map(|(i, a)| match pad {
            None => Ok(None),
            Some([v]) => Ok(Some(vec![*v; a.channels])),
            Some(p) if p.len() == a.channels => Ok(Some(p.to_vec())),
            Some(p) => Err(PyValueError::new_err(format!(
                "pad_value: {} values for images[{i}] with {} channels",
                p.len(),
                a.channels
            ))),
        })
        .collect()
}

/// One value per image (`what` names the argument in errors).
fn check_count(what: &str, got: usize, n: usize) -> PyResult<()> {
    if got != n {
        return Err(PyValueError::new_err(format!(
            "{what}: expected one value or {n} (one per image), got {got}"
        )));
    }
    Ok(())
}

/// A positive crop size `(w, h)` named `sizes[i]`.
fn crop_size(i: usize, (w, h): (i64, i64)) -> PyResult<(usize, usize)> {
    if w < 1 || h < 1 {
        return Err(PyValueError::new_err(format!(
            "sizes[{i}]: width and height must be >= 1, got ({w}, {h})"
        )));
    }
    Ok((w as usize, h as usize))
}

#[allow(clippy::too_many_arguments)]
fn run_crops<'py>(
    py: Python<'py>,
    name: &str,
    arrays: &[ArrayIn<'py>],
    boxes: &[CropBox],
    pad: Option<&[u8]>,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    squeeze: bool,
) -> PyResult<Bound<'py, PyAny>> {
    check_count("boxes", boxes.len(), arrays.len())?;
    let pads = pads(pad, arrays)?;
    let shapes = arrays
        .iter()
        .zip(boxes)
        .map(|(a, b)| shape_of(b.height, b.width, a.channels, a.ndim == 2))
        .collect();
    run_u8(py, name, shapes, squeeze, threads, out, |i, s| {
        let v = arrays[i].view();
        let dst = ImageViewMut::new(s, boxes[i].width, boxes[i].height, v.channels)?;
        kernels::crop::crop_into(v, dst, boxes[i], pads[i].as_deref())
    })
}

/// Crops of `sizes[i] = (w, h)`, one per image, each placed by `place(i, image, w, h)`.
#[allow(clippy::too_many_arguments)]
fn sized_crops<'py, F>(
    py: Python<'py>,
    name: &str,
    images: &Bound<'py, PyList>,
    sizes: Vec<(i64, i64)>,
    pad: Option<&[u8]>,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    squeeze: bool,
    place: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Fn(usize, &ArrayIn<'py>, usize, usize) -> PyResult<CropBox>,
{
    let arrays = extract_images(images)?;
    check_count("sizes", sizes.len(), arrays.len())?;
    let boxes = arrays
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (a, s))| {
            let (w, h) = crop_size(i, s)?;
            place(i, a, w, h)
        })
        .collect::<PyResult<Vec<_>>>()?;
    run_crops(py, name, &arrays, &boxes, pad, threads, out, squeeze)
}

/// Crop `boxes[i] = (x, y, w, h)` out of image i (one box per image); a box leaving its image
/// is an error naming it unless `pad_value` is given.
#[pyfunction]
#[pyo3(signature = (images, boxes, pad_value, threads, out, squeeze))]
#[allow(clippy::too_many_arguments)]
pub fn crop<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    boxes: Vec<(i64, i64, i64, i64)>,
    pad_value: Option<Vec<u8>>,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    squeeze: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let arrays = extract_images(images)?;
    check_count("boxes", boxes.len(), arrays.len())?;
    let boxes = boxes
        .into_iter()
        .zip(&arrays)
        .enumerate()
        .map(|(i, ((x, y, w, h), a))| {
            if w < 1 || h < 1 {
                return Err(PyValueError::new_err(format!(
                    "boxes[{i}]: width and height must be >= 1, got ({x}, {y}, {w}, {h})"
                )));
            }
            let b = CropBox::new(x, y, w as usize, h as usize);
            if pad_value.is_none() && !b.inside(a.width, a.height) {
                return Err(PyValueError::new_err(format!(
                    "boxes[{i}]: box ({x}, {y}, {w}, {h}) leaves the {}x{} image images[{i}] \
                     (pass pad_value to pad)",
                    a.width, a.height
                )));
            }
            Ok(b)
        })
        .collect::<PyResult<Vec<_>>>()?;
    let pad = pad_value.as_deref();
    run_crops(py, "crop", &arrays, &boxes, pad, threads, out, squeeze)
}

/// torchvision's CenterCrop of `sizes[i] = (w, h)`, padding with `pad_value`.
#[pyfunction]
#[pyo3(signature = (images, sizes, pad_value, threads, out, squeeze))]
#[allow(clippy::too_many_arguments)]
pub fn center_crop<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    sizes: Vec<(i64, i64)>,
    pad_value: Vec<u8>,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    squeeze: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let pad = Some(pad_value.as_slice());
    sized_crops(
        py,
        "center_crop",
        images,
        sizes,
        pad,
        threads,
        out,
        squeeze,
        |_, a, w, h| {
            entry::held(py, "center_crop", || {
                Ok(kernels::crop::center_box(a.width, a.height, w, h))
            })
        },
    )
}

/// torchvision's RandomCrop of `sizes[i] = (w, h)`; image i draws from
/// `SampleRng::new(seed, 0, i)`.
#[pyfunction]
#[pyo3(signature = (images, sizes, seed, threads, out, squeeze))]
#[allow(clippy::too_many_arguments)]
pub fn random_crop<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    sizes: Vec<(i64, i64)>,
    seed: u64,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    squeeze: bool,
) -> PyResult<Bound<'py, PyAny>> {
    sized_crops(
        py,
        "random_crop",
        images,
        sizes,
        None,
        threads,
        out,
        squeeze,
        |i, a, w, h| {
            let drawn = entry::held(py, "random_crop", || {
                let mut rng = SampleRng::new(seed, 0, i as u64);
                Ok(kernels::crop::random_box(&mut rng, a.width, a.height, w, h))
            })?;
            drawn.map_err(|_| {
                PyValueError::new_err(format!(
                    "sizes[{i}]: crop {w}x{h} is larger than the {}x{} image images[{i}]",
                    a.width, a.height
                ))
            })
        },
    )
}

fn layout(py: Python<'_>, name: &str, arg: &'static str) -> PyResult<Layout> {
    entry::held(py, arg, || Layout::parse_as(name, arg))
}

/// Convert images laid out as `source` to `to` (L output is 2-D).
#[pyfunction]
#[pyo3(signature = (images, to, source, alpha, threads, out, squeeze))]
#[allow(clippy::too_many_arguments)]
pub fn convert<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    to: &str,
    source: &str,
    alpha: u8,
    threads: Option<usize>,
    out: Option<&Bound<'py, PyAny>>,
    squeeze: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (to_layout, from) = (layout(py, to, "to")?, layout(py, source, "source")?);
    let arrays = extract_images(images)?;
    if let Some((i, a)) = arrays
        .iter()
        .enumerate()
        .find(|(_, a)| a.channels != from.channels())
    {
        return Err(PyValueError::new_err(format!(
            "images[{i}]: source={source:?} needs {} channel(s), got {}",
            from.channels(),
            a.channels
        )));
    }
    let tc = to_layout.channels();
    let shapes = arrays
        .iter()
        .map(|a| shape_of(a.height, a.width, tc, tc == 1))
        .collect();
    run_u8(py, "convert", shapes, squeeze, threads, out, |i, s| {
        let v = arrays[i].view();
        let dst = ImageViewMut::new(s, v.width, v.height, tc)?;
        kernels::color::convert_into(v, dst, from, to_layout, alpha)
    })
}

/// Mean luminance of each image (float64 array).
#[pyfunction]
#[pyo3(signature = (images, weights, threads))]
pub fn luminance<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    weights: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    use kernels::luminance::Weights;
    let weights = entry::held(py, "weights", || weights.parse::<Weights>())?;
    let arrays = extract_images(images)?;
    // Tasks of whole images, large images split into row bands: one big image still uses
    // every thread, and the sums are exact integers, so the split never changes the result.
    const BAND_BYTES: usize = 1 << 20;
    let mut tasks: Vec<(usize, usize, usize)> = Vec::with_capacity(arrays.len());
    for (i, a) in arrays.iter().enumerate() {
        let row = (a.width * a.channels).max(1);
        let rows = if a.height * row > 2 * BAND_BYTES {
            (BAND_BYTES / row).max(1)
        } else {
            a.height
        };
        let mut y = 0;
        while y < a.height {
            let n = rows.min(a.height - y);
            tasks.push((i, y, n));
            y += n;
        }
    }
    let work = arrays.iter().map(|a| a.height * a.width * a.channels).sum();
    let sums = entry::native(py, "luminance", || {
        pixfeed_core::pool::map(tasks.len(), work, threads, |t| {
            let (i, y0, rows) = tasks[t];
            let band = kernels::luminance::band(arrays[i].view(), y0, rows);
            Ok(kernels::luminance::channel_sums(band))
        })
    })?;
    let mut totals = vec![[0u64; 4]; arrays.len()];
    for (&(i, _, _), s) in tasks.iter().zip(&sums) {
        for (t, v) in totals[i].iter_mut().zip(s) {
            *t += v;
        }
    }
    let values = arrays
        .iter()
        .zip(&totals)
        .map(|(a, &s)| {
            kernels::luminance::weighted_mean(s, a.channels, a.width * a.height, weights)
        })
        .collect();
    Ok(PyArray1::from_vec(py, values))
}

/// `(x / 255 - mean) / std` of every image into `out` (float32, or uint16 bits of float16 /
/// bfloat16), planar (`CHW`) or interleaved (`HWC`) per image. Python checks shapes.
#[pyfunction]
#[pyo3(signature = (images, mean, std, dtype, layout, threads, out))]
#[allow(clippy::too_many_arguments)]
pub fn normalize<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    mean: Vec<f64>,
    std: Vec<f64>,
    dtype: &str,
    layout: &str,
    threads: Option<usize>,
    out: &Bound<'py, PyAny>,
) -> PyResult<()> {
    use kernels::normalize::{self as nz, TensorLayout};
    let layout = entry::held(py, "layout", || layout.parse::<TensorLayout>())?;
    let arrays = extract_images(images)?;
    let n = arrays.len();
    let slot = arrays
        .first()
        .map_or(0, |a| a.height * a.width * a.channels);
    if let Some((i, _)) = arrays
        .iter()
        .enumerate()
        .find(|(_, a)| a.height * a.width * a.channels != slot)
    {
        return Err(PyValueError::new_err(format!(
            "images[{i}]: all images must have the same shape to be stacked"
        )));
    }
    use pixfeed_core::pipeline::OutDtype;
    let dtype_err = || {
        PyValueError::new_err(format!(
            "dtype: expected 'float32', 'float16' or 'bfloat16', got {dtype:?}"
        ))
    };
    let parsed = entry::held(py, "dtype", || dtype.parse::<OutDtype>()).map_err(|_| dtype_err())?;
    match parsed {
        OutDtype::F32 => {
            let tables = entry::held(py, "normalize", || nz::f32_tables(&mean, &std))?;
            let mut o = TypedOut::<f32>::extract(out, "float32")?;
            let dests = o.slots(n, slot)?;
            run_typed(py, &arrays, &dests, &tables, layout, threads)
        }
        OutDtype::F16 | OutDtype::BF16 => {
            let tables = entry::held(py, "normalize", || {
                if parsed == OutDtype::F16 {
                    nz::f16_tables(&mean, &std)
                } else {
                    nz::bf16_tables(&mean, &std)
                }
            })?;
            let mut o = TypedOut::<u16>::extract(out, "uint16")?;
            let dests = o.slots(n, slot)?;
            run_typed(py, &arrays, &dests, &tables, layout, threads)
        }
        OutDtype::U8 => Err(dtype_err()),
    }
}

fn run_typed<T: Copy + Send + Sync>(
    py: Python<'_>,
    arrays: &[ArrayIn<'_>],
    dests: &Dests<T>,
    tables: &[[T; 256]],
    layout: kernels::normalize::TensorLayout,
    threads: Option<usize>,
) -> PyResult<()> {
    let work = dests.slots.iter().map(|s| s.1).sum::<usize>() * std::mem::size_of::<T>();
    entry::native(py, "normalize", || {
        pixfeed_core::pool::map(arrays.len(), work, threads, |i| {
            // SAFETY: index `i` is handed to exactly one task; `out` outlives the call.
            let dst = unsafe { dests.get(i) };
            kernels::normalize::normalize_into(arrays[i].view(), dst, tables, layout)
        })
    })?;
    Ok(())
}
