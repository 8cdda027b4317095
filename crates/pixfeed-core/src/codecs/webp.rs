//! WebP codec: our own RIFF walk for the header facts (size, alpha, EXIF orientation) and the
//! truncation checks, `image-webp` for the pixels.
//!
//! Layout: `Rgba` when the file declares alpha (VP8X alpha flag, or the VP8L `alpha_is_used`
//! bit), else `Rgb` -- the same rule as libwebp's `WebPGetFeatures`, hence Pillow's mode.
//! Lossless output is exact. Lossy output uses image-webp's fancy (bilinear) chroma
//! upsampling, libwebp's default: it was bit-identical to Pillow 13 / libwebp 1.6 on every
//! file we compared (quality 10..100, method 6, odd sizes, ALPH alpha, animations), though a
//! second implementation of VP8 is not guaranteed identical on every stream.
//!
//! Animated files decode their first frame, composited by image-webp on a transparent canvas
//! (as libwebp's `WebPAnimDecoder`, which Pillow uses).
//!
//! A file whose RIFF size or any chunk runs past the end of the data is `truncated` (libwebp's
//! demuxer, hence Pillow, refuses such files too).
//!
//! ROI: the whole image is decoded, then cropped (image-webp has no region decoding).

use std::io::Cursor;

use image_webp::{DecodingError, WebPDecoder};

use super::{checked_region, exif, Decoded, Format, Layout, RawInfo, RawRequest};
use crate::image::{Image, Rect};
use crate::{Error, Result};

const FMT: &str = "webp";

struct Header {
    width: u32,
    height: u32,
    alpha: bool,
    animated: bool,
    orientation: u8,
}

fn le32(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}

fn le24(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

/// Parse the RIFF container. `strict` (decode) requires every chunk to be complete; probe
/// only needs the first chunk's header fields.
fn parse(data: &[u8], strict: bool) -> Result<Header> {
    let head = data
        .get(..12)
        .ok_or_else(|| Error::truncated(FMT, "file ends inside the RIFF header"))?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return Err(Error::corrupt(FMT, "missing RIFF/WEBP signature"));
    }
    let riff_end = u64::from(le32(head, 4).unwrap_or(0)) + 8;
    if strict && riff_end > data.len() as u64 {
        return Err(Error::truncated(
            FMT,
            format!(
                "RIFF header says {riff_end} bytes, the file has {}",
                data.len()
            ),
        ));
    }
    // Chunks are read within the RIFF payload (trailing bytes after it are ignored).
    let end = riff_end.min(data.len() as u64) as usize;
    let body = &data[..end];

    let first = body
        .get(12..20)
        .ok_or_else(|| Error::truncated(FMT, "file ends before the first chunk"))?;
    let fourcc: [u8; 4] = [first[0], first[1], first[2], first[3]];
    let payload = 20;
    let need = |n: usize, what: &str| -> Result<&[u8]> {
        body.get(payload..payload + n)
            .ok_or_else(|| Error::truncated(FMT, format!("file ends inside the {what} header")))
    };
    let mut h = match &fourcc {
        b"VP8 " => {
            let p = need(10, "VP8")?;
            if p[0] & 1 != 0 {
                return Err(Error::corrupt(FMT, "VP8 frame is not a key frame"));
            }
            if p[3..6] != [0x9d, 0x01, 0x2a] {
                return Err(Error::corrupt(FMT, "bad VP8 start code"));
            }
            Header {
                width: u32::from(u16::from_le_bytes([p[6], p[7]]) & 0x3FFF),
                height: u32::from(u16::from_le_bytes([p[8], p[9]]) & 0x3FFF),
                alpha: false,
                animated: false,
                orientation: 1,
            }
        }
        b"VP8L" => {
            let p = need(5, "VP8L")?;
            if p[0] != 0x2f {
                return Err(Error::corrupt(FMT, "bad VP8L signature"));
            }
            let bits = le32(p, 1).unwrap_or(0);
            if bits >> 29 != 0 {
                return Err(Error::unsupported(
                    FMT,
                    format!("VP8L version {}", bits >> 29),
                ));
            }
            Header {
                width: (bits & 0x3FFF) + 1,
                height: ((bits >> 14) & 0x3FFF) + 1,
                alpha: (bits >> 28) & 1 != 0,
                animated: false,
                orientation: 1,
            }
        }
        b"VP8X" => {
            let p = need(10, "VP8X")?;
            Header {
                width: le24(p, 4).unwrap_or(0) + 1,
                height: le24(p, 7).unwrap_or(0) + 1,
                alpha: p[0] & 0x10 != 0,
                animated: p[0] & 0x02 != 0,
                orientation: 1,
            }
        }
        other => {
            return Err(Error::corrupt(
                FMT,
                format!("unknown first chunk {:?}", String::from_utf8_lossy(other)),
            ))
        }
    };
    if h.width == 0 || h.height == 0 {
        return Err(Error::corrupt(FMT, "zero-size image"));
    }

    // Walk every chunk: find EXIF (first one wins) and, when strict, check completeness.
    let mut pos = 12usize;
    let mut seen_exif = false;
    let mut seen_frame = false;
    while pos + 8 <= body.len() {
        let kind = &body[pos..pos + 4];
        let size = le32(body, pos + 4).unwrap_or(0) as usize;
        let start = pos + 8;
        let Some(chunk) = start.checked_add(size).and_then(|e| body.get(start..e)) else {
            if strict {
                return Err(Error::truncated(
                    FMT,
                    format!(
                        "chunk {:?} runs past the end of the data",
                        String::from_utf8_lossy(kind)
                    ),
                ));
            }
            break;
        };
        if kind == b"EXIF" && !seen_exif {
            seen_exif = true;
            h.orientation = exif::orientation(chunk);
        }
        if kind == b"ANMF" && !seen_frame {
            seen_frame = true;
            if strict {
                check_first_frame(chunk)?;
            }
        }
        pos = start + size + (size & 1);
    }
    Ok(h)
}

