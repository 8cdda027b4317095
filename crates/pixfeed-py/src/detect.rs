//! Detection-geometry bindings (`pixfeed.detect`): numpy in and out, GIL released, errors
//! mapped. The Python layer validates and normalizes arguments (dtypes, C-contiguity,
//! packing of polygon lists); everything here takes arrays in exactly the expected form.

use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyUntypedArrayMethods,
};
use pixfeed_core::detect::{boxes, letterbox as lb, nms as core_nms, polygon, simplify, yolo};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arrays::ArrayIn;
use crate::entry;

fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray2<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be C-contiguous")))
}

fn slice1<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be C-contiguous")))
}

fn shape_err(e: numpy::ndarray::ShapeError) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

/// An (N, 4) float32 or float64 array.
enum Boxes<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

impl<'py> Boxes<'py> {
    fn extract(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        let b = if let Ok(a) = obj.cast::<PyArray2<f32>>() {
            Boxes::F32(a.readonly())
        } else if let Ok(a) = obj.cast::<PyArray2<f64>>() {
            Boxes::F64(a.readonly())
        } else {
            return Err(PyTypeError::new_err(format!(
                "{name}: expected an (N, 4) float32 or float64 array"
            )));
        };
        let cols = match &b {
            Boxes::F32(a) => a.shape()[1],
            Boxes::F64(a) => a.shape()[1],
        };
        if cols != 4 {
            return Err(PyValueError::new_err(format!(
                "{name}: expected shape (N, 4)"
            )));
        }
        Ok(b)
    }
}

fn int64_array(py: Python<'_>, v: Vec<i64>) -> Bound<'_, PyArray1<i64>> {
    v.into_pyarray(py)
}

/// Indices kept by NMS (see `pixfeed.nms`).
#[pyfunction]
#[pyo3(signature = (boxes, scores, iou_threshold, classes=None, max_detections=None))]
pub fn nms<'py>(
    py: Python<'py>,
    boxes: &Bound<'py, PyAny>,
    scores: PyReadonlyArray1<'py, f64>,
    iou_threshold: f64,
    classes: Option<PyReadonlyArray1<'py, i64>>,
    max_detections: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let b = Boxes::extract(boxes, "boxes")?;
    let s = slice1(&scores, "scores")?;
    let c = match &classes {
        Some(c) => Some(slice1(c, "classes")?),
        None => None,
    };
    let r = match &b {
        Boxes::F32(a) => {
            let bs = slice(a, "boxes")?;
            entry::native(py, "nms", || {
                core_nms::nms(bs, s, c, iou_threshold, max_detections)
            })
        }
        Boxes::F64(a) => {
            let bs = slice(a, "boxes")?;
            entry::native(py, "nms", || {
                core_nms::nms(bs, s, c, iou_threshold, max_detections)
            })
        }
    };
    Ok(int64_array(py, r?))
}

/// The (N, M) IoU matrix; `a` and `b` have the same dtype.
#[pyfunction]
#[pyo3(signature = (a, b, threads=None))]
pub fn box_iou<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    fn run<'py, T: pixfeed_core::detect::Real + numpy::Element>(
        py: Python<'py>,
        a: &PyReadonlyArray2<'py, T>,
        b: &PyReadonlyArray2<'py, T>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (sa, sb) = (slice(a, "a")?, slice(b, "b")?);
        let (n, m) = (sa.len() / 4, sb.len() / 4);
        let out = entry::native(py, "box_iou", || {
            boxes::validate_xyxy(sa, "a")?;
            boxes::validate_xyxy(sb, "b")?;
            let mut out = vec![T::ZERO; n * m];
            boxes::box_iou_into(sa, sb, &mut out, threads)?;
            Ok(out)
        })?;
        Ok(Array2::from_shape_vec((n, m), out)
            .map_err(shape_err)?
            .into_pyarray(py)
            .into_any())
    }
    match (Boxes::extract(a, "a")?, Boxes::extract(b, "b")?) {
        (Boxes::F32(a), Boxes::F32(b)) => run(py, &a, &b, threads),
        (Boxes::F64(a), Boxes::F64(b)) => run(py, &a, &b, threads),
        _ => Err(PyTypeError::new_err("a, b: expected the same dtype")),
    }
}

