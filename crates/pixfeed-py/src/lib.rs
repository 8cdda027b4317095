//! `pixfeed._core`: the native module. Glue only; all work lives in `pixfeed-core`.

mod arrays;
mod buffers;
mod convert;
mod decode;
mod detect;
mod entry;
mod errors;
mod ops;
mod pipeline;
mod resize;
mod scan;
mod shards;

use pyo3::prelude::*;

// Decoded images are large, short-lived and made on pool threads: glibc's malloc hands such
// buffers back to the kernel and page-faults them in again on the next batch (a large share
// of decode_batch's time; figures in benchmarks/RESULTS.md). mimalloc keeps and reuses them. Only this extension's (Rust) allocations use it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (index 15 of `mi_option_e` in both its v2 and v3
/// headers; libmimalloc-sys names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// By default mimalloc hands freed pages back to the kernel after a few milliseconds, so
/// every batch of decoded images page-faults (and the kernel zeroes) its memory afresh, and
/// no purge delay short of "never" avoids it (figures in benchmarks/RESULTS.md). Keep freed memory for reuse instead, as glibc's heap does; the process keeps
/// its peak footprint. `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets a process-wide option (an atomic store in mimalloc); allocations made
    // before or after are unaffected in their validity, only in when freed pages are purged.
    // (`mi_option_set_default` would be too late: mimalloc reads its options on its first
    // allocation, which happens while this module loads.)
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
use pyo3::types::PyDict;

#[pyfunction]
fn set_num_threads(py: Python<'_>, n: usize) -> PyResult<()> {
    entry::held(py, "set_num_threads", || {
        pixfeed_core::pool::set_num_threads(n)
    })
}

#[pyfunction]
fn get_num_threads(py: Python<'_>) -> PyResult<usize> {
    entry::held(py, "get_num_threads", || {
        Ok(pixfeed_core::pool::num_threads())
    })
}

/// `PIXFEED_NUM_THREADS` as the pool reads it: None when unset, empty or `auto`; an int in
/// `1..=MAX_THREADS`; or the text itself when the pool ignores it (out of range, not a number).
#[pyfunction]
fn env_num_threads(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let env = entry::held(py, "env_num_threads", || {
        Ok(pixfeed_core::pool::env_threads())
    })?;
    Ok(match env {
        Ok(None) => py.None(),
        Ok(Some(n)) => n.into_pyobject(py)?.into_any().unbind(),
        Err(text) => text.into_pyobject(py)?.into_any().unbind(),
    })
}

/// Build facts for `pixfeed info`.
#[pyfunction]
fn build_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("version", env!("CARGO_PKG_VERSION"))?;
    let (libs, simd, jpeg) = entry::held(py, "build_info", || {
        use pixfeed_core::info;
        Ok((
            info::codecs(),
            info::simd_level(),
            info::jpeg_decoder_build(),
        ))
    })?;
    let codecs = PyDict::new(py);
    for (name, lib) in libs {
        codecs.set_item(name, lib)?;
    }
    d.set_item("codecs", codecs)?;
    d.set_item("simd", simd)?;
    d.set_item("jpeg_decoder", jpeg)?;
    d.set_item("max_pixels", pixfeed_core::decode::DEFAULT_MAX_PIXELS)?;
    d.set_item("debug_build", cfg!(debug_assertions))?;
    Ok(d)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    keep_freed_memory();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_THREADS", pixfeed_core::pool::MAX_THREADS)?;
    // The accepted names of every string-valued enum, for the Python modules that check them.
    let names = PyDict::new(m.py());
    for (kind, list) in pixfeed_core::names::all() {
        names.set_item(kind, pyo3::types::PyTuple::new(m.py(), list)?)?;
    }
    m.add("NAMES", names)?;
    let channels = PyDict::new(m.py());
    for (mode, n) in pixfeed_core::names::mode_channels() {
        channels.set_item(mode, n)?;
    }
    m.add("CHANNELS", channels)?;
    m.add_class::<pipeline::PySpec>()?;
    m.add_function(wrap_pyfunction!(entry::panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(decode::decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode::decode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(decode::probe, m)?)?;
    m.add_function(wrap_pyfunction!(decode::probe_batch, m)?)?;
    m.add_function(wrap_pyfunction!(decode::encode, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(env_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    m.add_function(wrap_pyfunction!(ops::flip, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::pipeline_batch, m)?)?;
    m.add_function(wrap_pyfunction!(buffers::recycled_empty, m)?)?;
    m.add_function(wrap_pyfunction!(buffers::recycled_pool_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::pipeline_params, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::crop_paths, m)?)?;
    m.add_function(wrap_pyfunction!(ops::crop, m)?)?;
    m.add_function(wrap_pyfunction!(ops::center_crop, m)?)?;
    m.add_function(wrap_pyfunction!(ops::random_crop, m)?)?;
    m.add_function(wrap_pyfunction!(ops::convert, m)?)?;
    m.add_function(wrap_pyfunction!(ops::luminance, m)?)?;
    m.add_function(wrap_pyfunction!(ops::normalize, m)?)?;
    m.add_function(wrap_pyfunction!(resize::resize_one, m)?)?;
    m.add_function(wrap_pyfunction!(resize::resize_into, m)?)?;
    m.add_function(wrap_pyfunction!(resize::random_resized_crop, m)?)?;
    m.add_function(wrap_pyfunction!(resize::random_resized_crop_params, m)?)?;
    m.add_function(wrap_pyfunction!(detect::nms, m)?)?;
    m.add_function(wrap_pyfunction!(detect::box_iou, m)?)?;
    m.add_function(wrap_pyfunction!(detect::box_convert, m)?)?;
    m.add_function(wrap_pyfunction!(detect::polygon_area, m)?)?;
    m.add_function(wrap_pyfunction!(detect::polygon_iou, m)?)?;
    m.add_function(wrap_pyfunction!(detect::points_in_polygon, m)?)?;
    m.add_function(wrap_pyfunction!(detect::simplify_polygon, m)?)?;
    m.add_function(wrap_pyfunction!(detect::letterbox, m)?)?;
    m.add_function(wrap_pyfunction!(detect::letterbox_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(detect::yolo_postprocess, m)?)?;
    m.add_function(wrap_pyfunction!(scan::scan, m)?)?;
    m.add_class::<shards::Member>()?;
    m.add_function(wrap_pyfunction!(shards::tar_index, m)?)?;
    m.add_function(wrap_pyfunction!(shards::shard_stream, m)?)?;
    Ok(())
}
