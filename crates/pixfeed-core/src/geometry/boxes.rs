//! The deterministic crop boxes: torchvision's centre crop mapped back to the source, and
//! parallel_image_crop's relative crop. Boxes are in source pixels, possibly fractional.

use crate::image::Rect;

/// A crop box in source pixels: `(x, y, width, height)`, possibly fractional.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxF {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl BoxF {
    /// The whole `width x height` image.
    pub fn whole(width: u32, height: u32) -> Self {
        Rect::new(0, 0, width, height).into()
    }
}

impl From<Rect> for BoxF {
    fn from(r: Rect) -> Self {
        BoxF {
            x: f64::from(r.x),
            y: f64::from(r.y),
            w: f64::from(r.width),
            h: f64::from(r.height),
        }
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
