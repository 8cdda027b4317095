//! BMP codec tests: a hand-written BMP writer for every bit depth, header kind, bitfields
//! layout and both row orders, RLE8/RLE4, decoded back against a reference model; ROI ==
//! crop of the full decode; probe; truncation, bit flips, random bytes, bomb headers.

mod common;

use common::{crop, is_typed, req, Rng};
use pixfeed_core::codecs::{bmp, Layout, Mode, RawRequest};
use pixfeed_core::{DecodeErrorKind, Error, PixelData, Rect};

/// A BMP to write. `pixels` are top-to-bottom, one value per pixel: palette index (1/4/8
/// bits), the 16-bit word, `0x00RRGGBB`-style 24-bit value stored little-endian, or the
/// 32-bit little-endian word.
#[derive(Clone)]
struct Bmp {
    w: u32,
    h: u32,
    top_down: bool,
    bits: u16,
    compression: u32,
    header_size: u32,
    masks: Option<[u32; 4]>,
    palette: Vec<[u8; 3]>,
    /// biClrUsed; `None` = palette length.
    colors: Option<u32>,
    offset: Option<u32>,
    pixels: Vec<u32>,
    /// Pre-encoded pixel data (RLE); replaces `pixels` when set.
    raw: Option<Vec<u8>>,
}

impl Bmp {
    fn new(w: u32, h: u32, bits: u16) -> Self {
        Bmp {
            w,
            h,
            top_down: false,
            bits,
            compression: 0,
            header_size: 40,
            masks: None,
            palette: Vec::new(),
            colors: None,
            offset: None,
            pixels: vec![0; (w * h) as usize],
            raw: None,
        }
    }

    fn stride(&self) -> usize {
        ((self.w as usize * self.bits as usize + 31) >> 3) & !3
    }

