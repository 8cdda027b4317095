//! BMP codec: own parser, Pillow's `BmpImagePlugin` semantics.
//!
//! Supported (exactly what Pillow opens): `BITMAPCOREHEADER` (12-byte OS/2 1.x header, 3-byte
//! palette entries) and the 40/52/56/64/108/124-byte Windows headers; 1/4/8-bit palette,
//! 16-bit (5-5-5, or `BI_BITFIELDS` 5-6-5 / 5-5-5), 24-bit, 32-bit (`BI_RGB`: the 4th byte is
//! padding; `BI_BITFIELDS` with one of Pillow's byte-aligned mask sets, with alpha when the
//! masks name one), `BI_RLE8` and `BI_RLE4`; bottom-up and top-down row order.
//!
//! Output layouts: palette images give `Gray` when every palette colour is gray (R = G = B),
//! else `Rgb`; 16/24-bit and 32-bit without an alpha mask give `Rgb`; 32-bit with an alpha mask
//! gives `Rgba` with the stored alpha (no "all-zero alpha means opaque" heuristic, as Pillow).
//!
//! Pillow details reproduced:
//! - palette indices past the palette (short palettes, truncated palettes) are black;
//! - an 8-bit palette that is the gray ramp `i -> (i, i, i)` over all its entries is read as
//!   Pillow's mode "L": every index maps to its own value, even past the palette end; a 1-bit
//!   black(/white) palette of at most 2 entries is Pillow's mode "1": index 1 is white;
//! - 5-bit and 6-bit channels scale as `v * 255 / 31` and `v * 255 / 63` (truncating);
//! - the pixel data offset: `bfOffBits`, except 0 (data follows the header and palette) and a
//!   value pointing at the palette (Pillow skips the palette);
//! - RLE: Pillow's decoder state machine (clipped runs, absolute runs that wrap rows, deltas,
//!   word alignment on the file offset), skipped pixels are index 0.
//!
//! Deliberate differences (Pillow's result there is garbage or an error):
//! - a gray palette whose shape Pillow misreads (an 8-bit file with a black/white 2-entry
//!   palette, a 4-bit file with a gray ramp palette) decodes through the palette;
//! - palettes with more than 256 entries use their first 256 (Pillow raises);
//! - lenient only: an RLE stream whose end-of-bitmap marker comes before the last pixel
//!   leaves the rest as index 0 (strict, as Pillow, raises); running out of bytes is
//!   `truncated` in both modes.
//!
//! ROI: uncompressed files are random access, so only the requested rows (and, within them,
//! only the requested columns' bytes) are read. RLE streams are sequential: they are decoded
//! whole into an index buffer (so a file decodes or fails the same way whatever the ROI), then
//! only the ROI is mapped through the palette.

use super::{checked_region, Decoded, Format, Layout, RawInfo, RawRequest};
use crate::image::{Image, Rect};
use crate::{Error, Result};

const FMT: &str = "bmp";

const BI_RGB: u32 = 0;
const BI_RLE8: u32 = 1;
const BI_RLE4: u32 = 2;
const BI_BITFIELDS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Raw,
    Rle8,
    Rle4,
}

/// How one stored pixel turns into output samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pixels {
    /// 1, 4 or 8 bits per pixel, through the palette.
    Indexed { bits: u8 },
    /// 16-bit little-endian `0RRRRRGGGGGBBBBB`.
    Rgb555,
    /// 16-bit little-endian `RRRRRGGGGGGBBBBB`.
    Rgb565,
    /// 3 bytes per pixel: B, G, R.
    Bgr24,
    /// 4 bytes per pixel; byte positions of R, G, B and optionally A.
    Quad { r: u8, g: u8, b: u8, a: Option<u8> },
}

impl Pixels {
    fn bits(self) -> u64 {
        match self {
            Pixels::Indexed { bits } => u64::from(bits),
            Pixels::Rgb555 | Pixels::Rgb565 => 16,
            Pixels::Bgr24 => 24,
            Pixels::Quad { .. } => 32,
        }
    }
}

