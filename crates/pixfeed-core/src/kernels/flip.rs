//! Horizontal / vertical flips (numpy's `a[:, ::-1]` / `a[::-1]`, made contiguous).

use crate::image::{ImageView, ImageViewMut};

/// Copy `src` into `dst` (same size and channels), mirrored as asked.
pub fn flip_into(src: ImageView<'_>, dst: ImageViewMut<'_>, horizontal: bool, vertical: bool) {
    let (w, h, c) = (src.width, src.height, src.channels);
    debug_assert_eq!((dst.width, dst.height, dst.channels), (w, h, c));
    let row_len = w * c;
    for (y, out) in dst.data.chunks_exact_mut(row_len).enumerate().take(h) {
        let sy = if vertical { h - 1 - y } else { y };
        let row = src.row(sy);
        if !horizontal {
            out.copy_from_slice(row);
            continue;
        }
        // One match on the channel count so each loop has a constant pixel size.
        match c {
            1 => out
                .iter_mut()
                .zip(row.iter().rev())
                .for_each(|(o, s)| *o = *s),
            3 => reverse_pixels::<3>(row, out),
            4 => reverse_pixels::<4>(row, out),
            2 => reverse_pixels::<2>(row, out),
            _ => {
                for (o, s) in out.chunks_exact_mut(c).zip(row.chunks_exact(c).rev()) {
                    o.copy_from_slice(s);
                }
            }
        }
    }
}

#[inline(always)]
fn reverse_pixels<const C: usize>(row: &[u8], out: &mut [u8]) {
    for (o, s) in out.chunks_exact_mut(C).zip(row.chunks_exact(C).rev()) {
        o.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_match_index_reversal() {
        let (w, h) = (5, 3);
        for c in 1..=4 {
            let src: Vec<u8> = (0..w * h * c).map(|i| i as u8).collect();
            let view = ImageView::contiguous(&src, w, h, c).unwrap();
            for (hz, vt) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut out = vec![0u8; src.len()];
                flip_into(view, ImageViewMut::new(&mut out, w, h, c).unwrap(), hz, vt);
                for y in 0..h {
                    for x in 0..w {
                        let sx = if hz { w - 1 - x } else { x };
                        let sy = if vt { h - 1 - y } else { y };
                        for k in 0..c {
                            assert_eq!(out[(y * w + x) * c + k], src[(sy * w + sx) * c + k]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn strided_rows() {
        // 2x2 RGB image inside rows of 10 bytes.
        let src: Vec<u8> = (0..20).collect();
        let view = ImageView::new(&src, 2, 2, 3, 10).unwrap();
        let mut out = vec![0u8; 12];
        flip_into(
            view,
            ImageViewMut::new(&mut out, 2, 2, 3).unwrap(),
            true,
            false,
        );
        assert_eq!(out, vec![3, 4, 5, 0, 1, 2, 13, 14, 15, 10, 11, 12]);
    }
}
