//! The library's one thread pool. Created lazily, resized only by `set_num_threads`;
//! never a pool per call. Default size: `PIXFEED_NUM_THREADS`, else all cores.

use std::sync::{Arc, OnceLock, RwLock};

use crate::{Error, Result};

/// The pool and the process that made it. After `fork()` (torch DataLoader workers,
/// multiprocessing) the child has the pool's bookkeeping but none of its threads, so any use
/// would deadlock: the child notices the new pid and builds its own pool instead.
struct Owned {
    pid: u32,
    pool: Arc<rayon::ThreadPool>,
}

static POOL: OnceLock<RwLock<Owned>> = OnceLock::new();

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

fn fresh(n: usize) -> Owned {
    // Falling back to one thread keeps the library usable if the OS refuses threads.
    Owned {
        pid: std::process::id(),
        pool: build(n).or_else(|_| build(1)).expect("a one-thread pool"),
    }
}

fn cell() -> &'static RwLock<Owned> {
    POOL.get_or_init(|| RwLock::new(fresh(default_threads())))
}

/// The shared pool (this process's own, rebuilt after a fork).
pub fn pool() -> Arc<rayon::ThreadPool> {
    let pid = std::process::id();
    {
        let owned = cell().read().unwrap_or_else(|e| e.into_inner());
        if owned.pid == pid {
            return owned.pool.clone();
        }
    }
    let mut owned = cell().write().unwrap_or_else(|e| e.into_inner());
    if owned.pid != pid {
        let n = owned.pool.current_num_threads();
        // The parent's pool cannot be dropped here (its threads do not exist in this
        // process; dropping would wait for them): leak it.
        let old = std::mem::replace(&mut *owned, fresh(n));
        std::mem::forget(old);
    }
    owned.pool.clone()
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
    *cell().write().unwrap_or_else(|e| e.into_inner()) = Owned {
        pid: std::process::id(),
        pool: new,
    };
    Ok(())
}

/// Run `f` on a pool of `threads` threads: the shared pool when `threads` is None or equal
/// to its size, else a dedicated pool cached per size (callers passing `threads=` in a loop
/// must not pay for a pool per call). Callers run `threads == Some(1)` on their own thread
/// instead: the one-thread pool is shared, so concurrent callers would queue behind it.
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
    static CACHE: OnceLock<std::sync::Mutex<Vec<Owned>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut pools = cache.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    if pools.iter().any(|o| o.pid != pid) {
        // Inherited through fork: unusable here, and not droppable (see `pool`).
        for stale in pools.drain(..) {
            std::mem::forget(stale);
        }
    }
    if let Some(o) = pools.iter().find(|o| o.pool.current_num_threads() == n) {
        return Ok(o.pool.clone());
    }
    let p = build(n)?;
    pools.push(Owned {
        pid,
        pool: p.clone(),
    });
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

/// `one(i, slot_i)` for every `item`-byte slot of `out`, one result per slot in slot order
/// (unlike [`for_each_slot`], a failed slot does not stop the others: the batch pipelines
/// apply their error policy per item). On the caller's thread for a single slot or
/// `threads == Some(1)`, else on the pool, one slot per task.
pub fn map_slots<R: Send>(
    out: &mut [u8],
    item: usize,
    threads: Option<usize>,
    one: impl Fn(usize, &mut [u8]) -> R + Sync + Send,
) -> Result<Vec<R>> {
    use rayon::prelude::*;
    if item == 0 {
        return Err(Error::invalid("out", "slots of 0 bytes"));
    }
    if out.len() <= item || threads == Some(1) {
        return Ok(out
            .chunks_exact_mut(item)
            .enumerate()
            .map(|(i, s)| one(i, s))
            .collect());
    }
    install(threads, || {
        out.par_chunks_exact_mut(item)
            .with_max_len(1)
            .enumerate()
            .map(|(i, s)| one(i, s))
            .collect()
    })
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
