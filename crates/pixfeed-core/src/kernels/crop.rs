//! Crops: a box of a source image copied into a contiguous destination (numpy's
//! `a[y:y+h, x:x+w]` made contiguous), with optional padding where the box leaves the image;
//! and where `center_crop` (torchvision's `CenterCrop`) and `random_crop` (torchvision's
//! `RandomCrop.get_params`) put their boxes.

use crate::image::{ImageView, ImageViewMut};
use crate::rng::SampleRng;
use crate::{Error, Result};

/// A crop box in source pixel coordinates. `x`/`y` may be negative and the box may reach past
/// the right/bottom edge: those pixels are padding (allowed only when a pad value is given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    pub x: i64,
    pub y: i64,
    pub width: usize,
    pub height: usize,
}

impl CropBox {
    pub fn new(x: i64, y: i64, width: usize, height: usize) -> Self {
        CropBox {
            x,
            y,
            width,
            height,
        }
    }

    /// True when the whole box lies inside a `w x h` image.
    pub fn inside(&self, w: usize, h: usize) -> bool {
        self.x >= 0
            && self.y >= 0
            && (self.x as u64).saturating_add(self.width as u64) <= w as u64
            && (self.y as u64).saturating_add(self.height as u64) <= h as u64
    }
}

/// The part of `[start, start + len)` inside `[0, n)`, as (first destination index, first
/// source index, count). `count` is 0 when they do not meet.
fn overlap(start: i64, len: usize, n: usize) -> (usize, usize, usize) {
    let lo = start.max(0);
    let hi = start.saturating_add(len as i64).min(n as i64);
    if hi <= lo {
        return (0, 0, 0);
    }
    ((lo - start) as usize, lo as usize, (hi - lo) as usize)
}

/// Copy `bx` of `src` into `dst` (`bx.width x bx.height`, the source's channels). Pixels of the
/// box outside the source take `pad` (one value per channel); without `pad`, a box leaving the
/// source is an `InvalidArgument` error naming `boxes`.
pub fn crop_into(
    src: ImageView<'_>,
    dst: ImageViewMut<'_>,
    bx: CropBox,
    pad: Option<&[u8]>,
) -> Result<()> {
    let c = src.channels;
    if (dst.width, dst.height, dst.channels) != (bx.width, bx.height, c) {
        return Err(Error::invalid(
            "out",
            format!(
                "destination is {}x{}x{}, the crop is {}x{}x{c}",
                dst.width, dst.height, dst.channels, bx.width, bx.height
            ),
        ));
    }
    if bx.width == 0 || bx.height == 0 {
        return Ok(());
    }
    let out_row = bx.width * c;
    if bx.inside(src.width, src.height) {
        let (x, y) = (bx.x as usize, bx.y as usize);
        if src.is_contiguous() && bx.width == src.width {
            // Whole rows of a contiguous image: one block copy.
            let start = y * src.row_stride;
            dst.data
                .copy_from_slice(&src.data[start..start + bx.height * out_row]);
            return Ok(());
        }
        for (row, out) in dst.data.chunks_exact_mut(out_row).enumerate() {
            if row + PREFETCH_ROWS < bx.height {
                prefetch(&src.row(y + row + PREFETCH_ROWS)[x * c..x * c + out_row]);
            }
            let s = &src.row(y + row)[x * c..];
            out.copy_from_slice(&s[..out_row]);
        }
        return Ok(());
    }
    let Some(pad) = pad else {
        return Err(Error::invalid(
            "boxes",
            format!(
                "box ({}, {}, {}, {}) leaves the {}x{} image (pass pad_value to pad)",
                bx.x, bx.y, bx.width, bx.height, src.width, src.height
            ),
        ));
    };
    if pad.len() != c {
        return Err(Error::invalid(
            "pad_value",
            format!("expected {c} values (one per channel), got {}", pad.len()),
        ));
    }
    // One row of padding, copied wherever the box is outside the source.
    let pad_row: Vec<u8> = pad.iter().copied().cycle().take(out_row).collect();
    let (dx, sx, nx) = overlap(bx.x, bx.width, src.width);
    let (dy, sy, ny) = overlap(bx.y, bx.height, src.height);
    for (row, out) in dst.data.chunks_exact_mut(out_row).enumerate() {
        if nx == 0 || row < dy || row >= dy + ny {
            out.copy_from_slice(&pad_row);
            continue;
        }
        let s = src.row(sy + row - dy);
        let (left, rest) = out.split_at_mut(dx * c);
        let (mid, right) = rest.split_at_mut(nx * c);
        left.copy_from_slice(&pad_row[..dx * c]);
        mid.copy_from_slice(&s[sx * c..(sx + nx) * c]);
        right.copy_from_slice(&pad_row[..right.len()]);
    }
    Ok(())
}

/// Rows of a crop are short runs far apart (a crop of a 640-pixel RGB row is 672 of 1920
/// bytes), which the hardware prefetcher follows poorly: asking for the row this many rows
/// ahead makes crops of large batches 10-20% faster (they are bound by memory, like numpy's).
const PREFETCH_ROWS: usize = 16;

