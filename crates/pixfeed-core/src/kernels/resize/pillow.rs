//! Pillow's separable convolution resize (libImaging/Resample.c of Pillow 13), reproduced bit
//! for bit: the same tap windows, normalized weights, 22-bit fixed-point coefficients, uint8
//! rounding and clipping between the passes, and the same pass order.
//!
//! Own code rather than fast_image_resize's convolution, which computes the same filters but
//! differs in three ways that the max-difference-1 contract cannot absorb:
//! - fir quantizes weights to 16 bits (14 fractional bits when enlarging) and rounds the
//!   intermediate image to uint8 too; its intermediate then differs from Pillow's by one level
//!   on a few percent of pixels, and where neighbouring taps of the second pass differ the
//!   same way the result moves by 2 (seen with bilinear, bicubic and lanczos);
//! - fir always runs the vertical pass first on u8 images; Pillow 13 does so only when the
//!   height shrinks by more than twice as many pixels as the width. With negative lobes the
//!   place of the intermediate clipping changes results by tens of levels;
//! - BOX weights jump from 1 to 0 at the window edge, and fir places pixel centres with a
//!   different floating-point expression, so on exact ties (frequent with rational scales) it
//!   takes or drops a whole pixel.
//!
//! Everything after the coefficients is exact integer arithmetic, so the work can be split
//! into bands of output rows (see [`resize_rows`]) without changing any result.

use crate::image::{ImageView, ImageViewMut};

const PRECISION_BITS: u32 = 32 - 8 - 2;
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Pillow's resampling filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PilFilter {
    Box,
    Bilinear,
    Bicubic,
    Lanczos,
}

fn box_filter(x: f64) -> f64 {
    if x > -0.5 && x <= 0.5 {
        1.0
    } else {
        0.0
    }
}

