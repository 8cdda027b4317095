//! Recycled batch buffers for the loader.
//!
//! A training loader fills a new 30-40 MB batch every few milliseconds. Fresh memory of that
//! size comes straight from the kernel (glibc and mimalloc both map it anew), and the kernel
//! zeroes every page on first touch: measured here, 13% of the fused pipeline's time went to
//! `clear_page` alone. Reusing buffers avoids that, but only once nobody can see the old
//! batch any more. So a buffer is owned by a small Python object that numpy uses as the
//! array's base; numpy points every view (and `torch.from_numpy`) at that base, so the base
//! dies only after the last view, and only then does its memory go back to the pool.

use std::sync::Mutex;

use numpy::ndarray::ArrayView1;
use numpy::PyArray1;
use pyo3::prelude::*;

/// Free buffers waiting for reuse; at most [`MAX_POOLED_BYTES`] in total.
static POOL: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// Enough for a few batches of 64 float32 224x224 RGB images (38.5 MB each): the loader's
/// prefetch depth plus the batch being consumed.
const MAX_POOLED_BYTES: usize = 256 << 20;

fn take(len: usize) -> Box<[u8]> {
    let reused = {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .position(|b| b.len() == len)
            .map(|i| pool.swap_remove(i))
    };
    reused.unwrap_or_else(|| vec![0u8; len].into_boxed_slice())
}

fn give_back(buf: Box<[u8]>) {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    let held: usize = pool.iter().map(|b| b.len()).sum();
    if held + buf.len() <= MAX_POOLED_BYTES {
        pool.push(buf);
    }
}

/// The owner of one recycled buffer (the numpy array's base object).
#[pyclass(frozen, module = "pixfeed._core")]
pub struct RecycledBuffer {
    data: Mutex<Option<Box<[u8]>>>,
}

impl Drop for RecycledBuffer {
    fn drop(&mut self) {
        let slot = self.data.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(buf) = slot.take() {
            give_back(buf);
        }
    }
}

/// A writeable uint8 array of `nbytes` whose memory returns to a pool when the array and all
/// its views are gone. Contents are unspecified (a previous batch's bytes, or zeros).
#[pyfunction]
pub fn recycled_empty(py: Python<'_>, nbytes: usize) -> PyResult<Bound<'_, PyArray1<u8>>> {
    let buf = take(nbytes);
    let (ptr, len) = (buf.as_ptr(), buf.len());
    let owner = Bound::new(
        py,
        RecycledBuffer {
            data: Mutex::new(Some(buf)),
        },
    )?;
    // SAFETY: the `len` bytes at `ptr` are the heap allocation now owned by `owner`, which
    // never touches, moves or frees it before being dropped; `owner` becomes the array's
    // base object, so it (and the allocation) outlives the array and every view of it.
    let view = unsafe { ArrayView1::from_shape_ptr(len, ptr) };
    // SAFETY: as above; the array is the only way to reach the bytes while `owner` lives.
    Ok(unsafe { PyArray1::borrow_from_array(&view, owner.into_any()) })
}

/// Bytes currently held for reuse (for tests and `Loader.stats`).
#[pyfunction]
pub fn recycled_pool_bytes() -> usize {
    let pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    pool.iter().map(|b| b.len()).sum()
}
