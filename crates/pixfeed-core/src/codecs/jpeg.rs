//! JPEG codec: a pure-Rust header walk for `probe`, and libjpeg-turbo's libjpeg API (through
//! the C shim in `csrc/jpeg_shim.c`) for `decode`.
//!
//! Pixels equal libjpeg-turbo's default decode (islow IDCT, fancy upsampling, block
//! smoothing for progressive files), which is what Pillow produces. CMYK/YCCK files are
//! returned as [`Layout::Cmyk`] with every sample inverted, as Pillow reads them (it always
//! assumes Adobe's inverted convention, rawmode `CMYK;I`).
//!
//! Errors: the data ending early is `truncated`; with `RawRequest::strict`, every corrupt-data
//! warning of libjpeg (bad Huffman codes, lost restart markers, premature end of a data
//! segment, extraneous bytes before a marker) is `corrupt` (or `truncated` when the data also
//! ran out), and a whole-image decode reads on to the EOI marker; lenient decodes return
//! libjpeg's recovered samples, as Pillow does. Valid files using features libjpeg-turbo does
//! not decode (12-bit, hierarchical, unusual sampling, ...) are `unsupported`. Only the rows
//! needed for the request are decoded, so a defect below the requested region of a
//! sequential file goes unnoticed, and a sequential file that lacks only its final EOI marker
//! decodes. A progressive file must reach its EOI marker (all its scans are read before the
//! first row is produced), as in Pillow.

use std::ffi::{c_char, c_int, CStr};

use super::RawRequest;
use super::{checked_region, exif, Decoded, Format, Layout, Mode, RawInfo};
use crate::image::{Image, Rect};
use crate::{Error, Result};

// Links libjpeg-turbo (built from source by turbojpeg-sys) into every binary using this
// crate; the shim's `jpeg_*` references resolve against it.
use turbojpeg_sys as _;

const FMT: &str = "jpeg";

/// Parameters of `pf_jpeg_decode` (mirror of `pf_jpeg_params` in `csrc/jpeg_shim.h`).
#[repr(C)]
struct PfJpegParams {
    image_width: u32,
    image_height: u32,
    scale_num: u32,
    scaled_width: u32,
    scaled_height: u32,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    color: u32,
    fast: u32,
    strict: u32,
    reference: u32,
}

/// How libjpeg runs: the fast IDCT and upsampling, strict warnings, reference decoder.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    fast: bool,
    strict: bool,
    /// libjpeg's own entropy decoder, always on its checking path (tests).
    reference: bool,
}

/// Mirror of `pf_jpeg_band`: the columns a band decode produced.
#[repr(C)]
#[derive(Default)]
struct PfJpegBand {
    x: u32,
    w: u32,
}

const PF_OK: c_int = 0;
const PF_TRUNCATED: c_int = 1;
const PF_CORRUPT: c_int = 2;
const PF_UNSUPPORTED: c_int = 3;

const PF_COLOR_GRAY: u32 = 0;
const PF_COLOR_RGB: u32 = 1;
const PF_COLOR_BGR: u32 = 2;
const PF_COLOR_RGBA: u32 = 3;
const PF_COLOR_CMYK: u32 = 4;

extern "C" {
    fn pf_jpeg_decode(
        data: *const u8,
        len: usize,
        params: *const PfJpegParams,
        out: *mut u8,
        out_len: usize,
        band: *mut PfJpegBand,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
    fn pf_jpeg_turbo_version() -> *const c_char;
    fn pf_huff_variant() -> *const c_char;
}

/// Which build of the MCU decoder (csrc/jpeg_huff.c) this CPU runs: `"x86-64-v3"` (AVX2,
/// BMI2, ... all present) or `"baseline"` (any x86-64 CPU; other architectures). Chosen once
/// per process from the CPU's features; `PIXFEED_JPEG_HUFF=baseline` forces the baseline.
pub fn huff_decoder_variant() -> &'static str {
    // SAFETY: pf_huff_variant takes no arguments and returns a pointer to a NUL-terminated
    // string literal (static storage, never freed or mutated).
    let variant = unsafe { CStr::from_ptr(pf_huff_variant()) };
    variant.to_str().unwrap_or("unknown")
}

