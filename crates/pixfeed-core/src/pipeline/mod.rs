//! The loader's fused per-image pass (SPEC section 5): plan the crop from the header ->
//! decode only that region at the smallest sufficient DCT scale -> resize the crop to the
//! output size -> flip -> normalize into the batch slot. One image never leaves its thread.

pub mod crop;
pub mod plan;
pub mod write;
mod write_avx2;

use std::cell::RefCell;

use fast_image_resize as fir;

use crate::codecs::Mode;
use crate::decode::{decode_region, probe, DecodeOptions};
use crate::error::catch_panic;
use crate::image::Rect;
use crate::rng::SampleRng;
use crate::source::{with_bytes, Source};
use crate::{pool, Error, Result};

pub use plan::{BoxF, RelativeCrop};
pub use write::{Lut, OutDtype, OutLayout};

/// How each image is cropped before the resize to `size`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CropKind {
    /// torchvision RandomResizedCrop sampling from the header's size.
    RandomResized {
        scale: (f64, f64),
        ratio: (f64, f64),
    },
    /// Resize the shorter side to `shorter`, then centre-crop `size` (torchvision order).
    Center { shorter: u32 },
    /// The whole image straight to `size`.
    Resize,
    /// No crop or resize: the image must already be `size`.
    None,
    /// A per-item [`RelativeCrop`] (parallel_image_crop's geometry, see
    /// [`plan::relative_box`]), resized to `size`.
    Relative { max_img_percent: f64, center: bool },
}

/// Resampling filter (see `resize_alg` for the library mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    Nearest,
    Bilinear,
    Bicubic,
    Lanczos,
    Area,
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
    pub interp: Interp,
    pub antialias: bool,
    pub apply_exif: bool,
    pub max_pixels: u64,
    /// Decode JPEG with the fast IDCT and merged upsampling (see `RawRequest::fast`): the
    /// crop is resampled afterwards, which hides the difference.
    pub fast_decode: bool,
    /// See `RawRequest::strict`: a corrupt-data warning fails the item.
    pub strict: bool,
    pub dtype: OutDtype,
    pub layout: OutLayout,
    pub lut: Lut,
}

impl PipelineSpec {
    pub fn channels(&self) -> usize {
        match self.mode {
            Mode::L => 1,
            Mode::Rgba => 4,
            _ => 3,
        }
    }
    /// Bytes of one batch item.
    pub fn item_bytes(&self) -> usize {
        self.size.0 as usize * self.size.1 as usize * self.channels() * self.dtype.size()
    }
}

fn resize_alg(interp: Interp, antialias: bool) -> fir::ResizeAlg {
    use fir::FilterType as F;
    let filter = match interp {
        Interp::Nearest => return fir::ResizeAlg::Nearest,
        Interp::Bilinear => F::Bilinear,
        Interp::Bicubic => F::CatmullRom,
        Interp::Lanczos => F::Lanczos3,
        Interp::Area => F::Box,
    };
    if antialias {
        fir::ResizeAlg::Convolution(filter)
    } else {
        fir::ResizeAlg::Interpolation(filter)
    }
}

/// Filter radius in source pixels at scale 1 (for the margin a centre crop needs).
fn support(interp: Interp) -> f64 {
    match interp {
        Interp::Nearest | Interp::Area => 0.5,
        Interp::Bilinear => 1.0,
        Interp::Bicubic => 2.0,
        Interp::Lanczos => 3.0,
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
        CropKind::RandomResized { scale, ratio } => {
            plan::random_resized_crop_box(iw, ih, scale, ratio, &mut rng)
        }
        CropKind::Center { shorter } => plan::center_box(iw, ih, shorter, tw, th),
        CropKind::Relative {
            max_img_percent,
            center,
        } => match rel {
            Some(r) => plan::relative_box(iw, ih, r, max_img_percent, center),
            None => BoxF {
                x: 0.0,
                y: 0.0,
                w: f64::from(iw),
                h: f64::from(ih),
            },
        },
        CropKind::Resize | CropKind::None => BoxF {
            x: 0.0,
            y: 0.0,
            w: f64::from(iw),
            h: f64::from(ih),
        },
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
    let margin = match spec.crop {
        CropKind::Center { .. } => {
            let factor = (crop_box.w / f64::from(tw))
                .max(crop_box.h / f64::from(th))
                .max(1.0);
            (support(spec.interp) * factor).ceil() + 8.0
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

    // The crop box in the decoded region's pixels.
    let k = region.scale;
    let (ox, oy) = region.origin;
    let (dw, dh) = (region.view_width as f64, img.height as f64);
    let bx = ((crop_box.x - ox) * k).clamp(0.0, dw);
    let by = ((crop_box.y - oy) * k).clamp(0.0, dh);
    let bw = (crop_box.w * k).min(dw - bx).max(f64::MIN_POSITIVE);
    let bh = (crop_box.h * k).min(dh - by).max(f64::MIN_POSITIVE);

    SCRATCH.with(|cell| -> Result<()> {
        let mut guard = cell.borrow_mut();
        let (resizer, buf) = &mut *guard;
        let n = tw as usize * th as usize * c;
        buf.clear();
        buf.resize(n, 0);
        let full_img =
            fir::images::ImageRef::new(img.width as u32, img.height as u32, src, pixel_type(c))
                .map_err(|e| Error::Internal(format!("resize source: {e}")))?;
        // Only the region's columns: the resize filter must treat its edges as the image's
        // (crop, then resize), not reach into the band's extra columns.
        let src_img = fir::images::CroppedImage::new(
            &full_img,
            region.view_x as u32,
            0,
            region.view_width as u32,
            img.height as u32,
        )
        .map_err(|e| Error::Internal(format!("resize source: {e}")))?;
        let mut dst_img = fir::images::Image::from_slice_u8(tw, th, buf, pixel_type(c))
            .map_err(|e| Error::Internal(format!("resize destination: {e}")))?;
        let options = fir::ResizeOptions::new()
            .resize_alg(resize_alg(spec.interp, spec.antialias))
            .crop(bx, by, bw, bh);
        resizer
            .resize(&src_img, &mut dst_img, &options)
            .map_err(|e| Error::Internal(format!("resize: {e}")))?;
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
