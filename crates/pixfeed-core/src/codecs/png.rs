//! PNG codec: our own chunk scan for the header facts (IHDR, PLTE, tRNS, eXIf), the `png`
//! crate for inflate + unfiltering (raw rows, no transformations), and our own row
//! conversion into the final buffer so that the output matches Pillow's `PngImagePlugin`.
//!
//! Native layouts:
//! - gray 1/2/4/8-bit -> `Gray` (1/2/4-bit scaled by 255/85/17), with tRNS -> `GrayAlpha`;
//! - gray+alpha -> `GrayAlpha`; RGB -> `Rgb`, with tRNS -> `Rgba`; RGBA -> `Rgba`;
//! - palette -> `Rgb`, with tRNS -> `Rgba` (indices past PLTE are opaque black, as Pillow);
//! - 16-bit: `Mode::Unchanged` returns the native 16-bit samples (`Image::new_u16`, tRNS
//!   expanded to alpha 0/65535 by exact 16-bit comparison). Every other mode keeps the high
//!   byte, `v >> 8` (libpng `strip_16`, OpenCV convention); this is what Pillow does for
//!   16-bit RGB, RGBA and gray+alpha. Pillow differs for 16-bit *gray* (mode "I;16"), whose
//!   `convert("L"/"RGB")` clips `min(v, 255)`; we keep `v >> 8` there.
//!
//! tRNS on gray/RGB, Pillow-exact (`convert_transparent` compares 8-bit pixels with the low
//! byte of each tRNS value): alpha is 0 where the *output* 8-bit sample(s) equal `t & 0xFF`
//! (1-bit gray: `t != 0` means white), 255 elsewhere. So for 2/4-bit gray only values whose
//! scaled level equals the raw tRNS byte become transparent, and 16-bit RGB compares the high
//! bytes with the tRNS low bytes. Exception: 16-bit gray (whose 8-bit values already differ
//! from Pillow) compares the full 16-bit value.
//!
//! Also: a tRNS chunk too short for its colour type is ignored (Pillow raises); the first
//! PLTE/tRNS/eXIf chunk wins; orientation comes from an eXIf chunk *before* IDAT only; APNG
//! files give their default (IDAT) image, which is Pillow's frame 0.
//!
//! Interlaced (Adam7) images are decoded whole, then cropped. Non-interlaced images are read
//! row by row: rows above the ROI are unfiltered (they must be) but not converted, reading
//! stops after the ROI's last row, and only the ROI's columns are converted. Strict decodes
//! (`RawRequest::strict`) verify chunk CRCs and the zlib Adler-32, and whole-image ones read
//! on to IEND; lenient ones verify neither (Pillow does not verify IDAT CRCs either), so
//! corruption there shows as an inflate/filter error or as wrong pixels.

use std::io::Cursor;

use super::{checked_region, exif, Decoded, Format, Layout, Mode, RawInfo, RawRequest};
use crate::image::Image;
use crate::{Error, Result};

const FMT: &str = "png";
const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

const GRAY: u8 = 0;
const RGB: u8 = 2;
const INDEXED: u8 = 3;
const GRAY_ALPHA: u8 = 4;
const RGBA: u8 = 6;

/// What the chunks before the image data say.
struct Scan<'a> {
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    interlaced: bool,
    plte: Option<&'a [u8]>,
    /// Raw tRNS payload, only when valid for the colour type (gray >= 2 bytes, RGB >= 6).
    trns: Option<&'a [u8]>,
    orientation: u8,
}

fn be32(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(off..off + 4)?.try_into().ok()?))
}

