//! The loader's fused per-image pass (docs/loader.md): plan the crop from the header ->
//! decode only that region at the smallest sufficient DCT scale -> resize the crop to the
//! output size -> flip -> normalize into the batch slot. One image never leaves its thread.

#[cfg(test)]
mod batch_tests;
pub mod crop;
pub mod write;
mod write_avx2;

use std::cell::RefCell;

use fast_image_resize as fir;

use crate::codecs::Mode;
use crate::decode::{decode_region, probe, DecodeOptions};
use crate::error::catch_panic;
use crate::geometry::{self, CropSampling};
use crate::image::{ImageView, ImageViewMut, Rect};
use crate::kernels::resize::{self, pillow, Filter, Interpolation};
use crate::rng::SampleRng;
use crate::source::{with_bytes, Source};
use crate::{pool, Error, Result};

pub use crate::geometry::{BoxF, RelativeCrop};
pub use write::{Lut, OutDtype, OutLayout};

/// How each image is cropped before the resize to `size`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CropKind {
    /// torchvision RandomResizedCrop sampling from the header's size.
    RandomResized(CropSampling),
    /// Resize the shorter side to `shorter`, then centre-crop `size` (torchvision order).
    Center { shorter: u32 },
    /// The whole image straight to `size`.
    Resize,
    /// No crop or resize: the image must already be `size`.
    None,
    /// A per-item [`RelativeCrop`] (parallel_image_crop's geometry, see
    /// [`geometry::relative_box`]), resized to `size`.
    Relative { max_img_percent: f64, center: bool },
}

/// The crop names of `pixfeed.Pipeline(crop=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CropName {
    RandomResized,
    Center,
    Resize,
    None,
}

crate::names::named!(
    CropName,
    "crop",
    Or,
    [
        ("random_resized", CropName::RandomResized),
        ("center", CropName::Center),
        ("resize", CropName::Resize),
        ("none", CropName::None),
    ]
);

impl CropKind {
    /// The crop `name` with its parameters (`sampling` for the random resized crop,
    /// `shorter` for the centre crop; the others take none).
    pub fn new(name: CropName, sampling: CropSampling, shorter: u32) -> Self {
        match name {
            CropName::RandomResized => CropKind::RandomResized(sampling),
            CropName::Center => CropKind::Center { shorter },
            CropName::Resize => CropKind::Resize,
            CropName::None => CropKind::None,
        }
    }
}

/// Everything a batch's images share.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    /// Output `(width, height)`.
    pub size: (u32, u32),
    pub crop: CropKind,
    /// Probability of a horizontal flip.
    pub flip: f64,
    pub mode: Mode,
    pub interp: Interpolation,
    pub antialias: bool,
    pub apply_exif: bool,
    pub max_pixels: u64,
    /// Decode JPEG with the fast IDCT and merged upsampling (see `RawRequest::fast`): the
    /// crop is resampled afterwards, which hides the difference.
    pub fast_decode: bool,
    /// See `RawRequest::strict`: a corrupt-data warning fails the item.
    pub strict: bool,
    /// Exact mode (see `run_exact`): full-scale accurate decode and Pillow's resize, equal
    /// to torchvision on PIL images; `fast_decode` is then ignored.
    pub exact: bool,
    pub dtype: OutDtype,
    pub layout: OutLayout,
    pub lut: Lut,
}

impl PipelineSpec {
    /// Bytes of one batch item.
    pub fn item_bytes(&self) -> usize {
        self.size.0 as usize * self.size.1 as usize * self.mode.channels() * self.dtype.size()
    }
}

fn pixel_type(c: usize) -> fir::PixelType {
    match c {
        1 => fir::PixelType::U8,
        2 => fir::PixelType::U8x2,
        3 => fir::PixelType::U8x3,
        _ => fir::PixelType::U8x4,
    }
}

thread_local! {
    // Scratch reused across images on the same pool thread (buffers only, no randomness).
    static SCRATCH: RefCell<(fir::Resizer, Vec<u8>)> = RefCell::new((fir::Resizer::new(), Vec::new()));
}

/// The random (or planned) parameters of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleParams {
    /// Crop box in the oriented source image's pixels (fractional for the centre variant).
    pub crop: BoxF,
    pub flip: bool,
}