fn bilinear_filter(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

fn bicubic_filter(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

fn sinc_filter(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos_filter(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc_filter(x) * sinc_filter(x / 3.0)
    } else {
        0.0
    }
}

impl PilFilter {
    fn function(self) -> (fn(f64) -> f64, f64) {
        match self {
            PilFilter::Box => (box_filter, 0.5),
            PilFilter::Bilinear => (bilinear_filter, 1.0),
            PilFilter::Bicubic => (bicubic_filter, 2.0),
            PilFilter::Lanczos => (lanczos_filter, 3.0),
        }
    }
}

/// Pillow 13 resizes vertically first when the height shrinks by more than twice as many
/// pixels as the width (Pillow 12 and older always go horizontally first).
pub fn vertical_first(sw: usize, sh: usize, dw: usize, dh: usize) -> bool {
    let (dy, dx) = (sh as i64 - dh as i64, sw as i64 - dw as i64);
    dy > 0 && dy > dx * 2
}

/// Fixed-point weights of one axis: for each output index the first source index and the
/// number of taps, and `ksize` weights.
#[derive(Debug)]
struct Coeffs {
    ksize: usize,
    bounds: Vec<(usize, usize)>,
    kk: Vec<i32>,
    /// For the SIMD horizontal pass, `ksize.div_ceil(4)` groups of four taps per output, each
    /// as two vectors of 16 i16: the high and low parts of the weights (`k = hi * 2**11 + lo`,
    /// `0 <= lo < 2**11`), laid out `[k0, k1] x 4 channels ++ [k2, k3] x 4 channels`.
    quads: Vec<[[i16; 16]; 2]>,
}

impl Coeffs {
    /// `precompute_coeffs` + `normalize_coeffs_8bpc` over the whole source range.
    fn new(in_size: usize, out_size: usize, filter: PilFilter) -> Coeffs {
        Coeffs::window(in_size, out_size, filter, 0..out_size)
    }

    /// The coefficients of outputs `range` only (output `range.start` becomes index 0), each
    /// exactly as in the full `in_size -> out_size` resize.
    fn window(
        in_size: usize,
        out_size: usize,
        filter: PilFilter,
        range: std::ops::Range<usize>,
    ) -> Coeffs {
        let (func, support) = filter.function();
        // Pillow passes the box as floats; `in1 - in0` is exact below 2**24.
        let scale = f64::from(in_size as f32) / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = support * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let (first, n_out) = (range.start, range.len());
        let mut bounds = Vec::with_capacity(n_out);
        let mut kk = vec![0i32; n_out * ksize];
        let mut k = vec![0f64; ksize];
        for xx in range {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // C's `(int)` truncates toward zero; then clamp to the image.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) - xmin;
            let n = (xmax.max(0) as usize).min(ksize);
            let mut ww = 0.0;
            for (x, kx) in k.iter_mut().enumerate().take(n) {
                let w = func(((x as i64 + xmin) as f64 - center + 0.5) * ss);
                *kx = w;
                ww += w;
            }
            for (x, &kx) in k.iter().enumerate().take(n) {
                let v = if ww != 0.0 { kx / ww } else { kx };
                let scaled = v * f64::from(1u32 << PRECISION_BITS);
                kk[(xx - first) * ksize + x] = if v < 0.0 {
                    (-0.5 + scaled) as i32
                } else {
                    (0.5 + scaled) as i32
                };
            }
            bounds.push((xmin as usize, n));
        }
        let per = ksize.div_ceil(4);
        let mut quads = vec![[[0i16; 16]; 2]; n_out * per];
        for xx in 0..n_out {
            for (t, &w) in kk[xx * ksize..(xx + 1) * ksize].iter().enumerate() {
                let (hi, lo) = ((w >> 11) as i16, (w & 0x7FF) as i16);
                let q = &mut quads[xx * per + t / 4];
                // Tap t's weight in the lanes that hold its pixel: the first or second of
                // each (even, odd) lane pair, in the first or second half.
                let half = (t % 4) / 2 * 8;
                for c in 0..4 {
                    q[0][half + 2 * c + t % 2] = hi;
                    q[1][half + 2 * c + t % 2] = lo;
                }
            }
        }
        Coeffs {
            ksize,
            bounds,
            kk,
            quads,
        }
    }

    #[inline]
    fn taps(&self, i: usize) -> (usize, &[i32]) {
        let (start, n) = self.bounds[i];
        (start, &self.kk[i * self.ksize..i * self.ksize + n])
    }

    /// Make the taps relative to a source that starts at index `origin` (<= every tap).
    fn shift(&mut self, origin: usize) {
        for b in &mut self.bounds {
            b.0 -= origin;
        }
    }

    /// Source rows `first..last` read by outputs `range`.
    fn span(&self, range: std::ops::Range<usize>) -> (usize, usize) {
        let b = &self.bounds[range];
        let first = b.iter().map(|&(s, _)| s).min().unwrap_or(0);
        let last = b.iter().map(|&(s, n)| s + n).max().unwrap_or(first);
        (first, last.max(first))
    }
}

/// A planned resize: coefficients of both axes and the pass order.
#[derive(Debug)]
pub struct Plan {
    h: Option<Coeffs>,
    v: Option<Coeffs>,
    vertical_first: bool,
    dst_width: usize,
}

impl Plan {
    pub fn new(sw: usize, sh: usize, dw: usize, dh: usize, filter: PilFilter) -> Plan {
        Plan {
            h: (sw != dw).then(|| Coeffs::new(sw, dw, filter)),
            v: (sh != dh).then(|| Coeffs::new(sh, dh, filter)),
            vertical_first: vertical_first(sw, sh, dw, dh),
            dst_width: dw,
        }
    }
}

/// A rectangle `(x, y, width, height)` in pixels.
pub type Area = (usize, usize, usize, usize);

impl Plan {
    /// The output window `win` of `Image.resize((dw, dh))` on a `sw x sh` image, without the
    /// rest of the output: every window pixel equals the full resize's (the same taps, weights
    /// and pass order; Pillow's passes treat each row and column independently). Returns the
    /// plan and the source rectangle it reads; [`resize_rows`] then takes that rectangle as
    /// its source and output rows `0..win.3`.
    pub fn window(
        (sw, sh): (usize, usize),
        (dw, dh): (usize, usize),
        win: Area,
        filter: PilFilter,
    ) -> (Plan, Area) {
        let (wx, wy, ww, wh) = win;
        let axis = |s: usize, d: usize, w0: usize, n: usize| {
            if s == d {
                // No pass on this axis: the window's own pixels.
                return (None, w0, n);
            }
            let mut c = Coeffs::window(s, d, filter, w0..w0 + n);
            let (first, last) = c.span(0..n);
            c.shift(first);
            (Some(c), first, last - first)
        };
        let (h, x0, xn) = axis(sw, dw, wx, ww);
        let (v, y0, yn) = axis(sh, dh, wy, wh);
        let plan = Plan {
            h,
            v,
            vertical_first: vertical_first(sw, sh, dw, dh),
            dst_width: ww,
        };
        (plan, (x0, y0, xn, yn))
    }
}

#[inline]
fn clip8(ss: i32) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Output rows `rows` of the resize of `src` planned by `plan`, into `out` (exactly those
/// rows, contiguous).
pub fn resize_rows(src: ImageView<'_>, plan: &Plan, rows: std::ops::Range<usize>, out: &mut [u8]) {
    match src.channels {
        1 => rows_n::<1>(src, plan, rows, out),
        2 => rows_n::<2>(src, plan, rows, out),
        3 => rows_n::<3>(src, plan, rows, out),
        _ => rows_n::<4>(src, plan, rows, out),
    }
}

fn rows_n<const C: usize>(
    src: ImageView<'_>,
    plan: &Plan,
    rows: std::ops::Range<usize>,
    out: &mut [u8],
) {
    let (sw, dw) = (src.width, plan.dst_width);
    match (&plan.h, &plan.v) {
        (Some(h), None) => {
            for (y, o) in rows.zip(out.chunks_exact_mut(dw * C)) {
                horizontal_row::<C>(src.row(y), h, o);
            }
        }
        (None, Some(v)) => {
            for (y, o) in rows.zip(out.chunks_exact_mut(dw * C)) {
                let (start, k) = v.taps(y);
                vertical_row(|t| src.row(start + t), k, o);
            }
        }
        (Some(h), Some(v)) if plan.vertical_first => {
            let mut tmp = vec![0u8; sw * C];
            for (y, o) in rows.zip(out.chunks_exact_mut(dw * C)) {
                let (start, k) = v.taps(y);
                vertical_row(|t| src.row(start + t), k, &mut tmp);
                horizontal_row::<C>(&tmp, h, o);
            }
        }
        (Some(h), Some(v)) => {
            // Horizontally resized copies of the source rows these output rows read.
            let (first, last) = v.span(rows.clone());
            let row_len = dw * C;
            let mut tmp = vec![0u8; (last - first) * row_len];
            let mut pairs = tmp.chunks_exact_mut(2 * row_len);
            let mut y = first;
            for pair in &mut pairs {
                let (ta, tb) = pair.split_at_mut(row_len);
                // The next pair's rows load while this pair is computed.
                for ahead in (y + 2..y + 4).filter(|&r| r < last) {
                    super::linear::prefetch(src.row(ahead));
                }
                horizontal_rows2::<C>(src.row(y), src.row(y + 1), h, ta, tb);
                y += 2;
            }
            if let Some(t) = pairs.into_remainder().get_mut(..row_len) {
                horizontal_row::<C>(src.row(y), h, t);
            }
            for (y, o) in rows.zip(out.chunks_exact_mut(row_len)) {
                let (start, k) = v.taps(y);
                let base = start - first;
                vertical_row(
                    |t| &tmp[(base + t) * row_len..(base + t + 1) * row_len],
                    k,
                    o,
                );
            }
        }
        (None, None) => {
            for (y, o) in rows.zip(out.chunks_exact_mut(sw * C)) {
                o.copy_from_slice(src.row(y));
            }
        }
    }
}

/// One output row of the vertical pass: `out[x] = clip8(HALF + sum_t row(t)[x] * k[t])`.
fn vertical_row<'a>(row: impl Fn(usize) -> &'a [u8], k: &[i32], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { vertical_row_avx2(row, k, out) };
    }
    vertical_row_body(row, k, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn vertical_row_avx2<'a>(row: impl Fn(usize) -> &'a [u8], k: &[i32], out: &mut [u8]) {
    // The same code, compiled with AVX2 so the loops below become 8-lane vector code.
    vertical_row_body(row, k, out);
}

#[inline(always)]
fn vertical_row_body<'a>(row: impl Fn(usize) -> &'a [u8], k: &[i32], out: &mut [u8]) {
    const CHUNK: usize = 64;
    let width = out.len();
    let rows: Vec<&[u8]> = (0..k.len()).map(|t| &row(t)[..width]).collect();
    let mut x0 = 0;
    while x0 < width {
        let n = CHUNK.min(width - x0);
        let mut acc = [HALF; CHUNK];
        for (r, &w) in rows.iter().zip(k) {
            for (a, &p) in acc[..n].iter_mut().zip(&r[x0..x0 + n]) {
                *a += i32::from(p) * w;
            }
        }
        for (o, &a) in out[x0..x0 + n].iter_mut().zip(&acc[..n]) {
            *o = clip8(a);
        }
        x0 += n;
    }
}

/// One output row of the horizontal pass.
fn horizontal_row<const C: usize>(row: &[u8], co: &Coeffs, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if C >= 3 && crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { horizontal_rows_avx2::<C, 1>([row], co, [out]) };
    }
    for (xx, o) in out.chunks_exact_mut(C).enumerate() {
        let (start, k) = co.taps(xx);
        let mut ss = [HALF; C];
        for (t, &w) in k.iter().enumerate() {
            let p = &row[(start + t) * C..(start + t + 1) * C];
            for c in 0..C {
                ss[c] += i32::from(p[c]) * w;
            }
        }
        for c in 0..C {
            o[c] = clip8(ss[c]);
        }
    }
}