/// Boxes converted between 'xyxy', 'xywh' and 'cxcywh'.
#[pyfunction]
pub fn box_convert<'py>(
    py: Python<'py>,
    boxes: &Bound<'py, PyAny>,
    in_fmt: &str,
    out_fmt: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let from = entry::held(py, "", || boxes::BoxFormat::parse(in_fmt, "in_fmt"))?;
    let to = entry::held(py, "", || boxes::BoxFormat::parse(out_fmt, "out_fmt"))?;
    fn run<'py, T: pixfeed_core::detect::Real + numpy::Element>(
        py: Python<'py>,
        a: &PyReadonlyArray2<'py, T>,
        from: boxes::BoxFormat,
        to: boxes::BoxFormat,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = slice(a, "boxes")?;
        let out = entry::native(py, "box_convert", || {
            let mut out = vec![T::ZERO; s.len()];
            boxes::box_convert_into(s, &mut out, from, to);
            Ok(out)
        })?;
        Ok(Array2::from_shape_vec((s.len() / 4, 4), out)
            .map_err(shape_err)?
            .into_pyarray(py)
            .into_any())
    }
    match Boxes::extract(boxes, "boxes")? {
        Boxes::F32(a) => run(py, &a, from, to),
        Boxes::F64(a) => run(py, &a, from, to),
    }
}

/// Argument names the core can report (its errors take static names).
fn arg_name(name: &str) -> &'static str {
    match name {
        "a" => "a",
        "b" => "b",
        "points" => "points",
        "polygon" => "polygon",
        _ => "polygons",
    }
}

/// A packed polygon list: (K, 2) float64 vertices and int64 offsets (P + 1).
struct Packed<'py> {
    xy: PyReadonlyArray2<'py, f64>,
    offsets: PyReadonlyArray1<'py, i64>,
}

impl<'py> Packed<'py> {
    fn set(&self, name: &str) -> PyResult<polygon::PolySet<'_>> {
        let name = arg_name(name);
        let xy = slice(&self.xy, name)?;
        let off = slice1(&self.offsets, name)?;
        entry::held(self.xy.py(), "", || polygon::PolySet::new(xy, off, name))
    }
}

/// Areas of packed simple polygons.
#[pyfunction]
#[pyo3(signature = (xy, offsets, name, threads=None))]
pub fn polygon_area<'py>(
    py: Python<'py>,
    xy: PyReadonlyArray2<'py, f64>,
    offsets: PyReadonlyArray1<'py, i64>,
    name: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let p = Packed { xy, offsets };
    let set = p.set(name)?;
    let r = entry::native(py, "polygon_area", || polygon::polygon_area(&set, threads))?;
    Ok(r.into_pyarray(py))
}

/// IoU of packed polygon pairs (one side may hold a single polygon).
#[pyfunction]
#[pyo3(signature = (a_xy, a_offsets, b_xy, b_offsets, threads=None))]
pub fn polygon_iou<'py>(
    py: Python<'py>,
    a_xy: PyReadonlyArray2<'py, f64>,
    a_offsets: PyReadonlyArray1<'py, i64>,
    b_xy: PyReadonlyArray2<'py, f64>,
    b_offsets: PyReadonlyArray1<'py, i64>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let pa = Packed {
        xy: a_xy,
        offsets: a_offsets,
    };
    let pb = Packed {
        xy: b_xy,
        offsets: b_offsets,
    };
    let (sa, sb) = (pa.set("a")?, pb.set("b")?);
    let r = entry::native(py, "polygon_iou", || {
        polygon::polygon_iou(&sa, &sb, threads)
    })?;
    Ok(r.into_pyarray(py))
}

