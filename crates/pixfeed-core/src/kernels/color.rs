//! Channel-layout conversion between L, RGB, BGR, RGBA and BGRA, with Pillow's semantics:
//! L is `crate::convert::luma` (Pillow's ITU-R 601 `L24`), L -> colour replicates the gray value,
//! dropping alpha does not composite, adding alpha uses a constant.

use crate::codecs::Layout;
use crate::convert::luma;
use crate::image::{ImageView, ImageViewMut};
use crate::{Error, Result};

/// The layouts `convert` works between.
pub fn supported(layout: Layout) -> bool {
    matches!(
        layout,
        Layout::Gray | Layout::Rgb | Layout::Bgr | Layout::Rgba | Layout::Bgra
    )
}

/// Whether a 3/4-channel layout stores red first.
fn red_first(layout: Layout) -> bool {
    matches!(layout, Layout::Rgb | Layout::Rgba)
}

/// Convert `src` (laid out as `from`) into `dst` (laid out as `to`, same size). `alpha` fills the
/// alpha channel when `to` has one and `from` does not.
pub fn convert_into(
    src: ImageView<'_>,
    dst: ImageViewMut<'_>,
    from: Layout,
    to: Layout,
    alpha: u8,
) -> Result<()> {
    if !supported(from) || !supported(to) {
        return Err(Error::invalid(
            "to",
            format!("no conversion {from:?} -> {to:?}"),
        ));
    }
    if src.channels != from.channels() {
        return Err(Error::invalid(
            "images",
            format!(
                "a {from:?} image has {} channels, got {}",
                from.channels(),
                src.channels
            ),
        ));
    }
    if (dst.width, dst.height, dst.channels) != (src.width, src.height, to.channels()) {
        return Err(Error::invalid(
            "out",
            format!(
                "destination is {}x{}x{}, expected {}x{}x{}",
                dst.width,
                dst.height,
                dst.channels,
                src.width,
                src.height,
                to.channels()
            ),
        ));
    }
    let out_row = src.width * to.channels();
    if out_row == 0 {
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::avx2() {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { convert_rows_avx2(src, dst, from, to, alpha) };
        return Ok(());
    }
    convert_rows(src, dst, from, to, alpha);
    Ok(())
}

/// [`convert_rows`] compiled for AVX2: LLVM turns the stride-3/4 pixel loops into shuffles,
/// several times faster than the SSE2 build (figures in benchmarks/RESULTS.md).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convert_rows_avx2(
    src: ImageView<'_>,
    dst: ImageViewMut<'_>,
    from: Layout,
    to: Layout,
    alpha: u8,
) {
    convert_rows(src, dst, from, to, alpha)
}

#[inline(always)]
fn convert_rows(src: ImageView<'_>, dst: ImageViewMut<'_>, from: Layout, to: Layout, alpha: u8) {
    // A contiguous source is one long row: fewer, longer inner loops.
    if src.is_contiguous() {
        let n = src.height * src.row_stride;
        convert_row(&src.data[..n], dst.data, from, to, alpha);
        return;
    }
    let out_row = src.width * to.channels();
    for (y, out) in dst.data.chunks_exact_mut(out_row).enumerate() {
        convert_row(src.row(y), out, from, to, alpha);
    }
}

/// One run of whole pixels. Each arm is a loop with constant pixel sizes (vectorizable).
#[inline(always)]
fn convert_row(s: &[u8], d: &mut [u8], from: Layout, to: Layout, alpha: u8) {
    let (fc, tc) = (from.channels(), to.channels());
    let same_order = red_first(from) == red_first(to);
    match (fc, tc) {
        _ if from == to => d.copy_from_slice(s),
        (1, 3) => px::<1, 3>(s, d, |p| [p[0]; 3]),
        (1, 4) => px::<1, 4>(s, d, |p| [p[0], p[0], p[0], alpha]),
        (3, 1) if red_first(from) => px::<3, 1>(s, d, |p| [luma(p[0], p[1], p[2])]),
        (3, 1) => px::<3, 1>(s, d, |p| [luma(p[2], p[1], p[0])]),
        (4, 1) if red_first(from) => px::<4, 1>(s, d, |p| [luma(p[0], p[1], p[2])]),
        (4, 1) => px::<4, 1>(s, d, |p| [luma(p[2], p[1], p[0])]),
        (3, 3) => px::<3, 3>(s, d, |p| [p[2], p[1], p[0]]),
        (3, 4) if same_order => px::<3, 4>(s, d, |p| [p[0], p[1], p[2], alpha]),
        (3, 4) => px::<3, 4>(s, d, |p| [p[2], p[1], p[0], alpha]),
        (4, 3) if same_order => px::<4, 3>(s, d, |p| [p[0], p[1], p[2]]),
        (4, 3) => px::<4, 3>(s, d, |p| [p[2], p[1], p[0]]),
        (4, 4) => px::<4, 4>(s, d, |p| [p[2], p[1], p[0], p[3]]),
        _ => unreachable!("{from:?} -> {to:?}: checked by convert_into"),
    }
}

