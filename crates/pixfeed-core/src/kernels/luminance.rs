//! Mean luminance: exact per-channel integer sums, weighted once in f64 at the end, so the
//! result is as close to the real mean as f64 allows (numpy's float64 mean is the reference).
//!
//! The sums are the whole cost and are memory-bound: bytes are added into `u16` lanes, one lane
//! per byte position of a block of whole pixels (so every lane belongs to one channel), flushed
//! into `u64` before a lane can overflow. The loop is plain Rust that LLVM vectorizes into
//! widening adds; it is compiled a second time with AVX2 enabled and picked at run time.

use crate::image::ImageView;

/// The weights of R, G, B.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weights {
    /// ITU-R BT.601: 0.299, 0.587, 0.114 (what trainingsample and most code call luminance).
    Bt601,
    /// ITU-R BT.709: 0.2126, 0.7152, 0.0722.
    Bt709,
}

impl Weights {
    pub fn rgb(self) -> [f64; 3] {
        match self {
            Weights::Bt601 => [0.299, 0.587, 0.114],
            Weights::Bt709 => [0.2126, 0.7152, 0.0722],
        }
    }
}

/// Mean luminance of `src` on the 0-255 scale: the weighted mean of R, G, B for 3 and 4
/// channels (alpha ignored), the plain mean of the first channel for 1 and 2 (gray + alpha).
pub fn luminance(src: ImageView<'_>, weights: Weights) -> f64 {
    let n = (src.width * src.height) as f64;
    if n == 0.0 {
        return f64::NAN;
    }
    let s = channel_sums(src);
    if src.channels < 3 {
        return s[0] as f64 / n;
    }
    let [wr, wg, wb] = weights.rgb();
    (wr * s[0] as f64 + wg * s[1] as f64 + wb * s[2] as f64) / n
}

/// Exact per-channel sums (entries past the channel count are 0).
pub fn channel_sums(src: ImageView<'_>) -> [u64; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { channel_sums_avx2(src) };
        }
    }
    channel_sums_impl(src)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn channel_sums_avx2(src: ImageView<'_>) -> [u64; 4] {
    channel_sums_impl(src)
}

#[inline(always)]
fn channel_sums_impl(src: ImageView<'_>) -> [u64; 4] {
    match src.channels {
        1 => sums::<1, 64>(src),
        2 => sums::<2, 64>(src),
        3 => sums::<3, 96>(src),
        4 => sums::<4, 64>(src),
        c => {
            // Not produced by the bindings (1-4 channels); kept total and simple.
            let mut out = [0u64; 4];
            for y in 0..src.height {
                for (i, &v) in src.row(y).iter().enumerate() {
                    if i % c < 4 {
                        out[i % c] += u64::from(v);
                    }
                }
            }
            out
        }
    }
}

/// `P` lanes (a multiple of `C`) of 16-bit partial sums.
struct Acc<const C: usize, const P: usize> {
    lanes: [u16; P],
    wide: [u64; P],
    blocks: u32,
    tail: [u64; 4],
}

/// 256 blocks of at most 255 per lane stay below 65536.
const FLUSH_BLOCKS: u32 = 256;

impl<const C: usize, const P: usize> Acc<C, P> {
    #[inline(always)]
    fn new() -> Self {
        Acc {
            lanes: [0; P],
            wide: [0; P],
            blocks: 0,
            tail: [0; 4],
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        for (w, l) in self.wide.iter_mut().zip(self.lanes.iter_mut()) {
            *w += u64::from(*l);
            *l = 0;
        }
        self.blocks = 0;
    }

    /// Add a run of whole pixels (starting at channel 0).
    #[inline(always)]
    fn add(&mut self, data: &[u8]) {
        let mut blocks = data.chunks_exact(P);
        for block in blocks.by_ref() {
            let block: &[u8; P] = block.try_into().expect("P bytes");
            for (l, &v) in self.lanes.iter_mut().zip(block.iter()) {
                *l += u16::from(v);
            }
            self.blocks += 1;
            if self.blocks == FLUSH_BLOCKS {
                self.flush();
            }
        }
        for px in blocks.remainder().chunks_exact(C) {
            for (t, &v) in self.tail.iter_mut().zip(px) {
                *t += u64::from(v);
            }
        }
    }

    #[inline(always)]
    fn finish(mut self) -> [u64; 4] {
        self.flush();
        let mut out = self.tail;
        for (i, w) in self.wide.iter().enumerate() {
            out[i % C] += w;
        }
        out
    }
}

#[inline(always)]
fn sums<const C: usize, const P: usize>(src: ImageView<'_>) -> [u64; 4] {
    let mut acc = Acc::<C, P>::new();
    if src.is_contiguous() {
        acc.add(&src.data[..src.height * src.row_stride]);
    } else {
        for y in 0..src.height {
            acc.add(src.row(y));
        }
    }
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(src: &ImageView<'_>) -> [u64; 4] {
        let mut out = [0u64; 4];
        for y in 0..src.height {
            for (i, &v) in src.row(y).iter().enumerate() {
                out[i % src.channels] += u64::from(v);
            }
        }
        out
    }

    #[test]
    fn sums_are_exact_for_all_channel_counts_and_strides() {
        for c in 1..=4 {
            for (w, h) in [(1, 1), (7, 3), (33, 17), (300, 301), (1000, 5)] {
                let stride = w * c + 5;
                let data: Vec<u8> = (0..stride * h).map(|i| (i * 131 % 256) as u8).collect();
                let strided = ImageView::new(&data, w, h, c, stride).unwrap();
                assert_eq!(channel_sums(strided), naive(&strided), "{w}x{h}x{c}");
                assert_eq!(channel_sums_impl(strided), naive(&strided));
                let contiguous = ImageView::contiguous(&data[..w * h * c], w, h, c).unwrap();
                assert_eq!(channel_sums(contiguous), naive(&contiguous));
            }
        }
    }

    #[test]
    fn saturated_image_does_not_overflow_lanes() {
        let (w, h, c) = (2000, 1000, 3);
        let data = vec![255u8; w * h * c];
        let v = ImageView::contiguous(&data, w, h, c).unwrap();
        let s = channel_sums(v);
        assert_eq!(s, [255 * 2_000_000, 255 * 2_000_000, 255 * 2_000_000, 0]);
        assert!((luminance(v, Weights::Bt601) - 255.0).abs() < 1e-9);
        assert!((luminance(v, Weights::Bt709) - 255.0).abs() < 1e-9);
    }

    #[test]
    fn weights_and_gray() {
        let data = [10u8, 20, 30, 99, 30, 20, 10, 99];
        let v = ImageView::contiguous(&data, 2, 1, 4).unwrap();
        let want = (0.299 * 40.0 + 0.587 * 40.0 + 0.114 * 40.0) / 2.0;
        assert!((luminance(v, Weights::Bt601) - want).abs() < 1e-12);
        let g = ImageView::contiguous(&data, 4, 1, 2).unwrap();
        assert_eq!(
            luminance(g, Weights::Bt709),
            (10.0 + 30.0 + 30.0 + 10.0) / 4.0
        );
    }
}