fn scan(data: &[u8]) -> Result<Scan<'_>> {
    if !data.starts_with(SIGNATURE) {
        return Err(if SIGNATURE.starts_with(data) {
            Error::truncated(FMT, "file ends inside the signature")
        } else {
            Error::corrupt(FMT, "missing PNG signature")
        });
    }
    let ihdr = data
        .get(8..8 + 8 + 13)
        .ok_or_else(|| Error::truncated(FMT, "file ends inside the IHDR chunk"))?;
    if be32(ihdr, 0) != Some(13) || &ihdr[4..8] != b"IHDR" {
        return Err(Error::corrupt(FMT, "first chunk is not a 13-byte IHDR"));
    }
    let width = be32(ihdr, 8).unwrap_or(0);
    let height = be32(ihdr, 12).unwrap_or(0);
    let (bit_depth, color_type) = (ihdr[16], ihdr[17]);
    let (compression, filter, interlace) = (ihdr[18], ihdr[19], ihdr[20]);
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(Error::corrupt(
            FMT,
            format!("invalid image size {width}x{height}"),
        ));
    }
    let depth_ok = match color_type {
        GRAY => matches!(bit_depth, 1 | 2 | 4 | 8 | 16),
        INDEXED => matches!(bit_depth, 1 | 2 | 4 | 8),
        RGB | GRAY_ALPHA | RGBA => matches!(bit_depth, 8 | 16),
        _ => {
            return Err(Error::corrupt(
                FMT,
                format!("invalid colour type {color_type}"),
            ))
        }
    };
    if !depth_ok {
        return Err(Error::corrupt(
            FMT,
            format!("invalid bit depth {bit_depth} for colour type {color_type}"),
        ));
    }
    if compression != 0 || filter != 0 || interlace > 1 {
        return Err(Error::corrupt(
            FMT,
            format!(
                "invalid IHDR methods (compression {compression}, filter {filter}, interlace {interlace})"
            ),
        ));
    }
    let mut s = Scan {
        width,
        height,
        bit_depth,
        color_type,
        interlaced: interlace == 1,
        plte: None,
        trns: None,
        orientation: 1,
    };
    // Walk the chunks up to the image data. A chunk cut by the end of the file stops the walk
    // (the decoder reports the truncation); the first PLTE/tRNS/eXIf wins.
    let mut pos = 8 + 8 + 13 + 4;
    let mut seen_exif = false;
    while let (Some(len), Some(kind)) = (be32(data, pos), data.get(pos + 4..pos + 8)) {
        if kind == b"IDAT" || kind == b"IEND" {
            break;
        }
        let start = pos + 8;
        let Some(body) = start
            .checked_add(len as usize)
            .and_then(|end| data.get(start..end))
        else {
            break;
        };
        match kind {
            b"PLTE" if s.plte.is_none() => s.plte = Some(body),
            b"tRNS" if s.trns.is_none() => {
                let valid = match color_type {
                    GRAY => body.len() >= 2,
                    RGB => body.len() >= 6,
                    INDEXED => true,
                    _ => false,
                };
                if valid {
                    s.trns = Some(body);
                }
            }
            b"eXIf" if !seen_exif => {
                seen_exif = true;
                s.orientation = exif::orientation(body);
            }
            _ => {}
        }
        pos = start + body.len() + 4;
    }
    if color_type == INDEXED && s.plte.is_none() {
        return Err(Error::corrupt(FMT, "palette image without a PLTE chunk"));
    }
    Ok(s)
}

/// How raw rows turn into output samples.
enum Conv {
    /// 8-bit samples copied as they are (`n` bytes per pixel).
    Copy(usize),
    /// 16-bit samples, high byte kept (`n` samples per pixel).
    Strip16(usize),
    /// 16-bit samples to native-endian u16 (`n` samples per pixel).
    Wide16(usize),
    /// 1/2/4-bit gray, scaled; `trns` = the 8-bit level that gets alpha 0 (GrayAlpha out).
    GrayLow { bits: u8, trns: Option<u8> },
    /// 8-bit gray + tRNS -> GrayAlpha.
    Gray8Trns(u8),
    /// 16-bit gray + tRNS -> GrayAlpha (8-bit, or 16-bit in Unchanged mode).
    Gray16Trns(u16),
    /// 8-bit RGB + tRNS -> RGBA.
    Rgb8Trns([u8; 3]),
    /// 16-bit RGB + tRNS -> RGBA16 (exact compare) in Unchanged mode, else RGBA8 with
    /// Pillow's high-byte vs low-byte compare.
    Rgb16Trns([u16; 3]),
    /// Palette of 1/2/4/8 bits -> RGB or RGBA.
    Palette {
        bits: u8,
        lut: Box<[[u8; 4]; 256]>,
        alpha: bool,
    },
}