/// Draw sample `key`'s parameters for an image of `iw x ih` (after orientation), in one
/// fixed order from its own stream: crop box first, then the flip.
pub fn sample_params(
    spec: &PipelineSpec,
    iw: u32,
    ih: u32,
    seed: u64,
    epoch: u64,
    key: u64,
    rel: Option<RelativeCrop>,
) -> SampleParams {
    let (tw, th) = spec.size;
    let mut rng = SampleRng::new(seed, epoch, key);
    let crop = match spec.crop {
        CropKind::RandomResized(sampling) => {
            geometry::random_resized_crop_box(iw, ih, &sampling, &mut rng).into()
        }
        CropKind::Center { shorter } => geometry::center_box(iw, ih, shorter, tw, th),
        CropKind::Relative {
            max_img_percent,
            center,
        } => match rel {
            Some(r) => geometry::relative_box(iw, ih, r, max_img_percent, center),
            None => BoxF::whole(iw, ih),
        },
        CropKind::Resize | CropKind::None => BoxF::whole(iw, ih),
    };
    let flip = spec.flip > 0.0 && rng.bernoulli(spec.flip);
    SampleParams { crop, flip }
}

/// Process one image into `slot`. `key` is the sample's dataset index.
pub fn run_one(
    spec: &PipelineSpec,
    data: &[u8],
    key: u64,
    seed: u64,
    epoch: u64,
    rel: Option<RelativeCrop>,
    slot: &mut [u8],
) -> Result<()> {
    let (tw, th) = spec.size;
    let info = probe(data)?;
    let (iw, ih) = if spec.apply_exif {
        (info.width, info.height)
    } else {
        // Without EXIF the stored size is what we crop from.
        crate::orient::oriented_size(info.width, info.height, info.orientation)
    };
    crate::codecs::check_pixels(iw, ih, spec.max_pixels)?;
    let sample = sample_params(spec, iw, ih, seed, epoch, key, rel);
    let (crop_box, flip) = (sample.crop, sample.flip);
    if spec.exact {
        return run_exact(spec, data, (iw, ih), crop_box, flip, slot);
    }
    let margin = match spec.crop {
        CropKind::Center { .. } => {
            let factor = (crop_box.w / f64::from(tw))
                .max(crop_box.h / f64::from(th))
                .max(1.0);
            (spec.interp.support() * factor).ceil() + 8.0
        }
        _ => 0.0,
    };

    // The integer region to decode: the box plus the filter's margin, inside the image.
    let x0 = (crop_box.x - margin).floor().max(0.0);
    let y0 = (crop_box.y - margin).floor().max(0.0);
    let x1 = (crop_box.x + crop_box.w + margin).ceil().min(f64::from(iw));
    let y1 = (crop_box.y + crop_box.h + margin).ceil().min(f64::from(ih));
    let roi = Rect::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32);
    let full = roi.x == 0 && roi.y == 0 && roi.width == iw && roi.height == ih;
    let reduce_to = match spec.crop {
        CropKind::None => None,
        // Smallest DCT scale at which the crop box still covers the output size.
        _ => Some((
            ((f64::from(tw) * f64::from(roi.width) / crop_box.w).ceil() as u32).max(1),
            ((f64::from(th) * f64::from(roi.height) / crop_box.h).ceil() as u32).max(1),
        )),
    };
    let opts = DecodeOptions {
        mode: spec.mode,
        apply_exif: spec.apply_exif,
        reduce_to,
        roi: if full { None } else { Some(roi) },
        max_pixels: spec.max_pixels,
        fast: spec.fast_decode,
        strict: spec.strict,
    };
    let region = decode_region(data, &opts)?;
    let img = &region.image;
    let c = img.channels;
    let src = img
        .as_u8()
        .ok_or_else(|| Error::invalid("mode", "the loader needs 8-bit output"))?;

    if spec.crop == CropKind::None {
        if (img.width, img.height) != (tw as usize, th as usize) {
            return Err(Error::invalid(
                "crop",
                format!(
                    "crop='none' needs every image to be {tw}x{th}, this one is {}x{}",
                    img.width, img.height
                ),
            ));
        }
        write::write_item(
            src,
            img.width,
            img.height,
            c,
            flip,
            &spec.lut,
            spec.layout,
            slot,
        );
        return Ok(());
    }

    SCRATCH.with(|cell| -> Result<()> {
        let mut guard = cell.borrow_mut();
        let (resizer, buf) = &mut *guard;
        let n = tw as usize * th as usize * c;
        buf.clear();
        buf.resize(n, 0);
        let filter = Filter::new(spec.interp, spec.antialias);
        fast_resize_box(resizer, &region, crop_box, filter, (tw, th), buf)?;
        write::write_item(
            buf,
            tw as usize,
            th as usize,
            c,
            flip,
            &spec.lut,
            spec.layout,
            slot,
        );
        Ok(())
    })
}

