//! Mean luminance: exact per-channel integer sums, weighted once in f64 at the end, so the
//! result is as close to the real mean as f64 allows (numpy's float64 mean is the reference).
//!
//! The sums are the whole cost and are memory-bound: bytes are added into `u16` lanes, one lane
//! per byte position of a block of whole pixels (so every lane belongs to one channel), flushed
//! into `u64` before a lane can overflow. The portable loop is plain Rust that LLVM vectorizes;
//! on CPUs with AVX2 (detected at run time) whole blocks go through explicit intrinsics,
//! faster on cached data because LLVM spills the lanes between blocks.

use crate::image::ImageView;

/// The weights of R, G, B.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weights {
    /// ITU-R BT.601: 0.299, 0.587, 0.114 (what trainingsample and most code call luminance).
    Bt601,
    /// ITU-R BT.709: 0.2126, 0.7152, 0.0722.
    Bt709,
}

crate::names::named!(
    Weights,
    "weights",
    Or,
    [("bt601", Weights::Bt601), ("bt709", Weights::Bt709)]
);

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
    weighted_mean(
        channel_sums(src),
        src.channels,
        src.width * src.height,
        weights,
    )
}

/// The luminance of an image of `pixels` pixels and `channels` channels from its exact
/// channel sums (which may be added up over row bands computed separately).
pub fn weighted_mean(s: [u64; 4], channels: usize, pixels: usize, weights: Weights) -> f64 {
    let n = pixels as f64;
    if pixels == 0 {
        return f64::NAN;
    }
    if channels < 3 {
        return s[0] as f64 / n;
    }
    let [wr, wg, wb] = weights.rgb();
    (wr * s[0] as f64 + wg * s[1] as f64 + wb * s[2] as f64) / n
}

/// Rows `y0 .. y0 + rows` of `src` as a view (for splitting one large image across threads).
pub fn band<'a>(src: ImageView<'a>, y0: usize, rows: usize) -> ImageView<'a> {
    debug_assert!(y0 + rows <= src.height);
    ImageView {
        data: &src.data[(y0 * src.row_stride).min(src.data.len())..],
        height: rows,
        ..src
    }
}

/// Exact per-channel sums (entries past the channel count are 0).
pub fn channel_sums(src: ImageView<'_>) -> [u64; 4] {
    #[cfg(target_arch = "x86_64")]
    let avx2 = crate::kernels::cpu::avx2();
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    channel_sums_impl(src, avx2)
}