struct Header {
    width: u32,
    height: u32,
    top_down: bool,
    compression: Compression,
    pixels: Pixels,
    /// Offset of the first stored row (may lie past the end of the data: checked at decode).
    data_offset: u64,
    /// Bytes per stored row, padded to 4.
    stride: u64,
    layout: Layout,
    /// Palette as RGB, 256 entries (black past the palette), for `Indexed`.
    palette: [[u8; 3]; 256],
    /// The palette's gray levels, when `layout` is `Gray`.
    gray: [u8; 256],
    /// `gray[i] == i` for all i (Pillow's mode "L" files): rows are copied as they are.
    gray_identity: bool,
}

fn le16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off + 2)?.try_into().ok()?))
}

fn le32(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}

fn short(what: &str) -> Error {
    Error::truncated(FMT, format!("file ends inside the {what}"))
}

fn parse(data: &[u8]) -> Result<Header> {
    if !data.starts_with(b"BM") {
        return Err(Error::corrupt(FMT, "missing 'BM' signature"));
    }
    let off_bits = le32(data, 10).ok_or_else(|| short("file header"))?;
    let header_size = le32(data, 14).ok_or_else(|| short("file header"))?;
    if !matches!(header_size, 12 | 40 | 52 | 56 | 64 | 108 | 124) {
        return Err(Error::unsupported(
            FMT,
            format!("unknown DIB header size {header_size}"),
        ));
    }
    let hs = header_size as usize;
    let dib = data.get(14..14 + hs).ok_or_else(|| short("DIB header"))?;

    let (width, height, top_down, bits, compression_code, colors, pal_entry);
    if hs == 12 {
        // BITMAPCOREHEADER: unsigned 16-bit dimensions, always bottom-up, no compression.
        width = u32::from(le16(dib, 4).unwrap_or(0));
        height = u32::from(le16(dib, 6).unwrap_or(0));
        top_down = false;
        bits = le16(dib, 10).unwrap_or(0);
        compression_code = BI_RGB;
        colors = 0;
        pal_entry = 3u64;
    } else {
        let w = le32(dib, 4).unwrap_or(0) as i32;
        let h = le32(dib, 8).unwrap_or(0) as i32;
        if w < 0 {
            return Err(Error::corrupt(FMT, format!("negative width {w}")));
        }
        width = w.unsigned_abs();
        height = h.unsigned_abs();
        top_down = h < 0;
        bits = le16(dib, 14).unwrap_or(0);
        compression_code = le32(dib, 16).unwrap_or(0);
        colors = le32(dib, 32).unwrap_or(0);
        pal_entry = 4u64;
    }
    if width == 0 || height == 0 {
        return Err(Error::corrupt(
            FMT,
            format!("zero-size image ({width}x{height})"),
        ));
    }
    if !matches!(bits, 1 | 4 | 8 | 16 | 24 | 32) {
        return Err(Error::unsupported(
            FMT,
            format!("unsupported bit depth {bits}"),
        ));
    }

    // End of the header area: header, then (40-byte header + bitfields) 3 masks.
    let mut header_end = 14 + hs as u64;
    let compression;
    let mut pixels = match bits {
        1 | 4 | 8 => Pixels::Indexed { bits: bits as u8 },
        16 => Pixels::Rgb555,
        24 => Pixels::Bgr24,
        _ => Pixels::Quad {
            r: 2,
            g: 1,
            b: 0,
            a: None,
        },
    };
    match compression_code {
        BI_RGB => compression = Compression::Raw,
        BI_RLE8 | BI_RLE4 => {
            if bits > 8 {
                return Err(Error::unsupported(
                    FMT,
                    format!("RLE compression with {bits} bits per pixel"),
                ));
            }
            compression = if compression_code == BI_RLE8 {
                Compression::Rle8
            } else {
                Compression::Rle4
            };
        }
        BI_BITFIELDS => {
            compression = Compression::Raw;
            let (r, g, b, a) = if hs >= 52 {
                (
                    le32(dib, 40).unwrap_or(0),
                    le32(dib, 44).unwrap_or(0),
                    le32(dib, 48).unwrap_or(0),
                    if hs >= 56 {
                        le32(dib, 52).unwrap_or(0)
                    } else {
                        0
                    },
                )
            } else {
                // 40-byte header: three masks follow it (the 4th RGBQUAD byte is reserved,
                // never alpha).
                let m = data.get(54..66).ok_or_else(|| short("bitfield masks"))?;
                header_end += 12;
                (
                    le32(m, 0).unwrap_or(0),
                    le32(m, 4).unwrap_or(0),
                    le32(m, 8).unwrap_or(0),
                    0,
                )
            };
            pixels = bitfields(bits, r, g, b, a)?;
        }
        other => {
            let what = match other {
                4 => "JPEG".to_string(),
                5 => "PNG".to_string(),
                n => format!("type {n}"),
            };
            return Err(Error::unsupported(FMT, format!("{what} compression")));
        }
    }

    let mut palette = [[0u8; 3]; 256];
    let mut layout = match pixels {
        Pixels::Quad { a: Some(_), .. } => Layout::Rgba,
        _ => Layout::Rgb,
    };
    let mut after_palette = header_end;
    if let Pixels::Indexed { bits } = pixels {
        let colors = if colors == 0 {
            1u64 << bits
        } else {
            u64::from(colors)
        };
        if colors > 65536 {
            return Err(Error::corrupt(FMT, format!("palette of {colors} colours")));
        }
        after_palette = header_end + colors * pal_entry;
        // A truncated palette keeps what is there (the rest is black), as Pillow.
        let start = header_end as usize;
        let want = (colors * pal_entry) as usize;
        let raw = data.get(start..).unwrap_or(&[]);
        let raw = &raw[..raw.len().min(want)];
        let pe = pal_entry as usize;
        for (dst, src) in palette.iter_mut().zip(raw.chunks_exact(pe)) {
            *dst = [src[2], src[1], src[0]];
        }
        // Pillow's "grayscale palette" shortcut (modes "1" and "L").
        let n = colors as usize;
        let entry_is = |i: usize, v: u8| raw.get(i * pe..i * pe + 3) == Some(&[v, v, v][..]);
        let gray_ramp = if n == 2 {
            entry_is(0, 0) && entry_is(1, 255)
        } else {
            (0..n).all(|i| entry_is(i, i as u8))
        };
        if gray_ramp && bits == 1 && n <= 2 {
            palette[1] = [255; 3];
        } else if gray_ramp && bits == 8 && n > 2 {
            for (i, p) in palette.iter_mut().enumerate() {
                *p = [i as u8; 3];
            }
        }
        if palette.iter().all(|p| p[0] == p[1] && p[1] == p[2]) {
            layout = Layout::Gray;
        }
    }

    let data_offset = match u64::from(off_bits) {
        0 => after_palette,
        o if o == 14 + hs as u64 && bits <= 8 => after_palette,
        o => o,
    };
    let stride = ((u64::from(width) * pixels.bits() + 31) >> 3) & !3;
    Ok(Header {
        width,
        height,
        top_down,
        compression,
        pixels,
        data_offset,
        stride,
        layout,
        palette,
        gray: std::array::from_fn(|i| palette[i][0]),
        gray_identity: layout == Layout::Gray
            && palette
                .iter()
                .enumerate()
                .all(|(i, p)| usize::from(p[0]) == i),
    })
}