/// The fast mode's resize (fir, see `kernels::resize`): the box `b` (oriented source pixels)
/// of a decoded `region`, 8-bit, to `dst` (`tw x th`). Only the region's columns are read, so
/// the filter treats the region's edges as the image's (crop, then resize) and never reaches
/// into a band's extra columns; channels are resized independently (no premultiplied alpha),
/// as `pixfeed.resize` does.
pub(crate) fn fast_resize_box(
    resizer: &mut fir::Resizer,
    region: &crate::decode::Region,
    b: BoxF,
    filter: Filter,
    (tw, th): (u32, u32),
    dst: &mut [u8],
) -> Result<()> {
    let img = &region.image;
    let c = img.channels;
    let src = img
        .as_u8()
        .ok_or_else(|| Error::invalid("mode", "the loader needs 8-bit output"))?;
    // The box in the decoded region's pixels (a reduced JPEG rounds the region outwards).
    let k = region.scale;
    let (ox, oy) = region.origin;
    let (dw, dh) = (region.view_width as f64, img.height as f64);
    let bx = ((b.x - ox) * k).clamp(0.0, dw);
    let by = ((b.y - oy) * k).clamp(0.0, dh);
    let bw = (b.w * k).min(dw - bx).max(f64::MIN_POSITIVE);
    let bh = (b.h * k).min(dh - by).max(f64::MIN_POSITIVE);
    let full_img =
        fir::images::ImageRef::new(img.width as u32, img.height as u32, src, pixel_type(c))
            .map_err(|e| Error::Internal(format!("resize source: {e}")))?;
    let src_img = fir::images::CroppedImage::new(
        &full_img,
        region.view_x as u32,
        0,
        region.view_width as u32,
        img.height as u32,
    )
    .map_err(|e| Error::Internal(format!("resize source: {e}")))?;
    let mut dst_img = fir::images::Image::from_slice_u8(tw, th, dst, pixel_type(c))
        .map_err(|e| Error::Internal(format!("resize destination: {e}")))?;
    let options = fir::ResizeOptions::new()
        .resize_alg(resize::fast_alg(filter))
        .use_alpha(false)
        .crop(bx, by, bw, bh);
    resizer
        .resize(&src_img, &mut dst_img, &options)
        .map_err(|e| Error::Internal(format!("resize: {e}")))
}

/// Resize the integer rectangle `rect` of the oriented image (`iw x ih`) to `dst` and keep
/// the window `win` of that result, into `out` (`win.2 * win.3 * channels` bytes): decode
/// the rectangle (or, for a window, only the part its filter taps read) at full scale with
/// the accurate IDCT and fancy upsampling, then resize exactly as `pixfeed.resize` (Pillow's
/// arithmetic for the antialiased filters). The same bytes as cropping and resizing
/// `pixfeed.decode`'s full image.
#[allow(clippy::too_many_arguments)]
pub(crate) fn exact_window(
    data: &[u8],
    mode: crate::codecs::Mode,
    apply_exif: bool,
    max_pixels: u64,
    strict: bool,
    (iw, ih): (u32, u32),
    rect: Rect,
    dst: (usize, usize),
    win: pillow::Area,
    filter: Filter,
    out: &mut [u8],
) -> Result<()> {
    let whole = win == (0, 0, dst.0, dst.1);
    let conv = filter.antialias && filter.interpolation != Interpolation::Nearest;
    let (rw, rh) = (rect.width as usize, rect.height as usize);
    // The part of `rect` to decode (relative to it) and, for a window, its plan.
    let (part, plan) = if !whole && conv {
        let (plan, part) =
            pillow::Plan::window((rw, rh), dst, win, resize::pil_filter(filter.interpolation));
        (part, Some(plan))
    } else {
        ((0, 0, rw, rh), None)
    };
    let roi = Rect::new(
        rect.x + part.0 as u32,
        rect.y + part.1 as u32,
        part.2 as u32,
        part.3 as u32,
    );
    let full = roi.x == 0 && roi.y == 0 && roi.width == iw && roi.height == ih;
    let opts = DecodeOptions {
        mode,
        apply_exif,
        reduce_to: None,
        roi: if full { None } else { Some(roi) },
        max_pixels,
        fast: false,
        strict,
    };
    let region = decode_region(data, &opts)?;
    let img = &region.image;
    let c = img.channels;
    let src = img
        .as_u8()
        .ok_or_else(|| Error::invalid("mode", "exact mode needs 8-bit output"))?;
    if region.scale != 1.0 || region.view_width != part.2 || img.height != part.3 {
        return Err(Error::Internal(format!(
            "exact decode returned {}x{} at scale {} for a {}x{} region",
            region.view_width, img.height, region.scale, part.2, part.3
        )));
    }
    let view = ImageView::new(&src[region.view_x * c..], part.2, part.3, c, img.width * c)?;
    if let Some(plan) = plan {
        pillow::resize_rows(view, &plan, 0..win.3, out);
    } else if whole {
        resize::resize_into(view, ImageViewMut::new(out, dst.0, dst.1, c)?, filter)?;
    } else {
        let mut tmp = vec![0u8; dst.0 * dst.1 * c];
        resize::resize_into(view, ImageViewMut::new(&mut tmp, dst.0, dst.1, c)?, filter)?;
        let row = win.2 * c;
        for (y, o) in out.chunks_exact_mut(row).enumerate() {
            let at = ((win.1 + y) * dst.0 + win.0) * c;
            o.copy_from_slice(&tmp[at..at + row]);
        }
    }
    Ok(())
}