/// Version of the libjpeg-turbo compiled in (its `LIBJPEG_TURBO_VERSION`, e.g. `"3.1.0"`).
pub fn libjpeg_turbo_version() -> &'static str {
    // SAFETY: the shim returns a pointer to a NUL-terminated string literal (static storage,
    // never freed or mutated).
    let version = unsafe { CStr::from_ptr(pf_jpeg_turbo_version()) };
    version.to_str().unwrap_or("unknown")
}

/// Whether libjpeg-turbo's SIMD code is compiled in. libjpeg-turbo exposes no public query
/// for this; the crate builds it with turbojpeg-sys's `require-simd` feature
/// (`-DREQUIRE_SIMD=ON`), which fails the build rather than fall back to plain C, so this is
/// always true. (Which instruction set is used, e.g. AVX2 or SSE2, is chosen at run time.)
pub fn simd_enabled() -> bool {
    true
}

// ------------------------------------------------------------------------------------------
// Header walk
// ------------------------------------------------------------------------------------------

/// Frame facts from the markers before the first SOS.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// The SOFn marker byte (0xC0..=0xCF).
    sof: u8,
    precision: u8,
    width: u32,
    height: u32,
    components: u8,
    orientation: u8,
}

impl Header {
    fn progressive(&self) -> bool {
        matches!(self.sof, 0xC2 | 0xC6 | 0xCA | 0xCE)
    }
    fn lossless(&self) -> bool {
        matches!(self.sof, 0xC3 | 0xCB)
    }
    fn hierarchical(&self) -> bool {
        matches!(self.sof, 0xC5..=0xC7 | 0xCD..=0xCF)
    }
}

