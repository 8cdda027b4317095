//! Per-sample parameters, drawn in one place from the sample's own random stream, before
//! any pixel is decoded: the crop box (oriented source coordinates, possibly fractional)
//! and the flip.

use crate::rng::SampleRng;

/// A crop box in source pixels: `(x, y, width, height)`, possibly fractional.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxF {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// torchvision `RandomResizedCrop.get_params` on an image of `width x height`: 10 attempts
/// at an area fraction in `scale` and a log-uniform aspect ratio in `ratio`, sizes rounded
/// half-to-even as Python's `round`, then a centre crop of the clamped ratio as fallback.
/// Returns an integer box.
pub fn random_resized_crop_box(
    width: u32,
    height: u32,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut SampleRng,
) -> BoxF {
    let (w0, h0) = (f64::from(width), f64::from(height));
    let area = w0 * h0;
    let (log_lo, log_hi) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target_area = area * rng.uniform_range(scale.0, scale.1);
        let aspect = rng.uniform_range(log_lo, log_hi).exp();
        let w = (target_area * aspect).sqrt().round_ties_even();
        let h = (target_area / aspect).sqrt().round_ties_even();
        if 0.0 < w && w <= w0 && 0.0 < h && h <= h0 {
            let i = rng.int_inclusive(0, (h0 - h) as i64) as f64;
            let j = rng.int_inclusive(0, (w0 - w) as i64) as f64;
            return BoxF { x: j, y: i, w, h };
        }
    }
    let in_ratio = w0 / h0;
    let (w, h) = if in_ratio < ratio.0 {
        (w0, (w0 / ratio.0).round_ties_even())
    } else if in_ratio > ratio.1 {
        ((h0 * ratio.1).round_ties_even(), h0)
    } else {
        (w0, h0)
    };
    BoxF {
        x: ((w0 - w) / 2.0).floor(),
        y: ((h0 - h) / 2.0).floor(),
        w,
        h,
    }
}

/// torchvision `Resize(shorter)` then `CenterCrop((tw, th))`, expressed as the source box
/// that the crop covers: the resized size is `shorter x int(shorter * long / short)`, the crop
/// offset `int(round((resized - crop) / 2))` (half-to-even), mapped back by the resize scale.
/// Requires the crop to fit inside the resized image.
pub fn center_box(width: u32, height: u32, shorter: u32, tw: u32, th: u32) -> BoxF {
    let (w0, h0) = (f64::from(width), f64::from(height));
    let s = f64::from(shorter);
    let (rw, rh) = if width <= height {
        (s, (s * h0 / w0).floor())
    } else {
        ((s * w0 / h0).floor(), s)
    };
    let left = ((rw - f64::from(tw)) / 2.0).round_ties_even().max(0.0);
    let top = ((rh - f64::from(th)) / 2.0).round_ties_even().max(0.0);
    let (fx, fy) = (w0 / rw, h0 / rh);
    BoxF {
        x: left * fx,
        y: top * fy,
        w: f64::from(tw).min(rw) * fx,
        h: f64::from(th).min(rh) * fy,
    }
}

/// A crop given relative to the image, parallel_image_crop style.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeCrop {
    /// Position in [0, 1] of the crop's corner (or centre) along the width.
    pub x: f64,
    /// Same along the height.
    pub y: f64,
    /// Crop size as a fraction of the image's width and height.
    pub scale: f64,
}