/// Exact mode's pass: torchvision's transforms on a PIL image, byte for byte. A random
/// resized (or relative) crop is `crop` then `resize` of the integer box; the centre
/// variant resizes the whole image's shorter side to `shorter` (torchvision's `Resize(int)`
/// size rule) and keeps the centred window (`CenterCrop`'s offsets, rounded half to even),
/// computing only that window's pixels; `Resize` is the whole image to `size`.
fn run_exact(
    spec: &PipelineSpec,
    data: &[u8],
    (iw, ih): (u32, u32),
    crop_box: BoxF,
    flip: bool,
    slot: &mut [u8],
) -> Result<()> {
    let (tw, th) = (spec.size.0 as usize, spec.size.1 as usize);
    let whole = Rect::new(0, 0, iw, ih);
    let (rect, dst, win) = match spec.crop {
        CropKind::Center { shorter } => {
            let (rw, rh) = resize::shorter_side_size(iw as usize, ih as usize, shorter as usize);
            if tw > rw || th > rh {
                return Err(Error::invalid(
                    "size",
                    format!("a {tw}x{th} centre crop does not fit in the {rw}x{rh} resize"),
                ));
            }
            let left = ((rw - tw) as f64 / 2.0).round_ties_even() as usize;
            let top = ((rh - th) as f64 / 2.0).round_ties_even() as usize;
            (whole, (rw, rh), (left, top, tw, th))
        }
        CropKind::None => {
            if (iw as usize, ih as usize) != (tw, th) {
                return Err(Error::invalid(
                    "crop",
                    format!("crop='none' needs every image to be {tw}x{th}, this one is {iw}x{ih}"),
                ));
            }
            (whole, (tw, th), (0, 0, tw, th))
        }
        _ => {
            // Integer boxes (RandomResizedCrop and the relative crop draw whole pixels).
            let b = crop_box;
            let rect = Rect::new(b.x as u32, b.y as u32, b.w as u32, b.h as u32);
            if !rect.fits_in(iw, ih) {
                return Err(Error::Internal(format!("crop box {b:?} outside {iw}x{ih}")));
            }
            (rect, (tw, th), (0, 0, tw, th))
        }
    };
    let filter = Filter::new(spec.interp, spec.antialias);
    SCRATCH.with(|cell| -> Result<()> {
        let mut guard = cell.borrow_mut();
        let (_, buf) = &mut *guard;
        let c = spec.mode.channels();
        buf.clear();
        buf.resize(tw * th * c, 0);
        exact_window(
            data,
            spec.mode,
            spec.apply_exif,
            spec.max_pixels,
            spec.strict,
            (iw, ih),
            rect,
            dst,
            win,
            filter,
            buf,
        )?;
        write::write_item(buf, tw, th, c, flip, &spec.lut, spec.layout, slot);
        Ok(())
    })
}

