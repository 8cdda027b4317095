//! Format codecs. Each codec works in the file's *stored* geometry (before EXIF orientation);
//! `crate::decode` maps oriented requests to stored ones and applies the orientation after.
//!
//! Contract of every codec module (`jpeg`, `png`, `bmp`, `webp`):
//! - `probe(data) -> Result<RawInfo>` reads headers only (never decodes pixel data);
//! - `decode(data, &RawRequest) -> Result<Decoded>` checks `max_pixels` against the header
//!   before allocating anything, returns exactly the requested `roi` (stored coordinates, at
//!   the scale the codec chose, see `RawRequest::min_size`), and never panics on bad input.

pub mod bmp;
pub mod encode;
pub mod exif;
pub mod jpeg;
pub mod png;
pub mod sniff;
pub mod webp;

use crate::image::{Image, Rect};

/// A container format pixfeed decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Bmp,
    Webp,
}

crate::names::named!(
    Format,
    "format",
    Or,
    [
        ("jpeg", Format::Jpeg),
        ("png", Format::Png),
        ("bmp", Format::Bmp),
        ("webp", Format::Webp),
    ]
);

impl Format {
    pub fn name(self) -> &'static str {
        crate::names::Named::name(self)
    }
}

/// How the samples of a decoded buffer are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
    Bgr,
    Bgra,
    /// C, M, Y, K as Pillow presents a CMYK image (Adobe-inverted files already un-inverted).
    Cmyk,
}

// The layouts `pixfeed.convert` takes (its `to` and `source` arguments).
crate::names::named!(
    Layout,
    "layout",
    OneOf,
    [
        ("L", Layout::Gray),
        ("RGB", Layout::Rgb),
        ("BGR", Layout::Bgr),
        ("RGBA", Layout::Rgba),
        ("BGRA", Layout::Bgra),
    ]
);

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb | Layout::Bgr => 3,
            Layout::Rgba | Layout::Bgra | Layout::Cmyk => 4,
        }
    }
}

/// The output a caller finally wants; codecs may produce it directly when that is free
/// (libjpeg's extended colour spaces), otherwise they return their native layout and
/// `crate::convert` finishes the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Rgb,
    Bgr,
    Rgba,
    /// ITU-R 601 luma as Pillow's `convert("L")`.
    L,
    /// Native channels and bit depth.
    Unchanged,
}

crate::names::named!(
    Mode,
    "mode",
    OneOf,
    [
        ("RGB", Mode::Rgb),
        ("BGR", Mode::Bgr),
        ("RGBA", Mode::Rgba),
        ("L", Mode::L),
        ("unchanged", Mode::Unchanged),
    ]
);

impl Mode {
    /// Channels of this mode's 8-bit output. `Unchanged` keeps the file's own channels,
    /// unknown before its header is read; it counts as 3 here (the pipelines, which size
    /// their slots by this, are never given `Unchanged`).
    pub fn channels(self) -> usize {
        match self {
            Mode::L => 1,
            Mode::Rgba => 4,
            Mode::Rgb | Mode::Bgr | Mode::Unchanged => 3,
        }
    }
}

/// Header facts in stored geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawInfo {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Channels of the native layout (palette images count their expanded channels).
    pub channels: u8,
    /// Bits per sample of the native layout (1..16).
    pub bit_depth: u8,
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
    /// Progressive JPEG or interlaced PNG.
    pub progressive: bool,
}

/// A decode request in stored geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRequest {
    pub mode: Mode,
    /// Region to return, in full-resolution stored coordinates; validated by the caller to
    /// lie inside the image.
    pub roi: Option<Rect>,
    /// The codec may decode at a reduced scale (JPEG: M/8) as long as the result (the ROI,
    /// if any, else the whole image) stays >= this size in both dimensions. The ROI is then
    /// scaled with it: `x0 = floor(x*s)`, `x1 = ceil((x+w)*s)`.
    pub min_size: Option<(u32, u32)>,
    /// Refuse images with more pixels than this (checked from the header).
    pub max_pixels: u64,
    /// Trade exactness for speed where a codec can (JPEG: the fast integer IDCT and merged
    /// instead of fancy chroma upsampling), for callers that resample the result anyway.
    pub fast: bool,
    /// Strict: any corrupt-data warning of the codec (libjpeg's bad codes, extraneous bytes,
    /// premature end of a data segment; a PNG CRC or Adler-32 mismatch; a BMP RLE stream
    /// that ends before the last pixel) is an error. Lenient: the codec's recovered pixels
    /// are returned, as Pillow returns them. Data that ends early raises in both.
    pub strict: bool,
}

/// A decoded buffer and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub image: Image,
    pub layout: Layout,
}

/// Check the pixel-count guard from header dimensions, before any allocation.
pub fn check_pixels(width: u32, height: u32, max_pixels: u64) -> crate::Result<()> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(crate::Error::TooLarge {
            width: u64::from(width),
            height: u64::from(height),
            pixels,
            max_pixels,
        });
    }
    Ok(())
}

/// The rows/columns a codec must produce for `roi` (or the whole `w x h` image).
pub fn region_or_full(roi: Option<Rect>, w: u32, h: u32) -> Rect {
    roi.unwrap_or(Rect::new(0, 0, w, h))
}

/// What every codec's decode checks first, from the header's `w x h`: the pixel-count guard,
/// then that `req.roi` lies inside the image. Returns the region to produce.
pub fn checked_region(req: &RawRequest, w: u32, h: u32) -> crate::Result<Rect> {
    check_pixels(w, h, req.max_pixels)?;
    let roi = region_or_full(req.roi, w, h);
    if !roi.fits_in(w, h) {
        return Err(crate::Error::invalid(
            "roi",
            format!("{roi:?} is not inside the {w}x{h} image"),
        ));
    }
    Ok(roi)
}
