//! `(x / 255 - mean[c]) / std[c]` into float32, float16 or bfloat16, planar (CHW) or
//! interleaved (HWC).
//!
//! A u8 channel has 256 possible values, so each channel's 256 results are computed once per
//! call in f64 and rounded (to nearest, ties to even) to float32: every float32 element is the
//! correctly rounded value of the f64 formula, and the per-pixel work is a table load and a
//! store. float16 and bfloat16 are that float32 value rounded again (to nearest even), i.e.
//! exactly what numpy / ml_dtypes / torch give when converting the float32 result (ml_dtypes
//! and torch also go through float32 from float64), produced as their bit patterns (u16).

use crate::image::ImageView;
use crate::{Error, Result};

/// Where the channel axis goes in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorLayout {
    /// Planar: all of channel 0, then channel 1, ... (`NCHW` for a batch).
    Chw,
    /// Interleaved like the input (`NHWC` for a batch).
    Hwc,
}

crate::names::named!(
    TensorLayout,
    "layout",
    Or,
    [("CHW", TensorLayout::Chw), ("HWC", TensorLayout::Hwc)]
);

/// One 256-entry table per channel.
pub type Tables<T> = Vec<[T; 256]>;

/// `(x / 255 - mean[c]) / std[c]` for every `x` in 0..=255, in f64.
fn exact_tables(mean: &[f64], std: &[f64]) -> Result<Vec<[f64; 256]>> {
    if mean.len() != std.len() || mean.is_empty() {
        return Err(Error::invalid(
            "mean",
            format!(
                "mean has {} values and std {}; expected one per channel",
                mean.len(),
                std.len()
            ),
        ));
    }
    if let Some(s) = std.iter().find(|s| **s == 0.0 || !s.is_finite()) {
        return Err(Error::invalid(
            "std",
            format!("must be finite and non-zero, got {s}"),
        ));
    }
    if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
        return Err(Error::invalid("mean", format!("must be finite, got {m}")));
    }
    Ok(mean
        .iter()
        .zip(std)
        .map(|(&m, &s)| std::array::from_fn(|x| (x as f64 / 255.0 - m) / s))
        .collect())
}

/// float32 tables.
pub fn f32_tables(mean: &[f64], std: &[f64]) -> Result<Tables<f32>> {
    Ok(exact_tables(mean, std)?
        .iter()
        .map(|t| t.map(|v| v as f32))
        .collect())
}

/// float16 tables (IEEE binary16 bits of the float32 values).
pub fn f16_tables(mean: &[f64], std: &[f64]) -> Result<Tables<u16>> {
    Ok(f32_tables(mean, std)?
        .iter()
        .map(|t| t.map(|v| f64_to_f16_bits(f64::from(v))))
        .collect())
}

/// bfloat16 tables (bits of the float32 values rounded to bfloat16).
pub fn bf16_tables(mean: &[f64], std: &[f64]) -> Result<Tables<u16>> {
    Ok(f32_tables(mean, std)?
        .iter()
        .map(|t| t.map(|v| f64_to_bf16_bits(f64::from(v))))
        .collect())
}

/// Round `v` to nearest-even in a binary float format with `mant` stored mantissa bits,
/// `exp_bits` exponent bits and minimum normal exponent `emin`; returns its bits. Subnormals,
/// overflow to infinity and NaN are handled as IEEE 754 says.
fn round_to_format(v: f64, mant: u32, exp_bits: u32, emin: i32) -> u16 {
    let sign = (u16::from(v.is_sign_negative())) << (mant + exp_bits);
    let inf = ((1u16 << exp_bits) - 1) << mant;
    if v.is_nan() {
        return sign | inf | (1 << (mant - 1));
    }
    let a = v.abs();
    let emax = -emin + 1;
    // Halfway between the largest finite value and 2^(emax+1) rounds to infinity (its
    // mantissa is odd).
    let overflow = (2.0 - 2f64.powi(-(mant as i32 + 1))) * 2f64.powi(emax);
    if a >= overflow {
        return sign | inf;
    }
    // Exponent of `a` (f64 subnormals are far below every format's subnormals).
    let e = (((a.to_bits() >> 52) & 0x7ff) as i32 - 1023).max(emin);
    // The spacing of representable values around `a` is 2^(e - mant): scale to integers.
    let scale = f64::from_bits(((1023 - (e - mant as i32)) as u64) << 52);
    let m = (a * scale).round_ties_even() as u32; // in [0, 2^(mant+1)]
                                                  // Normal: (e - emin + 1) << mant | (m - 2^mant) == ((e - emin) << mant) + m; subnormal
                                                  // (e == emin, m < 2^mant): m; rounding up into the next binade carries correctly.
    sign | ((((e - emin) as u32) << mant) + m) as u16
}

