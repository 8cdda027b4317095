//! Loader pipeline binding: parse the spec Python validated, release the GIL, run a batch
//! into the caller's buffer, return one exception (or None) per item.

use pixfeed_core::pipeline::crop::CropSpec;
use pixfeed_core::pipeline::{
    self, CropKind, Interp, Lut, OutDtype, OutLayout, PipelineSpec, RelativeCrop,
};
use pixfeed_core::Source;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arrays::ArrayOut;
use crate::decode::{parse_mode, OwnedSource};
use crate::errors::to_pyerr;

/// The tuple `pixfeed.Pipeline._spec()` builds (already validated in Python).
/// Grouped in three because PyO3 extracts tuples of at most 12 items.
type SpecTuple = (
    ((u32, u32), String, (f64, f64), (f64, f64), u32, f64),
    (Vec<f64>, Vec<f64>, String, String, String, String),
    (bool, bool, u64, bool, bool),
    // strict
    (bool,),
);

fn bad(arg: &str, v: &str) -> PyErr {
    PyValueError::new_err(format!("{arg}: unexpected value {v:?}"))
}

fn parse_interp(interp: &str) -> PyResult<Interp> {
    Ok(match interp {
        "nearest" => Interp::Nearest,
        "bilinear" => Interp::Bilinear,
        "bicubic" => Interp::Bicubic,
        "lanczos" => Interp::Lanczos,
        "area" => Interp::Area,
        other => return Err(bad("interpolation", other)),
    })
}

fn parse_spec(t: SpecTuple) -> PyResult<PipelineSpec> {
    let (
        (size, crop, scale, ratio, shorter, flip),
        (mean, std, dtype, layout, mode, interp),
        (aa, exif, maxp, fast, exact),
        (strict,),
    ) = t;
    let crop = match crop.as_str() {
        "random_resized" => CropKind::RandomResized { scale, ratio },
        "center" => CropKind::Center { shorter },
        "resize" => CropKind::Resize,
        "none" => CropKind::None,
        other => return Err(bad("crop", other)),
    };
    let dtype = match dtype.as_str() {
        "float32" => OutDtype::F32,
        "float16" => OutDtype::F16,
        "bfloat16" => OutDtype::BF16,
        "uint8" => OutDtype::U8,
        other => return Err(bad("dtype", other)),
    };
    let layout = match layout.as_str() {
        "NCHW" => OutLayout::Nchw,
        "NHWC" => OutLayout::Nhwc,
        other => return Err(bad("layout", other)),
    };
    let interp = parse_interp(&interp)?;
    let mode = parse_mode(&mode)?;
    let mut spec = PipelineSpec {
        size,
        crop,
        flip,
        mode,
        interp,
        antialias: aa,
        apply_exif: exif,
        max_pixels: maxp,
        fast_decode: fast,
        exact,
        strict,
        dtype,
        layout,
        lut: Lut::Identity,
    };
    if mean.len() != spec.channels() || std.len() != spec.channels() {
        return Err(PyValueError::new_err("mean/std: one value per channel"));
    }
    spec.lut = Lut::new(dtype, &mean, &std).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(spec)
}

#[pyfunction]
#[pyo3(signature = (spec, sources, keys, seed, epoch, out, threads))]
#[allow(clippy::too_many_arguments)]
pub fn pipeline_batch<'py>(
    py: Python<'py>,
    spec: SpecTuple,
    sources: &Bound<'py, PyList>,
    keys: Vec<u64>,
    seed: u64,
    epoch: u64,
    out: &Bound<'py, PyAny>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let spec = parse_spec(spec)?;
    let owned: Vec<OwnedSource> = sources
        .iter()
        .map(|s| OwnedSource::extract(&s))
        .collect::<PyResult<_>>()?;
    let mut out = ArrayOut::extract(out)?;
    let buf = out.bytes();
    let results = py
        .detach(|| {
            let srcs: Vec<Source<'_>> = owned.iter().map(OwnedSource::as_source).collect();
            pipeline::run_batch(&spec, &srcs, &keys, None, seed, epoch, buf, threads)
        })
        .map_err(|e| to_pyerr(py, "pipeline", e))?;
    let list = PyList::empty(py);
    for (src, r) in owned.iter().zip(results) {
        match r {
            Ok(()) => list.append(py.None())?,
            Err(e) => list.append(to_pyerr(py, &src.name(), e).into_value(py))?,
        }
    }
    Ok(list)
}

/// The parameters sample `key` gets on an image of `width x height` (oriented):
/// `((x, y, w, h), flip)` with the crop box in source pixels.
#[pyfunction]
#[pyo3(signature = (spec, width, height, seed, epoch, key))]
pub fn pipeline_params(
    spec: SpecTuple,
    width: u32,
    height: u32,
    seed: u64,
    epoch: u64,
    key: u64,
) -> PyResult<((f64, f64, f64, f64), bool)> {
    let spec = parse_spec(spec)?;
    let p = pipeline::sample_params(&spec, width, height, seed, epoch, key, None);
    Ok(((p.crop.x, p.crop.y, p.crop.w, p.crop.h), p.flip))
}

/// `crop_paths`: per-item relative crops resized to `window x window` uint8 into `out`
/// (validated by Python). Returns one exception (or None) per source.
#[pyfunction]
#[pyo3(signature = (sources, x, y, scale, window, max_img_percent, center, interpolation, antialias, mode, threads, out, exact=false, strict=true))]
#[allow(clippy::too_many_arguments)]
pub fn crop_paths<'py>(
    py: Python<'py>,
    sources: &Bound<'py, PyList>,
    x: Vec<f64>,
    y: Vec<f64>,
    scale: Vec<f64>,
    window: u32,
    max_img_percent: f64,
    center: bool,
    interpolation: &str,
    antialias: bool,
    mode: &str,
    threads: Option<usize>,
    out: &Bound<'py, PyAny>,
    exact: bool,
    strict: bool,
) -> PyResult<Bound<'py, PyList>> {
    let owned: Vec<OwnedSource> = sources
        .iter()
        .map(|s| OwnedSource::extract(&s))
        .collect::<PyResult<_>>()?;
    let n = owned.len();
    if x.len() != n || y.len() != n || scale.len() != n {
        return Err(PyValueError::new_err("x, y, scale: one value per source"));
    }
    let rel: Vec<RelativeCrop> = (0..n)
        .map(|i| RelativeCrop {
            x: x[i],
            y: y[i],
            scale: scale[i],
        })
        .collect();
    let spec = CropSpec {
        window,
        max_img_percent,
        center,
        mode: parse_mode(mode)?,
        interp: parse_interp(interpolation)?,
        antialias,
        max_pixels: pixfeed_core::decode::DEFAULT_MAX_PIXELS,
        exact,
        strict,
    };
    let mut out = ArrayOut::extract(out)?;
    let buf = out.bytes();
    let results = py
        .detach(|| {
            let srcs: Vec<Source<'_>> = owned.iter().map(OwnedSource::as_source).collect();
            pipeline::crop::crop_batch(&spec, &srcs, &rel, buf, threads)
        })
        .map_err(|e| to_pyerr(py, "crop_paths", e))?;
    let list = PyList::empty(py);
    for (src, r) in owned.iter().zip(results) {
        match r {
            Ok(()) => list.append(py.None())?,
            Err(e) => list.append(to_pyerr(py, &src.name(), e).into_value(py))?,
        }
    }
    Ok(list)
}
