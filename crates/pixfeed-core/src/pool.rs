//! The library's one thread pool. Created lazily (on first use, not when its size is set or
//! read), resized only by `set_num_threads`; never a pool per call. Default size:
//! `PIXFEED_NUM_THREADS`, else all cores. No pool ever has more than [`MAX_THREADS`] threads,
//! and a call never starts more threads than it has items of work.

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::{Error, Result};

/// The most threads any pool may have: a larger count (an argument, `PIXFEED_NUM_THREADS`, a
/// configuration file) is refused rather than starting thousands of threads.
pub const MAX_THREADS: usize = 1024;

/// The dedicated pools (`threads=` other than the shared pool's size) kept for reuse; the
/// least recently used beyond this many is dropped (its threads exit once idle).
const MAX_SIZED_POOLS: usize = 4;

/// The shared pool's size, the pool once built, and the process that built it. After
/// `fork()` (torch DataLoader workers, multiprocessing) the child has the pool's bookkeeping
/// but none of its threads, so any use would deadlock: the child notices the new pid and
/// builds its own pool instead.
struct Shared {
    pid: u32,
    size: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

static POOL: OnceLock<RwLock<Shared>> = OnceLock::new();

/// `PIXFEED_NUM_THREADS` when it is an integer in `1..=MAX_THREADS`; None when unset or empty.
/// Err (the text) for any other value: the Python layer reports it, and the pool ignores it.
pub fn env_threads() -> std::result::Result<Option<usize>, String> {
    match std::env::var_os("PIXFEED_NUM_THREADS") {
        None => Ok(None),
        Some(v) => parse_threads(&v.to_string_lossy()),
    }
}

/// A thread count as text: None when blank or `auto` (all cores), Err (the text) unless an
/// integer in `1..=MAX_THREADS`.
fn parse_threads(text: &str) -> std::result::Result<Option<usize>, String> {
    if text.trim().is_empty() || text.trim().eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(Some(n)),
        _ => Err(text.to_string()),
    }
}

/// All cores (those this process may use), at most `MAX_THREADS`.
fn all_cores() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
}

fn default_threads() -> usize {
    env_threads().ok().flatten().unwrap_or_else(all_cores)
}

fn check_count(n: usize, name: &'static str) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(name, "thread count must be >= 1"));
    }
    if n > MAX_THREADS {
        return Err(Error::invalid(
            name,
            format!("thread count must be at most {MAX_THREADS}, got {n}"),
        ));
    }
    Ok(())
}

fn build(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    check_count(n, "threads")?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("pixfeed-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::invalid("threads", format!("cannot start {n} threads: {e}")))
}

fn cell() -> &'static RwLock<Shared> {
    POOL.get_or_init(|| {
        RwLock::new(Shared {
            pid: std::process::id(),
            size: default_threads(),
            pool: None,
        })
    })
}

/// The shared pool (this process's own: built on first use, rebuilt after a fork).
pub fn pool() -> Arc<rayon::ThreadPool> {
    let pid = std::process::id();
    {
        let shared = cell().read().unwrap_or_else(|e| e.into_inner());
        if shared.pid == pid {
            if let Some(p) = &shared.pool {
                return p.clone();
            }
        }
    }
    let mut shared = cell().write().unwrap_or_else(|e| e.into_inner());
    if shared.pid != pid {
        // The parent's pool cannot be dropped here (its threads do not exist in this
        // process; dropping would wait for them): leak it.
        std::mem::forget(shared.pool.take());
        shared.pid = pid;
    }
    if let Some(p) = &shared.pool {
        return p.clone();
    }
    // Falling back to one thread keeps the library usable if the OS refuses threads.
    let p = build(shared.size)
        .or_else(|_| build(1))
        .expect("a one-thread pool");
    shared.size = p.current_num_threads();
    shared.pool = Some(p.clone());
    p
}

/// Current default thread count (the shared pool's size; reading it starts no thread).
pub fn num_threads() -> usize {
    cell().read().unwrap_or_else(|e| e.into_inner()).size
}

/// Make `n` the shared pool's size (1..=[`MAX_THREADS`]). The pool is rebuilt on its next
/// use; work in flight finishes on the old one.
pub fn set_num_threads(n: usize) -> Result<()> {
    check_count(n, "n")?;
    let pid = std::process::id();
    let mut shared = cell().write().unwrap_or_else(|e| e.into_inner());
    if shared.pid != pid {
        std::mem::forget(shared.pool.take()); // see `pool`
        shared.pid = pid;
    }
    if shared.size != n {
        shared.size = n;
        shared.pool = None;
    }
    Ok(())
}

