//! The YOLO letterbox: scale an image to fit a target size keeping its aspect ratio, then pad
//! it centred with a constant colour. Geometry exactly as ultralytics' `LetterBox` (auto =
//! False, center = True), including Python's round-half-to-even and its `-0.1 / +0.1`
//! split of odd paddings; the resize is the shared cv2.INTER_LINEAR kernel (within one level).

use crate::image::ImageView;
use crate::{Error, Result};

/// Where the letterboxed image sits in the output, and the scale used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LetterboxGeometry {
    /// Resized = original * scale (the same for both axes, as YOLO's `r`).
    pub scale: f64,
    /// Size of the resized image before padding.
    pub new_width: usize,
    pub new_height: usize,
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

/// ultralytics' `LetterBox` arithmetic for a `src_w x src_h` image into `dst_w x dst_h`.
/// With `scaleup == false` images are only shrunk (`r = min(r, 1)`).
pub fn letterbox_geometry(
    src_w: usize,
    src_h: usize,
    dst_w: usize,
    dst_h: usize,
    scaleup: bool,
) -> LetterboxGeometry {
    let mut r = (dst_h as f64 / src_h as f64).min(dst_w as f64 / src_w as f64);
    if !scaleup {
        r = r.min(1.0);
    }
    let new_width = ((src_w as f64 * r).round_ties_even() as usize).clamp(1, dst_w);
    let new_height = ((src_h as f64 * r).round_ties_even() as usize).clamp(1, dst_h);
    let dw = (dst_w - new_width) as f64 / 2.0;
    let dh = (dst_h - new_height) as f64 / 2.0;
    let left = ((dw - 0.1).round_ties_even().max(0.0) as usize).min(dst_w - new_width);
    let top = ((dh - 0.1).round_ties_even().max(0.0) as usize).min(dst_h - new_height);
    LetterboxGeometry {
        scale: r,
        new_width,
        new_height,
        left,
        top,
        right: dst_w - new_width - left,
        bottom: dst_h - new_height - top,
    }
}

/// Bilinear resize without antialiasing, contiguous output: the shared `cv2.resize`
/// INTER_LINEAR kernel ([`crate::kernels::resize`], within one level of OpenCV, which is what
/// ultralytics' LetterBox calls).
pub fn resize_bilinear(src: ImageView<'_>, width: usize, height: usize) -> Result<Vec<u8>> {
    use crate::image::ImageViewMut;
    use crate::kernels::resize::{resize_into, Filter, Interpolation};
    let mut out = vec![0u8; width * height * src.channels];
    let dst = ImageViewMut::new(&mut out, width, height, src.channels)?;
    resize_into(src, dst, Filter::new(Interpolation::Bilinear, false))?;
    Ok(out)
}

/// Refuse an empty image or target size (what both letterboxes check first).
fn check_sizes(src: &ImageView<'_>, dst_w: usize, dst_h: usize) -> Result<()> {
    if src.width == 0 || src.height == 0 {
        return Err(Error::invalid("image", "is empty"));
    }
    if dst_w == 0 || dst_h == 0 {
        return Err(Error::invalid("size", "must be at least 1x1"));
    }
    Ok(())
}

/// The geometry, and the rows of the scaled image with their stride: `src`'s own when it
/// keeps its size, else its bilinear resize, held in `resized`.
fn scaled<'a>(
    src: ImageView<'a>,
    dst_w: usize,
    dst_h: usize,
    scaleup: bool,
    resized: &'a mut Vec<u8>,
) -> Result<(LetterboxGeometry, &'a [u8], usize)> {
    let g = letterbox_geometry(src.width, src.height, dst_w, dst_h, scaleup);
    if (g.new_width, g.new_height) == (src.width, src.height) {
        return Ok((g, src.data, src.row_stride));
    }
    *resized = resize_bilinear(src, g.new_width, g.new_height)?;
    Ok((g, resized.as_slice(), g.new_width * src.channels))
}