    fn write(&self) -> Vec<u8> {
        let stride = self.stride();
        let data = match &self.raw {
            Some(r) => r.clone(),
            None => {
                let mut data = Vec::new();
                let rows: Vec<usize> = if self.top_down {
                    (0..self.h as usize).collect()
                } else {
                    (0..self.h as usize).rev().collect()
                };
                for y in rows {
                    let mut row = Vec::new();
                    let px = &self.pixels[y * self.w as usize..(y + 1) * self.w as usize];
                    match self.bits {
                        1 | 4 => {
                            let b = self.bits as usize;
                            for c in px.chunks(8 / b) {
                                let mut byte = 0u8;
                                for (i, &v) in c.iter().enumerate() {
                                    byte |= (v as u8) << (8 - b * (i + 1));
                                }
                                row.push(byte);
                            }
                        }
                        8 => row.extend(px.iter().map(|&v| v as u8)),
                        16 => px
                            .iter()
                            .for_each(|&v| row.extend_from_slice(&(v as u16).to_le_bytes())),
                        24 => px
                            .iter()
                            .for_each(|&v| row.extend_from_slice(&v.to_le_bytes()[..3])),
                        _ => px
                            .iter()
                            .for_each(|&v| row.extend_from_slice(&v.to_le_bytes())),
                    }
                    row.resize(stride, 0);
                    data.extend_from_slice(&row);
                }
                data
            }
        };
        let mut dib = Vec::new();
        let mut extra = Vec::new();
        let pal_entry = if self.header_size == 12 { 3 } else { 4 };
        if self.header_size == 12 {
            dib.extend_from_slice(&12u32.to_le_bytes());
            dib.extend_from_slice(&(self.w as u16).to_le_bytes());
            dib.extend_from_slice(&(self.h as u16).to_le_bytes());
            dib.extend_from_slice(&1u16.to_le_bytes());
            dib.extend_from_slice(&self.bits.to_le_bytes());
        } else {
            let h = if self.top_down {
                -(self.h as i32)
            } else {
                self.h as i32
            };
            dib.extend_from_slice(&self.header_size.to_le_bytes());
            dib.extend_from_slice(&(self.w as i32).to_le_bytes());
            dib.extend_from_slice(&h.to_le_bytes());
            dib.extend_from_slice(&1u16.to_le_bytes());
            dib.extend_from_slice(&self.bits.to_le_bytes());
            dib.extend_from_slice(&self.compression.to_le_bytes());
            dib.extend_from_slice(&(data.len() as u32).to_le_bytes());
            dib.extend_from_slice(&2835u32.to_le_bytes());
            dib.extend_from_slice(&2835u32.to_le_bytes());
            let colors = self.colors.unwrap_or(self.palette.len() as u32);
            dib.extend_from_slice(&colors.to_le_bytes());
            dib.extend_from_slice(&0u32.to_le_bytes());
            if let Some(m) = self.masks {
                if self.header_size == 40 {
                    for v in &m[..3] {
                        extra.extend_from_slice(&v.to_le_bytes());
                    }
                } else {
                    for v in m {
                        dib.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            dib.resize(self.header_size as usize, 0);
        }
        let mut pal = Vec::new();
        for c in &self.palette {
            pal.extend_from_slice(&[c[2], c[1], c[0]]);
            if pal_entry == 4 {
                pal.push(0);
            }
        }
        let off = self
            .offset
            .unwrap_or((14 + dib.len() + extra.len() + pal.len()) as u32);
        let mut out = b"BM".to_vec();
        out.extend_from_slice(
            &(14 + dib.len() + extra.len() + pal.len() + data.len()).to_le_bytes()[..4],
        );
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&dib);
        out.extend_from_slice(&extra);
        out.extend_from_slice(&pal);
        out.extend_from_slice(&data);
        out
    }

    /// Expected output (layout, samples) per the documented rules.
    fn expected(&self) -> (Layout, Vec<u8>) {
        let scale = |v: u32, max: u32| (v * 255 / max) as u8;
        let mut out = Vec::new();
        match self.bits {
            1 | 4 | 8 => {
                let mut lut = [[0u8; 3]; 256];
                for (d, s) in lut.iter_mut().zip(&self.palette) {
                    *d = *s;
                }
                // Pillow's grayscale-palette shortcuts (modes "1" and "L").
                let pal = &self.palette;
                let n = pal.len();
                if self.bits == 1 && n <= 2 && pal[0] == [0; 3] && (n == 1 || pal[1] == [255; 3]) {
                    lut[1] = [255; 3];
                }
                if self.bits == 8 && n > 2 && (0..n).all(|i| pal[i] == [i as u8; 3]) {
                    for (i, d) in lut.iter_mut().enumerate() {
                        *d = [i as u8; 3];
                    }
                }
                let gray = lut.iter().all(|p| p[0] == p[1] && p[1] == p[2]);
                for &v in &self.pixels {
                    let c = lut[v as usize];
                    if gray {
                        out.push(c[0]);
                    } else {
                        out.extend_from_slice(&c);
                    }
                }
                return (if gray { Layout::Gray } else { Layout::Rgb }, out);
            }
            16 => {
                let six = self.masks.is_some_and(|m| m[1] == 0x7E0);
                for &v in &self.pixels {
                    if six {
                        out.extend_from_slice(&[
                            scale((v >> 11) & 31, 31),
                            scale((v >> 5) & 63, 63),
                            scale(v & 31, 31),
                        ]);
                    } else {
                        out.extend_from_slice(&[
                            scale((v >> 10) & 31, 31),
                            scale((v >> 5) & 31, 31),
                            scale(v & 31, 31),
                        ]);
                    }
                }
            }
            24 => {
                for &v in &self.pixels {
                    let b = v.to_le_bytes();
                    out.extend_from_slice(&[b[2], b[1], b[0]]);
                }
            }
            _ => {
                let masks = match (self.compression, self.masks) {
                    (3, Some(m)) if m == [0; 4] => [0xFF0000, 0xFF00, 0xFF, 0xFF00_0000],
                    (3, Some(m)) if self.header_size == 40 || self.header_size == 52 => {
                        [m[0], m[1], m[2], 0]
                    }
                    (3, Some(m)) => m,
                    _ => [0xFF0000, 0xFF00, 0xFF, 0],
                };
                let get =
                    |v: u32, m: u32| (v & m).checked_shr(m.trailing_zeros()).unwrap_or(0) as u8;
                for &v in &self.pixels {
                    out.extend_from_slice(&[get(v, masks[0]), get(v, masks[1]), get(v, masks[2])]);
                    if masks[3] != 0 {
                        out.push(get(v, masks[3]));
                    }
                }
                if masks[3] != 0 {
                    return (Layout::Rgba, out);
                }
            }
        }
        (Layout::Rgb, out)
    }
}

fn random_palette(rng: &mut Rng, n: usize) -> Vec<[u8; 3]> {
    (0..n)
        .map(|_| {
            [
                rng.below(256) as u8,
                rng.below(256) as u8,
                rng.below(256) as u8,
            ]
        })
        .collect()
}

/// Every supported layout, with random pixels.
fn variants(rng: &mut Rng, w: u32, h: u32) -> Vec<(String, Bmp)> {
    let mut v = Vec::new();
    let rand_px = |rng: &mut Rng, b: &mut Bmp, max: u64| {
        for p in b.pixels.iter_mut() {
            *p = rng.below(max) as u32;
        }
    };
    for top_down in [false, true] {
        for (bits, n) in [
            (1u16, 2usize),
            (1, 1),
            (4, 16),
            (4, 5),
            (8, 256),
            (8, 7),
            (8, 300),
        ] {
            for header_size in [12u32, 40, 124] {
                if header_size == 12 && (top_down || n > 256) {
                    continue;
                }
                let mut b = Bmp::new(w, h, bits);
                b.top_down = top_down;
                b.header_size = header_size;
                b.palette = random_palette(rng, n);
                if header_size == 12 {
                    b.palette.resize(1 << bits, [0; 3]);
                }
                rand_px(rng, &mut b, 1 << bits);
                v.push((
                    format!("p{bits}/{n} hs{header_size} td={top_down}"),
                    b.clone(),
                ));
                // A gray palette (not the identity ramp) gives Gray output.
                b.palette = (0..n).map(|i| [(i * 3 % 256) as u8; 3]).collect();
                if header_size == 12 {
                    b.palette.resize(1 << bits, [0; 3]);
                }
                v.push((format!("gray p{bits}/{n} hs{header_size} td={top_down}"), b));
            }
        }
        for (name, masks) in [
            ("555", None),
            ("565", Some([0xF800, 0x7E0, 0x1F, 0])),
            ("555bf", Some([0x7C00, 0x3E0, 0x1F, 0])),
        ] {
            for header_size in [40u32, 56] {
                let mut b = Bmp::new(w, h, 16);
                b.top_down = top_down;
                b.header_size = header_size;
                b.masks = masks;
                b.compression = if masks.is_some() { 3 } else { 0 };
                rand_px(rng, &mut b, 65536);
                v.push((format!("16 {name} hs{header_size} td={top_down}"), b));
            }
        }
        for (header_size, compression) in [(12u32, 0u32), (40, 0), (108, 0), (52, 3)] {
            if header_size == 12 && top_down {
                continue;
            }
            let mut b = Bmp::new(w, h, 24);
            b.top_down = top_down;
            b.header_size = header_size;
            b.compression = compression;
            if compression == 3 {
                b.masks = Some([0xFF0000, 0xFF00, 0xFF, 0]);
            }
            rand_px(rng, &mut b, 1 << 24);
            v.push((
                format!("24 hs{header_size} c{compression} td={top_down}"),
                b,
            ));
        }
        let mask_sets: [[u32; 4]; 8] = [
            [0xFF0000, 0xFF00, 0xFF, 0],
            [0xFF00_0000, 0xFF0000, 0xFF00, 0],
            [0xFF00_0000, 0xFF00, 0xFF, 0],
            [0xFF00_0000, 0xFF0000, 0xFF00, 0xFF],
            [0xFF, 0xFF00, 0xFF0000, 0xFF00_0000],
            [0xFF0000, 0xFF00, 0xFF, 0xFF00_0000],
            [0xFF00_0000, 0xFF00, 0xFF, 0xFF0000],
            [0, 0, 0, 0],
        ];
        for (i, m) in mask_sets.iter().enumerate() {
            for header_size in [40u32, 52, 108, 124] {
                let mut b = Bmp::new(w, h, 32);
                b.top_down = top_down;
                b.header_size = header_size;
                b.compression = 3;
                b.masks = Some(*m);
                rand_px(rng, &mut b, 1 << 32);
                // 40/52-byte headers carry no alpha mask: only the alpha-free sets apply.
                if (header_size == 40 || header_size == 52) && (m[3] != 0 || i == 7) {
                    continue;
                }
                v.push((format!("32 bf{i} hs{header_size} td={top_down}"), b));
            }
        }
        // BI_RGB 32-bit: the 4th byte is padding, even with a V5 alpha mask.
        let mut b = Bmp::new(w, h, 32);
        b.top_down = top_down;
        b.header_size = 124;
        b.masks = Some([0xFF0000, 0xFF00, 0xFF, 0xFF00_0000]);
        rand_px(rng, &mut b, 1 << 32);
        v.push((format!("32 rgb v5 td={top_down}"), b));
    }
    v
}

fn check(b: &Bmp, name: &str) {
    let data = b.write();
    let got = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (layout, px) = b.expected();
    assert_eq!(got.layout, layout, "{name}");
    assert_eq!(
        (got.image.width, got.image.height),
        (b.w as usize, b.h as usize)
    );
    assert!(got.image.data == PixelData::U8(px), "{name}: pixels differ");
    let info = bmp::probe(&data).unwrap();
    assert_eq!((info.width, info.height), (b.w, b.h), "{name}");
    assert_eq!(info.channels as usize, layout.channels(), "{name}");
    assert_eq!(
        (info.bit_depth, info.orientation, info.progressive),
        (8, 1, false)
    );
}

#[test]
fn every_depth_header_and_row_order() {
    let mut rng = Rng(0xDEAD_BEEF);
    for (w, h) in [(1, 1), (3, 2), (7, 5), (9, 3), (31, 4), (33, 7)] {
        for (name, b) in variants(&mut rng, w, h) {
            check(&b, &format!("{name} {w}x{h}"));
        }
    }
}

#[test]
fn pillow_palette_quirks() {
    // 1-bit, one black entry: Pillow's mode "1", index 1 is white.
    let mut b = Bmp::new(4, 1, 1);
    b.palette = vec![[0, 0, 0]];
    b.pixels = vec![0, 1, 1, 0];
    let d = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap();
    assert_eq!(
        (d.layout, d.image.as_u8().unwrap()),
        (Layout::Gray, &[0, 255, 255, 0][..])
    );
    // 8-bit identity gray ramp, shorter than 256: Pillow's mode "L", indices map to themselves.
    let mut b = Bmp::new(4, 1, 8);
    b.palette = (0..3).map(|i| [i; 3]).collect();
    b.pixels = vec![0, 1, 2, 200];
    let d = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap();
    assert_eq!(
        (d.layout, d.image.as_u8().unwrap()),
        (Layout::Gray, &[0, 1, 2, 200][..])
    );
    // Non-ramp gray palette: out-of-range indices are black.
    b.palette = vec![[0; 3], [9; 3], [2; 3]];
    let d = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap();
    assert_eq!(d.image.as_u8().unwrap(), &[0, 9, 2, 0]);
    // Colour palette, out-of-range index: black.
    b.palette = vec![[10, 20, 30], [40, 50, 60]];
    b.pixels = vec![0, 1, 2, 255];
    let d = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap();
    assert_eq!(
        d.image.as_u8().unwrap(),
        &[10, 20, 30, 40, 50, 60, 0, 0, 0, 0, 0, 0]
    );
    // Pixel offsets: 0 (after the palette) and "pointing at the palette" (skipped).
    for off in [0, 54] {
        let mut b2 = b.clone();
        b2.offset = Some(off);
        let d2 = bmp::decode(&b2.write(), &req(Mode::Rgb, None)).unwrap();
        assert_eq!(d2.image, d.image, "offset {off}");
    }
}

#[test]
fn unsupported_and_corrupt_headers() {
    let kind = |b: &Bmp| match bmp::decode(&b.write(), &req(Mode::Rgb, None)) {
        Err(Error::Decode { kind, .. }) => kind,
        other => panic!("{other:?}"),
    };
    let mut b = Bmp::new(4, 4, 2);
    assert_eq!(kind(&b), DecodeErrorKind::Unsupported);
    b.bits = 24;
    b.compression = 4; // JPEG
    assert_eq!(kind(&b), DecodeErrorKind::Unsupported);
    b.compression = 3;
    b.masks = Some([0xF00, 0xF0, 0xF, 0]);
    assert_eq!(kind(&b), DecodeErrorKind::Unsupported);
    let mut b = Bmp::new(4, 4, 24);
    b.header_size = 20;
    assert_eq!(kind(&b), DecodeErrorKind::Unsupported);
    let mut b = Bmp::new(4, 4, 24);
    b.w = 0;
    b.pixels.clear();
    assert_eq!(kind(&b), DecodeErrorKind::Corrupt);
    let mut b = Bmp::new(4, 4, 8);
    b.palette = random_palette(&mut Rng(1), 4);
    b.offset = Some(1_000_000);
    assert_eq!(kind(&b), DecodeErrorKind::Truncated);
}

// ---------------------------------------------------------------- RLE

/// Encode rows (top-to-bottom indices) as a valid RLE stream: a mix of encoded runs,
/// absolute runs, deltas and end-of-line markers, bottom-up.
fn rle_encode(rng: &mut Rng, w: u32, rows: &[Vec<u8>], rle4: bool) -> Vec<u8> {
    let mut s = Vec::new();
    for row in rows.iter().rev() {
        let mut x = 0usize;
        while x < w as usize {
            let left = w as usize - x;
            let pick = rng.below(3);
            if pick == 0 || left < 3 {
                // Encoded run of the current value (RLE4: two alternating values).
                let v = row[x];
                let mut n = 1;
                if rle4 {
                    let v2 = row.get(x + 1).copied().unwrap_or(0);
                    while n < left.min(255) && row[x + n] == if n % 2 == 0 { v } else { v2 } {
                        n += 1;
                    }
                    s.extend_from_slice(&[n as u8, (v << 4) | v2]);
                } else {
                    while n < left.min(255) && row[x + n] == v {
                        n += 1;
                    }
                    s.extend_from_slice(&[n as u8, v]);
                }
                x += n;
            } else {
                let n = (3 + rng.below(left as u64 - 2) as usize).min(255).min(left);
                s.extend_from_slice(&[0, n as u8]);
                let px = &row[x..x + n];
                let start = s.len();
                if rle4 {
                    for c in px.chunks(2) {
                        s.push((c[0] << 4) | c.get(1).copied().unwrap_or(0));
                    }
                } else {
                    s.extend_from_slice(px);
                }
                if (s.len() - start) % 2 == 1 {
                    s.push(0);
                }
                x += n;
            }
        }
        s.extend_from_slice(&[0, 0]);
    }
    s.extend_from_slice(&[0, 1]);
    s
}

fn rle_bmp(rng: &mut Rng, w: u32, h: u32, rle4: bool, top_down: bool) -> Bmp {
    let bits = if rle4 { 4 } else { 8 };
    let mut b = Bmp::new(w, h, bits);
    b.compression = if rle4 { 2 } else { 1 };
    b.palette = random_palette(rng, 1 << bits);
    b.top_down = top_down;
    // Runs are likelier with few values.
    for p in b.pixels.iter_mut() {
        let range = if rng.below(2) == 0 { 3 } else { 1 << bits };
        *p = rng.below(range) as u32;
    }
    let mut rows: Vec<Vec<u8>> = b
        .pixels
        .chunks(w as usize)
        .map(|r| r.iter().map(|&v| v as u8).collect())
        .collect();
    if top_down {
        rows.reverse(); // the encoder writes bottom-up order
    }
    b.raw = Some(rle_encode(rng, w, &rows, rle4));
    b
}

#[test]
fn rle8_and_rle4() {
    let mut rng = Rng(99);
    for rle4 in [false, true] {
        for top_down in [false, true] {
            for (w, h) in [(1, 1), (13, 7), (40, 9), (300, 3)] {
                let b = rle_bmp(&mut rng, w, h, rle4, top_down);
                check(&b, &format!("rle4={rle4} td={top_down} {w}x{h}"));
            }
        }
    }
}

#[test]
fn rle_pillow_state_machine() {
    let mut b = Bmp::new(8, 4, 8);
    b.compression = 1;
    b.palette = (0..256).map(|i| [i as u8, 0, 1]).collect();
    // Bottom row: an encoded run of 20 clipped to 8; next row: absolute run of 12 that
    // wraps into the row above; delta (2, 1); encoded 3 x 9; EOL; EOB.
    let mut s = vec![20, 5, 0, 0, 0, 12];
    s.extend(0..12u8);
    s.extend_from_slice(&[0, 2, 2, 1, 3, 9, 0, 0, 0, 1]);
    b.raw = Some(s);
    // Linear (bottom-up) index buffer, as Pillow builds it.
    let mut lin = vec![5u8; 8];
    lin.extend(0..12u8); // len 20, x = 12 (past the row), then delta: +2 + 8
    lin.extend([0u8; 10]); // len 30 -> x = 30 % 8 = 6
    lin.extend([9u8; 2]); // encoded 3 clipped to 8 - 6 = 2 -> len 32 = full
    let rows: Vec<&[u8]> = lin.chunks(8).rev().collect();
    let want: Vec<u8> = rows.concat().iter().flat_map(|&i| [i, 0, 1]).collect();
    let d = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap();
    assert_eq!(d.image.as_u8().unwrap(), &want[..]);

    // End of bitmap before the last pixel: lenient, the rest is index 0; strict (as Pillow)
    // raises.
    b.raw = Some(vec![8, 7, 0, 1]);
    let d = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap();
    let px = d.image.as_u8().unwrap();
    assert_eq!(&px[3 * 24..], &[7, 0, 1].repeat(8)[..]);
    assert_eq!(&px[..3 * 24], &[0, 0, 1].repeat(24)[..]);
    let strict = RawRequest {
        strict: true,
        ..req(Mode::Rgb, None)
    };
    let e = bmp::decode(&b.write(), &strict).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::Corrupt,
                ..
            }
        ),
        "{e:?}"
    );
    for roi in [Rect::new(0, 3, 8, 1), Rect::new(2, 0, 1, 1)] {
        assert!(bmp::decode(
            &b.write(),
            &RawRequest {
                roi: Some(roi),
                ..strict
            }
        )
        .is_err());
    }
    // Running out of bytes is truncation.
    b.raw = Some(vec![8, 7, 0]);
    let e = bmp::decode(&b.write(), &req(Mode::Rgb, None)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::Truncated,
                ..
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------- ROI

#[test]
fn roi_equals_crop_of_full_decode() {
    let mut rng = Rng(1234);
    let (w, h) = (37, 23);
    let mut files: Vec<(String, Bmp)> = variants(&mut rng, w, h);
    files.push(("rle8".into(), rle_bmp(&mut rng, w, h, false, false)));
    files.push(("rle4".into(), rle_bmp(&mut rng, w, h, true, true)));
    for (name, b) in files {
        let data = b.write();
        let full = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap();
        for _ in 0..12 {
            let x = rng.below(u64::from(w)) as u32;
            let y = rng.below(u64::from(h)) as u32;
            let r = Rect::new(
                x,
                y,
                1 + rng.below(u64::from(w - x)) as u32,
                1 + rng.below(u64::from(h - y)) as u32,
            );
            let got = bmp::decode(&data, &req(Mode::Rgb, Some(r))).unwrap();
            assert_eq!(got.layout, full.layout);
            assert_eq!(
                (got.image.width, got.image.height),
                (r.width as usize, r.height as usize)
            );
            assert_eq!(
                got.image.as_u8().unwrap(),
                &crop(&full, r)[..],
                "{name} {r:?}"
            );
        }
    }
}

/// A 4000x4000 8-bit file and a 256x256 ROI: the right pixels, and fast (only the ROI's
/// rows and columns are read).
#[test]
fn large_roi_reads_only_needed_rows() {
    let (w, h) = (4000u32, 4000u32);
    let mut b = Bmp::new(w, h, 8);
    b.palette = (0..256).map(|i| [i as u8, 255 - i as u8, 7]).collect();
    let mut data = b.write();
    let off = data.len() - (w * h) as usize;
    // Paint the ROI rows (bottom-up storage) with a known pattern.
    let r = Rect::new(1000, 2000, 256, 256);
    for y in r.y..r.y + r.height {
        let row = off + (h - 1 - y) as usize * w as usize;
        for x in r.x..r.x + r.width {
            data[row + x as usize] = ((x + y) % 256) as u8;
        }
    }
    let t = std::time::Instant::now();
    let d = bmp::decode(&data, &req(Mode::Rgb, Some(r))).unwrap();
    let elapsed = t.elapsed();
    let px = d.image.as_u8().unwrap();
    for j in 0..256 {
        for i in 0..256 {
            let v = ((r.x + i + r.y + j) % 256) as u8;
            assert_eq!(&px[((j * 256 + i) * 3) as usize..][..3], &[v, 255 - v, 7]);
        }
    }
    // Generous bound (shared CI machines); a full decode of 16 MP would be far slower
    // in a debug build.
    assert!(elapsed.as_millis() < 200, "{elapsed:?}");
}

// ---------------------------------------------------------------- robustness

fn fuzz_one(data: &[u8]) {
    // A flipped size bit can turn a small RLE file into a valid huge image (end-of-bitmap
    // fills the rest): keep the limit low so that the test stays fast.
    let base = RawRequest {
        max_pixels: 1 << 20,
        ..req(Mode::Rgb, None)
    };
    common::fuzz_one(data, bmp::probe, bmp::decode, base, &[Mode::Rgb]);
}

#[test]
fn truncation_at_every_offset() {
    let mut rng = Rng(555);
    let mut files: Vec<Bmp> = variants(&mut rng, 5, 3)
        .into_iter()
        .step_by(7)
        .map(|(_, b)| b)
        .collect();
    files.push(rle_bmp(&mut rng, 9, 4, false, false));
    files.push(rle_bmp(&mut rng, 9, 4, true, false));
    for b in files {
        let data = b.write();
        let full = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap();
        for cut in 0..data.len() {
            match bmp::decode(&data[..cut], &req(Mode::Rgb, None)) {
                // Only the last row's padding (or the RLE end marker) may be missing.
                Ok(d) => assert_eq!(d, full, "cut {cut}"),
                Err(e) => assert!(is_typed(&e), "cut {cut}: {e:?}"),
            }
            if let Err(e) = bmp::probe(&data[..cut]) {
                assert!(is_typed(&e));
            }
        }
        if b.raw.is_none() {
            let e =
                bmp::decode(&data[..data.len() - b.stride()], &req(Mode::Rgb, None)).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Decode {
                        kind: DecodeErrorKind::Truncated,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }
}

#[test]
fn bit_flips_and_random_bytes() {
    let mut rng = Rng(8080);
    let mut seeds: Vec<Vec<u8>> = variants(&mut rng, 6, 5)
        .into_iter()
        .step_by(5)
        .map(|(_, b)| b.write())
        .collect();
    seeds.push(rle_bmp(&mut rng, 12, 6, false, false).write());
    seeds.push(rle_bmp(&mut rng, 12, 6, true, true).write());
    for data in &seeds {
        for _ in 0..300 {
            let mut d = data.clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(d.len() as u64) as usize;
                d[i] ^= 1 << rng.below(8);
            }
            fuzz_one(&d);
            // Header-targeted flips (sizes, offsets, bit depth, compression, colours).
            let mut d = data.clone();
            let i = 2 + rng.below(52.min(d.len() as u64 - 2)) as usize;
            d[i] = rng.below(256) as u8;
            fuzz_one(&d);
        }
    }
    for _ in 0..3000 {
        let n = rng.below(200) as usize;
        let mut d: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
        if d.len() >= 2 {
            d[..2].copy_from_slice(b"BM");
        }
        fuzz_one(&d);
    }
}

#[test]
fn decompression_bomb_headers() {
    for (w, h, bits) in [
        (65536, 65536, 24),
        (i32::MAX as u32, i32::MAX as u32, 32),
        (100_000, 100_000, 1),
    ] {
        let mut b = Bmp::new(1, 1, bits);
        b.palette = vec![[1, 2, 3], [4, 5, 6]];
        let mut data = b.write();
        data[18..22].copy_from_slice(&w.to_le_bytes());
        data[22..26].copy_from_slice(&h.to_le_bytes());
        assert!(data.len() < 100);
        let e = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
        // Top-down with i32::MIN height.
        data[22..26].copy_from_slice(&i32::MIN.to_le_bytes());
        let e = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
        assert_eq!(bmp::probe(&data).unwrap().width, w);
    }
    // Under the pixel limit but larger than the file: truncated, not an allocation.
    let mut data = Bmp::new(1, 1, 24).write();
    data[18..22].copy_from_slice(&10000u32.to_le_bytes());
    data[22..26].copy_from_slice(&10000u32.to_le_bytes());
    let e = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::Truncated,
                ..
            }
        ),
        "{e:?}"
    );
    // Negative width is corrupt.
    data[18..22].copy_from_slice(&(-5i32).to_le_bytes());
    let e = bmp::decode(&data, &req(Mode::Rgb, None)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::Corrupt,
                ..
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------- Pillow parity (opt-in)

/// Compare against Pillow's `convert("RGBA")` dumps: set `PIXFEED_PARITY_DIR` to a directory
/// holding `NAME.bmp` + `NAME.bmp.rgba` (u32 LE width, u32 LE height, RGBA bytes).
#[test]
#[ignore]
fn pillow_parity() {
    let Ok(dir) = std::env::var("PIXFEED_PARITY_DIR") else {
        eprintln!("PIXFEED_PARITY_DIR not set");
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "bmp"))
        .collect();
    names.sort();
    let (mut same, mut differ) = (0, Vec::new());
    for path in names {
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let expected = std::fs::read(format!("{}.rgba", path.display())).ok();
        match (bmp::decode(&data, &req(Mode::Rgb, None)), expected) {
            (Ok(d), Some(e)) => {
                let px = d.image.as_u8().unwrap();
                let rgba: Vec<u8> = px
                    .chunks_exact(d.layout.channels())
                    .flat_map(|p| match d.layout {
                        Layout::Gray => [p[0], p[0], p[0], 255],
                        Layout::Rgb => [p[0], p[1], p[2], 255],
                        _ => [p[0], p[1], p[2], p[3]],
                    })
                    .collect();
                if rgba == e[8..] {
                    same += 1;
                } else {
                    differ.push(name);
                }
            }
            (Err(err), Some(_)) => differ.push(format!("{name}: we fail ({err}), Pillow decodes")),
            (Ok(_), None) => eprintln!("{name}: Pillow fails, we decode"),
            (Err(_), None) => same += 1,
        }
    }
    eprintln!("{same} identical, {} differ: {differ:#?}", differ.len());
    assert!(differ.is_empty());
}
