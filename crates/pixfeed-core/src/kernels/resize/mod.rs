//! Resize: five interpolations, each in two flavours that match a reference library to within
//! one level on uint8 (docs/array-ops.md):
//!
//! | interpolation | `antialias=true` (Pillow)        | `antialias=false` (`cv2.resize`)      |
//! |---------------|----------------------------------|---------------------------------------|
//! | nearest       | own: [`nearest::pillow`]         | own: [`nearest::opencv`]              |
//! | bilinear      | own: [`pillow`] (exact)          | own: [`linear`] (speed)               |
//! | bicubic       | own: [`pillow`] (exact)          | own: [`opencv`] + [`fixedtap`]        |
//! | lanczos       | own: [`pillow`] (exact)          | own: [`opencv`] + [`fixedtap`]        |
//! | area          | own: [`pillow`] (exact, BOX)     | own: [`opencv::resize_area`]          |
//!
//! All kernels are our own; fast_image_resize 6.1 (fir) was tried first for each and either
//! breaks the one-level contract or is too slow:
//! - nearest: fir samples `(x + 0.5) * scale` by multiplication; Pillow accumulates the same
//!   position by repeated addition and OpenCV samples `floor(x / (dw / sw))`. Any disagreement
//!   picks a different source pixel, which no tolerance covers, so we mirror each formula.
//! - OpenCV INTER_CUBIC (a = -0.75) and INTER_LANCZOS4 (8 taps) replicate the border pixel for
//!   taps outside the image, where fir drops those taps and renormalizes; near the borders the
//!   two differ by many levels. fir's custom filters cannot express the replication.
//! - OpenCV INTER_AREA averages with fractional pixel coverage (fir's Box filter uses whole
//!   pixels) and, when either axis is enlarged, falls back to a 2-tap filter with its own
//!   coefficient formula.
//! - Pillow's filters: fir's convolution has the same filters but 16-bit weights, a fixed pass
//!   order and its own placement of pixel centres; each breaks the one-level contract in some
//!   cases (details in [`pillow`]), so we reproduce Pillow's integer arithmetic exactly.
//! - OpenCV INTER_LINEAR: fir's `Interpolation(Bilinear)` matches within one level but is
//!   slower than OpenCV, over this call's budget (see [`linear`]).
//!
//! Channels are resized independently (no alpha premultiplication), like `cv2.resize` and
//! Pillow's RGBX/CMYK modes. Pillow premultiplies RGBA and LA images; we do not (the fourth
//! channel of an array is not necessarily alpha).
//!
//! Which engine serves which caller:
//!
//! | caller                                               | engine                              |
//! |------------------------------------------------------|-------------------------------------|
//! | `pixfeed.resize`, `random_resized_crop` (arrays)     | the kernels above ([`resize_into`]) |
//! | loader and `crop_paths`, `exact=True`                | the kernels above (Pillow column)   |
//! | loader and `crop_paths`, fast mode (the default)     | fir ([`fast_alg`]), not the above   |
//!
//! The fast mode trades the one-level contract for speed: its input is already a reduced
//! DCT-scale decode, so it is close to the reference, not equal (docs/loader.md).

pub mod fixedtap;
pub mod linear;
pub mod nearest;
pub mod opencv;
pub mod pillow;

use crate::image::{ImageView, ImageViewMut, Rect};
use crate::{Error, Result};

/// The interpolation names of the Python API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    Nearest,
    Bilinear,
    Bicubic,
    Lanczos,
    Area,
}

crate::names::named!(
    Interpolation,
    "interpolation",
    OneOfBare,
    [
        ("nearest", Interpolation::Nearest),
        ("bilinear", Interpolation::Bilinear),
        ("bicubic", Interpolation::Bicubic),
        ("lanczos", Interpolation::Lanczos),
        ("area", Interpolation::Area),
    ]
);

/// How to resize: the filter and which reference it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    pub interpolation: Interpolation,
    /// true: Pillow's filters (antialiased when shrinking); false: `cv2.resize`.
    pub antialias: bool,
}

impl Filter {
    pub fn new(interpolation: Interpolation, antialias: bool) -> Self {
        Filter {
            interpolation,
            antialias,
        }
    }
}