/// Which (N, 2) points lie in the (K, 2) polygon (boundary included, even-odd rule).
#[pyfunction]
#[pyo3(signature = (points, polygon, threads=None))]
pub fn points_in_polygon<'py>(
    py: Python<'py>,
    points: PyReadonlyArray2<'py, f64>,
    polygon: PyReadonlyArray2<'py, f64>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let pts = slice(&points, "points")?;
    let poly = slice(&polygon, "polygon")?;
    let r = entry::native(py, "points_in_polygon", || {
        polygon::points_in_polygon(pts, poly, threads)
    })?;
    Ok(r.into_pyarray(py))
}

/// Packed polygons handed back: (K, 2) vertices and P + 1 offsets.
type PackedOut<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<i64>>);

/// Douglas-Peucker over packed rings (or lines): packed result `(xy, offsets)`.
#[pyfunction]
pub fn simplify_polygon<'py>(
    py: Python<'py>,
    xy: PyReadonlyArray2<'py, f64>,
    offsets: PyReadonlyArray1<'py, i64>,
    tolerance: f64,
    closed: bool,
) -> PyResult<PackedOut<'py>> {
    let p = Packed { xy, offsets };
    let set = p.set("points")?;
    let (out, off) = entry::native(py, "simplify_polygon", || {
        simplify::simplify(&set, tolerance, closed)
    })?;
    let n = out.len() / 2;
    let arr = Array2::from_shape_vec((n, 2), out)
        .map_err(shape_err)?
        .into_pyarray(py);
    Ok((arr, off.into_pyarray(py)))
}

/// Letterbox one uint8 image: `(image, scale, (left, top))`.
#[pyfunction]
pub fn letterbox<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    width: usize,
    height: usize,
    color: Vec<u8>,
    scaleup: bool,
) -> PyResult<(Py<PyAny>, f64, (usize, usize))> {
    let a = ArrayIn::extract(image, "image")?;
    let (out, g) = entry::native(py, "letterbox", || {
        lb::letterbox(a.view(), width, height, &color, scaleup)
    })?;
    let arr = crate::ops::to_numpy(py, out, height, width, a.channels, a.ndim == 2)?;
    Ok((arr, g.scale, (g.left, g.top)))
}

