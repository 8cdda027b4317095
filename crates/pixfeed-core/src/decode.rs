//! The decode entry points: sniff the format, read the header, check the guards, map the
//! caller's oriented request to the stored image, run the codec, convert, orient.

use crate::codecs::{self, Decoded, Format, Mode, RawInfo, RawRequest};
use crate::image::{Image, Rect};
use crate::orient;
use crate::source::{self, Source};
use crate::{convert, Error, Result};

/// Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`), our default `max_pixels`.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;

/// What the caller asks of one decode. Sizes and regions are in the oriented image's
/// coordinates when `apply_exif` is on (as everywhere in pixfeed's API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    pub mode: Mode,
    pub apply_exif: bool,
    pub reduce_to: Option<(u32, u32)>,
    pub roi: Option<Rect>,
    pub max_pixels: u64,
    /// See [`RawRequest::fast`]: not Pillow-exact; for pipelines that resize afterwards.
    pub fast: bool,
    /// See [`RawRequest::strict`] (default true).
    pub strict: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            mode: Mode::Rgb,
            apply_exif: true,
            reduce_to: None,
            roi: None,
            max_pixels: DEFAULT_MAX_PIXELS,
            fast: false,
            strict: true,
        }
    }
}

/// Header facts as the user sees the image: the codec's [`RawInfo`] with width and height
/// after EXIF orientation.
pub type ImageInfo = RawInfo;

fn raw_probe(data: &[u8]) -> Result<RawInfo> {
    let format = codecs::sniff::sniff(data)
        .ok_or_else(|| Error::UnsupportedFormat(codecs::sniff::describe_unknown(data)))?;
    match format {
        Format::Jpeg => codecs::jpeg::probe(data),
        Format::Png => codecs::png::probe(data),
        Format::Bmp => codecs::bmp::probe(data),
        Format::Webp => codecs::webp::probe(data),
    }
}

/// Read the header only.
pub fn probe(data: &[u8]) -> Result<ImageInfo> {
    let raw = raw_probe(data)?;
    let (width, height) = orient::oriented_size(raw.width, raw.height, raw.orientation);
    Ok(ImageInfo {
        width,
        height,
        ..raw
    })
}

/// Validate the request against the header and translate it to stored geometry.
fn plan(raw: &RawInfo, opts: &DecodeOptions) -> Result<(RawRequest, u8)> {
    if let Some((w, h)) = opts.reduce_to {
        if w == 0 || h == 0 {
            return Err(Error::invalid(
                "reduce_to",
                format!("sizes must be >= 1, got ({w}, {h})"),
            ));
        }
    }
    let orientation = if opts.apply_exif { raw.orientation } else { 1 };
    let (ow, oh) = orient::oriented_size(raw.width, raw.height, orientation);
    let roi = match opts.roi {
        None => None,
        Some(r) if r.fits_in(ow, oh) => {
            Some(orient::stored_rect(r, raw.width, raw.height, orientation))
        }
        Some(r) => {
            return Err(Error::invalid(
                "roi",
                format!(
                    "({}, {}, {}, {}) is not a non-empty region inside the {ow}x{oh} image",
                    r.x, r.y, r.width, r.height
                ),
            ))
        }
    };
    let min_size = opts.reduce_to.map(|(w, h)| {
        if orient::swaps_axes(orientation) {
            (h, w)
        } else {
            (w, h)
        }
    });
    codecs::check_pixels(raw.width, raw.height, opts.max_pixels)?;
    Ok((
        RawRequest {
            mode: opts.mode,
            roi,
            min_size,
            max_pixels: opts.max_pixels,
            fast: opts.fast,
            strict: opts.strict,
        },
        orientation,
    ))
}

/// Decode in-memory bytes.
pub fn decode(data: &[u8], opts: &DecodeOptions) -> Result<Image> {
    let raw = raw_probe(data)?;
    let (req, orientation) = plan(&raw, opts)?;
    decode_planned(data, &raw, &req, orientation)
}

fn decode_planned(data: &[u8], raw: &RawInfo, req: &RawRequest, orientation: u8) -> Result<Image> {
    let req = *req;
    let decoded: Decoded = match raw.format {
        Format::Jpeg => codecs::jpeg::decode(data, &req)?,
        Format::Png => codecs::png::decode(data, &req)?,
        Format::Bmp => codecs::bmp::decode(data, &req)?,
        Format::Webp => codecs::webp::decode(data, &req)?,
    };
    let img = convert::to_mode(decoded, req.mode);
    Ok(orient::apply(img, orientation))
}