/// Output `(width, height)` for a shorter-side size, as torchvision's `resize(img, int)`:
/// the shorter side becomes `size`, the longer `int(size * long / short)`.
pub fn shorter_side_size(width: usize, height: usize, size: usize) -> (usize, usize) {
    let (short, long) = if width <= height {
        (width, height)
    } else {
        (height, width)
    };
    // Python's `int(size * long / short)`: an exact integer product, one correctly rounded
    // division, truncation. Both operands are exact in f64 below 2**53.
    let new_long = ((size as f64 * long as f64) / short as f64) as usize;
    if width <= height {
        (size, new_long)
    } else {
        (new_long, size)
    }
}

/// The part `r` of `src` as a view of the same buffer (no copy).
pub fn crop_view<'a>(src: ImageView<'a>, r: Rect) -> Result<ImageView<'a>> {
    if !r.fits_in(src.width as u32, src.height as u32) {
        return Err(Error::invalid(
            "box",
            format!(
                "({}, {}, {}, {}) is not inside the {}x{} image",
                r.x, r.y, r.width, r.height, src.width, src.height
            ),
        ));
    }
    let (x, y, w, h) = (
        r.x as usize,
        r.y as usize,
        r.width as usize,
        r.height as usize,
    );
    let start = y * src.row_stride + x * src.channels;
    let end = start + (h - 1) * src.row_stride + w * src.channels;
    ImageView::new(&src.data[start..end], w, h, src.channels, src.row_stride)
}

/// Byte shuffles shared by the AVX2 horizontal passes of [`linear`] and [`fixedtap`] (both
/// blend pairs of taps with one `pmaddwd` and pack eight output pixels per step).
#[cfg(target_arch = "x86_64")]
pub(crate) mod shuffles {
    use std::arch::x86_64::*;

    /// A shuffle index with the top bit set yields 0.
    const Z: i8 = -128;

    /// For `c` = 3 or 4 channels: `inter` turns the i16 lanes of two pixels
    /// `[a0 a1 a2 (a3) b0 b1 b2 (b3)]` into `[a0 b0 a1 b1 a2 b2 a3|0 b3|0]`; `order` restores
    /// the pixel order of the dwords after packing (0 2 4 6 | 1 3 5 7); `squeeze` packs
    /// 4-byte pixels into 3 bytes within each 16-byte lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn pairs(c: usize) -> (__m256i, __m256i, __m256i) {
        let inter = if c == 3 {
            _mm256_setr_epi8(
                0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, Z, Z, Z, Z, 0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10,
                11, Z, Z, Z, Z,
            )
        } else {
            _mm256_setr_epi8(
                0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15, 0, 1, 8, 9, 2, 3, 10, 11, 4,
                5, 12, 13, 6, 7, 14, 15,
            )
        };
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let squeeze = _mm256_setr_epi8(
            0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, Z, Z, Z, Z, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13,
            14, Z, Z, Z, Z,
        );
        (inter, order, squeeze)
    }

    /// The store loop both passes end with: for `dx` = 0, 8, .. below `n` (a multiple of 8),
    /// pack outputs `dx..dx + 8` (i32 channels, two pixels per register from `two(dx)`,
    /// `two(dx + 2)`, ..) to bytes in pixel order and write them at `out[dx * c..]`. Each
    /// step stores 32 bytes (4 past the 24 of three channels): `n` must keep them inside
    /// `out`. Returns `n`, the outputs done.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn pack_store<F: Fn(usize) -> __m256i>(
        out: &mut [u8],
        n: usize,
        c: usize,
        order: __m256i,
        squeeze: __m256i,
        two: F,
    ) -> usize {
        let mut dx = 0;
        while dx < n {
            let p01 = _mm256_packs_epi32(two(dx), two(dx + 2));
            let p23 = _mm256_packs_epi32(two(dx + 4), two(dx + 6));
            let bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p01, p23), order);
            let o = &mut out[dx * c..dx * c + 32];
            if c == 3 {
                let sq = _mm256_shuffle_epi8(bytes, squeeze);
                // SAFETY: `o` has 32 bytes; the two 16-byte stores cover bytes 0..28.
                unsafe {
                    _mm_storeu_si128(o.as_mut_ptr().cast(), _mm256_castsi256_si128(sq));
                    _mm_storeu_si128(
                        o[12..].as_mut_ptr().cast(),
                        _mm256_extracti128_si256::<1>(sq),
                    );
                }
            } else {
                // SAFETY: `o` has 32 bytes.
                unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), bytes) };
            }
            dx += 8;
        }
        dx
    }
}

