//! Decode bindings: argument conversion, GIL release, error mapping. No image logic here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pixfeed_core::{DecodeOptions, Mode, Rect, Source};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyList, PyString};

use crate::convert::image_to_numpy;
use crate::entry;
use crate::errors::{to_pyerr, Subject};

/// A source held across the GIL release: a path, immutable bytes kept alive by Python, or a
/// member of a tar shard (`pixfeed._core.Member`, frozen: read without the GIL).
pub enum OwnedSource {
    Path(PathBuf),
    Bytes(PyBackedBytes),
    Member(Py<crate::shards::Member>),
}

impl OwnedSource {
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            // The filesystem encoding with surrogate escapes (`os.fsencode`): every name
            // `os.listdir` or `scan` returns, UTF-8 or not, opens the file it names.
            return Ok(OwnedSource::Path(PathBuf::from(s.extract::<OsString>()?)));
        }
        if let Ok(m) = obj.cast::<crate::shards::Member>() {
            return Ok(OwnedSource::Member(m.clone().unbind()));
        }
        match obj.extract::<PyBackedBytes>() {
            Ok(b) => Ok(OwnedSource::Bytes(b)),
            Err(_) => Err(PyTypeError::new_err(format!(
                "source: expected str, os.PathLike, bytes, bytearray, memoryview or a shard \
                 member, got {}",
                obj.get_type().name()?
            ))),
        }
    }
    /// Every item of a Python list of sources (converted with the GIL held).
    pub fn extract_all(sources: &Bound<'_, PyList>) -> PyResult<Vec<Self>> {
        sources.iter().map(|s| Self::extract(&s)).collect()
    }
    /// The core's borrowed views of `owned` (taken inside the GIL-released call).
    pub fn as_sources(owned: &[Self]) -> Vec<Source<'_>> {
        owned.iter().map(Self::as_source).collect()
    }
    pub fn as_source(&self) -> Source<'_> {
        match self {
            OwnedSource::Path(p) => Source::Path(p),
            OwnedSource::Bytes(b) => Source::Bytes(b),
            OwnedSource::Member(m) => m.get().as_source(),
        }
    }
    /// What errors about this source name: the path as Python spells it, or `<bytes>`.
    pub fn name(&self) -> SourceName<'_> {
        match self {
            OwnedSource::Path(p) => SourceName::Path(p),
            OwnedSource::Bytes(_) => SourceName::Bytes,
            OwnedSource::Member(m) => SourceName::Member(m.get()),
        }
    }
}

pub enum SourceName<'a> {
    Path(&'a Path),
    Bytes,
    Member(&'a crate::shards::Member),
}

impl Subject for SourceName<'_> {
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            SourceName::Path(p) => p.source(py),
            SourceName::Bytes => "<bytes>".source(py),
            SourceName::Member(m) => m.source(py),
        }
    }
    fn filename<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        match self {
            SourceName::Path(p) => p.filename(py),
            SourceName::Bytes => None,
            SourceName::Member(m) => m.filename(py),
        }
    }
    fn shown(&self) -> String {
        match self {
            SourceName::Path(p) => p.shown(),
            SourceName::Bytes => "<bytes>".to_string(),
            SourceName::Member(m) => m.shown(),
        }
    }
}

fn options(
    py: Python<'_>,
    mode: &str,
    apply_exif: bool,
    reduce_to: Option<(u32, u32)>,
    max_pixels: u64,
    strict: bool,
) -> PyResult<DecodeOptions> {
    Ok(DecodeOptions {
        mode: entry::held(py, "mode", || mode.parse::<Mode>())?,
        apply_exif,
        reduce_to,
        roi: None,
        max_pixels,
        fast: false,
        strict,
    })
}

/// `(x, y, width, height)` as Python passes it.
type PyBox = (u32, u32, u32, u32);

fn rect(r: PyBox) -> Rect {
    Rect::new(r.0, r.1, r.2, r.3)
}

#[pyfunction]
#[pyo3(signature = (source, mode, apply_exif, reduce_to, roi, max_pixels, strict=true))]
#[allow(clippy::too_many_arguments)]
pub fn decode(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    mode: &str,
    apply_exif: bool,
    reduce_to: Option<(u32, u32)>,
    roi: Option<PyBox>,
    max_pixels: u64,
    strict: bool,
) -> PyResult<Py<PyAny>> {
    let src = OwnedSource::extract(source)?;
    let mut opts = options(py, mode, apply_exif, reduce_to, max_pixels, strict)?;
    opts.roi = roi.map(rect);
    let img = entry::native(py, &src.name(), || {
        pixfeed_core::decode_source(src.as_source(), &opts)
    })?;
    image_to_numpy(py, img)
}