/// Letterbox uint8 images straight into a preallocated `(N, C, height, width)` network
/// input `out` (float32, or the uint16 bits of float16) as `v / 255`, in parallel over the
/// images: per image `(scale, (left, top))`.
#[pyfunction]
#[pyo3(signature = (images, width, height, color, scaleup, dtype, threads, out))]
#[allow(clippy::too_many_arguments)]
pub fn letterbox_tensor<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyList>,
    width: usize,
    height: usize,
    color: Vec<u8>,
    scaleup: bool,
    dtype: &str,
    threads: Option<usize>,
    out: &Bound<'py, PyAny>,
) -> PyResult<Vec<(f64, (usize, usize))>> {
    use pixfeed_core::kernels::normalize as nz;
    let arrays = crate::ops::extract_images(images)?;
    let c = color.len();
    if let Some((i, a)) = arrays.iter().enumerate().find(|(_, a)| a.channels != c) {
        return Err(PyValueError::new_err(format!(
            "images[{i}]: {} channels, expected {c}",
            a.channels
        )));
    }
    let slot = c * width * height;
    let (mean, std) = (vec![0.0; c], vec![1.0; c]);
    use pixfeed_core::pipeline::OutDtype;
    let dtype_err = || {
        PyValueError::new_err(format!(
            "dtype: expected 'float32' or 'float16', got {dtype:?}"
        ))
    };
    let parsed = entry::held(py, "dtype", || dtype.parse::<OutDtype>()).map_err(|_| dtype_err())?;
    let geometries = match parsed {
        OutDtype::F32 => {
            let tables = entry::held(py, "letterbox_tensor", || nz::f32_tables(&mean, &std))?;
            let mut o = crate::ops::TypedOut::<f32>::extract(out, "float32")?;
            let dests = o.slots(arrays.len(), slot)?;
            letterbox_all(
                py, &arrays, &dests, width, height, &color, scaleup, &tables, threads,
            )
        }
        OutDtype::F16 => {
            let tables = entry::held(py, "letterbox_tensor", || nz::f16_tables(&mean, &std))?;
            let mut o = crate::ops::TypedOut::<u16>::extract(out, "uint16")?;
            let dests = o.slots(arrays.len(), slot)?;
            letterbox_all(
                py, &arrays, &dests, width, height, &color, scaleup, &tables, threads,
            )
        }
        OutDtype::BF16 | OutDtype::U8 => return Err(dtype_err()),
    }?;
    Ok(geometries
        .into_iter()
        .map(|g| (g.scale, (g.left, g.top)))
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn letterbox_all<T: Copy + Send + Sync>(
    py: Python<'_>,
    arrays: &[ArrayIn<'_>],
    dests: &crate::ops::Dests<T>,
    width: usize,
    height: usize,
    color: &[u8],
    scaleup: bool,
    tables: &[[T; 256]],
    threads: Option<usize>,
) -> PyResult<Vec<lb::LetterboxGeometry>> {
    let work = dests.slots.iter().map(|s| s.1).sum::<usize>() * std::mem::size_of::<T>();
    entry::native(py, "letterbox_tensor", || {
        pixfeed_core::pool::map(arrays.len(), work, threads, |i| {
            // SAFETY: index `i` is handed to exactly one task; `out` outlives the call.
            let dst = unsafe { dests.get(i) };
            lb::letterbox_planar(arrays[i].view(), dst, width, height, color, scaleup, tables)
        })
    })
}

/// YOLO post-processing of a C-contiguous float32 (B, d1, d2) output: per image (n, 6).
#[pyfunction]
#[pyo3(signature = (output, layout, conf, iou, max_det, classes, agnostic, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn yolo_postprocess<'py>(
    py: Python<'py>,
    output: &Bound<'py, PyAny>,
    layout: Option<&str>,
    conf: f32,
    iou: f64,
    max_det: usize,
    classes: Option<Vec<i64>>,
    agnostic: bool,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let arr = output
        .cast::<PyArrayDyn<f32>>()
        .map_err(|_| PyTypeError::new_err("output: expected a float32 array"))?
        .readonly();
    let shape = arr.shape().to_vec();
    let [b, d1, d2] = shape[..] else {
        return Err(PyValueError::new_err(format!(
            "output: expected 3 dimensions, got shape {shape:?}"
        )));
    };
    let hint = match layout {
        None => None,
        Some(name) => Some(
            entry::held(py, "layout", || name.parse::<yolo::YoloLayout>()).map_err(|_| {
                PyValueError::new_err(format!("layout: expected 'v5', 'v8' or None, got {name:?}"))
            })?,
        ),
    };
    let (layout, _nc) = entry::held(py, "", || yolo::resolve_layout([b, d1, d2], hint))?;
    let data = arr
        .as_slice()
        .map_err(|_| PyValueError::new_err("output: must be C-contiguous"))?;
    let opts = yolo::YoloOptions {
        conf,
        iou,
        max_det,
        classes,
        agnostic,
    };
    let per_image = entry::native(py, "yolo_postprocess", || {
        yolo::yolo_postprocess(data, [b, d1, d2], layout, &opts, threads)
    })?;
    let list = PyList::empty(py);
    for rows in per_image {
        let n = rows.len() / 6;
        list.append(
            Array2::from_shape_vec((n, 6), rows)
                .map_err(shape_err)?
                .into_pyarray(py),
        )?;
    }
    Ok(list)
}
