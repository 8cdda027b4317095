//! EXIF orientation (1..=8): mapping oriented regions back to stored ones, and applying
//! the transform to decoded pixels. Same transforms as Pillow's `ImageOps.exif_transpose`.

use crate::image::{Image, PixelData, Rect};

/// True for orientations that swap width and height (5..=8).
pub fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// Size of the oriented image given the stored size.
pub fn oriented_size(w: u32, h: u32, orientation: u8) -> (u32, u32) {
    if swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    }
}

/// The stored-image rectangle whose oriented view is `r` (an oriented-coordinates rectangle),
/// for a stored image of `w x h`.
pub fn stored_rect(r: Rect, w: u32, h: u32, orientation: u8) -> Rect {
    let (x, y, rw, rh) = (r.x, r.y, r.width, r.height);
    match orientation {
        2 => Rect::new(w - x - rw, y, rw, rh),
        3 => Rect::new(w - x - rw, h - y - rh, rw, rh),
        4 => Rect::new(x, h - y - rh, rw, rh),
        5 => Rect::new(y, x, rh, rw),
        6 => Rect::new(y, h - x - rw, rh, rw),
        7 => Rect::new(w - y - rh, h - x - rw, rh, rw),
        8 => Rect::new(w - y - rh, x, rh, rw),
        _ => r,
    }
}

/// Apply `orientation` to a stored-geometry image, returning the upright image.
pub fn apply(img: Image, orientation: u8) -> Image {
    if !(2..=8).contains(&orientation) {
        return img;
    }
    let Image {
        width,
        height,
        channels,
        data,
    } = img;
    let (ow, oh) = if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    let data = match data {
        PixelData::U8(v) => PixelData::U8(transform(&v, width, height, channels, orientation)),
        PixelData::U16(v) => PixelData::U16(transform(&v, width, height, channels, orientation)),
    };
    Image {
        width: ow,
        height: oh,
        channels,
        data,
    }
}

/// Where oriented pixel (u, v) comes from in the stored `w x h` image.
#[inline]
fn source_of(u: usize, v: usize, w: usize, h: usize, orientation: u8) -> (usize, usize) {
    match orientation {
        2 => (w - 1 - u, v),
        3 => (w - 1 - u, h - 1 - v),
        4 => (u, h - 1 - v),
        5 => (v, u),
        6 => (v, h - 1 - u),
        7 => (w - 1 - v, h - 1 - u),
        8 => (w - 1 - v, u),
        _ => (u, v),
    }
}

fn transform<T: Copy + Default>(
    src: &[T],
    w: usize,
    h: usize,
    c: usize,
    orientation: u8,
) -> Vec<T> {
    let (ow, oh) = if swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    let mut out = vec![T::default(); src.len()];
    match orientation {
        // Row-preserving cases copy whole rows or reverse pixels within rows.
        4 => {
            for v in 0..oh {
                let s = (h - 1 - v) * w * c;
                out[v * w * c..(v + 1) * w * c].copy_from_slice(&src[s..s + w * c]);
            }
        }
        2 | 3 => {
            for v in 0..oh {
                let sy = if orientation == 3 { h - 1 - v } else { v };
                let srow = &src[sy * w * c..(sy + 1) * w * c];
                let orow = &mut out[v * w * c..(v + 1) * w * c];
                for (o, s) in orow.chunks_exact_mut(c).zip(srow.chunks_exact(c).rev()) {
                    o.copy_from_slice(s);
                }
            }
        }
        _ => {
            // Axis-swapping cases: walk the output in tiles so both sides stay cache-resident.
            const TILE: usize = 32;
            for v0 in (0..oh).step_by(TILE) {
                for u0 in (0..ow).step_by(TILE) {
                    for v in v0..(v0 + TILE).min(oh) {
                        for u in u0..(u0 + TILE).min(ow) {
                            let (sx, sy) = source_of(u, v, w, h, orientation);
                            let s = (sy * w + sx) * c;
                            let o = (v * ow + u) * c;
                            out[o..o + c].copy_from_slice(&src[s..s + c]);
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: usize, h: usize, c: usize) -> Image {
        Image::new_u8(w, h, c, (0..w * h * c).map(|i| (i % 251) as u8).collect())
    }

    fn px(img: &Image, x: usize, y: usize) -> Vec<u8> {
        let d = img.as_u8().unwrap();
        let s = (y * img.width + x) * img.channels;
        d[s..s + img.channels].to_vec()
    }

    #[test]
    fn apply_matches_source_mapping() {
        let (w, h, c) = (7, 5, 3);
        let img = numbered(w, h, c);
        for o in 1..=8u8 {
            let out = apply(img.clone(), o);
            let (ow, oh) = oriented_size(w as u32, h as u32, o);
            assert_eq!((out.width, out.height), (ow as usize, oh as usize));
            for v in 0..out.height {
                for u in 0..out.width {
                    let (sx, sy) = source_of(u, v, w, h, o);
                    assert_eq!(px(&out, u, v), px(&img, sx, sy), "o={o} u={u} v={v}");
                }
            }
        }
    }

    #[test]
    fn rotate_90_cw_for_6() {
        // Stored 2x1 [a b] shown with orientation 6 is a column [a; b] rotated clockwise:
        // the top of the upright image is the stored left column... (EXIF: 0th row = right).
        let img = Image::new_u8(2, 1, 1, vec![10, 20]);
        let out = apply(img, 6);
        assert_eq!((out.width, out.height), (1, 2));
        assert_eq!(out.as_u8().unwrap(), &[10, 20]);
    }

    #[test]
    fn stored_rect_is_the_preimage() {
        let (w, h) = (9u32, 6u32);
        let img = numbered(w as usize, h as usize, 1);
        for o in 1..=8u8 {
            let full = apply(img.clone(), o);
            let (ow, oh) = oriented_size(w, h, o);
            let r = Rect::new(1, 2, ow - 3, oh - 4);
            let sr = stored_rect(r, w, h, o);
            assert!(sr.fits_in(w, h));
            // Crop stored, orient, compare with the crop of the oriented full image.
            let mut crop = Vec::new();
            let d = img.as_u8().unwrap();
            for y in sr.y..sr.y + sr.height {
                let s = (y * w + sr.x) as usize;
                crop.extend_from_slice(&d[s..s + sr.width as usize]);
            }
            let oc = apply(
                Image::new_u8(sr.width as usize, sr.height as usize, 1, crop),
                o,
            );
            for v in 0..r.height as usize {
                for u in 0..r.width as usize {
                    assert_eq!(
                        px(&oc, u, v),
                        px(&full, u + r.x as usize, v + r.y as usize),
                        "o={o}"
                    );
                }
            }
        }
    }
}
