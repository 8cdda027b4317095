//! torchvision's `RandomResizedCrop.get_params`, formula for formula.

use crate::image::Rect;
use crate::rng::SampleRng;
use crate::{Error, Result};

/// The `scale` and `ratio` ranges of a random resized crop, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropSampling {
    /// Range of the crop's area as a fraction of the image's.
    pub scale: (f64, f64),
    /// Range of the crop's aspect ratio (width / height), sampled log-uniformly.
    pub ratio: (f64, f64),
}

impl Default for CropSampling {
    /// torchvision's defaults: scale (0.08, 1.0), ratio (3/4, 4/3).
    fn default() -> Self {
        CropSampling {
            scale: (0.08, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
        }
    }
}

impl CropSampling {
    /// Check the ranges: finite, `0 < lo <= hi` (torchvision only warns about a reversed
    /// range and then samples from it; we refuse it).
    pub fn new(scale: (f64, f64), ratio: (f64, f64)) -> Result<Self> {
        for (name, (lo, hi)) in [("scale", scale), ("ratio", ratio)] {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
                return Err(Error::invalid(
                    name,
                    format!("expected (min, max) with 0 < min <= max, got ({lo}, {hi})"),
                ));
            }
        }
        Ok(CropSampling { scale, ratio })
    }
}

/// Python's `int(round(v))` for the non-negative values used here: round half to even.
fn round_int(v: f64) -> i64 {
    v.round_ties_even() as i64
}

/// The crop box `(x, y, w, h)` of a random resized crop of a `width x height` image, drawing
/// from `rng` exactly as torchvision draws from torch's generator:
///
/// ```text
/// area = H * W; log_ratio = (log r0, log r1)
/// 10 times: target_area = area * U(s0, s1); aspect = exp(U(log_ratio))
///           w = int(round(sqrt(target_area * aspect))); h = int(round(sqrt(target_area / aspect)))
///           if 0 < w <= W and 0 < h <= H: i = randint(0, H - h); j = randint(0, W - w); done
/// fallback: in_ratio = W / H; below min(ratio): w = W, h = int(round(w / min(ratio)))
///           above max(ratio): h = H, w = int(round(h * max(ratio))); else the whole image;
///           centred: i = (H - h) // 2, j = (W - w) // 2
/// ```
///
/// `U` draws one uniform each (scale first, then the log-ratio), `randint` one integer each
/// (row first). Arithmetic is in double precision (torch samples in single precision; the
/// difference is below the resolution of the draws).
pub fn random_resized_crop_box(
    width: u32,
    height: u32,
    sampling: &CropSampling,
    rng: &mut SampleRng,
) -> Rect {
    let (w_img, h_img) = (i64::from(width), i64::from(height));
    let area = (h_img * w_img) as f64;
    let (log_r0, log_r1) = (sampling.ratio.0.ln(), sampling.ratio.1.ln());
    for _ in 0..10 {
        let target_area = area * rng.uniform_range(sampling.scale.0, sampling.scale.1);
        let aspect = rng.uniform_range(log_r0, log_r1).exp();
        let w = round_int((target_area * aspect).sqrt());
        let h = round_int((target_area / aspect).sqrt());
        if 0 < w && w <= w_img && 0 < h && h <= h_img {
            let i = rng.int_inclusive(0, h_img - h);
            let j = rng.int_inclusive(0, w_img - w);
            return Rect::new(j as u32, i as u32, w as u32, h as u32);
        }
    }
    let in_ratio = w_img as f64 / h_img as f64;
    let (min_r, max_r) = (sampling.ratio.0, sampling.ratio.1);
    let (w, h) = if in_ratio < min_r {
        (w_img, round_int(w_img as f64 / min_r))
    } else if in_ratio > max_r {
        (round_int(h_img as f64 * max_r), h_img)
    } else {
        (w_img, h_img)
    };
    // A degenerate ratio range can round the fallback to 0 or past the image: keep it inside
    // (torchvision would return an empty or oversized box there).
    let (w, h) = (w.clamp(1, w_img), h.clamp(1, h_img));
    let i = (h_img - h).div_euclid(2);
    let j = (w_img - w).div_euclid(2);
    Rect::new(j as u32, i as u32, w as u32, h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_fit_and_are_deterministic() {
        let s = CropSampling::default();
        for idx in 0..2000 {
            let (w, h) = (1 + (idx * 7919) % 700, 1 + (idx * 104729) % 500);
            let a = random_resized_crop_box(w, h, &s, &mut SampleRng::new(3, 0, u64::from(idx)));
            let b = random_resized_crop_box(w, h, &s, &mut SampleRng::new(3, 0, u64::from(idx)));
            assert_eq!(a, b);
            assert!(a.fits_in(w, h), "{a:?} in {w}x{h}");
        }
    }

    #[test]
    fn fallback_is_centred_with_the_limiting_ratio() {
        // Every attempt fails when the requested area is larger than the image.
        let s = CropSampling::new((2.0, 3.0), (0.75, 4.0 / 3.0)).unwrap();
        let mut rng = SampleRng::new(0, 0, 0);
        // Wide image (ratio 4 > 4/3): h = H, w = round(100 * 4/3) = 133, centred.
        assert_eq!(
            random_resized_crop_box(400, 100, &s, &mut rng),
            Rect::new(133, 0, 133, 100)
        );
        // Tall image (ratio 0.25 < 0.75): w = W, h = round(100 / 0.75) = 133.
        assert_eq!(
            random_resized_crop_box(100, 400, &s, &mut rng),
            Rect::new(0, 133, 100, 133)
        );
        // In range: the whole image.
        assert_eq!(
            random_resized_crop_box(100, 90, &s, &mut rng),
            Rect::new(0, 0, 100, 90)
        );
    }

    #[test]
    fn rounding_is_half_to_even() {
        assert_eq!(round_int(2.5), 2);
        assert_eq!(round_int(3.5), 4);
        assert_eq!(round_int(0.5), 0);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert!(CropSampling::new((0.5, 0.1), (1.0, 1.0)).is_err());
        assert!(CropSampling::new((0.0, 1.0), (1.0, 1.0)).is_err());
        assert!(CropSampling::new((0.1, 1.0), (f64::NAN, 1.0)).is_err());
    }
}