/// The bytes a decode of `roi` reads beyond the headers and palette (which `head`, the start
/// of the file, holds), as ranges of file offsets: the region's columns of each of its rows
/// (whole rows, as one range, when the region is wide). `None` when the whole file is needed
/// (RLE streams are sequential) or `head` is not a BMP header. Lets a file reader fetch only
/// what the decode touches.
pub fn region_ranges(head: &[u8], roi: Rect) -> Option<Vec<std::ops::Range<u64>>> {
    let h = parse(head).ok()?;
    if h.compression != Compression::Raw || !roi.fits_in(h.width, h.height) || roi.height == 0 {
        return None;
    }
    let bits = h.pixels.bits();
    let row_bytes = (u64::from(h.width) * bits).div_ceil(8);
    let (y0, y1) = (
        u64::from(roi.y),
        u64::from(roi.y) + u64::from(roi.height) - 1,
    );
    let (first, last) = if h.top_down {
        (y0, y1)
    } else {
        let bottom = u64::from(h.height) - 1;
        (bottom - y1, bottom - y0)
    };
    let row = |r: u64| h.data_offset.checked_add(r.checked_mul(h.stride)?);
    // The bytes holding the region's columns within a row.
    let c0 = u64::from(roi.x) * bits / 8;
    let c1 = (u64::from(roi.x) + u64::from(roi.width)) * bits;
    let c1 = c1.div_ceil(8).min(row_bytes);
    if (c1 - c0) * 2 >= row_bytes {
        let whole = row(first)?..row(last)?.checked_add(row_bytes)?;
        return Some(std::iter::once(whole).collect());
    }
    (first..=last)
        .map(|r| Some(row(r)?.checked_add(c0)?..row(r)?.checked_add(c1)?))
        .collect()
}