/// A decoded region and where it sits in the oriented, full-resolution image: pixel `(u, v)`
/// of `image` covers oriented coordinates `origin + ((u, v) .. (u + 1, v + 1)) / scale`.
/// (Reduced JPEG decodes round the region outwards to whole scaled pixels.)
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// May hold extra columns around the region (see `view`).
    pub image: Image,
    /// The columns `view_x .. view_x + view_width` of `image` are the region; `origin`
    /// and `scale` describe them. (A JPEG band decode keeps libjpeg's wider band instead of
    /// copying the region out of it.)
    pub view_x: usize,
    pub view_width: usize,
    /// Output pixels per source pixel: `M/8` for a DCT-scaled JPEG, else 1.
    pub scale: f64,
    pub origin: (f64, f64),
}

/// Like [`decode`], also telling the scale the codec chose and the region's placement, so
/// that a caller (the loader's fused pipeline) can map coordinates into the result.
pub fn decode_region(data: &[u8], opts: &DecodeOptions) -> Result<Region> {
    let raw = raw_probe(data)?;
    let (req, orientation) = plan(&raw, opts)?;
    let stored = codecs::region_or_full(req.roi, raw.width, raw.height);
    let band = raw.format == Format::Jpeg && orientation == 1 && req.roi.is_some();
    let (image, view_x, m) = if band {
        let (decoded, left, m) = codecs::jpeg::decode_band(data, &req)?;
        (convert::to_mode(decoded, req.mode), left as usize, m)
    } else {
        let image = decode_planned(data, &raw, &req, orientation)?;
        // Which scale was used: JPEG picks M/8 (never for lossless files, which it decodes
        // at full size); recognize it from the output size, which the two cases make
        // unambiguous.
        let mut m = 8;
        if raw.format == Format::Jpeg {
            let cand = codecs::jpeg::choose_scale(raw.width, raw.height, stored, req.min_size);
            let r = codecs::jpeg::scale_region(raw.width, raw.height, stored, cand);
            let (ow, oh) = orient::oriented_size(r.width, r.height, orientation);
            if (ow as usize, oh as usize) == (image.width, image.height) {
                m = cand;
            }
        }
        (image, 0, m)
    };
    let k = f64::from(m) / 8.0;
    let covered = if m == 8 {
        stored
    } else {
        codecs::jpeg::scale_region(raw.width, raw.height, stored, m)
    };
    // The covered stored rectangle in source units, mapped to oriented coordinates.
    let (sx, sy) = (f64::from(covered.x) / k, f64::from(covered.y) / k);
    let (sw, sh) = (f64::from(covered.width) / k, f64::from(covered.height) / k);
    let (w, h) = (f64::from(raw.width), f64::from(raw.height));
    let origin = match orientation {
        2 => (w - sx - sw, sy),
        3 => (w - sx - sw, h - sy - sh),
        4 => (sx, h - sy - sh),
        5 => (sy, sx),
        6 => (h - sy - sh, sx),
        7 => (h - sy - sh, w - sx - sw),
        8 => (sy, w - sx - sw),
        _ => (sx, sy),
    };
    let (view_width, _) = orient::oriented_size(covered.width, covered.height, orientation);
    Ok(Region {
        image,
        view_x,
        view_width: view_width as usize,
        scale: k,
        origin,
    })
}

/// Decode a path or bytes. A region of a large uncompressed BMP file reads only its rows.
pub fn decode_source(src: Source<'_>, opts: &DecodeOptions) -> Result<Image> {
    source::with_ranges(
        src,
        |head| bmp_rows(head, opts.roi),
        |data| decode(data, opts),
    )
}

/// The file offsets of `roi`'s rows when `head` starts an uncompressed BMP (no EXIF: the
/// region is in stored coordinates).
pub(crate) fn bmp_rows(head: &[u8], roi: Option<Rect>) -> Option<Vec<std::ops::Range<u64>>> {
    if codecs::sniff::sniff(head)? != Format::Bmp {
        return None;
    }
    codecs::bmp::region_ranges(head, roi?)
}

/// Probe a path or bytes.
pub fn probe_source(src: Source<'_>) -> Result<ImageInfo> {
    source::with_prefix(src, probe)
}
