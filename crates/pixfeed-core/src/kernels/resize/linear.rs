//! `cv2.resize(..., INTER_LINEAR)` on uint8: 2-tap bilinear interpolation at OpenCV's sample
//! positions (`(d + 0.5) * src / dst - 0.5` in single precision, edge pixels clamped).
//!
//! Own kernel for speed. fast_image_resize's `Interpolation(Bilinear)` computes the same
//! thing within one level, but its horizontal pass makes it slower than OpenCV, over this
//! call's budget (figures in benchmarks/RESULTS.md). Here the vertical pass blends two rows into a 16-bit row with 6 fractional
//! bits (`pmulhrsw`), and the horizontal pass blends pixel pairs with one `pmaddwd` per
//! output pixel, so both passes run 16 lanes wide (AVX2, with a scalar fallback).
//!
//! Accuracy: 14-bit weights, one rounding inside each product of the vertical pass (1/64 of a
//! level) and one final rounding: within 0.02 levels of exact, where OpenCV's 11-bit weights
//! and truncations leave it within about 0.4; results therefore differ by at most one level.

use crate::image::{ImageView, ImageViewMut};

const W_BITS: u32 = 14;
const W_ONE: i32 = 1 << W_BITS;
/// Fractional bits of the intermediate row.
const T_BITS: u32 = 6;

/// Sample positions of one axis: first source index and the weight of the second tap.
/// `area`: OpenCV's INTER_AREA positions for an enlarged axis (`floor(d * scale)` and the
/// fraction of the next pixel in the output cell), else INTER_LINEAR's.
fn axis(src_len: usize, dst_len: usize, area: bool) -> (Vec<usize>, Vec<i32>) {
    let inv_scale = dst_len as f64 / src_len as f64;
    let scale = 1.0 / inv_scale;
    let mut idx = Vec::with_capacity(dst_len);
    let mut w1 = Vec::with_capacity(dst_len);
    for d in 0..dst_len {
        let (mut f, mut s);
        if area {
            s = (d as f64 * scale).floor() as isize;
            f = ((d + 1) as f64 - (s + 1) as f64 * inv_scale) as f32;
            f = if f <= 0.0 { 0.0 } else { f - f.floor() };
        } else {
            f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            s = f.floor() as isize;
            f -= s as f32;
        }
        if s < 0 {
            (f, s) = (0.0, 0);
        }
        if s >= src_len as isize - 1 {
            (f, s) = (0.0, src_len as isize - 1);
        }
        idx.push(s as usize);
        w1.push((f * W_ONE as f32).round() as i32);
    }
    (idx, w1)
}

/// `(a * b + 2**14) >> 15`, the scalar `pmulhrsw`.
#[inline(always)]
fn mulhrs(a: i32, b: i32) -> i32 {
    (a * b + (1 << 14)) >> 15
}

/// Resize `src` into `dst` (INTER_LINEAR).
pub fn resize(src: ImageView<'_>, dst: ImageViewMut<'_>) {
    resize_2tap(src, dst, false);
}

/// INTER_AREA when an axis is enlarged: OpenCV then runs its bilinear code with the area
/// weights (see `axis`).
pub fn resize_area_enlarge(src: ImageView<'_>, dst: ImageViewMut<'_>) {
    resize_2tap(src, dst, true);
}

fn resize_2tap(src: ImageView<'_>, dst: ImageViewMut<'_>, area: bool) {
    let c = src.channels;
    let (xs, xw) = axis(src.width, dst.width, area);
    let (ys, yw) = axis(src.height, dst.height, area);
    // Horizontal taps as (offset of the pair in the row, weights [w0, w1] as i16 pairs).
    let xoff: Vec<usize> = xs.iter().map(|&s| s * c).collect();
    let xwt: Vec<[i16; 2]> = xw.iter().map(|&w| [(W_ONE - w) as i16, w as i16]).collect();
    // For 3-4 channels, the weights of each pair of outputs as the SIMD pass uses them: four
    // (w0, w1) pairs for each of the two pixels.
    let wide: Vec<[i16; 16]> = if c >= 3 {
        xwt.chunks_exact(2)
            .map(|w| {
                let mut v = [0i16; 16];
                for (k, pair) in v.chunks_exact_mut(2).enumerate() {
                    pair.copy_from_slice(&w[k / 4]);
                }
                v
            })
            .collect()
    } else {
        Vec::new()
    };
    // The intermediate row, one pixel and 16 bytes longer than the source row so that a
    // pair starting at the last pixel, and a 16-byte load there, stay inside.
    let row_len = src.width * c;
    let mut tmp = vec![0i16; row_len + c + 8];
    let out_len = dst.width * c;
    let mut prev: Option<(usize, i32)> = None;
    for (dy, out) in dst.data.chunks_exact_mut(out_len).enumerate() {
        let (sy, w1) = (ys[dy], yw[dy]);
        // The source rows two output rows ahead: fetched while this row is computed (a batch
        // reads every image from memory once; this hides most of that latency).
        if let Some(&ahead) = ys.get(dy + 2) {
            prefetch(src.row(ahead));
            prefetch(src.row((ahead + 1).min(src.height - 1)));
        }
        if prev != Some((sy, w1)) {
            let r0 = src.row(sy);
            let r1 = src.row((sy + 1).min(src.height - 1));
            vertical(r0, r1, W_ONE - w1, w1, &mut tmp[..row_len]);
            // Pad with a copy of the last pixel (weight 0 when used, but keeps it finite).
            let (body, pad) = tmp.split_at_mut(row_len);
            pad[..c].copy_from_slice(&body[row_len - c..]);
            prev = Some((sy, w1));
        }
        horizontal(&tmp, c, &xoff, &xwt, &wide, out);
    }
}

