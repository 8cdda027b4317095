//! Loader pipeline binding: the spec Python validated, parsed once into a
//! `_core.PipelineSpec` and reused for every batch; each batch runs with the GIL released
//! into the caller's buffer and returns one exception (or None) per item.

use pixfeed_core::geometry::CropSampling;
use pixfeed_core::kernels::resize::Interpolation;
use pixfeed_core::pipeline::crop::CropSpec;
use pixfeed_core::pipeline::{
    self, CropKind, CropName, Lut, OutDtype, OutLayout, PipelineSpec, RelativeCrop,
};
use pixfeed_core::Mode;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arrays::ArrayOut;
use crate::decode::OwnedSource;
use crate::entry;
use crate::errors::to_pyerr;

/// `pixfeed.Pipeline`'s settings, parsed and checked once (`Pipeline` validates them in
/// Python first and keeps this object until an attribute changes).
#[pyclass(name = "PipelineSpec", module = "pixfeed._core", frozen)]
pub struct PySpec {
    spec: PipelineSpec,
}

#[pymethods]
impl PySpec {
    #[new]
    #[pyo3(signature = (*, size, crop, scale, ratio, resize_shorter, flip, mean, std, dtype,
        layout, mode, interpolation, antialias, apply_exif, max_pixels, fast_decode, exact,
        strict))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        size: (u32, u32),
        crop: &str,
        scale: (f64, f64),
        ratio: (f64, f64),
        resize_shorter: u32,
        flip: f64,
        mean: Vec<f64>,
        std: Vec<f64>,
        dtype: &str,
        layout: &str,
        mode: &str,
        interpolation: &str,
        antialias: bool,
        apply_exif: bool,
        max_pixels: u64,
        fast_decode: bool,
        exact: bool,
        strict: bool,
    ) -> PyResult<Self> {
        let mut spec = entry::held(py, "PipelineSpec", || {
            let crop = CropKind::new(
                crop.parse::<CropName>()?,
                CropSampling { scale, ratio },
                resize_shorter,
            );
            Ok(PipelineSpec {
                size,
                crop,
                flip,
                mode: mode.parse::<Mode>()?,
                interp: interpolation.parse::<Interpolation>()?,
                antialias,
                apply_exif,
                max_pixels,
                fast_decode,
                exact,
                strict,
                dtype: dtype.parse::<OutDtype>()?,
                layout: layout.parse::<OutLayout>()?,
                lut: Lut::Identity,
            })
        })?;
        let channels = spec.mode.channels();
        if mean.len() != channels || std.len() != channels {
            return Err(PyValueError::new_err("mean/std: one value per channel"));
        }
        spec.lut = entry::held(py, "PipelineSpec", || Lut::new(spec.dtype, &mean, &std))?;
        Ok(PySpec { spec })
    }

    /// Bytes of one batch item.
    #[getter]
    fn item_bytes(&self) -> usize {
        self.spec.item_bytes()
    }
}

#[pyfunction]
#[pyo3(signature = (spec, sources, keys, seed, epoch, out, threads))]
#[allow(clippy::too_many_arguments)]
pub fn pipeline_batch<'py>(
    py: Python<'py>,
    spec: &Bound<'py, PySpec>,
    sources: &Bound<'py, PyList>,
    keys: Vec<u64>,
    seed: u64,
    epoch: u64,
    out: &Bound<'py, PyAny>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let spec = &spec.get().spec;
    let owned = OwnedSource::extract_all(sources)?;
    let mut out = ArrayOut::extract(out)?;
    let buf = out.bytes();
    let results = entry::native(py, "pipeline", || {
        let srcs = OwnedSource::as_sources(&owned);
        pipeline::run_batch(spec, &srcs, &keys, None, seed, epoch, buf, threads)
    })?;
    item_errors(py, &owned, results)
}

/// One exception (or None) per source.
fn item_errors<'py>(
    py: Python<'py>,
    owned: &[OwnedSource],
    results: Vec<pixfeed_core::Result<()>>,
) -> PyResult<Bound<'py, PyList>> {
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
    py: Python<'_>,
    spec: &Bound<'_, PySpec>,
    width: u32,
    height: u32,
    seed: u64,
    epoch: u64,
    key: u64,
) -> PyResult<((f64, f64, f64, f64), bool)> {
    let spec = &spec.get().spec;
    let p = entry::held(py, "pipeline_params", || {
        Ok(pipeline::sample_params(
            spec, width, height, seed, epoch, key, None,
        ))
    })?;
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
    let owned = OwnedSource::extract_all(sources)?;
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
        mode: entry::held(py, "mode", || mode.parse::<Mode>())?,
        interp: entry::held(py, "interpolation", || {
            interpolation.parse::<Interpolation>()
        })?,
        antialias,
        max_pixels: pixfeed_core::decode::DEFAULT_MAX_PIXELS,
        exact,
        strict,
    };
    let mut out = ArrayOut::extract(out)?;
    let buf = out.bytes();
    let results = entry::native(py, "crop_paths", || {
        let srcs = OwnedSource::as_sources(&owned);
        pipeline::crop::crop_batch(&spec, &srcs, &rel, buf, threads)
    })?;
    item_errors(py, &owned, results)
}
