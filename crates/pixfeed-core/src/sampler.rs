//! The sample order of one shard reader (`pixfeed._sampler`'s ``shuffle="shards"``): its
//! shards interleaved at random, `open` at a time, through a shuffle buffer. Python draws
//! the random numbers (numpy, keyed by seed, epoch, rank and worker) and owns the plan; this
//! is the walk over every sample, one step per sample.

use crate::{Error, Result};

fn bad(arg: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        arg,
        reason: reason.into(),
    }
}

/// The reader's samples in stream order, then what is left in the buffer, in buffer order.
///
/// `shards[i]` is the `(first, end)` range of sample indices of the i-th shard read (each
/// non-empty); the first `open` are opened at once. Step i takes the next sample of open
/// shard `trunc(pick[i] * open_count)` (`pick[i]` in `[0, 1)`); a shard that runs out is
/// replaced by the next unopened one or, when none is left, by the last open one. The
/// sample then goes into the buffer while it holds fewer than `buffer` samples; else the
/// sample at buffer position `slot[i]` (in `0..buffer`) is given out and replaced by it.
/// `pick` and `slot` hold one value per sample of the shards. The caller shuffles the tail
/// (the last `min(n, buffer)` values).
pub fn shard_stream(
    shards: &[(i64, i64)],
    open: usize,
    pick: &[f64],
    slot: &[i64],
    buffer: u64,
) -> Result<Vec<i64>> {
    if open == 0 {
        return Err(bad("open_shards", "must be >= 1"));
    }
    if buffer == 0 {
        return Err(bad("buffer", "must be >= 1"));
    }
    let mut n: u64 = 0;
    for &(first, end) in shards {
        if first < 0 || end <= first {
            return Err(bad(
                "shards",
                format!("a shard's samples {first}..{end} are not a non-empty range"),
            ));
        }
        n = n.saturating_add((end - first) as u64);
    }
    if pick.len() as u64 != n || slot.len() as u64 != n {
        return Err(bad(
            "pick",
            format!(
                "expected one pick and one slot per sample ({n}), got {} and {}",
                pick.len(),
                slot.len()
            ),
        ));
    }
    if let Some(p) = pick.iter().find(|p| !(0.0..1.0).contains(*p)) {
        return Err(bad("pick", format!("{p} is not in [0, 1)")));
    }
    if let Some(s) = slot.iter().find(|&&s| s < 0 || s as u64 >= buffer) {
        return Err(bad("slot", format!("{s} is not in 0..{buffer}")));
    }
    let n = pick.len();
    let cap = usize::try_from(buffer).unwrap_or(usize::MAX).min(n);
    let first_open = open.min(shards.len());
    let mut opened: Vec<(i64, i64)> = shards[..first_open].to_vec();
    let mut following = shards[first_open..].iter();
    let mut out: Vec<i64> = Vec::with_capacity(n);
    let mut buf: Vec<i64> = Vec::with_capacity(cap);
    for (&p, &s) in pick.iter().zip(slot) {
        // Python's int(p * len) for p in [0, 1): never len itself (the product rounds down).
        let j = ((p * opened.len() as f64) as usize).min(opened.len() - 1);
        let cur = &mut opened[j];
        let sample = cur.0;
        cur.0 += 1;
        if cur.0 == cur.1 {
            match following.next() {
                Some(&next) => opened[j] = next,
                None => {
                    opened.swap_remove(j);
                }
            }
        }
        if buf.len() < cap {
            buf.push(sample);
        } else {
            let b = s as usize;
            out.push(buf[b]);
            buf[b] = sample;
        }
    }
    out.extend_from_slice(&buf);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for the tests' picks and slots.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 11
    }

    fn inputs(n: usize, buffer: u64, seed: u64) -> (Vec<f64>, Vec<i64>) {
        let mut st = seed;
        let pick = (0..n)
            .map(|_| lcg(&mut st) as f64 / (1u64 << 53) as f64)
            .collect();
        let slot = (0..n).map(|_| (lcg(&mut st) % buffer) as i64).collect();
        (pick, slot)
    }

    #[test]
    fn every_sample_once_and_shards_in_order() {
        let shards = [(10, 15), (0, 3), (20, 27), (3, 4), (30, 40)];
        let n = 5 + 3 + 7 + 1 + 10;
        for open in 1..=6 {
            for buffer in [1u64, 2, 7, 26, 1000] {
                let (pick, slot) = inputs(n, buffer, open as u64 * 31 + buffer);
                let got = shard_stream(&shards, open, &pick, &slot, buffer).unwrap();
                let mut sorted = got.clone();
                sorted.sort();
                let mut want: Vec<i64> = shards.iter().flat_map(|&(a, b)| a..b).collect();
                want.sort();
                assert_eq!(sorted, want, "open={open} buffer={buffer}");
                if buffer == 1 {
                    // No shuffle: each shard's samples come in order.
                    for &(a, b) in &shards {
                        let mine: Vec<i64> =
                            got.iter().copied().filter(|v| (a..b).contains(v)).collect();
                        assert_eq!(mine, (a..b).collect::<Vec<_>>());
                    }
                }
                if open == 1 && buffer == 1 {
                    let seq: Vec<i64> = shards.iter().flat_map(|&(a, b)| a..b).collect();
                    assert_eq!(got, seq);
                }
            }
        }
    }

    #[test]
    fn picks_choose_the_open_shard_and_slots_the_buffered_sample() {
        // Two open shards: picks 0.9, 0.1, 0.6 take from shard 1, 0, 1.
        let shards = [(0, 2), (10, 12)];
        let got = shard_stream(&shards, 2, &[0.9, 0.1, 0.6, 0.0], &[0, 0, 0, 0], 10).unwrap();
        assert_eq!(got, [10, 0, 11, 1]);
        // A buffer of two: the third sample gives out slot 1 (the second sample).
        let got = shard_stream(&[(0, 4)], 1, &[0.0; 4], &[0, 0, 1, 0], 2).unwrap();
        assert_eq!(got, [1, 0, 3, 2]);
        // A shard that runs out is replaced by the last open one.
        let shards = [(0, 1), (10, 12), (20, 22)];
        let got = shard_stream(&shards, 3, &[0.0, 0.0, 0.0, 0.9, 0.0], &[0; 5], 9).unwrap();
        assert_eq!(got, [0, 20, 21, 10, 11]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let e = |r: Result<Vec<i64>>| match r {
            Err(Error::InvalidArgument { arg, .. }) => arg,
            other => panic!("expected an argument error, got {other:?}"),
        };
        assert_eq!(
            e(shard_stream(&[(0, 2)], 0, &[0.0; 2], &[0; 2], 1)),
            "open_shards"
        );
        assert_eq!(
            e(shard_stream(&[(0, 2)], 1, &[0.0; 2], &[0; 2], 0)),
            "buffer"
        );
        assert_eq!(e(shard_stream(&[(2, 2)], 1, &[], &[], 1)), "shards");
        assert_eq!(e(shard_stream(&[(0, 2)], 1, &[0.0; 3], &[0; 3], 1)), "pick");
        assert_eq!(
            e(shard_stream(&[(0, 2)], 1, &[0.0, 1.0], &[0; 2], 1)),
            "pick"
        );
        assert_eq!(e(shard_stream(&[(0, 2)], 1, &[0.0; 2], &[0, 1], 1)), "slot");
        assert_eq!(
            shard_stream(&[], 1, &[], &[], 1).unwrap(),
            Vec::<i64>::new()
        );
    }
}