/// IEEE binary16 bits of `v`, correctly rounded (to nearest, ties to even).
pub fn f64_to_f16_bits(v: f64) -> u16 {
    round_to_format(v, 10, 5, -14)
}

/// bfloat16 bits of `v`, correctly rounded (to nearest, ties to even).
pub fn f64_to_bf16_bits(v: f64) -> u16 {
    round_to_format(v, 7, 8, -126)
}

/// Write `src` through `tables` (one per channel) into `dst` (`width * height * channels`
/// elements) in `layout`.
pub fn normalize_into<T: Copy>(
    src: ImageView<'_>,
    dst: &mut [T],
    tables: &[[T; 256]],
    layout: TensorLayout,
) -> Result<()> {
    let c = src.channels;
    if tables.len() != c {
        return Err(Error::invalid(
            "mean",
            format!("{} values for {c}-channel images", tables.len()),
        ));
    }
    if dst.len() != src.width * src.height * c {
        return Err(Error::invalid(
            "out",
            format!(
                "slot of {} elements does not fit {}x{}x{c}",
                dst.len(),
                src.width,
                src.height
            ),
        ));
    }
    match (layout, c) {
        (TensorLayout::Chw, 1) | (TensorLayout::Hwc, 1) => hwc::<T, 1>(src, dst, tables),
        (TensorLayout::Hwc, 2) => hwc::<T, 2>(src, dst, tables),
        (TensorLayout::Hwc, 3) => hwc::<T, 3>(src, dst, tables),
        (TensorLayout::Hwc, 4) => hwc::<T, 4>(src, dst, tables),
        (TensorLayout::Chw, 2) => chw::<T, 2>(src, dst, tables),
        (TensorLayout::Chw, 3) => chw::<T, 3>(src, dst, tables),
        (TensorLayout::Chw, 4) => chw::<T, 4>(src, dst, tables),
        _ => {
            return Err(Error::invalid(
                "images",
                format!("expected 1 to 4 channels, got {c}"),
            ))
        }
    }
    Ok(())
}

#[inline(always)]
fn hwc<T: Copy, const C: usize>(src: ImageView<'_>, dst: &mut [T], tables: &[[T; 256]]) {
    let t: &[[T; 256]; C] = tables.try_into().expect("C tables");
    let row_len = src.width * C;
    if row_len == 0 {
        return;
    }
    for (y, out) in dst.chunks_exact_mut(row_len).enumerate() {
        for (p, o) in src.row(y).chunks_exact(C).zip(out.chunks_exact_mut(C)) {
            for k in 0..C {
                o[k] = t[k][usize::from(p[k])];
            }
        }
    }
}