/// The `BI_BITFIELDS` layouts Pillow accepts.
fn bitfields(bits: u16, r: u32, g: u32, b: u32, a: u32) -> Result<Pixels> {
    let pos = |m: u32| (m.trailing_zeros() / 8) as u8;
    let pixels = match (bits, r, g, b, a) {
        (32, 0, 0, 0, 0) => Pixels::Quad {
            r: 2,
            g: 1,
            b: 0,
            a: Some(3),
        },
        (32, 0xFF0000, 0xFF00, 0xFF, 0)
        | (32, 0xFF00_0000, 0xFF0000, 0xFF00, 0)
        | (32, 0xFF00_0000, 0xFF00, 0xFF, 0) => Pixels::Quad {
            r: pos(r),
            g: pos(g),
            b: pos(b),
            a: None,
        },
        (32, 0xFF00_0000, 0xFF0000, 0xFF00, 0xFF)
        | (32, 0xFF, 0xFF00, 0xFF0000, 0xFF00_0000)
        | (32, 0xFF0000, 0xFF00, 0xFF, 0xFF00_0000)
        | (32, 0xFF00_0000, 0xFF00, 0xFF, 0xFF0000) => Pixels::Quad {
            r: pos(r),
            g: pos(g),
            b: pos(b),
            a: Some(pos(a)),
        },
        (24, 0xFF0000, 0xFF00, 0xFF, _) => Pixels::Bgr24,
        (16, 0xF800, 0x7E0, 0x1F, _) => Pixels::Rgb565,
        (16, 0x7C00, 0x3E0, 0x1F, _) => Pixels::Rgb555,
        _ => {
            return Err(Error::unsupported(
                FMT,
                format!("{bits}-bit bitfields layout r={r:#x} g={g:#x} b={b:#x} a={a:#x}"),
            ))
        }
    };
    Ok(pixels)
}

pub fn probe(data: &[u8]) -> Result<RawInfo> {
    let h = parse(data)?;
    Ok(RawInfo {
        format: Format::Bmp,
        width: h.width,
        height: h.height,
        channels: h.layout.channels() as u8,
        bit_depth: 8,
        orientation: 1,
        progressive: false,
    })
}

pub fn decode(data: &[u8], req: &RawRequest) -> Result<Decoded> {
    let h = parse(data)?;
    let roi = checked_region(req, h.width, h.height)?;
    let ch = h.layout.channels();
    let out_row = (roi.width as usize)
        .checked_mul(ch)
        .ok_or_else(|| Error::unsupported(FMT, "image too large for this platform"))?;
    let out_len = out_row
        .checked_mul(roi.height as usize)
        .ok_or_else(|| Error::unsupported(FMT, "image too large for this platform"))?;

    let mut out;
    match h.compression {
        Compression::Raw => {
            // Pillow needs every row's pixel bytes but not the last row's padding.
            let row_bytes = (u64::from(h.width) * h.pixels.bits()).div_ceil(8);
            let end = (u64::from(h.height) - 1)
                .checked_mul(h.stride)
                .and_then(|v| v.checked_add(row_bytes))
                .and_then(|v| v.checked_add(h.data_offset))
                .ok_or_else(|| Error::corrupt(FMT, "pixel data size overflows"))?;
            if end > data.len() as u64 {
                return Err(if h.data_offset >= data.len() as u64 {
                    Error::truncated(
                        FMT,
                        format!(
                            "pixel data offset {} is past the end of the {}-byte file",
                            h.data_offset,
                            data.len()
                        ),
                    )
                } else {
                    Error::truncated(
                        FMT,
                        format!("pixel data needs {end} bytes, the file has {}", data.len()),
                    )
                });
            }
            // All offsets below are < end <= data.len(), so they fit in usize.
            out = Vec::with_capacity(out_len);
            let stride = h.stride as usize;
            let base = h.data_offset as usize;
            let row_bytes = row_bytes as usize;
            for j in 0..roi.height as usize {
                let y = roi.y as usize + j;
                let file_row = if h.top_down {
                    y
                } else {
                    h.height as usize - 1 - y
                };
                let start = base + file_row * stride;
                let src = data
                    .get(start..start + row_bytes)
                    .ok_or_else(|| short("pixel data"))?;
                convert_row(&h, src, roi, next_row(&mut out, out_row));
            }
        }
        Compression::Rle8 | Compression::Rle4 => {
            let indices = decode_rle(data, &h, req.strict)?;
            let w = h.width as usize;
            let eight = Header {
                pixels: Pixels::Indexed { bits: 8 },
                ..h
            };
            out = Vec::with_capacity(out_len);
            for j in 0..roi.height as usize {
                let y = roi.y as usize + j;
                let file_row = if h.top_down {
                    y
                } else {
                    h.height as usize - 1 - y
                };
                let src = indices
                    .get(file_row * w..(file_row + 1) * w)
                    .ok_or_else(|| Error::corrupt(FMT, "RLE row out of range"))?;
                convert_row(&eight, src, roi, next_row(&mut out, out_row));
            }
        }
    }
    Ok(Decoded {
        image: Image::new_u8(roi.width as usize, roi.height as usize, ch, out),
        layout: h.layout,
    })
}