/// Run a batch: item `i` from `sources[i]` with the randomness of `keys[i]` (and the crop
/// `rel[i]` for [`CropKind::Relative`]), into the `i`-th `spec.item_bytes()` slot of `out`.
/// Returns one result per item.
#[allow(clippy::too_many_arguments)]
pub fn run_batch(
    spec: &PipelineSpec,
    sources: &[Source<'_>],
    keys: &[u64],
    rel: Option<&[RelativeCrop]>,
    seed: u64,
    epoch: u64,
    out: &mut [u8],
    threads: Option<usize>,
) -> Result<Vec<Result<()>>> {
    let item = spec.item_bytes();
    if rel.is_some_and(|r| r.len() != sources.len()) {
        return Err(Error::invalid("rel", "one relative crop per source"));
    }
    if sources.len() != keys.len() || out.len() != item * sources.len() {
        return Err(Error::invalid(
            "out",
            format!(
                "{} sources, {} keys and {} bytes do not make a batch of {}-byte items",
                sources.len(),
                keys.len(),
                out.len(),
                item
            ),
        ));
    }
    let one = |i: usize, slot: &mut [u8]| {
        let r = rel.map(|r| r[i]);
        catch_panic(|| {
            with_bytes(sources[i], |data| {
                run_one(spec, data, keys[i], seed, epoch, r, slot)
            })
        })
    };
    pool::map_slots(out, item, threads, one)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::{encode::encode, Format};
    use crate::decode::decode;
    use crate::image::Image;

    /// An exact-mode, uint8 NHWC RGB spec with a 0.5 flip.
    pub(super) fn spec(crop: CropKind, size: (u32, u32)) -> PipelineSpec {
        PipelineSpec {
            size,
            crop,
            flip: 0.5,
            mode: Mode::Rgb,
            interp: Interpolation::Bilinear,
            antialias: true,
            apply_exif: true,
            max_pixels: crate::decode::DEFAULT_MAX_PIXELS,
            fast_decode: true,
            exact: true,
            strict: true,
            dtype: OutDtype::U8,
            layout: OutLayout::Nhwc,
            lut: Lut::Identity,
        }
    }

    /// The whole decoded image resized to `dst`, then the window `win` cut out (and flipped):
    /// what exact mode must produce without computing the rest.
    fn reference(full: &Image, dst: (usize, usize), win: pillow::Area, flip: bool) -> Vec<u8> {
        let src = ImageView::contiguous(full.as_u8().unwrap(), full.width, full.height, 3).unwrap();
        let mut out = vec![0u8; dst.0 * dst.1 * 3];
        let filter = Filter::new(Interpolation::Bilinear, true);
        resize::resize_into(
            src,
            ImageViewMut::new(&mut out, dst.0, dst.1, 3).unwrap(),
            filter,
        )
        .unwrap();
        let mut r = Vec::new();
        for y in win.1..win.1 + win.3 {
            let row = &out[(y * dst.0 + win.0) * 3..(y * dst.0 + win.0 + win.2) * 3];
            let mut px: Vec<[u8; 3]> = row.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
            if flip {
                px.reverse();
            }
            r.extend(px.into_iter().flatten());
        }
        r
    }

    #[test]
    fn exact_mode_equals_resize_of_the_full_decode() {
        let (w, h) = (203u32, 157u32);
        let px: Vec<u8> = (0..w * h * 3)
            .map(|i| ((i * 37 + (i / 607) * 11) % 251) as u8)
            .collect();
        let jpeg = encode(&px, w, h, 3, Format::Jpeg, 90).unwrap();
        let full = decode(&jpeg, &DecodeOptions::default()).unwrap();
        // Centre: Resize(61) of the whole image (61 x 78 -> here 78 x 61), CenterCrop 40x30.
        let s = spec(CropKind::Center { shorter: 61 }, (40, 30));
        let (rw, rh) = resize::shorter_side_size(w as usize, h as usize, 61);
        let half = |v: usize| (v as f64 / 2.0).round_ties_even() as usize;
        let win = (half(rw - 40), half(rh - 30), 40, 30);
        for key in 0..6 {
            let mut slot = vec![0u8; s.item_bytes()];
            run_one(&s, &jpeg, key, 1, 0, None, &mut slot).unwrap();
            let flip = sample_params(&s, w, h, 1, 0, key, None).flip;
            assert_eq!(
                slot,
                reference(&full, (rw, rh), win, flip),
                "centre, key {key}"
            );
        }
        // Random resized crop: the integer box cropped, then resized.
        let s = spec(
            CropKind::RandomResized(CropSampling::new((0.05, 1.0), (0.75, 4.0 / 3.0)).unwrap()),
            (33, 47),
        );
        for key in 0..12 {
            let mut slot = vec![0u8; s.item_bytes()];
            run_one(&s, &jpeg, key, 2, 3, None, &mut slot).unwrap();
            let p = sample_params(&s, w, h, 2, 3, key, None);
            let b = p.crop;
            let (bx, by, bw, bh) = (b.x as usize, b.y as usize, b.w as usize, b.h as usize);
            let data = full.as_u8().unwrap();
            let mut crop = Vec::new();
            for y in by..by + bh {
                crop.extend_from_slice(
                    &data[(y * w as usize + bx) * 3..(y * w as usize + bx + bw) * 3],
                );
            }
            let crop = Image::new_u8(bw, bh, 3, crop);
            assert_eq!(
                slot,
                reference(&crop, (33, 47), (0, 0, 33, 47), p.flip),
                "rrc, key {key}"
            );
        }
    }
}
