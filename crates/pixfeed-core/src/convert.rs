//! Decoded layout -> requested mode, with Pillow's formulas so results equal
//! `Image.convert(mode)`: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16 (Pillow's `L24`),
//! CMYK -> RGB as Pillow's `cmyk2rgb`, alpha dropped without compositing.

use crate::codecs::{Decoded, Layout, Mode};
use crate::image::{Image, PixelData};

/// Pillow's ITU-R 601 luma, exactly.
#[inline(always)]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// Pillow's `MULDIV255(a, b)` = round(a*b/255) computed the way Pillow does.
#[inline(always)]
fn muldiv255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    ((t >> 8) + t) >> 8
}

/// Pillow's `cmyk2rgb` for one pixel.
#[inline(always)]
fn cmyk_to_rgb(p: &[u8]) -> [u8; 3] {
    let nk = 255 - u32::from(p[3]);
    let ch = |c: u8| nk.saturating_sub(muldiv255(u32::from(c), nk)) as u8;
    [ch(p[0]), ch(p[1]), ch(p[2])]
}

/// The layout a mode produces (None: whatever was decoded).
fn target_layout(mode: Mode) -> Option<Layout> {
    match mode {
        Mode::Rgb => Some(Layout::Rgb),
        Mode::Bgr => Some(Layout::Bgr),
        Mode::Rgba => Some(Layout::Rgba),
        Mode::L => Some(Layout::Gray),
        Mode::Unchanged => None,
    }
}