struct Plan {
    conv: Conv,
    layout: Layout,
    wide: bool,
}

fn plan(s: &Scan<'_>, unchanged: bool) -> Plan {
    let wide = unchanged && s.bit_depth == 16;
    let be16 = |t: &[u8], i: usize| u16::from_be_bytes([t[2 * i], t[2 * i + 1]]);
    let (conv, layout) = match (s.color_type, s.trns) {
        (GRAY, None) if s.bit_depth < 8 => (
            Conv::GrayLow {
                bits: s.bit_depth,
                trns: None,
            },
            Layout::Gray,
        ),
        (GRAY, Some(t)) if s.bit_depth < 8 => {
            let t16 = be16(t, 0);
            let t8 = if s.bit_depth == 1 {
                if t16 != 0 {
                    255
                } else {
                    0
                }
            } else {
                t16 as u8
            };
            (
                Conv::GrayLow {
                    bits: s.bit_depth,
                    trns: Some(t8),
                },
                Layout::GrayAlpha,
            )
        }
        (GRAY, Some(t)) if s.bit_depth == 8 => (Conv::Gray8Trns(t[1]), Layout::GrayAlpha),
        (GRAY, Some(t)) => (Conv::Gray16Trns(be16(t, 0)), Layout::GrayAlpha),
        (RGB, Some(t)) if s.bit_depth == 8 => (Conv::Rgb8Trns([t[1], t[3], t[5]]), Layout::Rgba),
        (RGB, Some(t)) => (
            Conv::Rgb16Trns([be16(t, 0), be16(t, 1), be16(t, 2)]),
            Layout::Rgba,
        ),
        (INDEXED, trns) => {
            let plte = s.plte.unwrap_or(&[]);
            let mut lut = Box::new([[0u8, 0, 0, 255]; 256]);
            for (dst, src) in lut.iter_mut().zip(plte.chunks_exact(3)) {
                dst[..3].copy_from_slice(src);
            }
            if let Some(t) = trns {
                for (dst, &a) in lut.iter_mut().zip(t) {
                    dst[3] = a;
                }
            }
            let alpha = trns.is_some();
            (
                Conv::Palette {
                    bits: s.bit_depth,
                    lut,
                    alpha,
                },
                if alpha { Layout::Rgba } else { Layout::Rgb },
            )
        }
        (ct, _) => {
            let (n, layout) = match ct {
                GRAY => (1, Layout::Gray),
                GRAY_ALPHA => (2, Layout::GrayAlpha),
                RGB => (3, Layout::Rgb),
                _ => (4, Layout::Rgba),
            };
            let conv = if s.bit_depth == 8 {
                Conv::Copy(n)
            } else if wide {
                Conv::Wide16(n)
            } else {
                Conv::Strip16(n)
            };
            (conv, layout)
        }
    };
    Plan { conv, layout, wide }
}