/// Hint the cache to load `bytes` (no effect on results).
#[inline]
pub(crate) fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch never faults and `line` points into a live slice anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
}

/// `out[x] = sum_k mulhrs(rows[k][x] << 7, w[k])`: rows blended with 14-bit weights (any
/// sign) into 6 fractional bits, 16 lanes at a time.
pub(crate) fn vertical_n(rows: &[&[u8]], w: &[i32], out: &mut [i16]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        done = unsafe { vertical_n_avx2(rows, w, out) };
    }
    for x in done..out.len() {
        let v: i32 = rows
            .iter()
            .zip(w)
            .map(|(r, &k)| mulhrs(i32::from(r[x]) << 7, k))
            .sum();
        out[x] = v as i16;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn vertical_n_avx2(rows: &[&[u8]], w: &[i32], out: &mut [i16]) -> usize {
    use std::arch::x86_64::*;
    let n = out.len() / 16 * 16;
    if rows.iter().any(|r| r.len() < n) {
        return 0;
    }
    let ws: Vec<__m256i> = w.iter().map(|&k| _mm256_set1_epi16(k as i16)).collect();
    for (x, o) in out[..n].chunks_exact_mut(16).enumerate() {
        let mut acc = _mm256_setzero_si256();
        for (r, &k) in rows.iter().zip(&ws) {
            // SAFETY: `x * 16 + 16 <= n <= r.len()` (checked above): one 16-byte load.
            let p = unsafe { _mm_loadu_si128(r.as_ptr().add(x * 16).cast()) };
            let p = _mm256_slli_epi16::<7>(_mm256_cvtepu8_epi16(p));
            acc = _mm256_add_epi16(acc, _mm256_mulhrs_epi16(p, k));
        }
        // SAFETY: `o` is 16 i16 = 32 bytes.
        unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), acc) };
    }
    n
}

fn vertical(r0: &[u8], r1: &[u8], w0: i32, w1: i32, out: &mut [i16]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        done = unsafe { vertical_avx2(r0, r1, w0, w1, out) };
    }
    for x in done..out.len() {
        let a = mulhrs(i32::from(r0[x]) << 7, w0);
        let b = mulhrs(i32::from(r1[x]) << 7, w1);
        out[x] = (a + b) as i16;
    }
}

/// 16 values per step; returns how many it did.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn vertical_avx2(r0: &[u8], r1: &[u8], w0: i32, w1: i32, out: &mut [i16]) -> usize {
    use std::arch::x86_64::*;
    let (vw0, vw1) = (_mm256_set1_epi16(w0 as i16), _mm256_set1_epi16(w1 as i16));
    let n = out.len() / 16 * 16;
    for ((a, b), o) in r0[..n]
        .chunks_exact(16)
        .zip(r1[..n].chunks_exact(16))
        .zip(out[..n].chunks_exact_mut(16))
    {
        // SAFETY: each chunk is 16 bytes (loads) / 16 i16 = 32 bytes (store), unaligned ops.
        unsafe {
            let pa = _mm256_cvtepu8_epi16(_mm_loadu_si128(a.as_ptr().cast()));
            let pb = _mm256_cvtepu8_epi16(_mm_loadu_si128(b.as_ptr().cast()));
            let t = _mm256_add_epi16(
                _mm256_mulhrs_epi16(_mm256_slli_epi16::<7>(pa), vw0),
                _mm256_mulhrs_epi16(_mm256_slli_epi16::<7>(pb), vw1),
            );
            _mm256_storeu_si256(o.as_mut_ptr().cast(), t);
        }
    }
    n
}