/// Letterbox `src` into a `dst_w x dst_h` image padded with `color` (one value per
/// channel). Returns the contiguous output and its geometry.
pub fn letterbox(
    src: ImageView<'_>,
    dst_w: usize,
    dst_h: usize,
    color: &[u8],
    scaleup: bool,
) -> Result<(Vec<u8>, LetterboxGeometry)> {
    let c = src.channels;
    check_sizes(&src, dst_w, dst_h)?;
    if color.len() != c {
        return Err(Error::invalid(
            "color",
            format!("expected {c} values (one per channel), got {}", color.len()),
        ));
    }
    let mut resized = Vec::new();
    let (g, rows, stride) = scaled(src, dst_w, dst_h, scaleup, &mut resized)?;
    let row_len = dst_w * c;
    let mut out = vec![0u8; row_len * dst_h];
    for px in out.chunks_exact_mut(c) {
        px.copy_from_slice(color);
    }
    let inner = g.new_width * c;
    for y in 0..g.new_height {
        let d = (g.top + y) * row_len + g.left * c;
        out[d..d + inner].copy_from_slice(&rows[y * stride..y * stride + inner]);
    }
    Ok((out, g))
}

/// Letterbox `src` straight into one planar `(C, dst_h, dst_w)` slot of a network input
/// tensor: sample `v` of channel `k` becomes `tables[k][v]` (e.g. `v / 255` as float32) and the
/// padding `tables[k][color[k]]`. The same values as [`letterbox`] followed by a planar
/// normalize with those tables, without the intermediate padded image.
pub fn letterbox_planar<T: Copy>(
    src: ImageView<'_>,
    dst: &mut [T],
    dst_w: usize,
    dst_h: usize,
    color: &[u8],
    scaleup: bool,
    tables: &[[T; 256]],
) -> Result<LetterboxGeometry> {
    let c = src.channels;
    check_sizes(&src, dst_w, dst_h)?;
    if color.len() != c || tables.len() != c {
        return Err(Error::invalid(
            "color",
            format!(
                "expected {c} values (one per channel), got {} colors and {} tables",
                color.len(),
                tables.len()
            ),
        ));
    }
    if dst.len() != c * dst_w * dst_h {
        return Err(Error::invalid(
            "out",
            format!(
                "slot of {} elements does not fit {c}x{dst_h}x{dst_w}",
                dst.len()
            ),
        ));
    }
    let mut resized = Vec::new();
    let (g, rows, stride) = scaled(src, dst_w, dst_h, scaleup, &mut resized)?;
    match c {
        1 => planar::<T, 1>(rows, stride, dst, dst_w, dst_h, &g, color, tables),
        2 => planar::<T, 2>(rows, stride, dst, dst_w, dst_h, &g, color, tables),
        3 => planar::<T, 3>(rows, stride, dst, dst_w, dst_h, &g, color, tables),
        4 => planar::<T, 4>(rows, stride, dst, dst_w, dst_h, &g, color, tables),
        _ => {
            return Err(Error::invalid(
                "image",
                format!("{c} channels (expected 1-4)"),
            ))
        }
    }
    Ok(g)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn planar<T: Copy, const C: usize>(
    rows: &[u8],
    stride: usize,
    dst: &mut [T],
    dst_w: usize,
    dst_h: usize,
    g: &LetterboxGeometry,
    color: &[u8],
    tables: &[[T; 256]],
) {
    let t: &[[T; 256]; C] = tables.try_into().expect("C tables");
    let plane = dst_w * dst_h;
    let (left, inner) = (g.left, g.new_width);
    // Row by row, all planes: the source row stays in L1 while it is read C times.
    let mut planes: Vec<&mut [T]> = dst.chunks_exact_mut(plane).collect();
    for (k, p) in planes.iter_mut().enumerate() {
        let pad = t[k][usize::from(color[k])];
        p[..g.top * dst_w].fill(pad);
        p[(g.top + g.new_height) * dst_w..].fill(pad);
    }
    for y in 0..g.new_height {
        let row = &rows[y * stride..y * stride + inner * C];
        let at = (g.top + y) * dst_w;
        for (k, p) in planes.iter_mut().enumerate() {
            let pad = t[k][usize::from(color[k])];
            let out = &mut p[at..at + dst_w];
            out[..left].fill(pad);
            out[left + inner..].fill(pad);
            let tk = &t[k];
            for (o, px) in out[left..left + inner].iter_mut().zip(row.chunks_exact(C)) {
                *o = tk[usize::from(px[k])];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_like_ultralytics() {
        // 1280x720 into 640x640: r = 0.5, 640x360, pad 140 top and bottom.
        let g = letterbox_geometry(1280, 720, 640, 640, true);
        assert_eq!(
            (g.new_width, g.new_height, g.left, g.top),
            (640, 360, 0, 140)
        );
        assert_eq!((g.right, g.bottom), (0, 140));
        // Odd padding: the extra pixel goes right / bottom.
        let g = letterbox_geometry(100, 51, 64, 64, true);
        assert_eq!(g.new_width, 64);
        assert_eq!(g.new_height, 33); // round(51 * 0.64 = 32.64)
        assert_eq!((g.top, g.bottom), (15, 16));
        // Round half to even like Python: 5 * 0.5 = 2.5 -> 2.
        let g = letterbox_geometry(10, 5, 5, 5, true);
        assert_eq!((g.new_width, g.new_height), (5, 2));
        // No upscaling.
        let g = letterbox_geometry(100, 50, 640, 640, false);
        assert_eq!((g.scale, g.new_width, g.new_height), (1.0, 100, 50));
        assert_eq!((g.left, g.top), (270, 295));
        // Extreme aspect: never a zero-sized image.
        let g = letterbox_geometry(10000, 1, 32, 32, true);
        assert_eq!((g.new_width, g.new_height), (32, 1));
    }

    #[test]
    fn pads_with_color_and_copies_when_same_size() {
        let src: Vec<u8> = (0..4 * 2 * 3).map(|v| v as u8).collect();
        let view = ImageView::contiguous(&src, 4, 2, 3).unwrap();
        let (out, g) = letterbox(view, 4, 4, &[1, 2, 3], true).unwrap();
        assert_eq!((g.top, g.bottom, g.left, g.right), (1, 1, 0, 0));
        assert_eq!(&out[..12], &[1, 2, 3].repeat(4)[..]);
        assert_eq!(&out[12..36], &src[..]);
        assert_eq!(&out[36..], &[1, 2, 3].repeat(4)[..]);
        assert!(letterbox(view, 4, 4, &[1], true).is_err());
    }

    #[test]
    fn planar_equals_letterbox_then_planar_lookup() {
        let src: Vec<u8> = (0..7 * 5 * 3).map(|v| (v * 37 % 251) as u8).collect();
        let view = ImageView::contiguous(&src, 7, 5, 3).unwrap();
        let tables: Vec<[f32; 256]> = (0..3)
            .map(|k| std::array::from_fn(|v| v as f32 + 1000.0 * k as f32))
            .collect();
        for (w, h) in [(16, 16), (9, 4), (7, 5), (3, 11)] {
            let (img, g) = letterbox(view, w, h, &[1, 2, 3], true).unwrap();
            let mut out = vec![0f32; 3 * w * h];
            let g2 = letterbox_planar(view, &mut out, w, h, &[1, 2, 3], true, &tables).unwrap();
            assert_eq!(g, g2);
            for k in 0..3 {
                for i in 0..w * h {
                    assert_eq!(out[k * w * h + i], tables[k][usize::from(img[i * 3 + k])]);
                }
            }
        }
        let mut small = vec![0f32; 10];
        assert!(letterbox_planar(view, &mut small, 4, 4, &[1, 2, 3], true, &tables).is_err());
        assert!(letterbox_planar(view, &mut small, 4, 4, &[1], true, &tables[..1]).is_err());
    }

    #[test]
    fn bilinear_halving_averages() {
        // 2x downscale of a 2x2-block image: each output pixel is the block's mean.
        let src: Vec<u8> = vec![10, 20, 30, 40, 10, 20, 30, 40];
        let view = ImageView::contiguous(&src, 4, 2, 1).unwrap();
        let out = resize_bilinear(view, 2, 1).unwrap();
        assert_eq!(out, vec![15, 35]);
    }
}