/// Convert pixels `x0 .. x0 + n` of a raw row into 8-bit `dst`.
fn convert_u8(conv: &Conv, raw: &[u8], x0: usize, n: usize, dst: &mut [u8]) {
    match conv {
        Conv::Copy(c) => dst.copy_from_slice(&raw[x0 * c..(x0 + n) * c]),
        // (`Wide16` only reaches here if a caller mixes up plans; stripping is still right.)
        Conv::Strip16(c) | Conv::Wide16(c) => {
            for (d, s) in dst
                .iter_mut()
                .zip(raw[x0 * c * 2..(x0 + n) * c * 2].chunks_exact(2))
            {
                *d = s[0];
            }
        }
        Conv::GrayLow { bits, trns } => {
            let bits = usize::from(*bits);
            let mask = (1u8 << bits) - 1;
            let scale = 255 / mask;
            let per_byte = 8 / bits;
            let sample = |x: usize| -> u8 {
                let shift = 8 - bits - (x % per_byte) * bits;
                ((raw[x / per_byte] >> shift) & mask) * scale
            };
            match trns {
                None => {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = sample(x0 + i);
                    }
                }
                Some(t) => {
                    for (i, d) in dst.chunks_exact_mut(2).enumerate() {
                        let v = sample(x0 + i);
                        d[0] = v;
                        d[1] = if v == *t { 0 } else { 255 };
                    }
                }
            }
        }
        Conv::Gray8Trns(t) => {
            for (d, &v) in dst.chunks_exact_mut(2).zip(&raw[x0..x0 + n]) {
                d[0] = v;
                d[1] = if v == *t { 0 } else { 255 };
            }
        }
        Conv::Gray16Trns(t) => {
            for (d, s) in dst
                .chunks_exact_mut(2)
                .zip(raw[x0 * 2..(x0 + n) * 2].chunks_exact(2))
            {
                d[0] = s[0];
                d[1] = if u16::from_be_bytes([s[0], s[1]]) == *t {
                    0
                } else {
                    255
                };
            }
        }
        Conv::Rgb8Trns(t) => {
            for (d, s) in dst
                .chunks_exact_mut(4)
                .zip(raw[x0 * 3..(x0 + n) * 3].chunks_exact(3))
            {
                d[..3].copy_from_slice(s);
                d[3] = if s == t { 0 } else { 255 };
            }
        }
        Conv::Rgb16Trns(t) => {
            let lo = [t[0] as u8, t[1] as u8, t[2] as u8];
            for (d, s) in dst
                .chunks_exact_mut(4)
                .zip(raw[x0 * 6..(x0 + n) * 6].chunks_exact(6))
            {
                let px = [s[0], s[2], s[4]];
                d[..3].copy_from_slice(&px);
                d[3] = if px == lo { 0 } else { 255 };
            }
        }
        Conv::Palette { bits, lut, alpha } => {
            let bits = usize::from(*bits);
            let c = if *alpha { 4 } else { 3 };
            if bits == 8 {
                for (d, &i) in dst.chunks_exact_mut(c).zip(&raw[x0..x0 + n]) {
                    d.copy_from_slice(&lut[usize::from(i)][..c]);
                }
            } else {
                let mask = (1u8 << bits) - 1;
                let per_byte = 8 / bits;
                for (i, d) in dst.chunks_exact_mut(c).enumerate() {
                    let x = x0 + i;
                    let shift = 8 - bits - (x % per_byte) * bits;
                    let idx = (raw[x / per_byte] >> shift) & mask;
                    d.copy_from_slice(&lut[usize::from(idx)][..c]);
                }
            }
        }
    }
}

/// Convert pixels `x0 .. x0 + n` of a raw 16-bit row into u16 `dst` (Unchanged mode).
fn convert_u16(conv: &Conv, raw: &[u8], x0: usize, n: usize, dst: &mut [u16]) {
    let be = |s: &[u8]| u16::from_be_bytes([s[0], s[1]]);
    match conv {
        Conv::Wide16(c) | Conv::Strip16(c) => {
            for (d, s) in dst
                .iter_mut()
                .zip(raw[x0 * c * 2..(x0 + n) * c * 2].chunks_exact(2))
            {
                *d = be(s);
            }
        }
        Conv::Gray16Trns(t) => {
            for (d, s) in dst
                .chunks_exact_mut(2)
                .zip(raw[x0 * 2..(x0 + n) * 2].chunks_exact(2))
            {
                let v = be(s);
                d[0] = v;
                d[1] = if v == *t { 0 } else { u16::MAX };
            }
        }
        Conv::Rgb16Trns(t) => {
            for (d, s) in dst
                .chunks_exact_mut(4)
                .zip(raw[x0 * 6..(x0 + n) * 6].chunks_exact(6))
            {
                let px = [be(&s[0..2]), be(&s[2..4]), be(&s[4..6])];
                d[..3].copy_from_slice(&px);
                d[3] = if px == *t { 0 } else { u16::MAX };
            }
        }
        // `plan` only asks for 16-bit output from 16-bit sources, which are the arms above.
        _ => {}
    }
}