impl Interpolation {
    /// Filter radius in source pixels at scale 1 (the margin a resampled crop reads).
    pub fn support(self) -> f64 {
        match self {
            Interpolation::Nearest | Interpolation::Area => 0.5,
            Interpolation::Bilinear => 1.0,
            Interpolation::Bicubic => 2.0,
            Interpolation::Lanczos => 3.0,
        }
    }
}

/// fast_image_resize's algorithm for `filter` in the loader's fast mode (see the table
/// above): its convolution when antialiased, its interpolation otherwise.
pub fn fast_alg(filter: Filter) -> fast_image_resize::ResizeAlg {
    use fast_image_resize::{FilterType as F, ResizeAlg};
    let f = match filter.interpolation {
        Interpolation::Nearest => return ResizeAlg::Nearest,
        Interpolation::Bilinear => F::Bilinear,
        Interpolation::Bicubic => F::CatmullRom,
        Interpolation::Lanczos => F::Lanczos3,
        Interpolation::Area => F::Box,
    };
    if filter.antialias {
        ResizeAlg::Convolution(f)
    } else {
        ResizeAlg::Interpolation(f)
    }
}

pub(crate) fn pil_filter(i: Interpolation) -> pillow::PilFilter {
    match i {
        Interpolation::Bilinear => pillow::PilFilter::Bilinear,
        Interpolation::Bicubic => pillow::PilFilter::Bicubic,
        Interpolation::Lanczos => pillow::PilFilter::Lanczos,
        Interpolation::Area | Interpolation::Nearest => pillow::PilFilter::Box,
    }
}

fn check(src: &ImageView<'_>, dst: &ImageViewMut<'_>) -> Result<()> {
    if src.channels != dst.channels || !(1..=4).contains(&src.channels) {
        return Err(Error::invalid(
            "images",
            format!(
                "cannot resize {} channels into {}",
                src.channels, dst.channels
            ),
        ));
    }
    if src.width == 0 || src.height == 0 || dst.width == 0 || dst.height == 0 {
        return Err(Error::invalid(
            "sizes",
            format!(
                "cannot resize {}x{} to {}x{}",
                src.width, src.height, dst.width, dst.height
            ),
        ));
    }
    if u32::try_from(src.width.max(src.height).max(dst.width).max(dst.height)).is_err() {
        return Err(Error::invalid("sizes", "dimensions above 2**32 - 1"));
    }
    Ok(())
}

/// Below this many source + destination bytes a single image is resized on one thread.
pub const BAND_WORK_BYTES: usize = 2 << 20;

/// Resize `src` into `dst` (any sizes >= 1, same channel count 1-4) on the calling thread.
pub fn resize_into(src: ImageView<'_>, dst: ImageViewMut<'_>, filter: Filter) -> Result<()> {
    check(&src, &dst)?;
    if src.width == dst.width && src.height == dst.height {
        // Both references copy when the size does not change.
        let row = src.width * src.channels;
        for (y, out) in dst.data.chunks_exact_mut(row).enumerate() {
            out.copy_from_slice(src.row(y));
        }
        return Ok(());
    }
    use Interpolation as I;
    match (filter.interpolation, filter.antialias) {
        (I::Nearest, true) => nearest::pillow(src, dst),
        (I::Nearest, false) => nearest::opencv(src, dst),
        (i, true) => pillow::resize(src, dst, pil_filter(i)),
        // OpenCV halves with its INTER_AREA code (the same values, rounded once).
        (I::Bilinear, false) if src.width == 2 * dst.width && src.height == 2 * dst.height => {
            opencv::resize_area(src, dst)
        }
        (I::Bilinear, false) => linear::resize(src, dst),
        (I::Bicubic, false) => opencv::resize_generic(src, dst, opencv::Kernel::Cubic),
        (I::Lanczos, false) => opencv::resize_generic(src, dst, opencv::Kernel::Lanczos4),
        (I::Area, false) => opencv::resize_area(src, dst),
    }
    Ok(())
}