/// Hint the CPU to bring `bytes` into cache.
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = bytes.as_ptr();
        let mut k = 0;
        while k < bytes.len() {
            // SAFETY: a prefetch never faults; the address is inside `bytes` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(k).cast()) };
            k += 64;
        }
        if let Some(last) = bytes.last() {
            // SAFETY: as above (the last byte's line, when the start was not line-aligned).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(last).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// `int(round((n - c) / 2))` with Python's round-half-to-even, for `n >= c`.
fn round_half_even_half(k: usize) -> i64 {
    let q = (k / 2) as i64;
    if k % 2 == 1 && q % 2 == 1 {
        q + 1
    } else {
        q
    }
}

/// One axis of torchvision's `F.center_crop`: when the crop is larger it pads
/// `(c - n) // 2` before and the rest after, then crops at 0; otherwise it crops at
/// `int(round((n - c) / 2))`.
fn center_offset(n: usize, c: usize) -> i64 {
    if c > n {
        -(((c - n) / 2) as i64)
    } else {
        round_half_even_half(n - c)
    }
}

/// The box of torchvision's `CenterCrop((ch, cw))` on a `w x h` image (negative offsets and
/// overhangs are zero padding in torchvision, `pad_value` here).
pub fn center_box(w: usize, h: usize, cw: usize, ch: usize) -> CropBox {
    CropBox::new(center_offset(w, cw), center_offset(h, ch), cw, ch)
}

/// torchvision's `RandomCrop.get_params`: top uniform in `[0, h - ch]`, then left uniform in
/// `[0, w - cw]`, drawn from `rng`. A crop larger than the image is an error (torchvision
/// raises too, unless asked to pad).
pub fn random_box(
    rng: &mut SampleRng,
    w: usize,
    h: usize,
    cw: usize,
    ch: usize,
) -> Result<CropBox> {
    if cw > w || ch > h {
        return Err(Error::invalid(
            "sizes",
            format!("crop {cw}x{ch} is larger than the {w}x{h} image"),
        ));
    }
    let y = rng.int_inclusive(0, (h - ch) as i64);
    let x = rng.int_inclusive(0, (w - cw) as i64);
    Ok(CropBox::new(x, y, cw, ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize, c: usize) -> Vec<u8> {
        (0..w * h * c).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// The reference: pixel by pixel, padding outside.
    fn naive(src: &[u8], w: usize, h: usize, c: usize, bx: CropBox, pad: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..bx.height as i64 {
            for x in 0..bx.width as i64 {
                let (sx, sy) = (bx.x + x, bx.y + y);
                for k in 0..c {
                    out.push(
                        if sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h {
                            src[(sy as usize * w + sx as usize) * c + k]
                        } else {
                            pad[k]
                        },
                    );
                }
            }
        }
        out
    }

    #[test]
    fn crops_match_naive_inside_and_padded() {
        let (w, h) = (7, 5);
        for c in 1..=4 {
            let src = image(w, h, c);
            let pad: Vec<u8> = (0..c as u8).map(|k| 200 + k).collect();
            let view = ImageView::contiguous(&src, w, h, c).unwrap();
            for x in -3..9i64 {
                for y in -3..7i64 {
                    for (bw, bh) in [(1, 1), (3, 2), (7, 5), (10, 8), (2, 9)] {
                        let bx = CropBox::new(x, y, bw, bh);
                        let mut out = vec![0u8; bw * bh * c];
                        let dst = ImageViewMut::new(&mut out, bw, bh, c).unwrap();
                        crop_into(view, dst, bx, Some(&pad)).unwrap();
                        assert_eq!(out, naive(&src, w, h, c, bx, &pad), "{bx:?} c={c}");
                        let mut out2 = vec![0u8; bw * bh * c];
                        let dst = ImageViewMut::new(&mut out2, bw, bh, c).unwrap();
                        let r = crop_into(view, dst, bx, None);
                        assert_eq!(r.is_ok(), bx.inside(w, h));
                        if r.is_ok() {
                            assert_eq!(out2, out);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn strided_source() {
        // A 3x2 RGB image inside rows of 16 bytes.
        let src: Vec<u8> = (0..32).collect();
        let view = ImageView::new(&src, 3, 2, 3, 16).unwrap();
        let mut out = vec![0u8; 12];
        let dst = ImageViewMut::new(&mut out, 2, 2, 3).unwrap();
        crop_into(view, dst, CropBox::new(1, 0, 2, 2), None).unwrap();
        assert_eq!(out, vec![3, 4, 5, 6, 7, 8, 19, 20, 21, 22, 23, 24]);
    }

    #[test]
    fn center_matches_torchvision_formula() {
        // torchvision: crop_top = int(round((h - ch) / 2.0)) (half to even).
        assert_eq!(center_box(10, 10, 4, 4), CropBox::new(3, 3, 4, 4));
        assert_eq!(center_box(11, 9, 4, 4), CropBox::new(4, 2, 4, 4)); // 3.5 -> 4, 2.5 -> 2
        assert_eq!(center_box(5, 5, 5, 5), CropBox::new(0, 0, 5, 5));
        // Larger: pad (c - n) // 2 before.
        assert_eq!(center_box(3, 4, 6, 7), CropBox::new(-1, -1, 6, 7));
        assert_eq!(center_box(3, 10, 8, 4), CropBox::new(-2, 3, 8, 4));
    }

    #[test]
    fn random_boxes_are_inside_and_cover_the_range() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..2000 {
            let mut rng = SampleRng::new(3, 0, i);
            let b = random_box(&mut rng, 10, 6, 7, 4).unwrap();
            assert!(b.inside(10, 6));
            seen.insert((b.x, b.y));
        }
        assert_eq!(seen.len(), 4 * 3);
        let mut rng = SampleRng::new(0, 0, 0);
        assert!(random_box(&mut rng, 4, 4, 5, 4).is_err());
        assert_eq!(
            random_box(&mut rng, 4, 4, 4, 4).unwrap(),
            CropBox::new(0, 0, 4, 4)
        );
    }
}
