//! `cv2.resize` with INTER_CUBIC (4 taps) and INTER_LANCZOS4 (8 taps) on uint8, fast: OpenCV's
//! sample positions and its 11-bit weights (from [`super::opencv`]), edge pixels replicated.
//!
//! The same scheme as [`super::linear`]: a vertical pass into a 16-bit row with 6 fractional
//! bits (`pmulhrsw`, 16 lanes), padded on both sides with copies of the edge pixels so that the
//! horizontal pass needs no clamping, then a horizontal pass that blends pairs of taps with
//! `pmaddwd`, two output pixels per register. OpenCV goes horizontally first with exact 32-bit
//! rows; both orders compute the same separable sum without clipping in between, so results
//! differ only by rounding (within 0.05 levels here), i.e. by at most one level.

use super::opencv::{axis, Kernel};
use crate::image::{ImageView, ImageViewMut};

/// OpenCV's 11-bit weights, as 14-bit weights (exactly the same values).
const SHIFT: u32 = 3;
const W_BITS: u32 = 14;
/// Fractional bits of the intermediate row.
const T_BITS: u32 = 6;

/// Resize `src` into `dst` with OpenCV's cubic or Lanczos-4 interpolation.
pub fn resize(src: ImageView<'_>, dst: ImageViewMut<'_>, kernel: Kernel) {
    match src.channels {
        1 => resize_n::<1>(src, dst, kernel),
        2 => resize_n::<2>(src, dst, kernel),
        3 => resize_n::<3>(src, dst, kernel),
        _ => resize_n::<4>(src, dst, kernel),
    }
}

fn resize_n<const C: usize>(src: ImageView<'_>, dst: ImageViewMut<'_>, kernel: Kernel) {
    let taps = kernel.taps();
    let (sw, sh, dw) = (src.width, src.height, dst.width);
    let xa = axis(sw, dw, kernel);
    let ya = axis(sh, dst.height, kernel);
    let xw: Vec<i16> = xa.weights.iter().map(|&w| (w << SHIFT) as i16).collect();
    let yw: Vec<i32> = ya.weights.iter().map(|&w| w << SHIFT).collect();
    // The intermediate row has `taps` replicated pixels on each side (the first tap of an
    // output is at most taps / 2 pixels before the image, the last at most taps / 2 after
    // it), plus room for a 16-byte load at the last pair.
    let pad = taps;
    let row_len = sw * C;
    let mut tmp = vec![0i16; (sw + 2 * pad) * C + 8];
    // Each output's first tap in the padded row, in i16 units.
    let xoff: Vec<usize> = xa
        .start
        .iter()
        .map(|&s| (s + pad as isize) as usize * C)
        .collect();
    // For the SIMD pass: per pair of outputs and per pair of taps, the two taps' weights in
    // the lanes of their pixels: `[k0, k1] x 4 channels` for each of the two outputs.
    let groups = taps / 2;
    let wide: Vec<[i16; 16]> = if C >= 3 {
        let mut v = vec![[0i16; 16]; dw / 2 * groups];
        for (p, chunk) in v.chunks_exact_mut(groups).enumerate() {
            for (g, lanes) in chunk.iter_mut().enumerate() {
                for (half, d) in [2 * p, 2 * p + 1].into_iter().enumerate() {
                    for c in 0..4 {
                        lanes[half * 8 + 2 * c] = xw[d * taps + 2 * g];
                        lanes[half * 8 + 2 * c + 1] = xw[d * taps + 2 * g + 1];
                    }
                }
            }
        }
        v
    } else {
        Vec::new()
    };
    let last_row = sh as isize - 1;
    let out_len = dw * C;
    for (dy, out) in dst.data.chunks_exact_mut(out_len).enumerate() {
        let rows: Vec<&[u8]> = (0..taps)
            .map(|k| src.row((ya.start[dy] + k as isize).clamp(0, last_row) as usize))
            .collect();
        let body = &mut tmp[pad * C..pad * C + row_len];
        super::linear::vertical_n(&rows, &yw[dy * taps..dy * taps + taps], body);
        // Replicate the edge pixels into the padding.
        let (first, last): ([i16; C], [i16; C]) = (
            tmp[pad * C..pad * C + C].try_into().expect("C values"),
            tmp[pad * C + row_len - C..pad * C + row_len]
                .try_into()
                .expect("C values"),
        );
        for p in tmp[..pad * C].chunks_exact_mut(C) {
            p.copy_from_slice(&first);
        }
        for p in tmp[pad * C + row_len..(2 * pad + sw) * C].chunks_exact_mut(C) {
            p.copy_from_slice(&last);
        }
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if C >= 3 && crate::kernels::cpu::avx2() {
            // SAFETY: AVX2 is available (checked just above).
            done = unsafe { horizontal_avx2::<C>(&tmp, taps, &xoff, &wide, out) };
        }
        for dx in done..dw {
            let w = &xw[dx * taps..dx * taps + taps];
            for c in 0..C {
                let mut v = 0i32;
                for (k, &wk) in w.iter().enumerate() {
                    v += i32::from(tmp[xoff[dx] + k * C + c]) * i32::from(wk);
                }
                let r = (v + (1 << (W_BITS + T_BITS - 1))) >> (W_BITS + T_BITS);
                out[dx * C + c] = r.clamp(0, 255) as u8;
            }
        }
    }
}

/// Eight output pixels per step, two per register (one per 128-bit half), each accumulating
/// `taps / 2` pairs of taps. Returns the number of outputs done.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_avx2<const C: usize>(
    t: &[i16],
    taps: usize,
    xoff: &[usize],
    wide: &[[i16; 16]],
    out: &mut [u8],
) -> usize {
    use std::arch::x86_64::*;
    let (inter, order, squeeze) = super::shuffles::pairs(C);
    let round = _mm256_set1_epi32(1 << (W_BITS + T_BITS - 1));
    let groups = taps / 2;
    // Every load reads 8 i16 from a pair's start: the last pair of the last output must fit.
    match xoff.last() {
        Some(&o) if o + (taps - 2) * C + 8 <= t.len() => {}
        _ => return 0,
    }
    let base = t.as_ptr();
    let two = |dx: usize| -> __m256i {
        let mut acc = _mm256_setzero_si256();
        for g in 0..groups {
            // SAFETY: offsets never decrease, so every pair load is below the last output's
            // last pair, checked above; `wide` holds `groups` entries per output pair (`dx` is
            // even and `dx + 1 < xoff.len()`), each 16 i16 = 32 bytes.
            let (v, w) = unsafe {
                let a = base
                    .add(*xoff.get_unchecked(dx) + 2 * g * C)
                    .cast::<__m128i>();
                let b = base
                    .add(*xoff.get_unchecked(dx + 1) + 2 * g * C)
                    .cast::<__m128i>();
                let w = wide.get_unchecked(dx / 2 * groups + g).as_ptr();
                (
                    _mm256_loadu2_m128i(b, a),
                    _mm256_loadu_si256(w.cast::<__m256i>()),
                )
            };
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_shuffle_epi8(v, inter), w));
        }
        _mm256_srai_epi32::<{ (W_BITS + T_BITS) as i32 }>(_mm256_add_epi32(acc, round))
    };
    // Stores write 32 bytes (4 past the 24 of three channels): stop while inside `out`.
    let n = xoff
        .len()
        .min(wide.len() / groups * 2)
        .min(out.len().saturating_sub(32) / C + 1)
        / 8
        * 8;
    super::shuffles::pack_store(out, n, C, order, squeeze, two)
}
