//! OpenCV's `cv::resize` for uint8 where fir has no matching mode (see the parent module):
//! INTER_CUBIC, INTER_LANCZOS4 and INTER_AREA. Own code, following imgproc/src/resize.cpp:
//! sample positions and coefficient tables computed in single precision exactly as OpenCV
//! does, 11-bit fixed-point weights, border pixels replicated for taps outside the image (the
//! passes themselves are in [`super::fixedtap`]). INTER_AREA when shrinking both axes is the fractional-coverage average (`resizeArea_`,
//! float accumulation in OpenCV's order) or, for integer factors, the plain block mean
//! (`resizeAreaFast_`); when an axis is enlarged OpenCV runs its bilinear code with other
//! weights, and so do we ([`super::linear::resize_area_enlarge`]).

use crate::image::{ImageView, ImageViewMut};

const COEF_BITS: u32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// The separable kernels of OpenCV's generic resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// INTER_CUBIC: 4 taps, a = -0.75.
    Cubic,
    /// INTER_LANCZOS4: 8 taps.
    Lanczos4,
}

impl Kernel {
    pub(super) fn taps(self) -> usize {
        match self {
            Kernel::Cubic => 4,
            Kernel::Lanczos4 => 8,
        }
    }
}

/// `interpolateCubic` (single precision, same operation order).
fn cubic_coeffs(x: f32, c: &mut [f32]) {
    const A: f32 = -0.75;
    c[0] = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
    c[1] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    c[2] = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    c[3] = 1.0 - c[0] - c[1] - c[2];
}

/// `interpolateLanczos4`: the 8 sinc-windowed taps from one sine and cosine, normalized in
/// single precision.
fn lanczos4_coeffs(x: f32, c: &mut [f32]) {
    const S45: f64 = std::f64::consts::FRAC_1_SQRT_2;
    const CS: [[f64; 2]; 8] = [
        [1.0, 0.0],
        [-S45, -S45],
        [0.0, 1.0],
        [S45, -S45],
        [-1.0, 0.0],
        [S45, S45],
        [0.0, -1.0],
        [-S45, S45],
    ];
    if x < f32::EPSILON {
        c[..8].fill(0.0);
        c[3] = 1.0;
        return;
    }
    let pi = std::f64::consts::PI;
    // `-(x+3)*CV_PI*0.25`: the sum and the negation in float, the rest in double.
    let y0 = f64::from(-(x + 3.0)) * pi * 0.25;
    let (s0, c0) = (y0.sin(), y0.cos());
    let mut sum = 0f32;
    for (i, cs) in CS.iter().enumerate() {
        let y = f64::from(-(x + 3.0 - i as f32)) * pi * 0.25;
        if y == 0.0 {
            // x == 1.0 (a position that rounds onto the next pixel): OpenCV's formula divides
            // by zero here; its result (as cv2.resize returns it) is that pixel alone.
            c[..8].fill(0.0);
            c[i] = 1.0;
            return;
        }
        c[i] = ((cs[0] * s0 + cs[1] * c0) / (y * y)) as f32;
        sum += c[i];
    }
    let inv = 1.0 / sum;
    for ci in c[..8].iter_mut() {
        *ci *= inv;
    }
}

/// `saturate_cast<short>(v * INTER_RESIZE_COEF_SCALE)` (round half to even, like cvRound).
fn fixed(v: f32) -> i32 {
    (v * COEF_SCALE)
        .round_ties_even()
        .clamp(i16::MIN as f32, i16::MAX as f32) as i32
}

/// One axis: for each output index the first source index of its taps (before clamping) and
/// the fixed-point weights.
pub(super) struct Axis {
    pub(super) start: Vec<isize>,
    pub(super) weights: Vec<i32>,
}

pub(super) fn axis(src_len: usize, dst_len: usize, kernel: Kernel) -> Axis {
    let taps = kernel.taps();
    let half = (taps / 2) as isize;
    let scale = 1.0 / (dst_len as f64 / src_len as f64);
    let mut start = Vec::with_capacity(dst_len);
    let mut weights = Vec::with_capacity(dst_len * taps);
    let mut c = [0f32; 8];
    for d in 0..dst_len {
        let mut f = ((d as f64 + 0.5) * scale - 0.5) as f32;
        let s = f.floor() as isize;
        f -= s as f32;
        match kernel {
            Kernel::Cubic => cubic_coeffs(f, &mut c),
            Kernel::Lanczos4 => lanczos4_coeffs(f, &mut c),
        }
        start.push(s - half + 1);
        weights.extend(c[..taps].iter().map(|&v| fixed(v)));
    }
    Axis { start, weights }
}

/// INTER_CUBIC or INTER_LANCZOS4 (see [`super::fixedtap`]).
pub fn resize_generic(src: ImageView<'_>, dst: ImageViewMut<'_>, kernel: Kernel) {
    super::fixedtap::resize(src, dst, kernel);
}