#[inline(always)]
fn blend(t: &[i16], off: usize, c: usize, k: usize, w: [i16; 2]) -> u8 {
    let v = i32::from(t[off + k]) * i32::from(w[0]) + i32::from(t[off + c + k]) * i32::from(w[1]);
    ((v + (1 << (W_BITS + T_BITS - 1))) >> (W_BITS + T_BITS)).clamp(0, 255) as u8
}

fn horizontal(
    t: &[i16],
    c: usize,
    xoff: &[usize],
    xwt: &[[i16; 2]],
    wide: &[[i16; 16]],
    out: &mut [u8],
) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        done = unsafe {
            match c {
                1 => horizontal1_avx2(t, xoff, xwt, out),
                2 => horizontal2_avx2(t, xoff, xwt, out),
                _ => horizontal_avx2(t, c, xoff, wide, out),
            }
        };
    }
    for dx in done..xoff.len() {
        for k in 0..c {
            out[dx * c + k] = blend(t, xoff[dx], c, k, xwt[dx]);
        }
    }
}

/// One channel, eight output pixels per step: the eight (left, right) pairs are gathered as
/// 32-bit words and blended by one `pmaddwd` with the eight weight pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal1_avx2(t: &[i16], xoff: &[usize], xwt: &[[i16; 2]], out: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let round = _mm256_set1_epi32(1 << (W_BITS + T_BITS - 1));
    let word =
        |o: usize| -> i32 { (u32::from(t[o] as u16) | (u32::from(t[o + 1] as u16) << 16)) as i32 };
    let mut dx = 0;
    while dx + 8 <= xoff.len() {
        let x = &xoff[dx..dx + 8];
        let v = _mm256_setr_epi32(
            word(x[0]),
            word(x[1]),
            word(x[2]),
            word(x[3]),
            word(x[4]),
            word(x[5]),
            word(x[6]),
            word(x[7]),
        );
        let w = &xwt[dx..dx + 8];
        // SAFETY: `w` is 8 pairs of i16 = 32 bytes.
        let wv = unsafe { _mm256_loadu_si256(w.as_ptr().cast::<__m256i>()) };
        let s = _mm256_srai_epi32::<{ (W_BITS + T_BITS) as i32 }>(_mm256_add_epi32(
            _mm256_madd_epi16(v, wv),
            round,
        ));
        let p = _mm256_packs_epi32(s, s);
        let b = _mm256_packus_epi16(p, p);
        let lo = _mm256_castsi256_si128(b);
        let hi = _mm256_extracti128_si256::<1>(b);
        let bytes = (_mm_cvtsi128_si32(lo) as u32, _mm_cvtsi128_si32(hi) as u32);
        out[dx..dx + 4].copy_from_slice(&bytes.0.to_le_bytes());
        out[dx + 4..dx + 8].copy_from_slice(&bytes.1.to_le_bytes());
        dx += 8;
    }
    dx
}

/// Two channels, four output pixels per 256-bit step (pairs gathered as 64-bit words).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal2_avx2(t: &[i16], xoff: &[usize], xwt: &[[i16; 2]], out: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let round = _mm256_set1_epi32(1 << (W_BITS + T_BITS - 1));
    // i16 lanes [a0 a1 b0 b1] -> [a0 b0 a1 b1] in each 64-bit group.
    let inter = _mm256_setr_epi8(
        0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13,
        10, 11, 14, 15,
    );
    let word = |o: usize| -> i64 {
        let q = &t[o..o + 4];
        (u64::from(q[0] as u16)
            | u64::from(q[1] as u16) << 16
            | u64::from(q[2] as u16) << 32
            | u64::from(q[3] as u16) << 48) as i64
    };
    let four = |dx: usize| -> __m256i {
        let x = &xoff[dx..dx + 4];
        let v = _mm256_setr_epi64x(word(x[0]), word(x[1]), word(x[2]), word(x[3]));
        let (a, b, c, d) = (xwt[dx], xwt[dx + 1], xwt[dx + 2], xwt[dx + 3]);
        let w8 = [a, a, b, b, c, c, d, d];
        // SAFETY: `w8` is 8 pairs of i16 = 32 bytes.
        let wv = unsafe { _mm256_loadu_si256(w8.as_ptr().cast::<__m256i>()) };
        let s = _mm256_madd_epi16(_mm256_shuffle_epi8(v, inter), wv);
        _mm256_srai_epi32::<{ (W_BITS + T_BITS) as i32 }>(_mm256_add_epi32(s, round))
    };
    let mut dx = 0;
    while dx + 8 <= xoff.len() {
        // [o0 o1 | o2 o3] and [o4 o5 | o6 o7] (two i32 per pixel) -> 16 bytes in order.
        let p = _mm256_packs_epi32(four(dx), four(dx + 4));
        let p = _mm256_permute4x64_epi64::<0b11_01_10_00>(p);
        let b = _mm256_packus_epi16(p, p);
        let b = _mm256_permute4x64_epi64::<0b00_00_10_00>(b);
        let o = &mut out[dx * 2..dx * 2 + 16];
        // SAFETY: `o` is 16 bytes.
        unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), _mm256_castsi256_si128(b)) };
        dx += 8;
    }
    dx
}

