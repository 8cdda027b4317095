//! Helpers shared by the codec tests (`tests/{bmp,png,webp}.rs`): a seeded random stream,
//! the decode request they start from, the ROI reference (a crop of the full decode) and the
//! robustness matcher (every failure on bad input is a typed error, never a panic).
//!
//! Convention for a codec test file: `mod common;` first, a writer (or encoder) for the
//! format, then sections for round trips against a reference model, ROI == crop of the full
//! decode, robustness ([`fuzz_one`] on truncations, bit flips and random bytes), bomb
//! headers, and Pillow parity on the shared fixtures.

// Each test binary uses a subset.
#![allow(dead_code)]

use pixfeed_core::codecs::{Decoded, Mode, RawInfo, RawRequest};
use pixfeed_core::{Error, Rect, Result};

/// Pillow's default `MAX_IMAGE_PIXELS` guard, the request's ceiling in these tests.
pub const MAX_PIXELS: u64 = 178_956_970;

/// xorshift64: a reproducible stream from a non-zero seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A full-scale, lenient (non-strict) request for `mode` and `roi`.
pub fn req(mode: Mode, roi: Option<Rect>) -> RawRequest {
    RawRequest {
        mode,
        roi,
        min_size: None,
        max_pixels: MAX_PIXELS,
        fast: false,
        strict: false,
    }
}

/// The 8-bit pixels of `r` cut out of a full decode.
pub fn crop(d: &Decoded, r: Rect) -> Vec<u8> {
    let (w, c) = (d.image.width, d.image.channels);
    let v = d.image.as_u8().unwrap();
    (r.y as usize..(r.y + r.height) as usize)
        .flat_map(|y| {
            v[(y * w + r.x as usize) * c..(y * w + (r.x + r.width) as usize) * c].to_vec()
        })
        .collect()
}

/// What bad input may fail with: a decode error or the pixel limit.
pub fn is_typed(e: &Error) -> bool {
    matches!(e, Error::Decode { .. } | Error::TooLarge { .. })
}

/// Probe `data`, decode a column ROI of it and decode it whole in each of `modes` (with
/// `base`'s limits): each step either succeeds or fails with a typed error.
pub fn fuzz_one(
    data: &[u8],
    probe: fn(&[u8]) -> Result<RawInfo>,
    decode: fn(&[u8], &RawRequest) -> Result<Decoded>,
    base: RawRequest,
    modes: &[Mode],
) {
    match probe(data) {
        Err(e) => assert!(is_typed(&e), "probe: {e:?}"),
        Ok(info) => {
            let r = Rect::new(
                info.width / 2,
                info.height / 3,
                1,
                info.height - info.height / 3,
            );
            let roi = RawRequest {
                roi: Some(r),
                ..base
            };
            if let Err(e) = decode(data, &roi) {
                assert!(is_typed(&e), "decode roi: {e:?}");
            }
        }
    }
    for &mode in modes {
        if let Err(e) = decode(data, &RawRequest { mode, ..base }) {
            assert!(is_typed(&e), "decode: {e:?}");
        }
    }
}