/// Grow `out` by one zeroed row and return it. Zeroing row by row, just before the row is
/// written, is much cheaper than zeroing the whole (cold) buffer up front.
fn next_row(out: &mut Vec<u8>, len: usize) -> &mut [u8] {
    let start = out.len();
    out.resize(start + len, 0);
    &mut out[start..]
}

/// Pillow's 5- and 6-bit channel expansion.
const fn scale_table<const N: usize>() -> [u8; N] {
    let mut t = [0u8; N];
    let mut i = 0;
    while i < N {
        t[i] = (i * 255 / (N - 1)) as u8;
        i += 1;
    }
    t
}
static SCALE5: [u8; 32] = scale_table::<32>();
static SCALE6: [u8; 64] = scale_table::<64>();

/// Convert the columns `roi.x .. roi.x + roi.width` of one stored row into `dst`.
/// `src` holds the full row's pixel bytes (without padding).
fn convert_row(h: &Header, src: &[u8], roi: Rect, dst: &mut [u8]) {
    let x0 = roi.x as usize;
    let n = roi.width as usize;
    let pal = &h.palette;
    match h.pixels {
        Pixels::Indexed { bits } => {
            let index = |x: usize| -> u8 {
                match bits {
                    8 => src[x],
                    4 => (src[x >> 1] >> (4 - 4 * (x & 1))) & 0x0F,
                    _ => (src[x >> 3] >> (7 - (x & 7))) & 1,
                }
            };
            if h.layout == Layout::Gray {
                let gray = &h.gray;
                if bits == 8 && h.gray_identity {
                    dst.copy_from_slice(&src[x0..x0 + n]);
                } else if bits == 8 {
                    for (d, &s) in dst.iter_mut().zip(&src[x0..x0 + n]) {
                        *d = gray[s as usize];
                    }
                } else {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = gray[index(x0 + i) as usize];
                    }
                }
            } else if bits == 8 {
                for (d, &s) in dst.chunks_exact_mut(3).zip(&src[x0..x0 + n]) {
                    d.copy_from_slice(&pal[s as usize]);
                }
            } else {
                for (i, d) in dst.chunks_exact_mut(3).enumerate() {
                    d.copy_from_slice(&pal[index(x0 + i) as usize]);
                }
            }
        }
        Pixels::Rgb555 | Pixels::Rgb565 => {
            let six = h.pixels == Pixels::Rgb565;
            for (d, s) in dst
                .chunks_exact_mut(3)
                .zip(src[x0 * 2..(x0 + n) * 2].chunks_exact(2))
            {
                let p = u16::from_le_bytes([s[0], s[1]]) as usize;
                if six {
                    d[0] = SCALE5[(p >> 11) & 31];
                    d[1] = SCALE6[(p >> 5) & 63];
                } else {
                    d[0] = SCALE5[(p >> 10) & 31];
                    d[1] = SCALE5[(p >> 5) & 31];
                }
                d[2] = SCALE5[p & 31];
            }
        }
        Pixels::Bgr24 => {
            for (d, s) in dst
                .chunks_exact_mut(3)
                .zip(src[x0 * 3..(x0 + n) * 3].chunks_exact(3))
            {
                d[0] = s[2];
                d[1] = s[1];
                d[2] = s[0];
            }
        }
        Pixels::Quad { r, g, b, a } => {
            let s = src[x0 * 4..(x0 + n) * 4].chunks_exact(4);
            let (r, g, b) = (r as usize & 3, g as usize & 3, b as usize & 3);
            match a {
                None if (r, g, b) == (2, 1, 0) => {
                    for (d, s) in dst.chunks_exact_mut(3).zip(s) {
                        d[0] = s[2];
                        d[1] = s[1];
                        d[2] = s[0];
                    }
                }
                None => {
                    for (d, s) in dst.chunks_exact_mut(3).zip(s) {
                        d[0] = s[r];
                        d[1] = s[g];
                        d[2] = s[b];
                    }
                }
                Some(a) => {
                    let a = a as usize & 3;
                    for (d, s) in dst.chunks_exact_mut(4).zip(s) {
                        d[0] = s[r];
                        d[1] = s[g];
                        d[2] = s[b];
                        d[3] = s[a];
                    }
                }
            }
        }
    }
}