/// Convert a decoded buffer to `mode`. A no-op when the codec already produced it.
pub fn to_mode(decoded: Decoded, mode: Mode) -> Image {
    let Some(target) = target_layout(mode) else {
        return decoded.image;
    };
    if decoded.layout == target {
        return decoded.image;
    }
    let img = decoded.image;
    let src: Vec<u8> = match img.data {
        PixelData::U8(v) => v,
        // Codecs return 16-bit only for Mode::Unchanged; be total anyway.
        PixelData::U16(v) => v.into_iter().map(|x| (x >> 8) as u8).collect(),
    };
    let n = img.width * img.height;
    let out_c = target.channels();
    let in_c = decoded.layout.channels();
    let mut out = Vec::with_capacity(n * out_c);
    let pixels = src.chunks_exact(in_c);
    // One match on (from, to) outside the loop; each arm is a tight per-pixel loop.
    use Layout::*;
    match (decoded.layout, target) {
        (Gray, Rgb | Bgr) => pixels.for_each(|p| out.extend_from_slice(&[p[0], p[0], p[0]])),
        (Gray, Rgba) => pixels.for_each(|p| out.extend_from_slice(&[p[0], p[0], p[0], 255])),
        (GrayAlpha, Rgb | Bgr) => pixels.for_each(|p| out.extend_from_slice(&[p[0], p[0], p[0]])),
        (GrayAlpha, Rgba) => pixels.for_each(|p| out.extend_from_slice(&[p[0], p[0], p[0], p[1]])),
        (GrayAlpha, Gray) => pixels.for_each(|p| out.push(p[0])),
        (Rgb, Bgr) | (Bgr, Rgb) => pixels.for_each(|p| out.extend_from_slice(&[p[2], p[1], p[0]])),
        (Rgb, Rgba) => pixels.for_each(|p| out.extend_from_slice(&[p[0], p[1], p[2], 255])),
        (Bgr, Rgba) => pixels.for_each(|p| out.extend_from_slice(&[p[2], p[1], p[0], 255])),
        (Rgb, Gray) => pixels.for_each(|p| out.push(luma(p[0], p[1], p[2]))),
        (Bgr, Gray) => pixels.for_each(|p| out.push(luma(p[2], p[1], p[0]))),
        (Rgba, Rgb) => pixels.for_each(|p| out.extend_from_slice(&p[..3])),
        (Rgba, Bgr) | (Bgra, Rgb) => {
            pixels.for_each(|p| out.extend_from_slice(&[p[2], p[1], p[0]]))
        }
        (Bgra, Bgr) => pixels.for_each(|p| out.extend_from_slice(&p[..3])),
        (Bgra, Rgba) => pixels.for_each(|p| out.extend_from_slice(&[p[2], p[1], p[0], p[3]])),
        (Rgba, Gray) => pixels.for_each(|p| out.push(luma(p[0], p[1], p[2]))),
        (Bgra, Gray) => pixels.for_each(|p| out.push(luma(p[2], p[1], p[0]))),
        (Cmyk, Rgb) => pixels.for_each(|p| out.extend_from_slice(&cmyk_to_rgb(p))),
        (Cmyk, Bgr) => pixels.for_each(|p| {
            let [r, g, b] = cmyk_to_rgb(p);
            out.extend_from_slice(&[b, g, r])
        }),
        (Cmyk, Rgba) => pixels.for_each(|p| {
            let [r, g, b] = cmyk_to_rgb(p);
            out.extend_from_slice(&[r, g, b, 255])
        }),
        // Pillow has no direct CMYK -> L: it goes through RGB.
        (Cmyk, Gray) => pixels.for_each(|p| {
            let [r, g, b] = cmyk_to_rgb(p);
            out.push(luma(r, g, b))
        }),
        (from, to) => unreachable!("no conversion {from:?} -> {to:?} is needed: same layout"),
    }
    debug_assert_eq!(out.len(), n * out_c);
    Image::new_u8(img.width, img.height, out_c, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(layout: Layout, data: Vec<u8>) -> Decoded {
        let c = layout.channels();
        Decoded {
            image: Image::new_u8(data.len() / c, 1, c, data),
            layout,
        }
    }

    #[test]
    fn luma_matches_pillow_points() {
        // Values from Pillow 13: Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0)).
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(luma(0, 0, 0), 0);
        assert_eq!(luma(255, 0, 0), 76);
        assert_eq!(luma(0, 255, 0), 150);
        assert_eq!(luma(0, 0, 255), 29);
        assert_eq!(luma(12, 200, 77), 130);
    }

    #[test]
    fn every_layout_reaches_every_mode() {
        let layouts = [
            (Layout::Gray, vec![10, 20]),
            (Layout::GrayAlpha, vec![10, 5, 20, 6]),
            (Layout::Rgb, vec![1, 2, 3, 4, 5, 6]),
            (Layout::Bgr, vec![3, 2, 1, 6, 5, 4]),
            (Layout::Rgba, vec![1, 2, 3, 9, 4, 5, 6, 9]),
            (Layout::Bgra, vec![3, 2, 1, 9, 6, 5, 4, 9]),
            (Layout::Cmyk, vec![0, 0, 0, 0, 255, 255, 255, 255]),
        ];
        for (layout, data) in layouts {
            for mode in [Mode::Rgb, Mode::Bgr, Mode::Rgba, Mode::L] {
                let out = to_mode(dec(layout, data.clone()), mode);
                assert_eq!(out.width, 2);
                assert_eq!(out.channels, target_layout(mode).unwrap().channels());
            }
        }
    }

    #[test]
    fn rgb_bgr_roundtrip_and_alpha() {
        let out = to_mode(dec(Layout::Rgb, vec![1, 2, 3]), Mode::Bgr);
        assert_eq!(out.as_u8().unwrap(), &[3, 2, 1]);
        let out = to_mode(dec(Layout::Rgb, vec![1, 2, 3]), Mode::Rgba);
        assert_eq!(out.as_u8().unwrap(), &[1, 2, 3, 255]);
        let out = to_mode(dec(Layout::GrayAlpha, vec![7, 8]), Mode::Rgba);
        assert_eq!(out.as_u8().unwrap(), &[7, 7, 7, 8]);
    }

    #[test]
    fn cmyk_white_and_black() {
        let out = to_mode(dec(Layout::Cmyk, vec![0, 0, 0, 0, 0, 0, 0, 255]), Mode::Rgb);
        assert_eq!(out.as_u8().unwrap(), &[255, 255, 255, 0, 0, 0]);
    }
}
