//! `crop_paths` (docs/crop-from-files.md): one window per source, uint8 HWC straight into the caller's
//! batch. The crop box comes from the header (parallel_image_crop's geometry, see
//! [`relative_box`]); only that box is decoded (JPEG: ROI + the smallest DCT scale
//! that still covers the window; BMP: its rows; PNG: rows down to its last one), then resized
//! into the batch slot in one step. A crop that is already the window's size (scale 1,
//! e.g. a 256x256 box for a 256 window) is copied, not resampled.
//!
//! This is the loader's per-image pass ([`super::run_one`]) without the flip, normalization
//! and layout steps, which a uint8 HWC window never needs.

use std::cell::RefCell;

use fast_image_resize as fir;

use crate::codecs::Mode;
use crate::decode::{decode_region, probe, DecodeOptions};
use crate::error::catch_panic;
use crate::geometry::{relative_box, RelativeCrop};
use crate::image::Rect;
use crate::kernels::resize::{Filter, Interpolation};
use crate::source::{with_ranges, Source};
use crate::{pool, Error, Result};

/// What every item of a `crop_paths` batch shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropSpec {
    /// Output `window x window`.
    pub window: u32,
    pub max_img_percent: f64,
    /// `anchor="center"`: `(x, y)` is the crop's centre instead of its corner.
    pub center: bool,
    /// `Rgb`, `Bgr`, `Rgba` or `L` (8-bit output).
    pub mode: Mode,
    pub interp: Interpolation,
    pub antialias: bool,
    pub max_pixels: u64,
    /// See `RawRequest::strict`.
    pub strict: bool,
    /// Full-scale accurate decode and `pixfeed.resize`'s kernels (Pillow's arithmetic):
    /// the same bytes as Pillow's crop then resize (see `exact_window` in the parent module).
    pub exact: bool,
}

impl CropSpec {
    /// Bytes of one batch item.
    pub fn item_bytes(&self) -> usize {
        self.window as usize * self.window as usize * self.mode.channels()
    }
}

thread_local! {
    static RESIZER: RefCell<fir::Resizer> = RefCell::new(fir::Resizer::new());
}

/// The file offsets of the rows [`crop_one`] reads when `head` starts an uncompressed BMP
/// (the same box, from the header's size).
fn bmp_rows(spec: &CropSpec, head: &[u8], rel: RelativeCrop) -> Option<Vec<std::ops::Range<u64>>> {
    let info = probe(head)
        .ok()
        .filter(|i| i.format == crate::codecs::Format::Bmp)?;
    let b = relative_box(
        info.width,
        info.height,
        rel,
        spec.max_img_percent,
        spec.center,
    );
    let roi = Rect::new(b.x as u32, b.y as u32, b.w as u32, b.h as u32);
    crate::decode::bmp_rows(head, Some(roi))
}

/// Crop one encoded image into `slot` (`window * window * channels` bytes).
pub fn crop_one(spec: &CropSpec, data: &[u8], rel: RelativeCrop, slot: &mut [u8]) -> Result<()> {
    if matches!(spec.mode, Mode::Unchanged) {
        return Err(Error::invalid("mode", "crop_paths needs an 8-bit mode"));
    }
    let (tw, th) = (spec.window, spec.window);
    let c = spec.mode.channels();
    if slot.len() != spec.item_bytes() {
        return Err(Error::invalid("out", "slot size does not match the window"));
    }
    let info = probe(data)?;
    let (iw, ih) = (info.width, info.height);
    crate::codecs::check_pixels(iw, ih, spec.max_pixels)?;
    // An integer box inside the image (relative_box floors sizes and truncates corners).
    let b = relative_box(iw, ih, rel, spec.max_img_percent, spec.center);
    let roi = Rect::new(b.x as u32, b.y as u32, b.w as u32, b.h as u32);
    if spec.exact {
        let (w, h) = (tw as usize, th as usize);
        let filter = Filter::new(spec.interp, spec.antialias);
        return super::exact_window(
            data,
            spec.mode,
            true,
            spec.max_pixels,
            spec.strict,
            (iw, ih),
            roi,
            (w, h),
            (0, 0, w, h),
            filter,
            slot,
        );
    }
    let full = roi.x == 0 && roi.y == 0 && roi.width == iw && roi.height == ih;
    let opts = DecodeOptions {
        mode: spec.mode,
        apply_exif: true,
        // The decoded region covers exactly the box, so "region >= window" is the condition
        // for the smallest DCT scale.
        reduce_to: Some((tw, th)),
        roi: if full { None } else { Some(roi) },
        max_pixels: spec.max_pixels,
        fast: false,
        strict: spec.strict,
    };
    let region = decode_region(data, &opts)?;
    let img = &region.image;
    let src = img
        .as_u8()
        .ok_or_else(|| Error::invalid("mode", "crop_paths needs 8-bit output"))?;
    if img.channels != c {
        return Err(Error::Internal(format!(
            "decoded {} channels for a {c}-channel window",
            img.channels
        )));
    }
    // The region is `view_width` columns from `view_x` (a JPEG band decode keeps more).
    let (vx, vw) = (region.view_x, region.view_width);
    if region.scale == 1.0 && (vw, img.height) == (tw as usize, th as usize) {
        // The region is the box and already the window's size: a 1:1 "resize" is a copy.
        let row = vw * c;
        for (y, out) in slot.chunks_exact_mut(row).enumerate() {
            let start = (y * img.width + vx) * c;
            out.copy_from_slice(&src[start..start + row]);
        }
        return Ok(());
    }

    RESIZER.with(|cell| {
        let filter = Filter::new(spec.interp, spec.antialias);
        super::fast_resize_box(&mut cell.borrow_mut(), &region, b, filter, (tw, th), slot)
    })
}

/// Crop `sources[i]` at `rel[i]` into the `i`-th `spec.item_bytes()` slot of `out`, on the
/// library pool (`threads`). Returns one result per item.
pub fn crop_batch(
    spec: &CropSpec,
    sources: &[Source<'_>],
    rel: &[RelativeCrop],
    out: &mut [u8],
    threads: Option<usize>,
) -> Result<Vec<Result<()>>> {
    let item = spec.item_bytes();
    if rel.len() != sources.len() {
        return Err(Error::invalid("rel", "one relative crop per source"));
    }
    if out.len() != item * sources.len() {
        return Err(Error::invalid(
            "out",
            format!(
                "{} sources and {} bytes do not make a batch of {item}-byte windows",
                sources.len(),
                out.len()
            ),
        ));
    }
    if item == 0 {
        return Ok(sources
            .iter()
            .map(|_| Err(Error::invalid("window_size", "must be >= 1")))
            .collect());
    }
    let one = |i: usize, slot: &mut [u8]| {
        catch_panic(|| {
            with_ranges(
                sources[i],
                |head| bmp_rows(spec, head, rel[i]),
                |data| crop_one(spec, data, rel[i], slot),
            )
        })
    };
    pool::map_slots(out, item, threads, one)
}
