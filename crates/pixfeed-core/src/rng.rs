//! Deterministic randomness keyed by (seed, epoch, index): every random op draws from the
//! stream of its own sample, never from thread-local or global state, so results do not
//! depend on thread count, scheduling or batch order.
//!
//! The stream is SplitMix64 (Steele, Lea & Flood 2014) started from a hash of the key: small,
//! fast, passes BigCrush as a stream, and needs no dependency. Own code because what matters
//! here is the keying, which no RNG crate provides as such.

/// A per-sample random stream.
#[derive(Debug, Clone)]
pub struct SampleRng {
    state: u64,
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SampleRng {
    /// The stream of sample `index` in `epoch` under `seed`.
    pub fn new(seed: u64, epoch: u64, index: u64) -> Self {
        let k = mix(seed ^ 0x9E37_79B9_7F4A_7C15);
        let k = mix(k ^ epoch.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let k = mix(k ^ index.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7));
        SampleRng { state: k }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    #[inline]
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in [lo, hi] (inclusive), unbiased (Lemire's method).
    pub fn int_inclusive(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        let span = (hi - lo) as u64 + 1;
        if span == 0 {
            return self.next_u64() as i64; // full 64-bit range
        }
        let mut m = u128::from(self.next_u64()) * u128::from(span);
        let mut low = m as u64;
        if low < span {
            let threshold = span.wrapping_neg() % span;
            while low < threshold {
                m = u128::from(self.next_u64()) * u128::from(span);
                low = m as u64;
            }
        }
        lo + (m >> 64) as i64
    }

    /// True with probability `p`.
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_stream_and_keys_differ() {
        let a: Vec<u64> = (0..4).map(|_| SampleRng::new(1, 2, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut seen = std::collections::HashSet::new();
        for s in 0..4 {
            for e in 0..4 {
                for i in 0..64 {
                    assert!(seen.insert(SampleRng::new(s, e, i).next_u64()));
                }
            }
        }
    }

    #[test]
    fn uniform_and_ints_are_in_range_and_roughly_flat() {
        let mut r = SampleRng::new(7, 0, 0);
        let mut counts = [0usize; 10];
        for _ in 0..100_000 {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            counts[(u * 10.0) as usize] += 1;
            let k = r.int_inclusive(-3, 5);
            assert!((-3..=5).contains(&k));
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(r.int_inclusive(4, 4), 4);
    }
}