/// `cv2.resize(..., INTER_AREA)`.
pub fn resize_area(src: ImageView<'_>, dst: ImageViewMut<'_>) {
    let inv_x = dst.width as f64 / src.width as f64;
    let inv_y = dst.height as f64 / src.height as f64;
    let (scale_x, scale_y) = (1.0 / inv_x, 1.0 / inv_y);
    if scale_x < 1.0 || scale_y < 1.0 {
        return super::linear::resize_area_enlarge(src, dst);
    }
    let (ix, iy) = (scale_x.round_ties_even(), scale_y.round_ties_even());
    if (scale_x - ix).abs() < f64::EPSILON && (scale_y - iy).abs() < f64::EPSILON {
        return area_fast(src, dst, ix as usize, iy as usize);
    }
    area_fractional(src, dst, scale_x, scale_y);
}

/// Integer factors: the mean of each `fx x fy` block (`resizeAreaFast_`; its SIMD 2x2 path
/// rounds half up, the scalar path multiplies by the float reciprocal and rounds to even).
fn area_fast(src: ImageView<'_>, dst: ImageViewMut<'_>, fx: usize, fy: usize) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::avx2() {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { area_fast_avx2(src, dst, fx, fy) };
    }
    area_fast_dispatch(src, dst, fx, fy);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn area_fast_avx2(src: ImageView<'_>, dst: ImageViewMut<'_>, fx: usize, fy: usize) {
    // The same code, compiled with AVX2 so that the column sums become vector code.
    area_fast_dispatch(src, dst, fx, fy);
}

#[inline(always)]
fn area_fast_dispatch(src: ImageView<'_>, dst: ImageViewMut<'_>, fx: usize, fy: usize) {
    match src.channels {
        1 => area_fast_body::<1>(src, dst, fx, fy),
        2 => area_fast_body::<2>(src, dst, fx, fy),
        3 => area_fast_body::<3>(src, dst, fx, fy),
        _ => area_fast_body::<4>(src, dst, fx, fy),
    }
}

#[inline(always)]
fn area_fast_body<const C: usize>(src: ImageView<'_>, dst: ImageViewMut<'_>, fx: usize, fy: usize) {
    if fx == 2 && fy == 2 {
        // The common halving (also cv2's INTER_LINEAR at exactly 1/2): straight 2x2 sums, in
        // a form the compiler vectorizes.
        let row_len = dst.width * C;
        for (dy, out) in dst.data.chunks_exact_mut(row_len).enumerate() {
            let (r0, r1) = (src.row(2 * dy), src.row(2 * dy + 1));
            let pairs = r0.chunks_exact(2 * C).zip(r1.chunks_exact(2 * C));
            for (o, (a, b)) in out.chunks_exact_mut(C).zip(pairs) {
                for ch in 0..C {
                    let sum = u16::from(a[ch])
                        + u16::from(a[C + ch])
                        + u16::from(b[ch])
                        + u16::from(b[C + ch]);
                    o[ch] = ((sum + 2) >> 2) as u8;
                }
            }
        }
        return;
    }
    let c = C;
    let area = fx * fy;
    let inv = 1.0f32 / area as f32;
    let row_len = dst.width * c;
    // Column sums of the `fy` source rows of an output row, then sums of `fx` pixels.
    let used = dst.width * fx * c;
    let mut cols = vec![0u32; used];
    for (dy, out) in dst.data.chunks_exact_mut(row_len).enumerate() {
        cols.fill(0);
        for k in 0..fy {
            for (a, &p) in cols.iter_mut().zip(&src.row(dy * fy + k)[..used]) {
                *a += u32::from(p);
            }
        }
        for (o, block) in out.chunks_exact_mut(C).zip(cols.chunks_exact(fx * C)) {
            let mut sums = [0u32; C];
            for px in block.chunks_exact(C) {
                for ch in 0..C {
                    sums[ch] += px[ch];
                }
            }
            for (ov, &sum) in o.iter_mut().zip(&sums) {
                *ov = if area == 4 {
                    ((sum + 2) >> 2) as u8
                } else {
                    (sum as f32 * inv).round_ties_even().min(255.0) as u8
                };
            }
        }
    }
}

/// One entry of `computeResizeAreaTab`: source index, output index, weight.
struct Decimate {
    si: usize,
    di: usize,
    alpha: f32,
}