/// Decode an RLE8/RLE4 stream into one palette index per pixel, in stored row order (the
/// first `width` indices are the first stored row), exactly as Pillow's `BmpRleDecoder`.
fn decode_rle(data: &[u8], h: &Header, strict: bool) -> Result<Vec<u8>> {
    let rle4 = h.compression == Compression::Rle4;
    let w = h.width as usize;
    let total = w
        .checked_mul(h.height as usize)
        .ok_or_else(|| Error::unsupported(FMT, "image too large for this platform"))?;
    // `out` is Pillow's `data`: it grows with what the stream produces (so a corrupt stream
    // claiming a large image fails before much is allocated) and never exceeds `total`.
    let mut out: Vec<u8> = Vec::new();
    let mut x = 0usize;
    let mut pos = usize::try_from(h.data_offset).unwrap_or(usize::MAX);
    if pos > data.len() {
        return Err(Error::truncated(
            FMT,
            format!(
                "pixel data offset {pos} is past the end of the {}-byte file",
                data.len()
            ),
        ));
    }
    let ran_out = || Error::truncated(FMT, "RLE data ends before the last pixel");
    while out.len() < total {
        let len = out.len();
        let (Some(&count), Some(&byte)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(ran_out());
        };
        pos += 2;
        let count = count as usize;
        if count > 0 {
            // Encoded run, clipped to the row.
            let n = count.min(w.saturating_sub(x)).min(total - len);
            if rle4 {
                let pair = [byte >> 4, byte & 0x0F];
                out.extend((0..n).map(|i| pair[i & 1]));
            } else {
                out.resize(len + n, byte);
            }
            x += n;
        } else {
            match byte {
                0 => {
                    // End of line: pad to the next row boundary.
                    out.resize(len.div_ceil(w) * w, 0);
                    x = 0;
                }
                // End of bitmap: the rest is index 0 (lenient); strict, as Pillow, raises.
                1 if strict => {
                    return Err(Error::corrupt(
                        FMT,
                        "RLE end-of-bitmap marker before the last pixel",
                    ))
                }
                1 => break,
                2 => {
                    let (Some(&right), Some(&up)) = (data.get(pos), data.get(pos + 1)) else {
                        return Err(ran_out());
                    };
                    pos += 2;
                    let skip = usize::from(right) + usize::from(up) * w;
                    out.resize(len + skip.min(total - len), 0);
                    x = out.len() % w;
                }
                n => {
                    // Absolute run: not clipped to the row (Pillow lets it wrap).
                    let n = usize::from(n);
                    let count = n.min(total - len);
                    let byte_count = if rle4 { count.div_ceil(2) } else { count };
                    let avail = data.len().saturating_sub(pos).min(byte_count);
                    let src = data.get(pos..pos + avail).unwrap_or(&[]);
                    pos += avail;
                    if rle4 {
                        for (i, &b) in src.iter().enumerate() {
                            out.push(b >> 4);
                            if i * 2 + 1 < count {
                                out.push(b & 0x0F);
                            }
                        }
                    } else {
                        out.extend_from_slice(src);
                    }
                    if avail < byte_count {
                        return Err(ran_out());
                    }
                    if out.len() == total {
                        break;
                    }
                    x += n;
                    // Runs are padded to a 16-bit boundary of the file offset.
                    if pos % 2 != 0 {
                        pos += 1;
                    }
                }
            }
        }
    }
    out.resize(total, 0);
    Ok(out)
}