/// `d[pixel i] = f(s[pixel i])` with indexed loops over fixed-size pixels: the form LLVM
/// vectorizes best here (`chunks_exact` zips were 2-4x slower).
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn px<const I: usize, const O: usize>(s: &[u8], d: &mut [u8], f: impl Fn([u8; I]) -> [u8; O]) {
    let n = (s.len() / I).min(d.len() / O);
    let (s, d) = (&s[..I * n], &mut d[..O * n]);
    for i in 0..n {
        let mut p = [0u8; I];
        for k in 0..I {
            p[k] = s[I * i + k];
        }
        let o = f(p);
        for k in 0..O {
            d[O * i + k] = o[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Layout::*;

    fn get(layout: Layout, p: &[u8]) -> (u8, u8, u8, Option<u8>) {
        match layout {
            Gray => (p[0], p[0], p[0], None),
            Rgb => (p[0], p[1], p[2], None),
            Bgr => (p[2], p[1], p[0], None),
            Rgba => (p[0], p[1], p[2], Some(p[3])),
            Bgra => (p[2], p[1], p[0], Some(p[3])),
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_pair_matches_the_definition() {
        let all = [Gray, Rgb, Bgr, Rgba, Bgra];
        let (w, h) = (5, 3);
        for from in all {
            let fc = from.channels();
            // Rows padded to 32 bytes: the strided path too.
            let src: Vec<u8> = (0..32 * h).map(|i| (i * 37 % 256) as u8).collect();
            for view in [
                ImageView::new(&src, w, h, fc, 32).unwrap(),
                ImageView::contiguous(&src[..w * h * fc], w, h, fc).unwrap(),
            ] {
                for to in all {
                    let tc = to.channels();
                    let mut out = vec![0u8; w * h * tc];
                    let dst = ImageViewMut::new(&mut out, w, h, tc).unwrap();
                    convert_into(view, dst, from, to, 77).unwrap();
                    // The portable build too (convert_into picks AVX2 when available).
                    let mut portable = vec![0u8; w * h * tc];
                    let dst = ImageViewMut::new(&mut portable, w, h, tc).unwrap();
                    convert_rows(view, dst, from, to, 77);
                    assert_eq!(portable, out);
                    for y in 0..h {
                        for x in 0..w {
                            let s = &view.row(y)[x * fc..(x + 1) * fc];
                            let o = &out[(y * w + x) * tc..(y * w + x + 1) * tc];
                            let (r, g, b, a) = get(from, s);
                            let want: Vec<u8> = match to {
                                Gray if from == Gray => vec![s[0]],
                                Gray => vec![luma(r, g, b)],
                                Rgb => vec![r, g, b],
                                Bgr => vec![b, g, r],
                                Rgba => vec![r, g, b, a.unwrap_or(77)],
                                Bgra => vec![b, g, r, a.unwrap_or(77)],
                                _ => unreachable!(),
                            };
                            assert_eq!(o, &want[..], "{from:?} -> {to:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn channel_mismatch_is_an_error() {
        let src = [0u8; 12];
        let view = ImageView::contiguous(&src, 4, 1, 3).unwrap();
        let mut out = [0u8; 4];
        let dst = ImageViewMut::new(&mut out, 4, 1, 1).unwrap();
        assert!(convert_into(view, dst, Rgba, Gray, 255).is_err());
    }
}