#[inline(always)]
fn chw<T: Copy, const C: usize>(src: ImageView<'_>, dst: &mut [T], tables: &[[T; 256]]) {
    let t: &[[T; 256]; C] = tables.try_into().expect("C tables");
    let (w, plane) = (src.width, src.width * src.height);
    if plane == 0 {
        return;
    }
    // Row by row, all planes: the source row stays in L1 while it is read C times.
    let mut planes: Vec<&mut [T]> = dst.chunks_exact_mut(plane).collect();
    for y in 0..src.height {
        let row = src.row(y);
        for (k, p) in planes.iter_mut().enumerate() {
            let out = &mut p[y * w..(y + 1) * w];
            let tk = &t[k];
            for (o, px) in out.iter_mut().zip(row.chunks_exact(C)) {
                *o = tk[usize::from(px[k])];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_known_values() {
        assert_eq!(f64_to_f16_bits(0.0), 0x0000);
        assert_eq!(f64_to_f16_bits(-0.0), 0x8000);
        assert_eq!(f64_to_f16_bits(1.0), 0x3c00);
        assert_eq!(f64_to_f16_bits(-2.0), 0xc000);
        assert_eq!(f64_to_f16_bits(65504.0), 0x7bff);
        assert_eq!(f64_to_f16_bits(65519.99), 0x7bff);
        assert_eq!(f64_to_f16_bits(65520.0), 0x7c00);
        assert_eq!(f64_to_f16_bits(f64::INFINITY), 0x7c00);
        assert_eq!(f64_to_f16_bits(f64::NAN) & 0x7e00, 0x7e00);
        assert_eq!(f64_to_f16_bits(2f64.powi(-24)), 0x0001); // smallest subnormal
        assert_eq!(f64_to_f16_bits(2f64.powi(-25)), 0x0000); // tie -> even (0)
        assert_eq!(f64_to_f16_bits(1.5 * 2f64.powi(-24)), 0x0002); // tie -> even (2)
        assert_eq!(f64_to_f16_bits(2f64.powi(-14)), 0x0400); // smallest normal
        assert_eq!(f64_to_f16_bits(1.0 + 2f64.powi(-11)), 0x3c00); // tie -> even
        assert_eq!(f64_to_f16_bits(1.0 + 3.0 * 2f64.powi(-11)), 0x3c02); // tie -> even
        assert_eq!(f64_to_f16_bits(0.1), 0x2e66);
        assert_eq!(f64_to_f16_bits(-2.1179039301310043), 0xc03c);
    }

    #[test]
    fn bf16_equals_rounding_f32_bits() {
        // For values that are exact f32s, RNE from f64 equals the usual f32-bits formula.
        let mut x: u32 = 12345;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let f = f32::from_bits(x);
            if !f.is_finite() {
                continue;
            }
            let u = f.to_bits();
            let want = ((u + 0x7fff + ((u >> 16) & 1)) >> 16) as u16;
            assert_eq!(f64_to_bf16_bits(f64::from(f)), want, "{f:e}");
        }
        assert_eq!(f64_to_bf16_bits(1.0), 0x3f80);
        assert_eq!(f64_to_bf16_bits(f64::MAX), 0x7f80);
    }

    #[test]
    fn f16_equals_f32_route_away_from_ties() {
        // A value strictly inside (not at a tie of) f16 spacing rounds the same from f64 and
        // from f32; compare against a slow reference built from the f16 neighbours.
        let decode = |b: u16| -> f64 {
            let e = i32::from((b >> 10) & 0x1f);
            let m = f64::from(b & 0x3ff);
            let s = if b & 0x8000 != 0 { -1.0 } else { 1.0 };
            if e == 0 {
                s * m * 2f64.powi(-24)
            } else {
                s * (1.0 + m / 1024.0) * 2f64.powi(e - 15)
            }
        };
        for b in 0u16..0x7bff {
            let (lo, hi) = (decode(b), decode(b + 1));
            for t in [0.25, 0.49, 0.51, 0.75] {
                let v = lo + (hi - lo) * t;
                let want = if t < 0.5 { b } else { b + 1 };
                assert_eq!(f64_to_f16_bits(v), want);
                assert_eq!(f64_to_f16_bits(-v), want | 0x8000);
            }
            let mid = f64_to_f16_bits((lo + hi) / 2.0);
            assert_eq!(mid, if b % 2 == 0 { b } else { b + 1 });
        }
    }

    #[test]
    fn layouts() {
        let (w, h) = (3, 2);
        let src: Vec<u8> = (0..w * h * 3).map(|i| i as u8 * 10).collect();
        let v = ImageView::contiguous(&src, w, h, 3).unwrap();
        let t = f32_tables(&[0.0, 0.5, 1.0], &[1.0, 0.5, 2.0]).unwrap();
        let mut hwc = vec![0f32; w * h * 3];
        normalize_into(v, &mut hwc, &t, TensorLayout::Hwc).unwrap();
        let mut chw = vec![0f32; w * h * 3];
        normalize_into(v, &mut chw, &t, TensorLayout::Chw).unwrap();
        let (m, s) = ([0.0, 0.5, 1.0], [1.0, 0.5, 2.0]);
        for y in 0..h {
            for x in 0..w {
                for k in 0..3 {
                    let want = ((f64::from(src[(y * w + x) * 3 + k]) / 255.0 - m[k]) / s[k]) as f32;
                    assert_eq!(hwc[(y * w + x) * 3 + k], want);
                    assert_eq!(chw[k * w * h + y * w + x], want);
                }
            }
        }
        assert!(f32_tables(&[0.0], &[0.0]).is_err());
        assert!(f32_tables(&[0.0, 1.0], &[1.0]).is_err());
        let mut small = vec![0f32; 3];
        assert!(normalize_into(v, &mut small, &t, TensorLayout::Hwc).is_err());
    }
}