fn area_tab(src_len: usize, dst_len: usize, scale: f64) -> Vec<Decimate> {
    let mut tab = Vec::with_capacity(src_len * 2);
    for d in 0..dst_len {
        let fs1 = d as f64 * scale;
        let fs2 = fs1 + scale;
        let cell = scale.min(src_len as f64 - fs1);
        let mut s1 = fs1.ceil() as isize;
        let s2 = (fs2.floor() as isize).min(src_len as isize - 1);
        s1 = s1.min(s2);
        if s1 as f64 - fs1 > 1e-3 {
            tab.push(Decimate {
                si: (s1 - 1) as usize,
                di: d,
                alpha: ((s1 as f64 - fs1) / cell) as f32,
            });
        }
        for s in s1..s2 {
            tab.push(Decimate {
                si: s as usize,
                di: d,
                alpha: (1.0 / cell) as f32,
            });
        }
        if fs2 - s2 as f64 > 1e-3 {
            tab.push(Decimate {
                si: s2 as usize,
                di: d,
                alpha: ((fs2 - s2 as f64).min(1.0).min(cell) / cell) as f32,
            });
        }
    }
    tab
}

/// Fractional-coverage average (`resizeArea_<uchar, float>`), accumulated in single
/// precision in OpenCV's order.
fn area_fractional(src: ImageView<'_>, dst: ImageViewMut<'_>, scale_x: f64, scale_y: f64) {
    match src.channels {
        1 => area_fractional_n::<1>(src, dst, scale_x, scale_y),
        2 => area_fractional_n::<2>(src, dst, scale_x, scale_y),
        3 => area_fractional_n::<3>(src, dst, scale_x, scale_y),
        _ => area_fractional_n::<4>(src, dst, scale_x, scale_y),
    }
}

fn area_fractional_n<const C: usize>(
    src: ImageView<'_>,
    dst: ImageViewMut<'_>,
    scale_x: f64,
    scale_y: f64,
) {
    let xtab = area_tab(src.width, dst.width, scale_x);
    let ytab = area_tab(src.height, dst.height, scale_y);
    let row_len = dst.width * C;
    let mut buf = vec![0f32; row_len];
    let mut sum = vec![0f32; row_len];
    let mut prev_dy = ytab.first().map_or(0, |t| t.di);
    let store = |out: &mut [u8], sum: &[f32]| {
        for (o, &s) in out.iter_mut().zip(sum) {
            *o = s.round_ties_even().clamp(0.0, 255.0) as u8;
        }
    };
    for t in &ytab {
        let row = &src.row(t.si)[..src.width * C];
        buf.fill(0.0);
        for x in &xtab {
            let p: &[u8; C] = row[x.si * C..x.si * C + C].try_into().expect("C bytes");
            let b: &mut [f32; C] = (&mut buf[x.di * C..x.di * C + C])
                .try_into()
                .expect("C floats");
            for k in 0..C {
                b[k] += f32::from(p[k]) * x.alpha;
            }
        }
        if t.di != prev_dy {
            store(&mut dst.data[prev_dy * row_len..][..row_len], &sum);
            for (s, &b) in sum.iter_mut().zip(&buf) {
                *s = t.alpha * b;
            }
            prev_dy = t.di;
        } else {
            for (s, &b) in sum.iter_mut().zip(&buf) {
                *s += t.alpha * b;
            }
        }
    }
    store(&mut dst.data[prev_dy * row_len..][..row_len], &sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_sum_to_one() {
        let mut c = [0f32; 8];
        for i in 0..100 {
            let x = i as f32 / 100.0;
            cubic_coeffs(x, &mut c);
            assert!((c[..4].iter().sum::<f32>() - 1.0).abs() < 1e-6);
            lanczos4_coeffs(x, &mut c);
            assert!((c.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{x} {c:?}");
        }
        cubic_coeffs(0.0, &mut c);
        assert_eq!(&c[..4], &[0.0, 1.0, 0.0, 0.0]);
        cubic_coeffs(1.0, &mut c);
        assert_eq!(&c[..4], &[0.0, 0.0, 1.0, 0.0]);
        lanczos4_coeffs(1.0, &mut c);
        assert_eq!(c, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn area_tab_covers_each_output_once() {
        let tab = area_tab(10, 3, 10.0 / 3.0);
        for d in 0..3 {
            let w: f32 = tab.iter().filter(|t| t.di == d).map(|t| t.alpha).sum();
            assert!((w - 1.0).abs() < 1e-5, "{d} {w}");
        }
    }

    #[test]
    fn area_means() {
        // 4x2 -> 2x1: the 2x2 block means.
        let src = [0u8, 10, 20, 30, 2, 12, 22, 32];
        let mut out = [0u8; 2];
        resize_area(
            ImageView::contiguous(&src, 4, 2, 1).unwrap(),
            ImageViewMut::new(&mut out, 2, 1, 1).unwrap(),
        );
        assert_eq!(out, [6, 26]);
        // 3 -> 2 columns: weights 2/3, 1/3 | 1/3, 2/3 of the 1.5-pixel cells.
        let src = [0u8, 90, 180];
        let mut out = [0u8; 2];
        resize_area(
            ImageView::contiguous(&src, 3, 1, 1).unwrap(),
            ImageViewMut::new(&mut out, 2, 1, 1).unwrap(),
        );
        assert_eq!(out, [30, 150]);
    }
}