fn be16(data: &[u8], pos: usize) -> Option<u16> {
    let b = data.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Walk the markers from SOI to the first SOS, as leniently as libjpeg does (garbage before
/// a marker and 0xFF fill bytes are skipped).
fn parse_header(data: &[u8]) -> Result<Header> {
    match data {
        [] => return Err(Error::truncated(FMT, "empty input")),
        [0xFF] => return Err(Error::truncated(FMT, "input ends inside the SOI marker")),
        [0xFF, 0xD8, ..] => {}
        [a, b, ..] => {
            return Err(Error::corrupt(
                FMT,
                format!("not a JPEG file: starts with 0x{a:02x} 0x{b:02x}"),
            ))
        }
        [a] => {
            return Err(Error::corrupt(
                FMT,
                format!("not a JPEG file: starts with 0x{a:02x}"),
            ))
        }
    }
    let mut pos = 2usize;
    let mut frame: Option<Header> = None;
    // Outer Option: block seen; inner: tag (or XMP value) present.
    let mut orientation: Option<Option<u8>> = None;
    let mut xmp: Option<Option<u8>> = None;
    loop {
        // Next marker: skip anything up to an 0xFF, then fill bytes; FF 00 is not a marker.
        let marker = loop {
            while data.get(pos).is_some_and(|&b| b != 0xFF) {
                pos += 1;
            }
            while data.get(pos) == Some(&0xFF) {
                pos += 1;
            }
            let Some(&code) = data.get(pos) else {
                return Err(Error::truncated(
                    FMT,
                    "data ends before the first scan (SOS)",
                ));
            };
            pos += 1;
            if code != 0 {
                break code;
            }
        };
        match marker {
            0xD8 => return Err(Error::corrupt(FMT, "duplicate SOI marker")),
            0xD9 => return Err(Error::corrupt(FMT, "EOI marker before any scan: no image")),
            0x01 | 0xD0..=0xD7 => continue, // TEM, RSTn: no length
            0xDA => {
                let mut hdr = frame.ok_or_else(|| Error::corrupt(FMT, "SOS marker before SOF"))?;
                hdr.orientation = exif::resolve(orientation.flatten(), xmp.flatten());
                return Ok(hdr);
            }
            _ => {}
        }
        let len = be16(data, pos).ok_or_else(|| {
            Error::truncated(
                FMT,
                format!("data ends in the length of marker 0x{marker:02x}"),
            )
        })?;
        if len < 2 {
            return Err(Error::corrupt(
                FMT,
                format!("marker 0x{marker:02x} has bogus length {len}"),
            ));
        }
        let end = pos + usize::from(len);
        let body = data.get(pos + 2..end).ok_or_else(|| {
            Error::truncated(
                FMT,
                format!("data ends inside marker segment 0x{marker:02x}"),
            )
        })?;
        match marker {
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                if frame.is_some() {
                    return Err(Error::corrupt(FMT, "more than one SOF marker"));
                }
                frame = Some(parse_sof(marker, body)?);
            }
            0xC8 => {
                return Err(Error::unsupported(
                    FMT,
                    "JPG extension (SOF 0xc8) is not supported",
                ))
            }
            0xE1 if orientation.is_none() && body.starts_with(b"Exif\0\0") => {
                // Some(tag) when the first EXIF block has one; Some(None) when it has none.
                orientation = Some(exif::orientation_tag(body));
            }
            0xE1 if xmp.is_none() && body.starts_with(b"http://ns.adobe.com/xap/1.0/\0") => {
                xmp = Some(exif::xmp_orientation(body));
            }
            // DHT, DAC, DQT, DNL, DRI, APPn, COM: nothing needed here.
            0xC4 | 0xCC | 0xDB..=0xDD | 0xE0..=0xEF | 0xFE => {}
            _ => {
                return Err(Error::corrupt(
                    FMT,
                    format!("unsupported marker type 0x{marker:02x}"),
                ))
            }
        }
        pos = end;
    }
}

fn parse_sof(marker: u8, body: &[u8]) -> Result<Header> {
    let bad_len = || Error::corrupt(FMT, format!("bogus SOF 0x{marker:02x} length"));
    let (&precision, rest) = body.split_first().ok_or_else(bad_len)?;
    let height = be16(rest, 0).ok_or_else(bad_len)?;
    let width = be16(rest, 2).ok_or_else(bad_len)?;
    let &components = rest.get(4).ok_or_else(bad_len)?;
    if body.len() != 6 + 3 * usize::from(components) {
        return Err(bad_len());
    }
    if width == 0 || height == 0 || components == 0 {
        return Err(Error::corrupt(
            FMT,
            format!("empty image: {width}x{height} with {components} components"),
        ));
    }
    if !(1..=16).contains(&precision) {
        return Err(Error::corrupt(
            FMT,
            format!("invalid data precision {precision}"),
        ));
    }
    if !matches!(components, 1 | 3 | 4) {
        return Err(Error::unsupported(
            FMT,
            format!("{components}-component JPEG images are not supported"),
        ));
    }
    Ok(Header {
        sof: marker,
        precision,
        width: u32::from(width),
        height: u32::from(height),
        components,
        orientation: 1,
    })
}

/// Header facts without decoding pixels: size, components (1 gray, 3 YCbCr/RGB, 4
/// CMYK/YCCK), precision, progressive (SOF2/6/10/14) and EXIF orientation (first APP1
/// `Exif` block, else XMP `tiff:Orientation` as Pillow's `getexif` does). 12/16-bit and hierarchical files probe fine but do not decode.
pub fn probe(data: &[u8]) -> Result<RawInfo> {
    let hdr = parse_header(data)?;
    Ok(RawInfo {
        format: Format::Jpeg,
        width: hdr.width,
        height: hdr.height,
        channels: hdr.components,
        bit_depth: hdr.precision,
        orientation: hdr.orientation,
        progressive: hdr.progressive(),
    })
}

// ------------------------------------------------------------------------------------------
// Scaling
// ------------------------------------------------------------------------------------------

/// libjpeg's size of a `size`-pixel dimension decoded at scale `m/8`: `ceil(size*m/8)`.
pub fn scaled_size(size: u32, m: u32) -> u32 {
    // Never larger than `size`, so it fits.
    (u64::from(size) * u64::from(m)).div_ceil(8) as u32
}

/// `region` (full-resolution coordinates inside a `width x height` image) at scale `m/8`:
/// `x0 = floor(x*m/8)`, `y0 = floor(y*m/8)`, `x1 = ceil((x+w)*m/8)`, `y1 = ceil((y+h)*m/8)`,
/// clamped to the scaled image. Never empty for a non-empty region.
pub fn scale_region(width: u32, height: u32, region: Rect, m: u32) -> Rect {
    let m = u64::from(m);
    let lo = |v: u32| (u64::from(v) * m / 8) as u32;
    let hi = |v: u64, limit: u32| ((v * m).div_ceil(8) as u32).min(limit);
    let x0 = lo(region.x);
    let y0 = lo(region.y);
    let x1 = hi(
        u64::from(region.x) + u64::from(region.width),
        scaled_size(width, m as u32),
    );
    let y1 = hi(
        u64::from(region.y) + u64::from(region.height),
        scaled_size(height, m as u32),
    );
    Rect::new(x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
}

/// The DCT scales we decode at: `M/8` for these `M` only. libjpeg-turbo has SIMD inverse
/// DCTs for 8x8, 4x4, 2x2 and 1x1 blocks; the other sizes (3..7) run C code that costs
/// *more* than a full-size SIMD decode, so they are never the cheap choice.
pub const SCALES: [u32; 4] = [1, 2, 4, 8];

/// The DCT scale `M` (decode at `M/8`, `M` in [`SCALES`]) for a request: the smallest whose
/// scaled `region` (see [`scale_region`]) is still at least `min_size` in both dimensions;
/// `8` (full size) when there is no `min_size` or when even the full-size region is smaller
/// than it. Smaller `M` means less IDCT, upsampling and colour-conversion work (libjpeg
/// computes the reduced image directly from the DCT coefficients).
pub fn choose_scale(width: u32, height: u32, region: Rect, min_size: Option<(u32, u32)>) -> u32 {
    let Some((tw, th)) = min_size else {
        return 8;
    };
    SCALES
        .into_iter()
        .find(|&m| {
            let r = scale_region(width, height, region, m);
            r.width >= tw && r.height >= th
        })
        .unwrap_or(8)
}

// ------------------------------------------------------------------------------------------
// Decoding
// ------------------------------------------------------------------------------------------

/// Decode `req.roi` (or the whole image) at the scale [`choose_scale`] picks for
/// `req.min_size`, in the colour `req.mode` asks for:
///
/// | file \ mode | Rgb | Bgr | Rgba | L | Unchanged |
/// |---|---|---|---|---|---|
/// | gray | Rgb (L→RGB) | Bgr | Rgba | Gray | Gray |
/// | YCbCr / RGB | Rgb | Bgr | Rgba | Rgb (convert to L later, as Pillow does from RGB) | Rgb |
/// | CMYK / YCCK | Cmyk (inverted, as Pillow) | Cmyk | Cmyk | Cmyk | Cmyk |
///
/// The returned image is the region scaled as [`scale_region`] says.
pub fn decode(data: &[u8], req: &RawRequest) -> Result<Decoded> {
    decode_impl(data, req, false).map(|(d, _, _)| d)
}

/// Like [`decode`], but the rows may be wider than the region: libjpeg decodes an
/// iMCU-aligned band of columns around a partial-width region anyway, and taking the band
/// as it is saves copying each row. Returns the image, the (scaled) region's first column in
/// it, and the DCT scale `M` used.
pub fn decode_band(data: &[u8], req: &RawRequest) -> Result<(Decoded, u32, u32)> {
    decode_impl(data, req, true)
}

fn decode_impl(data: &[u8], req: &RawRequest, band: bool) -> Result<(Decoded, u32, u32)> {
    let hdr = parse_header(data)?;
    let region = checked_region(req, hdr.width, hdr.height)?;
    // Lossless JPEG has no DCT to scale.
    let m = if hdr.lossless() {
        8
    } else {
        choose_scale(hdr.width, hdr.height, region, req.min_size)
    };
    let flags = Flags {
        fast: req.fast,
        strict: req.strict,
        reference: false,
    };
    // Strict decodes of the whole image read on to the EOI marker (libjpeg checks what
    // follows the last row); the DC-only path stops at the last block row.
    let whole = region == Rect::new(0, 0, hdr.width, hdr.height);
    if m == 1
        && hdr.components == 1
        && matches!(req.mode, Mode::L | Mode::Unchanged)
        && !(req.strict && whole)
    {
        if let Some(d) = decode_gray_dc(data, &hdr, region) {
            return Ok((d, 0, m));
        }
    }
    if let Some(d) = decode_spliced(data, &hdr, req.mode, region, m, flags, band) {
        return d.map(|(d, left)| (d, left, m));
    }
    let (decoded, left) = decode_at(data, &hdr, req.mode, region, m, flags, band)?;
    Ok((decoded, left, m))
}

/// A one-component file at scale 1/8: every output pixel is one block's DC value, computed
/// by our own Huffman parse ([`skip::Stream::gray_dc_region`]) without libjpeg (the same
/// pixels). `None` when the file is not of that kind.
fn decode_gray_dc(data: &[u8], hdr: &Header, region: Rect) -> Option<Decoded> {
    if !matches!(hdr.sof, 0xC0 | 0xC1) || hdr.precision != 8 {
        return None;
    }
    let r = scale_region(hdr.width, hdr.height, region, 1);
    let px = skip::Stream::parse(data)?.gray_dc_region(data, r)?;
    Some(Decoded {
        image: Image::new_u8(r.width as usize, r.height as usize, 1, px),
        layout: Layout::Gray,
    })
}

/// A region starting at least this many iMCU rows down is decoded from a spliced stream
/// (see [`skip`]): below that, parsing the tables costs more than the faster skip saves.
const SPLICE_MIN_ROWS: u32 = 3;

/// Decode `region` of a sequential Huffman file from a stream spliced to start one iMCU row
/// above it ([`skip::Stream::splice`]): the same pixels as [`decode_at`] on the original,
/// with the rows above found by our own (faster) Huffman skip instead of libjpeg's.
/// `None` when the file or region is not of that kind (the caller decodes as usual).
fn decode_spliced(
    data: &[u8],
    hdr: &Header,
    mode: Mode,
    region: Rect,
    m: u32,
    flags: Flags,
    band: bool,
) -> Option<Result<(Decoded, u32)>> {
    if !matches!(hdr.sof, 0xC0 | 0xC1) || hdr.precision != 8 {
        return None;
    }
    let r = scale_region(hdr.width, hdr.height, region, m);
    // decode_narrowed keeps at most a third of the MCU columns (margins included): skip
    // parsing the stream for regions that cannot qualify and start too high to splice.
    let narrow_worth_it = region.width.saturating_mul(3) <= hdr.width;
    if !narrow_worth_it && region.y < 8 * SPLICE_MIN_ROWS {
        return None;
    }
    let st = skip::Stream::parse(data)?;
    if narrow_worth_it {
        if let Some(d) = decode_narrowed(data, &st, mode, r, m, flags, band) {
            return Some(d);
        }
    }
    if region.y < 8 * SPLICE_MIN_ROWS {
        return None;
    }
    let rows_out = st.row_height() * m / 8; // output rows per iMCU row at scale m/8
    let first = r.y / rows_out; // the iMCU row holding the region's first row
    if first < SPLICE_MIN_ROWS {
        return None;
    }
    // Keep one real iMCU row above the region (upsampling context), behind the synthetic one.
    let skip = first - 1;
    let spliced = st.splice(data, skip as usize)?;
    let shift = (skip - 1) * st.row_height();
    let hdr2 = Header {
        height: hdr.height - shift,
        ..*hdr
    };
    let r2 = Rect::new(r.x, r.y - (skip - 1) * rows_out, r.width, r.height);
    Some(decode_scaled(&spliced, &hdr2, mode, r2, m, flags, band))
}

/// Decode the scaled region `r` from a file holding only the MCU rows and columns it needs
/// plus one of margin on each side ([`skip::Stream::narrow`]): the same pixels as
/// [`decode_at`] on the original (the margin is the upsampling context), with libjpeg
/// decoding only those blocks. `None` when the narrow file cannot be made, or would keep more
/// than a third of the MCU columns: there our parse of the full-width rows costs more than
/// libjpeg's decode of the columns it saves.
fn decode_narrowed(
    data: &[u8],
    st: &skip::Stream,
    mode: Mode,
    r: Rect,
    m: u32,
    flags: Flags,
    band: bool,
) -> Option<Result<(Decoded, u32)>> {
    let (units, unit_h, unit_mcus, mcu_w) = st.units();
    // Unit heights and MCU widths are multiples of 8: whole output pixels at every scale.
    let (uh, mw) = (unit_h * m / 8, mcu_w * m / 8);
    if r.width == 0 || r.height == 0 || uh == 0 || mw == 0 {
        return None;
    }
    let (first, last) = ((r.y / uh) as usize, ((r.y + r.height - 1) / uh) as usize);
    let (cfirst, clast) = ((r.x / mw) as usize, ((r.x + r.width - 1) / mw) as usize);
    let (u0, u_end) = (first.saturating_sub(1), (last + 2).min(units));
    let (c0, c1) = (cfirst.saturating_sub(1), (clast + 2).min(unit_mcus));
    if (c1 - c0) * 3 > unit_mcus {
        return None;
    }
    let (narrow, top) = st.narrow(data, u0, u_end, c0, c1)?;
    let hdr2 = parse_header(&narrow).ok()?;
    // Column 0 of the narrow file is the synthetic one when c0 > 0.
    let x0 = c0 as u32 * mw - if c0 > 0 { mw } else { 0 };
    let y0 = (u0 as u32 - top) * uh;
    let r2 = Rect::new(r.x - x0, r.y - y0, r.width, r.height);
    Some(decode_scaled(&narrow, &hdr2, mode, r2, m, flags, band))
}

fn decode_at(
    data: &[u8],
    hdr: &Header,
    mode: Mode,
    region: Rect,
    m: u32,
    flags: Flags,
    band: bool,
) -> Result<(Decoded, u32)> {
    let r = scale_region(hdr.width, hdr.height, region, m);
    decode_scaled(data, hdr, mode, r, m, flags, band)
}

/// Decode the rectangle `r` of the image scaled to `m/8`.
fn decode_scaled(
    data: &[u8],
    hdr: &Header,
    mode: Mode,
    r: Rect,
    m: u32,
    flags: Flags,
    band: bool,
) -> Result<(Decoded, u32)> {
    if hdr.hierarchical() {
        return Err(Error::unsupported(
            FMT,
            format!(
                "hierarchical (differential) JPEG, SOF 0x{:02x}, is not supported",
                hdr.sof
            ),
        ));
    }
    if hdr.precision != 8 {
        return Err(Error::unsupported(
            FMT,
            format!(
                "{}-bit samples are not supported (8-bit only)",
                hdr.precision
            ),
        ));
    }
    let (color, layout) = match (hdr.components, mode) {
        (4, _) => (PF_COLOR_CMYK, Layout::Cmyk),
        (1, Mode::L | Mode::Unchanged) => (PF_COLOR_GRAY, Layout::Gray),
        (_, Mode::Rgb | Mode::L | Mode::Unchanged) => (PF_COLOR_RGB, Layout::Rgb),
        (_, Mode::Bgr) => (PF_COLOR_BGR, Layout::Bgr),
        (_, Mode::Rgba) => (PF_COLOR_RGBA, Layout::Rgba),
    };
    let channels = layout.channels();
    let sw = scaled_size(hdr.width, m);
    let sh = scaled_size(hdr.height, m);
    // A band can be as wide as the scaled image.
    let cap_width = if band { sw } else { r.width };
    let cap = (cap_width as usize)
        .checked_mul(r.height as usize)
        .and_then(|n| n.checked_mul(channels))
        .ok_or_else(|| Error::invalid("roi", "region too large for this platform"))?;
    let params = PfJpegParams {
        image_width: hdr.width,
        image_height: hdr.height,
        scale_num: m,
        scaled_width: sw,
        scaled_height: sh,
        x: r.x,
        y: r.y,
        w: r.width,
        h: r.height,
        color,
        fast: u32::from(flags.fast),
        strict: u32::from(flags.strict),
        reference: u32::from(flags.reference),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(cap);
    let mut band_out = PfJpegBand::default();
    let band_ptr: *mut PfJpegBand = if band {
        &mut band_out
    } else {
        std::ptr::null_mut()
    };
    let mut msg = [0u8; 256];
    // SAFETY: `data` is a live slice of `data.len()` bytes that the shim only reads;
    // `params` outlives the call; `buf` owns at least `cap` bytes of (uninitialized)
    // capacity, which the shim only writes, never reads, and never past `cap` (it checks
    // `cap` against the region, band and channel count it was given); `band_ptr` is null
    // or points at `band_out`, which outlives the call; `msg` is a writable
    // 256-byte buffer the shim NUL-terminates. The shim keeps no pointer after returning,
    // and every libjpeg longjmp stays inside its own frames.
    let rc = unsafe {
        pf_jpeg_decode(
            data.as_ptr(),
            data.len(),
            &params,
            buf.as_mut_ptr(),
            cap,
            band_ptr,
            msg.as_mut_ptr().cast::<c_char>(),
            msg.len(),
        )
    };
    if rc != PF_OK {
        msg[msg.len() - 1] = 0;
        let text = CStr::from_bytes_until_nul(&msg)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(match rc {
            PF_TRUNCATED => Error::truncated(FMT, text),
            PF_CORRUPT => Error::corrupt(FMT, text),
            PF_UNSUPPORTED => Error::unsupported(FMT, text),
            _ => Error::corrupt(FMT, format!("inconsistent JPEG header ({text})")),
        });
    }
    // Without a band the rows are exactly the region's; with one, the shim reports the
    // columns it wrote, which must contain the region and fit in the capacity.
    let (out_x, out_w) = if band {
        (band_out.x, band_out.w)
    } else {
        (r.x, r.width)
    };
    if out_x > r.x || u64::from(out_x) + u64::from(out_w) < u64::from(r.x) + u64::from(r.width) {
        return Err(Error::Internal(format!(
            "JPEG band {out_x}+{out_w} does not contain the region {r:?}"
        )));
    }
    let len = out_w as usize * r.height as usize * channels;
    if len > cap {
        return Err(Error::Internal("JPEG band larger than its buffer".into()));
    }
    // SAFETY: on PF_OK the shim has written all `r.height` rows of `out_w * channels`
    // bytes, i.e. exactly the first `len` (<= `cap`, checked above) bytes reserved above.
    unsafe { buf.set_len(len) };
    Ok((
        Decoded {
            image: Image::new_u8(out_w as usize, r.height as usize, channels, buf),
            layout,
        },
        r.x - out_x,
    ))
}

/// Test reference: the whole image at full scale in `mode`'s colour, decoded by libjpeg's
/// own entropy decoder (not pixfeed's MCU decoder), which is fed the data a few bytes at a
/// time so that it always runs its checking path, with `strict` as for [`decode`].
#[doc(hidden)]
pub fn decode_reference(data: &[u8], mode: Mode, strict: bool) -> Result<Decoded> {
    let hdr = parse_header(data)?;
    let flags = Flags {
        fast: false,
        strict,
        reference: true,
    };
    let r = Rect::new(0, 0, hdr.width, hdr.height);
    decode_scaled(data, &hdr, mode, r, 8, flags, false).map(|(d, _)| d)
}

mod skip;

#[cfg(test)]
mod tests;