/// parallel_image_crop's geometry (docs/crop-from-files.md): `s = min(scale, max_img_percent)`, crop
/// size `(max(floor(W*s), 2), max(floor(H*s), 2))` (at most the image), the corner
/// `(trunc(x*W), trunc(y*H))` — or the centre with `center`, the corner then being centre
/// minus half the size, floored — clamped so that the crop lies inside the image.
pub fn relative_box(
    width: u32,
    height: u32,
    rel: RelativeCrop,
    max_img_percent: f64,
    center: bool,
) -> BoxF {
    let (w0, h0) = (f64::from(width), f64::from(height));
    let s = rel.scale.min(max_img_percent);
    let cw = (w0 * s).floor().max(2.0).min(w0);
    let ch = (h0 * s).floor().max(2.0).min(h0);
    let (mut x, mut y) = ((rel.x * w0).trunc(), (rel.y * h0).trunc());
    if center {
        x = (x - (cw / 2.0).floor()).max(0.0);
        y = (y - (ch / 2.0).floor()).max(0.0);
    }
    BoxF {
        x: x.min(w0 - cw),
        y: y.min(h0 - ch),
        w: cw,
        h: ch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_stay_inside_and_respect_bounds() {
        for i in 0..2000u64 {
            let mut r = SampleRng::new(3, 0, i);
            let (w, h) = (1 + (i * 37 % 900) as u32, 1 + (i * 91 % 700) as u32);
            let b = random_resized_crop_box(w, h, (0.08, 1.0), (0.75, 4.0 / 3.0), &mut r);
            assert!(b.w >= 1.0 && b.h >= 1.0, "{b:?}");
            assert!(b.x >= 0.0 && b.y >= 0.0);
            assert!(
                b.x + b.w <= f64::from(w) && b.y + b.h <= f64::from(h),
                "{b:?} {w}x{h}"
            );
            assert_eq!(b.x.fract(), 0.0);
        }
    }

    #[test]
    fn fallback_is_centre_with_clamped_ratio() {
        // scale > 1 can never fit: always the fallback.
        let mut r = SampleRng::new(0, 0, 0);
        let b = random_resized_crop_box(400, 100, (2.0, 3.0), (0.75, 4.0 / 3.0), &mut r);
        assert_eq!((b.w, b.h), (133.0, 100.0));
        assert_eq!((b.x, b.y), (133.0, 0.0));
    }

    #[test]
    fn relative_box_geometry() {
        let rc = |x, y, scale| RelativeCrop { x, y, scale };
        // Corner anchor, truncation, clamping at the far edges.
        assert_eq!(
            relative_box(4000, 3000, rc(0.5, 0.5, 0.25), 1.0, false),
            BoxF {
                x: 2000.0,
                y: 1500.0,
                w: 1000.0,
                h: 750.0
            }
        );
        assert_eq!(
            relative_box(4000, 3000, rc(1.0, 1.0, 0.25), 1.0, false),
            BoxF {
                x: 3000.0,
                y: 2250.0,
                w: 1000.0,
                h: 750.0
            }
        );
        // Centre anchor.
        assert_eq!(
            relative_box(4000, 3000, rc(0.5, 0.5, 0.25), 1.0, true),
            BoxF {
                x: 1500.0,
                y: 1125.0,
                w: 1000.0,
                h: 750.0
            }
        );
        assert_eq!(
            relative_box(4000, 3000, rc(0.0, 0.0, 0.25), 1.0, true).x,
            0.0
        );
        // Scale capped by max_img_percent; tiny crops are at least 2 pixels.
        assert_eq!(relative_box(100, 80, rc(0.0, 0.0, 3.0), 0.5, false).w, 50.0);
        assert_eq!(
            relative_box(100, 80, rc(0.3, 0.3, 0.001), 1.0, false).w,
            2.0
        );
        // A 1-pixel-wide image cannot hold 2 columns: the crop is the image.
        assert_eq!(relative_box(1, 80, rc(0.5, 0.5, 0.1), 1.0, false).w, 1.0);
    }

    #[test]
    fn center_box_matches_resize_then_crop() {
        // 500x375 -> shorter 256 -> 341x256 -> crop 224: left = round(58.5) = 58 (even).
        let b = center_box(500, 375, 256, 224, 224);
        let f = 500.0 / 341.0;
        assert!((b.x - 58.0 * f).abs() < 1e-9);
        assert!((b.y - 16.0 * 375.0 / 256.0).abs() < 1e-9);
        assert!((b.w - 224.0 * f).abs() < 1e-9);
    }
}