fn map_err(e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(FMT, "file ends before the image data is complete")
        }
        png::DecodingError::IoError(e) => Error::corrupt(FMT, e.to_string()),
        png::DecodingError::Format(e) => {
            let msg = e.to_string();
            if msg.contains("not have enough data") {
                Error::truncated(FMT, format!("image data ends early: {msg}"))
            } else {
                Error::corrupt(FMT, msg)
            }
        }
        png::DecodingError::LimitsExceeded => {
            Error::unsupported(FMT, "rows exceed the decoder's memory limit")
        }
        png::DecodingError::Parameter(e) => Error::corrupt(FMT, e.to_string()),
    }
}

pub fn probe(data: &[u8]) -> Result<RawInfo> {
    let s = scan(data)?;
    let p = plan_layout_only(&s);
    Ok(RawInfo {
        format: Format::Png,
        width: s.width,
        height: s.height,
        channels: p.channels() as u8,
        bit_depth: if s.bit_depth == 16 { 16 } else { 8 },
        orientation: s.orientation,
        progressive: s.interlaced,
    })
}

/// The native layout without building a palette LUT.
fn plan_layout_only(s: &Scan<'_>) -> Layout {
    let trns = s.trns.is_some();
    match s.color_type {
        GRAY if trns => Layout::GrayAlpha,
        GRAY => Layout::Gray,
        GRAY_ALPHA => Layout::GrayAlpha,
        RGB | INDEXED if trns => Layout::Rgba,
        RGB | INDEXED => Layout::Rgb,
        _ => Layout::Rgba,
    }
}

