//! The library's one thread pool. Created lazily, resized only by `set_num_threads`;
//! never a pool per call. Default size: `PIXFEED_NUM_THREADS`, else all cores.

use std::sync::{Arc, OnceLock, RwLock};

use crate::{Error, Result};

static POOL: OnceLock<RwLock<Arc<rayon::ThreadPool>>> = OnceLock::new();

fn default_threads() -> usize {
    std::env::var("PIXFEED_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn build(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("pixfeed-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::invalid("threads", format!("cannot start {n} threads: {e}")))
}

fn cell() -> &'static RwLock<Arc<rayon::ThreadPool>> {
    POOL.get_or_init(|| {
        let n = default_threads();
        // Falling back to one thread keeps the library usable if the OS refuses threads.
        RwLock::new(build(n).or_else(|_| build(1)).expect("a one-thread pool"))
    })
}

/// The shared pool.
pub fn pool() -> Arc<rayon::ThreadPool> {
    cell().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Current default thread count.
pub fn num_threads() -> usize {
    pool().current_num_threads()
}

/// Replace the shared pool with one of `n` threads (work in flight finishes on the old one).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid("n", "thread count must be >= 1"));
    }
    if n == num_threads() {
        return Ok(());
    }
    let new = build(n)?;
    *cell().write().unwrap_or_else(|e| e.into_inner()) = new;
    Ok(())
}

/// Run `f` on a pool of `threads` threads: the shared pool when `threads` is None or equal
/// to its size, else a dedicated pool cached per size (callers passing `threads=` in a loop
/// must not pay for a pool per call).
pub fn install<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    let shared = pool();
    match threads {
        None => Ok(shared.install(f)),
        Some(0) => Err(Error::invalid(
            "threads",
            "must be >= 1 (or None for the default)",
        )),
        Some(n) if n == shared.current_num_threads() => Ok(shared.install(f)),
        Some(n) => Ok(sized_pool(n)?.install(f)),
    }
}

fn sized_pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    static CACHE: OnceLock<std::sync::Mutex<Vec<Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut pools = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.iter().find(|p| p.current_num_threads() == n) {
        return Ok(p.clone());
    }
    let p = build(n)?;
    pools.push(p.clone());
    Ok(p)
}

/// Below this many bytes of total work a batch runs on the calling thread: handing a small
/// image to a pool thread costs more than processing it (per-call overhead is product).
pub const INLINE_WORK_BYTES: usize = 96 * 1024;

/// `f(0..n)` in parallel on the pool, results in order; inline when there is one item,
/// one thread, or less than `INLINE_WORK_BYTES` of work. Panics become `Error::Internal`.
pub fn map<T, F>(n: usize, work_bytes: usize, threads: Option<usize>, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync + Send,
{
    use rayon::prelude::*;
    if n <= 1 || threads == Some(1) || work_bytes < INLINE_WORK_BYTES {
        return (0..n).map(|i| crate::error::catch_panic(|| f(i))).collect();
    }
    install(threads, || {
        (0..n)
            .into_par_iter()
            .with_max_len(1)
            .map(|i| crate::error::catch_panic(|| f(i)))
            .collect()
    })?
}

/// `f(i, slot_i)` over the `slot_len`-byte slots of `buf` (a preallocated batch), in
/// parallel under the same inline rules as [`map`].
pub fn for_each_slot<F>(buf: &mut [u8], slot_len: usize, threads: Option<usize>, f: F) -> Result<()>
where
    F: Fn(usize, &mut [u8]) -> Result<()> + Sync + Send,
{
    use rayon::prelude::*;
    if slot_len == 0 {
        return Ok(());
    }
    let n = buf.len() / slot_len;
    if n <= 1 || threads == Some(1) || buf.len() < INLINE_WORK_BYTES {
        return buf
            .chunks_exact_mut(slot_len)
            .enumerate()
            .try_for_each(|(i, s)| crate::error::catch_panic(|| f(i, s)));
    }
    install(threads, || {
        buf.par_chunks_exact_mut(slot_len)
            .with_max_len(1)
            .enumerate()
            .try_for_each(|(i, s)| crate::error::catch_panic(|| f(i, s)))
    })?
}