/// As [`resize_into`], but a large image with one of Pillow's convolution filters is split
/// into bands of output rows resized in parallel on the pool (`threads` as `pool::install`).
/// The arithmetic is exact integer, so the result does not depend on the split.
pub fn resize_into_par(
    src: ImageView<'_>,
    dst: ImageViewMut<'_>,
    filter: Filter,
    threads: Option<usize>,
) -> Result<()> {
    check(&src, &dst)?;
    let work = (src.width * src.height + dst.width * dst.height) * src.channels;
    let convolution = filter.antialias && filter.interpolation != Interpolation::Nearest;
    let same = src.width == dst.width && src.height == dst.height;
    if !convolution || same || work < BAND_WORK_BYTES || dst.height < 2 || threads == Some(1) {
        return resize_into(src, dst, filter);
    }
    let plan = pillow::Plan::new(
        src.width,
        src.height,
        dst.width,
        dst.height,
        pil_filter(filter.interpolation),
    );
    let row_len = dst.width * dst.channels;
    let height = dst.height;
    crate::pool::install_for(height, threads, || {
        use rayon::prelude::*;
        let bands = (rayon::current_num_threads() * 4).clamp(1, height);
        let band_rows = height.div_ceil(bands);
        dst.data
            .par_chunks_mut(band_rows * row_len)
            .enumerate()
            .try_for_each(|(i, out)| {
                crate::error::catch_panic(|| {
                    let y0 = i * band_rows;
                    pillow::resize_rows(src, &plan, y0..y0 + out.len() / row_len, out);
                    Ok(())
                })
            })
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_matches_torchvision() {
        assert_eq!(shorter_side_size(640, 480, 256), (341, 256));
        assert_eq!(shorter_side_size(480, 640, 256), (256, 341));
        assert_eq!(shorter_side_size(100, 100, 7), (7, 7));
        // int(224 * 500 / 375) = int(298.666...) = 298
        assert_eq!(shorter_side_size(500, 375, 224), (298, 224));
    }

    #[test]
    fn crop_view_is_the_sub_rectangle() {
        let src: Vec<u8> = (0..4 * 5 * 3).map(|i| i as u8).collect();
        let v = ImageView::contiguous(&src, 5, 4, 3).unwrap();
        let c = crop_view(v, Rect::new(1, 2, 3, 2)).unwrap();
        assert_eq!((c.width, c.height, c.row_stride), (3, 2, 15));
        assert_eq!(c.row(0), &src[2 * 15 + 3..2 * 15 + 12]);
        assert_eq!(c.row(1), &src[3 * 15 + 3..3 * 15 + 12]);
        assert!(crop_view(v, Rect::new(3, 0, 3, 1)).is_err());
    }

    fn all_filters() -> Vec<Filter> {
        let mut v = Vec::new();
        for i in [
            Interpolation::Nearest,
            Interpolation::Bilinear,
            Interpolation::Bicubic,
            Interpolation::Lanczos,
            Interpolation::Area,
        ] {
            v.push(Filter::new(i, true));
            v.push(Filter::new(i, false));
        }
        v
    }

    #[test]
    fn constant_images_stay_constant() {
        for f in all_filters() {
            for c in 1..=4 {
                for (sw, sh, dw, dh) in [(7, 5, 3, 2), (3, 2, 11, 9), (1, 1, 4, 3), (9, 1, 2, 5)] {
                    let src = vec![77u8; sw * sh * c];
                    let mut out = vec![0u8; dw * dh * c];
                    let v = ImageView::contiguous(&src, sw, sh, c).unwrap();
                    resize_into(v, ImageViewMut::new(&mut out, dw, dh, c).unwrap(), f).unwrap();
                    assert!(
                        out.iter().all(|&p| p.abs_diff(77) <= 1),
                        "{f:?} {c} {out:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn strided_source_equals_contiguous_copy() {
        let (w, h, c, stride) = (13, 9, 3, 50);
        let buf: Vec<u8> = (0..stride * h).map(|i| (i * 37 % 251) as u8).collect();
        let strided = ImageView::new(&buf, w, h, c, stride).unwrap();
        let packed: Vec<u8> = (0..h).flat_map(|y| strided.row(y).to_vec()).collect();
        let packed_v = ImageView::contiguous(&packed, w, h, c).unwrap();
        for f in all_filters() {
            let (mut a, mut b) = (vec![0u8; 5 * 4 * c], vec![0u8; 5 * 4 * c]);
            resize_into(strided, ImageViewMut::new(&mut a, 5, 4, c).unwrap(), f).unwrap();
            resize_into(packed_v, ImageViewMut::new(&mut b, 5, 4, c).unwrap(), f).unwrap();
            assert_eq!(a, b, "{f:?}");
        }
    }
}