/// Three or four channels, four taps per step, `R` rows at a time (sharing the weights). The
/// 16 bytes from tap t's pixel on are broadcast to both halves of a register and one shuffle
/// widens them to 16-bit lanes holding `(p[t], p[t+1])` per channel in the low half and
/// `(p[t+2], p[t+3])` in the high half; two `pmaddwd` with the high and low parts of the
/// weights give exact 32-bit sums (the weights have 22 fractional bits, too many for one
/// 16-bit multiply).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_rows_avx2<const C: usize, const R: usize>(
    rows: [&[u8]; R],
    co: &Coeffs,
    outs: [&mut [u8]; R],
) {
    use std::arch::x86_64::*;
    const Z: i8 = -128; // a shuffle index with the top bit set yields 0
    let spread = if C == 3 {
        _mm256_setr_epi8(
            0, Z, 3, Z, 1, Z, 4, Z, 2, Z, 5, Z, Z, Z, Z, Z, 6, Z, 9, Z, 7, Z, 10, Z, 8, Z, 11, Z,
            Z, Z, Z, Z,
        )
    } else {
        _mm256_setr_epi8(
            0, Z, 4, Z, 1, Z, 5, Z, 2, Z, 6, Z, 3, Z, 7, Z, 8, Z, 12, Z, 9, Z, 13, Z, 10, Z, 14, Z,
            11, Z, 15, Z,
        )
    };
    let row_len = rows[0].len();
    debug_assert!(rows.iter().all(|r| r.len() == row_len));
    let per = co.ksize.div_ceil(4);
    let mut buf = [0u8; 16];
    for xx in 0..co.bounds.len() {
        let (start, n) = co.bounds[xx];
        let quads = &co.quads[xx * per..xx * per + n.div_ceil(4)];
        let mut hi = [_mm256_setzero_si256(); R];
        let mut lo = [_mm256_setzero_si256(); R];
        // Whether every 16-byte load of this output stays inside the rows.
        let inside = (start + 4 * quads.len().saturating_sub(1)) * C + 16 <= row_len;
        for (q, w) in quads.iter().enumerate() {
            let at = (start + 4 * q) * C;
            // SAFETY: each weight vector is 16 i16 = 32 bytes.
            let (wh, wl) = unsafe {
                (
                    _mm256_loadu_si256(w[0].as_ptr().cast::<__m256i>()),
                    _mm256_loadu_si256(w[1].as_ptr().cast::<__m256i>()),
                )
            };
            for r in 0..R {
                let v = if inside {
                    // SAFETY: `at + 16 <= row_len` for every group of this output (checked
                    // above for the last, the largest); all rows are `row_len` long.
                    unsafe { _mm_loadu_si128(rows[r].as_ptr().add(at).cast()) }
                } else {
                    // Bytes past the row end (taps beyond the window, weighted 0) read as 0.
                    let tail = &rows[r][at.min(row_len)..];
                    let k = tail.len().min(16);
                    buf.fill(0);
                    buf[..k].copy_from_slice(&tail[..k]);
                    // SAFETY: `buf` is 16 bytes.
                    unsafe { _mm_loadu_si128(buf.as_ptr().cast()) }
                };
                let v = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(v), spread);
                hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(v, wh));
                lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(v, wl));
            }
        }
        for r in 0..R {
            let acc = _mm256_add_epi32(_mm256_slli_epi32::<11>(hi[r]), lo[r]);
            let sum = _mm_add_epi32(
                _mm256_castsi256_si128(acc),
                _mm256_extracti128_si256::<1>(acc),
            );
            let sum = _mm_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm_add_epi32(
                sum,
                _mm_set1_epi32(HALF),
            ));
            let bytes = _mm_packus_epi16(_mm_packs_epi32(sum, sum), _mm_setzero_si128());
            let v = (_mm_cvtsi128_si32(bytes) as u32).to_le_bytes();
            outs[r][xx * C..xx * C + C].copy_from_slice(&v[..C]);
        }
    }
}

