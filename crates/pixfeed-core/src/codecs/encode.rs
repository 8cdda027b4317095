//! Encoders, for the command line's outputs (`pixfeed resize`, `pixfeed crop`): JPEG through
//! libjpeg-turbo (csrc/jpeg_enc.c), PNG through the `png` crate, WebP (lossless) through
//! `image-webp`, BMP written here (a header and rows; no library needed).

use std::ffi::{c_char, c_int};

use super::Format;
use crate::{Error, Result};

/// Parameters of `pf_jpeg_encode` (csrc/jpeg_shim.h).
#[repr(C)]
pub(crate) struct PfJpegEncParams {
    pub width: u32,
    pub height: u32,
    pub in_components: u32,
    pub jpeg_space: u32,
    pub quality: u32,
    pub h_samp: u32,
    pub v_samp: u32,
    pub progressive: u32,
    pub arithmetic: u32,
    pub restart_rows: u32,
    pub precision: u32,
    pub lossless: u32,
    pub optimize: u32,
    pub app1: *const u8,
    pub app1_len: usize,
}

extern "C" {
    pub(crate) fn pf_jpeg_encode(
        pixels: *const u8,
        p: *const PfJpegEncParams,
        out: *mut *mut u8,
        out_len: *mut usize,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
    pub(crate) fn pf_jpeg_free(buf: *mut u8);
}

/// Encode a contiguous 8-bit image (1 gray, 3 RGB or 4 RGBA channels) as `format`.
/// `quality` (1..=100) applies to JPEG (4:2:0, as Pillow's default); JPEG drops alpha.
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    format: Format,
    quality: u8,
) -> Result<Vec<u8>> {
    let fmt = format.name();
    if !matches!(channels, 1 | 3 | 4) {
        return Err(Error::invalid(
            "image",
            format!("cannot encode {channels} channels"),
        ));
    }
    if width == 0 || height == 0 || pixels.len() != width as usize * height as usize * channels {
        return Err(Error::invalid(
            "image",
            "pixel buffer does not match its size",
        ));
    }
    match format {
        Format::Jpeg => {
            let rgb;
            let (data, comps) = if channels == 4 {
                rgb = pixels
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect::<Vec<u8>>();
                (&rgb[..], 3)
            } else {
                (pixels, channels)
            };
            encode_jpeg(
                data,
                width,
                height,
                comps as u32,
                u32::from(quality.clamp(1, 100)),
            )
        }
        Format::Png => {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(match channels {
                1 => png::ColorType::Grayscale,
                3 => png::ColorType::Rgb,
                _ => png::ColorType::Rgba,
            });
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc
                .write_header()
                .map_err(|e| Error::corrupt(fmt, format!("encode: {e}")))?;
            w.write_image_data(pixels)
                .map_err(|e| Error::corrupt(fmt, format!("encode: {e}")))?;
            w.finish()
                .map_err(|e| Error::corrupt(fmt, format!("encode: {e}")))?;
            Ok(out)
        }
        Format::Webp => {
            let mut out = Vec::new();
            let color = match channels {
                1 => image_webp::ColorType::L8,
                3 => image_webp::ColorType::Rgb8,
                _ => image_webp::ColorType::Rgba8,
            };
            image_webp::WebPEncoder::new(&mut out)
                .encode(pixels, width, height, color)
                .map_err(|e| Error::corrupt(fmt, format!("encode: {e}")))?;
            Ok(out)
        }
        Format::Bmp => Ok(encode_bmp(pixels, width, height, channels)),
    }
}