/// Three or four channels, eight output pixels per step: each pixel's two source pixels are
/// loaded together (16 bytes), interleaved channel by channel and blended by one `pmaddwd`.
/// Returns the number of output pixels done.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_avx2(
    t: &[i16],
    c: usize,
    xoff: &[usize],
    wide: &[[i16; 16]],
    out: &mut [u8],
) -> usize {
    use std::arch::x86_64::*;
    let (inter, order, squeeze) = super::shuffles::pairs(c);
    let round = _mm256_set1_epi32(1 << (W_BITS + T_BITS - 1));
    // Loads read 8 i16 from each pair's start: `t` is padded for that (see `resize`); offsets
    // never decrease, so checking the last one covers all.
    match xoff.last() {
        Some(&last) if last + 8 <= t.len() => {}
        _ => return 0,
    }
    let base = t.as_ptr();
    let pair = |dx: usize| -> __m256i {
        // SAFETY: `xoff[dx] + 8 <= t.len()` (checked above for the largest offset), so both
        // 16-byte loads are inside `t`; `dx + 1 < xoff.len()` and `wide` has one entry per
        // pair of outputs (`dx` is even), each 16 i16 = 32 bytes.
        let (v, wv) = unsafe {
            let a = base.add(*xoff.get_unchecked(dx)).cast::<__m128i>();
            let b = base.add(*xoff.get_unchecked(dx + 1)).cast::<__m128i>();
            let w = wide.get_unchecked(dx / 2).as_ptr().cast::<__m256i>();
            (_mm256_loadu2_m128i(b, a), _mm256_loadu_si256(w))
        };
        let s = _mm256_madd_epi16(_mm256_shuffle_epi8(v, inter), wv);
        _mm256_srai_epi32::<{ (W_BITS + T_BITS) as i32 }>(_mm256_add_epi32(s, round))
    };
    // Stores write 32 bytes (4 past the 24 of three channels): stop while inside `out`.
    let n = xoff
        .len()
        .min(wide.len() * 2)
        .min(out.len().saturating_sub(32) / c + 1)
        / 8
        * 8;
    super::shuffles::pack_store(out, n, c, order, squeeze, pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact bilinear value at OpenCV's positions, in f64.
    fn reference(src: &[u8], sw: usize, sh: usize, c: usize, dw: usize, dh: usize) -> Vec<f64> {
        let (xs, xw) = axis(sw, dw, false);
        let (ys, yw) = axis(sh, dh, false);
        let mut out = Vec::new();
        for dy in 0..dh {
            let (y0, y1, fy) = (
                ys[dy],
                (ys[dy] + 1).min(sh - 1),
                f64::from(yw[dy]) / 16384.0,
            );
            for dx in 0..dw {
                let (x0, x1, fx) = (
                    xs[dx],
                    (xs[dx] + 1).min(sw - 1),
                    f64::from(xw[dx]) / 16384.0,
                );
                for k in 0..c {
                    let p = |x: usize, y: usize| f64::from(src[(y * sw + x) * c + k]);
                    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                    let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                    out.push(top * (1.0 - fy) + bot * fy);
                }
            }
        }
        out
    }

    #[test]
    fn close_to_exact_bilinear() {
        for c in 1..=4 {
            for (sw, sh, dw, dh) in [
                (640, 48, 256, 25),
                (13, 7, 40, 30),
                (1, 5, 9, 2),
                (33, 1, 8, 1),
            ] {
                let src: Vec<u8> = (0..sw * sh * c).map(|i| (i * 7919 % 256) as u8).collect();
                let mut out = vec![0u8; dw * dh * c];
                resize(
                    ImageView::contiguous(&src, sw, sh, c).unwrap(),
                    ImageViewMut::new(&mut out, dw, dh, c).unwrap(),
                );
                for (o, r) in out.iter().zip(reference(&src, sw, sh, c, dw, dh)) {
                    assert!(
                        (f64::from(*o) - r).abs() < 0.52,
                        "{c} {sw}x{sh}: {o} vs {r}"
                    );
                }
            }
        }
    }
}