/// Two rows of the horizontal pass (the SIMD kernel shares each weight load between them).
fn horizontal_rows2<const C: usize>(a: &[u8], b: &[u8], co: &Coeffs, oa: &mut [u8], ob: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if C >= 3 && crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { horizontal_rows_avx2::<C, 2>([a, b], co, [oa, ob]) };
    }
    horizontal_row::<C>(a, co, oa);
    horizontal_row::<C>(b, co, ob);
}

/// `Image.resize(size, filter)` of a uint8 image with 1-4 independent channels, on the
/// calling thread.
pub fn resize(src: ImageView<'_>, dst: ImageViewMut<'_>, filter: PilFilter) {
    let plan = Plan::new(src.width, src.height, dst.width, dst.height, filter);
    resize_rows(src, &plan, 0..dst.height, dst.data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for f in [
            PilFilter::Box,
            PilFilter::Bilinear,
            PilFilter::Bicubic,
            PilFilter::Lanczos,
        ] {
            for (i, o) in [(197, 182), (10, 37), (400, 7), (5, 5)] {
                let c = Coeffs::new(i, o, f);
                for x in 0..o {
                    let (_, k) = c.taps(x);
                    let total: i64 = k.iter().map(|&w| i64::from(w)).sum();
                    assert!((total - (1 << PRECISION_BITS)).abs() <= k.len() as i64);
                }
            }
        }
    }

    #[test]
    fn windows_equal_whole() {
        let (sw, sh) = (53, 47);
        for (dw, dh) in [
            (31, 29),
            (80, 70),
            (53, 20),
            (20, 47),
            (53, 47),
            (19, 40),
            (40, 11),
        ] {
            for c in [1, 3, 4] {
                let src: Vec<u8> = (0..sw * sh * c).map(|i| (i * 7919 % 256) as u8).collect();
                let v = ImageView::contiguous(&src, sw, sh, c).unwrap();
                for f in [
                    PilFilter::Box,
                    PilFilter::Bilinear,
                    PilFilter::Bicubic,
                    PilFilter::Lanczos,
                ] {
                    let plan = Plan::new(sw, sh, dw, dh, f);
                    let mut whole = vec![0u8; dw * dh * c];
                    resize_rows(v, &plan, 0..dh, &mut whole);
                    for win in [(0, 0, dw, dh), (3, 5, dw - 7, dh - 6), (dw - 4, 1, 4, 3)] {
                        let (wp, (x0, y0, xn, yn)) = Plan::window((sw, sh), (dw, dh), win, f);
                        let sub =
                            ImageView::new(&src[(y0 * sw + x0) * c..], xn, yn, c, sw * c).unwrap();
                        let mut got = vec![0u8; win.2 * win.3 * c];
                        resize_rows(sub, &wp, 0..win.3, &mut got);
                        for y in 0..win.3 {
                            let a = ((win.1 + y) * dw + win.0) * c;
                            assert_eq!(
                                &got[y * win.2 * c..(y + 1) * win.2 * c],
                                &whole[a..a + win.2 * c],
                                "{dw}x{dh} {win:?} {f:?} c={c} row {y}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn order_rule() {
        assert!(vertical_first(100, 100, 90, 50));
        assert!(!vertical_first(100, 100, 50, 90));
        assert!(!vertical_first(100, 100, 120, 100));
        assert!(vertical_first(10, 100, 40, 30));
    }

    #[test]
    fn bands_equal_whole() {
        for (sw, sh, dw, dh) in [(37, 41, 23, 53), (37, 41, 30, 13)] {
            bands_equal_whole_at(sw, sh, dw, dh);
        }
    }

    fn bands_equal_whole_at(sw: usize, sh: usize, dw: usize, dh: usize) {
        for c in 1..=4 {
            let src: Vec<u8> = (0..sw * sh * c).map(|i| (i * 7919 % 256) as u8).collect();
            let v = ImageView::contiguous(&src, sw, sh, c).unwrap();
            for f in [PilFilter::Bilinear, PilFilter::Lanczos] {
                let plan = Plan::new(sw, sh, dw, dh, f);
                let mut whole = vec![0u8; dw * dh * c];
                resize_rows(v, &plan, 0..dh, &mut whole);
                let mut banded = vec![0u8; dw * dh * c];
                let (a, b) = banded.split_at_mut(dh / 2 * dw * c);
                resize_rows(v, &plan, 0..dh / 2, a);
                resize_rows(v, &plan, dh / 2..dh, b);
                assert_eq!(whole, banded);
            }
        }
    }
}