pub fn decode(data: &[u8], req: &RawRequest) -> Result<Decoded> {
    let s = scan(data)?;
    let roi = checked_region(req, s.width, s.height)?;
    let plan = plan(&s, req.mode == Mode::Unchanged);
    let ch = plan.layout.channels();
    let too_big = || Error::unsupported(FMT, "image too large for this platform");

    // Raw (packed, unfiltered) row size; it bounds the decoder's internal buffers.
    let bits_pp = u64::from(s.bit_depth)
        * match s.color_type {
            GRAY | INDEXED => 1,
            GRAY_ALPHA => 2,
            RGB => 3,
            _ => 4,
        };
    let raw_row =
        usize::try_from((u64::from(s.width) * bits_pp).div_ceil(8)).map_err(|_| too_big())?;
    let limits = png::Limits {
        bytes: (64usize << 20).saturating_add(raw_row.saturating_mul(4)),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(data), limits);
    decoder.set_transformations(png::Transformations::IDENTITY);
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    // Strict: chunk CRCs and the zlib Adler-32 are verified (lenient: as Pillow, which does
    // not verify IDAT's).
    decoder.ignore_checksums(!req.strict);
    let mut reader = decoder.read_info().map_err(map_err)?;
    {
        let info = reader.info();
        if info.size() != (s.width, s.height) {
            return Err(Error::corrupt(FMT, "IHDR disagrees with the decoder"));
        }
        if let Some(fc) = &info.frame_control {
            if (fc.width, fc.height, fc.x_offset, fc.y_offset) != (s.width, s.height, 0, 0) {
                return Err(Error::unsupported(
                    FMT,
                    "APNG whose default image is smaller than the canvas",
                ));
            }
        }
        if reader.output_line_size(s.width) != Some(raw_row) {
            return Err(Error::corrupt(FMT, "unexpected row size"));
        }
    }

    let (x0, y0) = (roi.x as usize, roi.y as usize);
    let (rw, rh) = (roi.width as usize, roi.height as usize);
    let out_row = rw.checked_mul(ch).ok_or_else(too_big)?;
    let out_len = out_row.checked_mul(rh).ok_or_else(too_big)?;

    // Rows come either from the row-by-row reader or from a whole deinterlaced frame.
    let mut rows = RowSource::new(&mut reader, s.interlaced, raw_row, s.height)?;
    // The output grows row by row: zeroing each row just before it is written is cheaper
    // than zeroing the whole cold buffer up front.
    rows.skip_to(y0)?;
    let image = if plan.wide {
        let mut out = Vec::with_capacity(out_len);
        for _ in 0..rh {
            let start = out.len();
            out.resize(start + out_row, 0u16);
            convert_u16(&plan.conv, rows.next()?, x0, rw, &mut out[start..]);
        }
        Image::new_u16(rw, rh, ch, out)
    } else {
        let mut out = Vec::with_capacity(out_len);
        let direct = matches!(plan.conv, Conv::Copy(_)) && x0 == 0 && out_row == raw_row;
        for _ in 0..rh {
            let start = out.len();
            out.resize(start + out_row, 0u8);
            let dst = &mut out[start..];
            if direct {
                rows.read_into(dst)?;
            } else {
                convert_u8(&plan.conv, rows.next()?, x0, rw, dst);
            }
        }
        Image::new_u8(rw, rh, ch, out)
    };
    drop(rows);
    // Strict, whole image: read on to IEND (the rest of the zlib stream, its Adler-32 and
    // the CRCs of the chunks after the image data). A file missing only IEND keeps its
    // pixels, as a JPEG missing only EOI does.
    if req.strict && (rw, rh) == (s.width as usize, s.height as usize) {
        match reader.finish() {
            Ok(()) => {}
            Err(png::DecodingError::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(map_err(e)),
        }
    }
    Ok(Decoded {
        image,
        layout: plan.layout,
    })
}

type Reader<'a> = png::Reader<Cursor<&'a [u8]>>;

/// Sequential access to the raw rows of the image.
struct RowSource<'r, 'a> {
    reader: &'r mut Reader<'a>,
    /// Interlaced: the whole deinterlaced image; else one row of scratch.
    buf: Vec<u8>,
    interlaced: bool,
    raw_row: usize,
    /// Next row to return.
    y: usize,
}

impl<'r, 'a> RowSource<'r, 'a> {
    fn new(
        reader: &'r mut Reader<'a>,
        interlaced: bool,
        raw_row: usize,
        height: u32,
    ) -> Result<Self> {
        let too_big = || Error::unsupported(FMT, "image too large for this platform");
        let buf = if interlaced {
            let size = raw_row.checked_mul(height as usize).ok_or_else(too_big)?;
            let mut buf = vec![0u8; size];
            reader.next_frame(&mut buf).map_err(map_err)?;
            buf
        } else {
            vec![0u8; raw_row]
        };
        Ok(RowSource {
            reader,
            buf,
            interlaced,
            raw_row,
            y: 0,
        })
    }

    fn skip_to(&mut self, y: usize) -> Result<()> {
        if !self.interlaced {
            while self.y < y {
                self.next()?;
            }
        }
        self.y = y;
        Ok(())
    }

    fn next(&mut self) -> Result<&[u8]> {
        let y = self.y;
        self.y += 1;
        if self.interlaced {
            let start = y * self.raw_row;
            self.buf
                .get(start..start + self.raw_row)
                .ok_or_else(|| Error::corrupt(FMT, "row out of range"))
        } else {
            Self::read(self.reader, &mut self.buf)?;
            Ok(&self.buf)
        }
    }

    /// Read the next row straight into `dst` (exactly one raw row long).
    fn read_into(&mut self, dst: &mut [u8]) -> Result<()> {
        if self.interlaced {
            let row = self.next()?;
            dst.copy_from_slice(row);
            Ok(())
        } else {
            self.y += 1;
            Self::read(self.reader, dst)
        }
    }

    fn read(reader: &mut Reader<'a>, dst: &mut [u8]) -> Result<()> {
        match reader.read_row(dst).map_err(map_err)? {
            Some(_) => Ok(()),
            None => Err(Error::corrupt(FMT, "image data has fewer rows than IHDR")),
        }
    }
}