/// image-webp checks that a still image's VP8 frame matches the canvas, but not, for an
/// `ALPH` + `VP8 ` animation frame, that the VP8 frame matches the `ANMF` size (it then
/// indexes out of bounds). Check the first frame, the only one we decode.
fn check_first_frame(anmf: &[u8]) -> Result<()> {
    let (Some(w), Some(h)) = (le24(anmf, 6), le24(anmf, 9)) else {
        return Err(Error::corrupt(FMT, "short ANMF chunk"));
    };
    let (w, h) = (w + 1, h + 1);
    let mut pos = 16;
    while let (Some(kind), Some(size)) = (anmf.get(pos..pos + 4), le32(anmf, pos + 4)) {
        let start = pos + 8;
        if kind == b"VP8 " {
            let Some(p) = anmf.get(start..start + 10) else {
                return Err(Error::truncated(FMT, "file ends inside the VP8 header"));
            };
            let fw = u32::from(u16::from_le_bytes([p[6], p[7]]) & 0x3FFF);
            let fh = u32::from(u16::from_le_bytes([p[8], p[9]]) & 0x3FFF);
            if (fw, fh) != (w, h) {
                return Err(Error::corrupt(
                    FMT,
                    format!("animation frame is {w}x{h} but its VP8 data is {fw}x{fh}"),
                ));
            }
            break;
        }
        if kind != b"ALPH" {
            break;
        }
        pos = start
            .saturating_add(size as usize)
            .saturating_add(size as usize & 1);
    }
    Ok(())
}

fn map_err(e: DecodingError) -> Error {
    match e {
        DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(FMT, "file ends before the image data is complete")
        }
        DecodingError::UnsupportedFeature(f) => Error::unsupported(FMT, f),
        DecodingError::ImageTooLarge | DecodingError::MemoryLimitExceeded => {
            Error::unsupported(FMT, e.to_string())
        }
        e => Error::corrupt(FMT, e.to_string()),
    }
}

pub fn probe(data: &[u8]) -> Result<RawInfo> {
    let h = parse(data, false)?;
    Ok(RawInfo {
        format: Format::Webp,
        width: h.width,
        height: h.height,
        channels: if h.alpha { 4 } else { 3 },
        bit_depth: 8,
        orientation: h.orientation,
        progressive: false,
    })
}

pub fn decode(data: &[u8], req: &RawRequest) -> Result<Decoded> {
    let h = parse(data, true)?;
    let roi = checked_region(req, h.width, h.height)?;
    let ch = if h.alpha { 4 } else { 3 };
    let size = (h.width as usize)
        .checked_mul(h.height as usize)
        .and_then(|p| p.checked_mul(ch))
        .ok_or_else(|| Error::unsupported(FMT, "image too large for this platform"))?;
    // image-webp sizes its animation canvas with u32 arithmetic.
    if h.animated && u64::from(h.width) * u64::from(h.height) * 4 > u64::from(u32::MAX) {
        return Err(Error::unsupported(FMT, "animated canvas above 4 GiB"));
    }

    // image-webp is a third-party decoder fed untrusted data: a panic in it (a bug) becomes
    // a `corrupt` error instead of unwinding into the caller.
    let buf = std::panic::catch_unwind(|| -> Result<Vec<u8>> {
        let mut decoder = WebPDecoder::new(Cursor::new(data)).map_err(map_err)?;
        if decoder.dimensions() != (h.width, h.height) || decoder.has_alpha() != h.alpha {
            return Err(Error::corrupt(FMT, "inconsistent headers"));
        }
        if decoder.output_buffer_size() != Some(size) {
            return Err(Error::corrupt(FMT, "unexpected output size"));
        }
        let mut buf = vec![0u8; size];
        decoder.read_image(&mut buf).map_err(map_err)?;
        Ok(buf)
    })
    .unwrap_or_else(|_| Err(Error::corrupt(FMT, "the WebP decoder failed on this data")))?;

    let (w, hgt) = (h.width as usize, h.height as usize);
    let pixels = if (roi.width as usize, roi.height as usize) == (w, hgt) {
        buf
    } else {
        crop(&buf, w, ch, roi)
    };
    Ok(Decoded {
        image: Image::new_u8(roi.width as usize, roi.height as usize, ch, pixels),
        layout: if h.alpha { Layout::Rgba } else { Layout::Rgb },
    })
}

/// Copy `roi` out of a packed `width`-wide buffer (`roi` lies inside it).
fn crop(buf: &[u8], width: usize, channels: usize, roi: Rect) -> Vec<u8> {
    let row = roi.width as usize * channels;
    let mut out = Vec::with_capacity(row * roi.height as usize);
    for y in roi.y as usize..(roi.y + roi.height) as usize {
        let start = (y * width + roi.x as usize) * channels;
        out.extend_from_slice(&buf[start..start + row]);
    }
    out
}