fn encode_jpeg(
    pixels: &[u8],
    width: u32,
    height: u32,
    comps: u32,
    quality: u32,
) -> Result<Vec<u8>> {
    let p = PfJpegEncParams {
        width,
        height,
        in_components: comps,
        jpeg_space: 0,
        quality,
        h_samp: if comps == 1 { 1 } else { 2 },
        v_samp: if comps == 1 { 1 } else { 2 },
        progressive: 0,
        arithmetic: 0,
        restart_rows: 0,
        precision: 8,
        lossless: 0,
        optimize: 0,
        app1: std::ptr::null(),
        app1_len: 0,
    };
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut len = 0usize;
    let mut msg = [0 as c_char; 200];
    // SAFETY: `pixels` holds height rows of width * comps bytes (checked by `encode`); the
    // shim reads only those, writes a malloc'ed buffer pointer and its length, and a
    // NUL-terminated message into `msg` (length passed).
    let rc = unsafe {
        pf_jpeg_encode(
            pixels.as_ptr(),
            &p,
            &mut out,
            &mut len,
            msg.as_mut_ptr(),
            msg.len(),
        )
    };
    if rc != 0 || out.is_null() {
        // SAFETY: the shim NUL-terminates `msg` on every return path.
        let text = unsafe { std::ffi::CStr::from_ptr(msg.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        return Err(Error::corrupt("jpeg", format!("encode: {text}")));
    }
    // SAFETY: on success `out` points to `len` bytes allocated by the shim, freed right after.
    let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
    // SAFETY: `out` came from the shim's allocator and is freed exactly once.
    unsafe { pf_jpeg_free(out) };
    Ok(bytes)
}

/// A bottom-up BMP: 8-bit with a gray palette for one channel, 24-bit BGR for three, 32-bit
/// BGRA with a BITMAPV4 alpha mask for four.
fn encode_bmp(pixels: &[u8], width: u32, height: u32, channels: usize) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let bpp = channels * 8;
    let row = (w * channels).div_ceil(4) * 4;
    let (dib, palette) = match channels {
        1 => (40usize, 256 * 4),
        4 => (108usize, 0),
        _ => (40usize, 0),
    };
    let offset = 14 + dib + palette;
    let size = offset + row * h;
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(b"BM");
    v.extend_from_slice(&(size as u32).to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&(offset as u32).to_le_bytes());
    v.extend_from_slice(&(dib as u32).to_le_bytes());
    v.extend_from_slice(&(width as i32).to_le_bytes());
    v.extend_from_slice(&(height as i32).to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&(bpp as u16).to_le_bytes());
    let compression: u32 = if channels == 4 { 3 } else { 0 }; // BI_BITFIELDS for alpha
    v.extend_from_slice(&compression.to_le_bytes());
    v.extend_from_slice(&((row * h) as u32).to_le_bytes());
    v.extend_from_slice(&2835u32.to_le_bytes());
    v.extend_from_slice(&2835u32.to_le_bytes());
    v.extend_from_slice(&(if channels == 1 { 256u32 } else { 0 }).to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    if channels == 4 {
        for mask in [0x00FF_0000u32, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000] {
            v.extend_from_slice(&mask.to_le_bytes());
        }
        v.extend_from_slice(b"BGRs"); // LCS_WINDOWS_COLOR_SPACE
        v.extend_from_slice(&[0u8; 48]); // endpoints and gamma: unused
    }
    if channels == 1 {
        for i in 0..=255u8 {
            v.extend_from_slice(&[i, i, i, 0]);
        }
    }
    for y in (0..h).rev() {
        let src = &pixels[y * w * channels..(y + 1) * w * channels];
        let start = v.len();
        match channels {
            3 => src
                .chunks_exact(3)
                .for_each(|p| v.extend_from_slice(&[p[2], p[1], p[0]])),
            4 => src
                .chunks_exact(4)
                .for_each(|p| v.extend_from_slice(&[p[2], p[1], p[0], p[3]])),
            _ => v.extend_from_slice(src),
        }
        v.resize(start + row, 0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::Mode;
    use crate::decode::{decode, DecodeOptions};

    fn roundtrip(format: Format, channels: usize) -> (Vec<u8>, Vec<u8>) {
        let (w, h) = (37u32, 21u32);
        let px: Vec<u8> = (0..w as usize * h as usize * channels)
            .map(|i| ((i * 13 + i / 7) % 251) as u8)
            .collect();
        let data = encode(&px, w, h, channels, format, 95).unwrap();
        let mode = match channels {
            1 => Mode::L,
            3 => Mode::Rgb,
            _ => Mode::Rgba,
        };
        let opts = DecodeOptions {
            mode,
            ..Default::default()
        };
        let img = decode(&data, &opts).unwrap();
        assert_eq!(
            (img.width, img.height, img.channels),
            (w as usize, h as usize, channels)
        );
        (px, img.as_u8().unwrap().to_vec())
    }

    #[test]
    fn lossless_formats_roundtrip_exactly() {
        for format in [Format::Png, Format::Bmp, Format::Webp] {
            for c in [1, 3, 4] {
                let (a, b) = roundtrip(format, c);
                assert_eq!(a, b, "{format:?} {c}");
            }
        }
    }

    #[test]
    fn jpeg_roundtrip_is_close() {
        for c in [1, 3] {
            let (a, b) = roundtrip(Format::Jpeg, c);
            let mad: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
                .sum::<f64>()
                / a.len() as f64;
            assert!(mad < 40.0, "{c}: {mad}"); // noise texture: lossy but recognizable
        }
        let err = encode(&[0; 5], 2, 2, 3, Format::Jpeg, 90).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }));
    }
}
