//! Nearest-neighbour resizes. Own code: the two references pick source pixels by different
//! formulas and neither is fir's (see the parent module); we reproduce each bit for bit.

use crate::image::{ImageView, ImageViewMut};

/// Pillow's `Image.resize(size, NEAREST)` (ImagingScaleAffine): the source position starts at
/// half a step and is advanced by repeated addition of the step `src / dst` in double
/// precision, then truncated.
pub fn pillow(src: ImageView<'_>, dst: ImageViewMut<'_>) {
    let positions = |sn: usize, dn: usize| -> Vec<usize> {
        let step = sn as f64 / dn as f64;
        let mut pos = step * 0.5;
        (0..dn)
            .map(|_| {
                let i = if pos < 0.0 { 0 } else { pos as usize };
                pos += step;
                i.min(sn - 1)
            })
            .collect()
    };
    let (xs, ys) = (
        positions(src.width, dst.width),
        positions(src.height, dst.height),
    );
    gather(src, dst, &xs, &ys);
}

/// `cv2.resize(..., INTER_NEAREST)` (resizeNN): source index `floor(x * (1 / (dw / sw)))`,
/// clamped to the last pixel.
pub fn opencv(src: ImageView<'_>, dst: ImageViewMut<'_>) {
    let positions = |sn: usize, dn: usize| -> Vec<usize> {
        let inv = 1.0 / (dn as f64 / sn as f64);
        (0..dn)
            .map(|x| ((x as f64 * inv).floor() as usize).min(sn - 1))
            .collect()
    };
    let (xs, ys) = (
        positions(src.width, dst.width),
        positions(src.height, dst.height),
    );
    gather(src, dst, &xs, &ys);
}

fn gather(src: ImageView<'_>, dst: ImageViewMut<'_>, xs: &[usize], ys: &[usize]) {
    match src.channels {
        1 => gather_n::<1>(src, dst, xs, ys),
        2 => gather_n::<2>(src, dst, xs, ys),
        3 => gather_n::<3>(src, dst, xs, ys),
        _ => gather_n::<4>(src, dst, xs, ys),
    }
}

fn gather_n<const C: usize>(src: ImageView<'_>, dst: ImageViewMut<'_>, xs: &[usize], ys: &[usize]) {
    let row_len = dst.width * C;
    let mut prev: Option<usize> = None;
    for (y, &sy) in ys.iter().enumerate() {
        let (done, rest) = dst.data.split_at_mut(y * row_len);
        let out = &mut rest[..row_len];
        if prev == Some(sy) {
            // Enlarging repeats source rows: copy the row just produced.
            out.copy_from_slice(&done[(y - 1) * row_len..]);
            continue;
        }
        prev = Some(sy);
        let row = src.row(sy);
        for (o, &sx) in out.chunks_exact_mut(C).zip(xs) {
            o.copy_from_slice(&row[sx * C..sx * C + C]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(ImageView<'_>, ImageViewMut<'_>), sw: usize, dw: usize) -> Vec<u8> {
        let src: Vec<u8> = (0..sw as u8).collect();
        let mut out = vec![0u8; dw];
        f(
            ImageView::contiguous(&src, sw, 1, 1).unwrap(),
            ImageViewMut::new(&mut out, dw, 1, 1).unwrap(),
        );
        out
    }

    #[test]
    fn index_formulas() {
        // Pillow: centres (x + 0.5) * 5/3 = 0.83, 2.5, 4.17 -> 0, 2, 4.
        assert_eq!(run(pillow, 5, 3), vec![0, 2, 4]);
        // OpenCV: floor(x * 5/3) = 0, 1, 3.
        assert_eq!(run(opencv, 5, 3), vec![0, 1, 3]);
        assert_eq!(run(pillow, 2, 5), vec![0, 0, 1, 1, 1]);
        assert_eq!(run(opencv, 2, 5), vec![0, 0, 0, 1, 1]);
    }
}