fn channel_sums_impl(src: ImageView<'_>, avx2: bool) -> [u64; 4] {
    match src.channels {
        1 => sums::<1, 64>(src, avx2),
        2 => sums::<2, 64>(src, avx2),
        3 => sums::<3, 96>(src, avx2),
        4 => sums::<4, 64>(src, avx2),
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

/// `P` lanes (a multiple of `C` and of 32) of 16-bit partial sums.
struct Acc<const C: usize, const P: usize> {
    lanes: [u16; P],
    wide: [u64; P],
    blocks: u32,
    tail: [u64; 4],
    /// Whole blocks go through [`blocks_avx2`] (the CPU has AVX2).
    avx2: bool,
}

/// 256 blocks of at most 255 per lane stay below 65536.
const FLUSH_BLOCKS: u32 = 256;

impl<const C: usize, const P: usize> Acc<C, P> {
    #[inline(always)]
    fn new(avx2: bool) -> Self {
        Acc {
            lanes: [0; P],
            wide: [0; P],
            blocks: 0,
            tail: [0; 4],
            avx2,
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
        #[cfg(target_arch = "x86_64")]
        let data = if self.avx2 {
            // SAFETY: `avx2` is only set when the CPU supports AVX2.
            let used = unsafe { blocks_avx2::<P>(data, &mut self.wide) };
            &data[used..]
        } else {
            data
        };
        let mut blocks = data.chunks_exact(P);
        loop {
            // Up to the next flush: a branch-free loop of widening adds.
            let room = (FLUSH_BLOCKS - self.blocks) as usize;
            let mut taken = 0;
            for block in blocks.by_ref().take(room) {
                let block: &[u8; P] = block.try_into().expect("P bytes");
                for (l, &v) in self.lanes.iter_mut().zip(block) {
                    *l = l.wrapping_add(u16::from(v));
                }
                taken += 1;
            }
            self.blocks += taken as u32;
            if self.blocks == FLUSH_BLOCKS {
                self.flush();
            }
            if taken < room {
                break;
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

/// Add the whole `P`-byte blocks of `data` into `wide` (lane `i` gets the bytes at `i` mod `P`);
/// returns the number of bytes consumed. Explicit AVX2 because LLVM does not keep the u16
/// lanes in registers across blocks: 16 bytes are widened and added per instruction pair, in
/// up to 6 independent accumulators, flushed to u64 every 256 blocks.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blocks_avx2<const P: usize>(data: &[u8], wide: &mut [u64; P]) -> usize {
    use std::arch::x86_64::*;
    const MAX_VECTORS: usize = 3;
    const PREFETCH: usize = 16384;
    let vectors = P / 32;
    assert!(P % 32 == 0 && vectors <= MAX_VECTORS);
    let nblocks = data.len() / P;
    let mut done = 0;
    while done < nblocks {
        let group = (nblocks - done).min(FLUSH_BLOCKS as usize);
        let mut acc = [_mm256_setzero_si256(); 2 * MAX_VECTORS];
        for b in done..done + group {
            for (v, pair) in acc.chunks_exact_mut(2).take(vectors).enumerate() {
                let at = b * P + v * 32;
                debug_assert!(at + 32 <= data.len());
                // SAFETY: `at + 32 <= nblocks * P <= data.len()`; unaligned load.
                let x = unsafe { _mm256_loadu_si256(data.as_ptr().add(at).cast()) };
                // Hardware prefetch alone leaves DRAM bandwidth unused on one core, so ask
                // `PREFETCH` bytes ahead. (A prefetch never faults, even past the end.)
                _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().wrapping_add(at + PREFETCH).cast());
                let lo = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(x));
                let hi = _mm256_cvtepu8_epi16(_mm256_extracti128_si256::<1>(x));
                pair[0] = _mm256_add_epi16(pair[0], lo);
                pair[1] = _mm256_add_epi16(pair[1], hi);
            }
        }
        for (k, a) in acc.iter().take(2 * vectors).enumerate() {
            let mut lanes = [0u16; 16];
            // SAFETY: 32 bytes into a 32-byte array; unaligned store.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), *a) };
            for (w, &l) in wide[k * 16..k * 16 + 16].iter_mut().zip(&lanes) {
                *w += u64::from(l);
            }
        }
        done += group;
    }
    nblocks * P
}

#[inline(always)]
fn sums<const C: usize, const P: usize>(src: ImageView<'_>, avx2: bool) -> [u64; 4] {
    let mut acc = Acc::<C, P>::new(avx2);
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
                assert_eq!(channel_sums_impl(strided, false), naive(&strided));
                let contiguous = ImageView::contiguous(&data[..w * h * c], w, h, c).unwrap();
                assert_eq!(channel_sums(contiguous), naive(&contiguous));
            }
        }
    }

    #[test]
    fn bands_add_up() {
        let (w, h, c) = (37, 29, 3);
        let data: Vec<u8> = (0..(w * c + 3) * h).map(|i| (i * 13 % 256) as u8).collect();
        let v = ImageView::new(&data, w, h, c, w * c + 3).unwrap();
        let mut total = [0u64; 4];
        for (y0, rows) in [(0, 10), (10, 1), (11, 18)] {
            let part = channel_sums(band(v, y0, rows));
            for k in 0..4 {
                total[k] += part[k];
            }
        }
        assert_eq!(total, channel_sums(v));
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

    /// `cargo test --release -p pixfeed-core lum_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn lum_speed() {
        for (w, h) in [(160, 120), (640, 480)] {
            let n = 64;
            let imgs: Vec<Vec<u8>> = (0..n)
                .map(|k| (0..w * h * 3).map(|i| ((i * 7 + k) % 251) as u8).collect())
                .collect();
            let mut best = f64::MAX;
            let mut acc = 0.0;
            for _ in 0..30 {
                let t = std::time::Instant::now();
                for im in &imgs {
                    acc += luminance(ImageView::contiguous(im, w, h, 3).unwrap(), Weights::Bt601);
                }
                best = best.min(t.elapsed().as_secs_f64());
            }
            let gb = (n * w * h * 3) as f64 / 1e9;
            println!(
                "{w}x{h}: {:.3} ms, {:.1} GB/s ({acc})",
                best * 1e3,
                gb / best
            );
        }
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