/// Run `f` on a pool of `threads` threads: the shared pool when `threads` is None or equal
/// to its size, else a dedicated pool cached per size (callers passing `threads=` in a loop
/// must not pay for a pool per call). Callers run `threads == Some(1)` on their own thread
/// instead: the one-thread pool is shared, so concurrent callers would queue behind it.
/// Callers that know how many items of work they have use [`install_for`].
pub fn install<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        None => Ok(pool().install(f)),
        Some(0) => Err(Error::invalid(
            "threads",
            "must be >= 1 (or None for the default)",
        )),
        Some(n) => {
            check_count(n, "threads")?;
            if n == num_threads() {
                Ok(pool().install(f))
            } else {
                Ok(sized_pool(n)?.install(f))
            }
        }
    }
}

/// [`install`] for `items` units of work: `threads=Some(n)` uses at most `items` threads (a
/// dedicated pool is never larger than the work it is made for; the shared pool, made
/// once, is used as it is).
pub fn install_for<R: Send>(
    items: usize,
    threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R> {
    match threads {
        Some(n) if n > 0 && n <= MAX_THREADS && n != num_threads() => {
            install(Some(n.min(items.max(1))), f)
        }
        _ => install(threads, f),
    }
}

fn sized_pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    /// (pid that built it, pool), least recently used first.
    type Pools = Vec<(u32, Arc<rayon::ThreadPool>)>;
    static CACHE: OnceLock<Mutex<Pools>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut pools = cache.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    if pools.iter().any(|(p, _)| *p != pid) {
        // Inherited through fork: unusable here, and not droppable (see `pool`).
        for stale in pools.drain(..) {
            std::mem::forget(stale);
        }
    }
    if let Some(at) = pools.iter().position(|(_, p)| p.current_num_threads() == n) {
        // Most recently used last.
        let hit = pools.remove(at);
        let p = hit.1.clone();
        pools.push(hit);
        return Ok(p);
    }
    let p = build(n)?;
    if pools.len() >= MAX_SIZED_POOLS {
        pools.remove(0);
    }
    pools.push((pid, p.clone()));
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
    install_for(n, threads, || {
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
    install_for(out.len() / item, threads, || {
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
    install_for(n, threads, || {
        buf.par_chunks_exact_mut(slot_len)
            .with_max_len(1)
            .enumerate()
            .try_for_each(|(i, s)| crate::error::catch_panic(|| f(i, s)))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_past_the_ceiling_are_refused() {
        for n in [0, MAX_THREADS + 1, usize::MAX] {
            assert!(set_num_threads(n).is_err(), "set_num_threads({n})");
            assert!(install(Some(n), || ()).is_err(), "install(Some({n}))");
            assert!(
                install_for(4, Some(n), || ()).is_err(),
                "install_for(4, Some({n}))"
            );
        }
        let err = set_num_threads(MAX_THREADS + 1).unwrap_err().to_string();
        assert!(err.contains("1024") && err.contains('n'), "{err}");
    }

    #[test]
    fn a_dedicated_pool_is_never_larger_than_the_work() {
        // A count other than the shared pool's size: a dedicated pool, capped at the items.
        let asked = num_threads() + 7;
        let used = install_for(3, Some(asked), rayon::current_num_threads).unwrap();
        assert_eq!(used, 3);
        let used = install_for(0, Some(asked), rayon::current_num_threads).unwrap();
        assert_eq!(used, 1);
        // More items than threads: the count asked for.
        let used = install_for(100, Some(2), rayon::current_num_threads).unwrap();
        assert_eq!(used, 2);
    }

    #[test]
    fn map_uses_at_most_one_thread_per_item() {
        let asked = (num_threads() + 9).min(MAX_THREADS);
        let names = map(4, usize::MAX, Some(asked), |_| {
            Ok(rayon::current_num_threads())
        })
        .unwrap();
        assert!(names.iter().all(|&n| n == 4), "{names:?}");
    }

    #[test]
    fn env_values_outside_the_range_are_reported() {
        assert_eq!(parse_threads(" 8 "), Ok(Some(8)));
        assert_eq!(parse_threads("1024"), Ok(Some(MAX_THREADS)));
        assert_eq!(parse_threads("  "), Ok(None));
        assert_eq!(parse_threads("Auto"), Ok(None));
        for bad in [
            "0",
            "1025",
            "100000",
            "99999999999999999999999",
            "-3",
            "four",
        ] {
            assert_eq!(parse_threads(bad), Err(bad.to_string()), "{bad}");
        }
    }
}