/// Decode many sources in parallel. `reduce_to` and `rois` hold one entry per source
/// (Python broadcasts). Returns a list with an array or an exception instance per source
/// (the Python layer applies `on_error`).
#[pyfunction]
#[pyo3(signature = (sources, mode, apply_exif, reduce_to, rois, threads, max_pixels, strict=true))]
#[allow(clippy::too_many_arguments)]
pub fn decode_batch<'py>(
    py: Python<'py>,
    sources: &Bound<'py, PyList>,
    mode: &str,
    apply_exif: bool,
    reduce_to: Option<Vec<Option<(u32, u32)>>>,
    rois: Option<Vec<Option<PyBox>>>,
    threads: Option<usize>,
    max_pixels: u64,
    strict: bool,
) -> PyResult<Bound<'py, PyList>> {
    let owned = OwnedSource::extract_all(sources)?;
    let n = owned.len();
    for (name, len) in [
        ("reduce_to", reduce_to.as_ref().map(Vec::len)),
        ("rois", rois.as_ref().map(Vec::len)),
    ] {
        if let Some(len) = len.filter(|&l| l != n) {
            return Err(PyValueError::new_err(format!(
                "{name}: expected one per source ({n}), got {len}"
            )));
        }
    }
    let base = options(py, mode, apply_exif, None, max_pixels, strict)?;
    let opts: Vec<DecodeOptions> = (0..n)
        .map(|i| DecodeOptions {
            reduce_to: reduce_to.as_ref().and_then(|v| v[i]),
            roi: rois.as_ref().and_then(|v| v[i]).map(rect),
            ..base
        })
        .collect();
    let opts = if opts.is_empty() { vec![base] } else { opts };
    let results = entry::native(py, "decode_batch", || {
        let srcs = OwnedSource::as_sources(&owned);
        pixfeed_core::batch::decode_batch(&srcs, &opts, threads)
    })?;
    let out = PyList::empty(py);
    for (src, r) in owned.iter().zip(results) {
        match r {
            Ok(img) => out.append(image_to_numpy(py, img)?)?,
            Err(e) => out.append(to_pyerr(py, &src.name(), e).into_value(py))?,
        }
    }
    Ok(out)
}

/// Header facts: (format, width, height, channels, bit_depth, orientation, progressive).
#[pyfunction]
pub fn probe(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<InfoTuple> {
    let src = OwnedSource::extract(source)?;
    let i = entry::native(py, &src.name(), || {
        pixfeed_core::probe_source(src.as_source())
    })?;
    Ok(info_tuple(&i))
}

/// Header facts as Python receives them.
type InfoTuple = (&'static str, u32, u32, u8, u8, u8, bool);

fn info_tuple(i: &pixfeed_core::ImageInfo) -> InfoTuple {
    (
        i.format.name(),
        i.width,
        i.height,
        i.channels,
        i.bit_depth,
        i.orientation,
        i.progressive,
    )
}

/// `probe` of many sources on the pool (GIL released): one header tuple, or the exception,
/// per source, in order.
#[pyfunction]
#[pyo3(signature = (sources, threads))]
pub fn probe_batch<'py>(
    py: Python<'py>,
    sources: &Bound<'py, PyList>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let owned = OwnedSource::extract_all(sources)?;
    let n = owned.len();
    let results = entry::native(py, "probe_batch", || {
        let srcs = OwnedSource::as_sources(&owned);
        // A header read is small: count each as 32 KiB of work so that a batch of a few
        // files still goes to the pool.
        pixfeed_core::pool::map(n, n.saturating_mul(32 << 10), threads, |i| {
            Ok(pixfeed_core::probe_source(srcs[i]))
        })
    })?;
    let list = PyList::empty(py);
    for (src, r) in owned.iter().zip(results) {
        match r {
            Ok(i) => list.append(info_tuple(&i))?,
            Err(e) => list.append(to_pyerr(py, &src.name(), e).into_value(py))?,
        }
    }
    Ok(list)
}

/// Encode one uint8 (H, W[, C]) image (1, 3 or 4 channels) as JPEG, PNG, BMP or WebP.
#[pyfunction]
#[pyo3(signature = (image, format, quality))]
pub fn encode<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    format: &str,
    quality: u8,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let fmt = entry::held(py, "format", || format.parse::<pixfeed_core::Format>())?;
    let arr = crate::arrays::ArrayIn::extract(image, "image")?;
    let view = arr.view();
    if !view.is_contiguous() {
        return Err(PyValueError::new_err("image: must be C-contiguous"));
    }
    let (w, h, c) = (view.width as u32, view.height as u32, view.channels);
    let data = entry::native(py, "encode", || {
        pixfeed_core::codecs::encode::encode(view.data, w, h, c, fmt, quality)
    })?;
    Ok(pyo3::types::PyBytes::new(py, &data))
}
