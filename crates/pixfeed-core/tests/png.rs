//! PNG codec tests: every colour type / bit depth (plain, tRNS, Adam7) against a reference
//! model of the documented Pillow semantics, ROI == crop of the full decode, probe, and
//! robustness (truncation, bit flips, random bytes, decompression-bomb headers).

mod common;

use common::{is_typed, req, Rng};
use pixfeed_core::codecs::{png, Decoded, Layout, Mode};
use pixfeed_core::{DecodeErrorKind, Error, PixelData, Rect};

// ---------------------------------------------------------------- a tiny PNG writer

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream with stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let n = b.len() as u16;
        z.extend_from_slice(&n.to_le_bytes());
        z.extend_from_slice(&(!n).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

fn channels_of(ct: u8) -> usize {
    match ct {
        0 | 3 => 1,
        4 => 2,
        2 => 3,
        _ => 4,
    }
}

/// Pack one row of samples (`w * channels` values) at `bd` bits.
fn pack(samples: &[u16], bd: u8) -> Vec<u8> {
    let mut out = Vec::new();
    match bd {
        16 => samples
            .iter()
            .for_each(|s| out.extend_from_slice(&s.to_be_bytes())),
        8 => out.extend(samples.iter().map(|&s| s as u8)),
        _ => {
            let per = 8 / bd as usize;
            for c in samples.chunks(per) {
                let mut byte = 0u8;
                for (i, &s) in c.iter().enumerate() {
                    byte |= (s as u8) << (8 - bd as usize * (i + 1));
                }
                out.push(byte);
            }
        }
    }
    out
}

struct Src {
    w: u32,
    h: u32,
    ct: u8,
    bd: u8,
    /// Row-major samples, `w * h * channels`.
    samples: Vec<u16>,
    plte: Option<Vec<u8>>,
    trns: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
}

const ADAM7: [(usize, usize, usize, usize); 7] = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
];

/// Write `src` as a PNG; `filters` cycles filter types 0..=4 (raw rows are filtered for
/// real, so the decoder's unfiltering is exercised too).
fn write_png(src: &Src, interlaced: bool, idat_split: usize) -> Vec<u8> {
    let ch = channels_of(src.ct);
    let (w, h) = (src.w as usize, src.h as usize);
    let bpp = ((usize::from(src.bd) * ch).div_ceil(8)).max(1);
    let mut raw = Vec::new();
    let mut emit = |rows: Vec<Vec<u8>>| {
        let mut prev: Vec<u8> = vec![0; rows.first().map_or(0, |r| r.len())];
        for (i, row) in rows.iter().enumerate() {
            let f = (i % 5) as u8;
            raw.push(f);
            for x in 0..row.len() {
                let a = if x >= bpp { row[x - bpp] } else { 0 };
                let b = prev[x];
                let c = if x >= bpp { prev[x - bpp] } else { 0 };
                let pred = match f {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    _ => {
                        let p = i16::from(a) + i16::from(b) - i16::from(c);
                        let (pa, pb, pc) = (
                            (p - i16::from(a)).abs(),
                            (p - i16::from(b)).abs(),
                            (p - i16::from(c)).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                };
                raw.push(row[x].wrapping_sub(pred));
            }
            prev = row.clone();
        }
    };
    let row_samples = |y: usize, xs: &mut dyn Iterator<Item = usize>| -> Vec<u16> {
        let mut v = Vec::new();
        for x in xs {
            v.extend_from_slice(&src.samples[(y * w + x) * ch..(y * w + x + 1) * ch]);
        }
        v
    };
    if interlaced {
        for (x0, y0, dx, dy) in ADAM7 {
            if x0 >= w || y0 >= h {
                continue;
            }
            let rows = (y0..h)
                .step_by(dy)
                .map(|y| pack(&row_samples(y, &mut (x0..w).step_by(dx)), src.bd))
                .collect();
            emit(rows);
        }
    } else {
        emit(
            (0..h)
                .map(|y| pack(&row_samples(y, &mut (0..w)), src.bd))
                .collect(),
        );
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&src.w.to_be_bytes());
    ihdr.extend_from_slice(&src.h.to_be_bytes());
    ihdr.extend_from_slice(&[src.bd, src.ct, 0, 0, u8::from(interlaced)]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(e) = &src.exif {
        chunk(&mut out, b"eXIf", e);
    }
    if let Some(p) = &src.plte {
        chunk(&mut out, b"PLTE", p);
    }
    if let Some(t) = &src.trns {
        chunk(&mut out, b"tRNS", t);
    }
    let z = zlib_stored(&raw);
    for part in z.chunks(idat_split.max(1)) {
        chunk(&mut out, b"IDAT", part);
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

// ---------------------------------------------------------------- reference model

/// Expected (layout, 8-bit samples or 16-bit samples) for `src`, per the documented rules.
fn expected(src: &Src, unchanged: bool) -> (Layout, PixelData) {
    let ch = channels_of(src.ct);
    let n = (src.w * src.h) as usize;
    let px = |i: usize| &src.samples[i * ch..(i + 1) * ch];
    let wide = unchanged && src.bd == 16;
    let to8 = |v: u16| -> u8 {
        match src.bd {
            16 => (v >> 8) as u8,
            8 => v as u8,
            bd => (u32::from(v) * 255 / ((1u32 << bd) - 1)) as u8,
        }
    };
    let t16 = |i: usize| {
        let t = src.trns.as_ref().unwrap();
        u16::from_be_bytes([t[2 * i], t[2 * i + 1]])
    };
    let mut o8 = Vec::new();
    let mut o16 = Vec::new();
    let layout;
    match (src.ct, &src.trns) {
        (3, trns) => {
            let plte = src.plte.as_ref().unwrap();
            let alpha = trns.is_some();
            layout = if alpha { Layout::Rgba } else { Layout::Rgb };
            for i in 0..n {
                let k = px(i)[0] as usize;
                let rgb = plte.get(k * 3..k * 3 + 3).unwrap_or(&[0, 0, 0]);
                o8.extend_from_slice(rgb);
                if let Some(t) = trns {
                    o8.push(*t.get(k).unwrap_or(&255));
                }
            }
        }
        (0, Some(_)) => {
            layout = Layout::GrayAlpha;
            let t = t16(0);
            for i in 0..n {
                let v = px(i)[0];
                if wide {
                    o16.extend_from_slice(&[v, if v == t { 0 } else { 65535 }]);
                } else if src.bd == 16 {
                    o8.extend_from_slice(&[to8(v), if v == t { 0 } else { 255 }]);
                } else {
                    let t8 = if src.bd == 1 {
                        if t != 0 {
                            255
                        } else {
                            0
                        }
                    } else {
                        t as u8
                    };
                    let g = to8(v);
                    o8.extend_from_slice(&[g, if g == t8 { 0 } else { 255 }]);
                }
            }
        }
        (2, Some(_)) => {
            layout = Layout::Rgba;
            let t = [t16(0), t16(1), t16(2)];
            for i in 0..n {
                let p = px(i);
                if wide {
                    o16.extend_from_slice(p);
                    o16.push(if p == t { 0 } else { 65535 });
                } else {
                    let q = [to8(p[0]), to8(p[1]), to8(p[2])];
                    o8.extend_from_slice(&q);
                    let lo = [t[0] as u8, t[1] as u8, t[2] as u8];
                    o8.push(if q == lo { 0 } else { 255 });
                }
            }
        }
        (ct, _) => {
            layout = match ct {
                0 => Layout::Gray,
                4 => Layout::GrayAlpha,
                2 => Layout::Rgb,
                _ => Layout::Rgba,
            };
            for &v in &src.samples {
                if wide {
                    o16.push(v);
                } else {
                    o8.push(to8(v));
                }
            }
        }
    }
    (
        layout,
        if wide {
            PixelData::U16(o16)
        } else {
            PixelData::U8(o8)
        },
    )
}

const COMBOS: [(u8, u8); 15] = [
    (0, 1),
    (0, 2),
    (0, 4),
    (0, 8),
    (0, 16),
    (2, 8),
    (2, 16),
    (3, 1),
    (3, 2),
    (3, 4),
    (3, 8),
    (4, 8),
    (4, 16),
    (6, 8),
    (6, 16),
];

fn random_src(rng: &mut Rng, ct: u8, bd: u8, w: u32, h: u32, with_trns: bool) -> Src {
    let ch = channels_of(ct);
    let max = if bd == 16 { 65535 } else { (1u64 << bd) - 1 };
    // Few distinct values so that tRNS matches happen often.
    let distinct: Vec<u16> = (0..6).map(|_| rng.below(max + 1) as u16).collect();
    let samples: Vec<u16> = (0..(w * h) as usize * ch)
        .map(|_| {
            if rng.below(2) == 0 {
                distinct[rng.below(6) as usize]
            } else {
                rng.below(max + 1) as u16
            }
        })
        .collect();
    let plte = (ct == 3).then(|| {
        // Sometimes shorter than 2^bd (out-of-range indices must be black).
        let n = 1 + rng.below(1 << bd) as usize;
        (0..n * 3)
            .map(|_| rng.below(256) as u8)
            .collect::<Vec<u8>>()
    });
    let trns = match (with_trns, ct) {
        (false, _) | (true, 4 | 6) => None,
        (true, 3) => {
            let n = 1 + rng.below(plte.as_ref().unwrap().len() as u64 / 3 + 2) as usize;
            Some((0..n).map(|_| rng.below(256) as u8).collect())
        }
        (true, 0) => {
            let mut v = samples[0];
            if bd < 8 && rng.below(2) == 0 {
                // The scaled level: what Pillow actually compares against.
                v = (u32::from(v) * 255 / ((1u32 << bd) - 1)) as u16;
            }
            if bd == 8 && rng.below(3) == 0 {
                v |= 0x0100; // high byte is ignored for 8-bit
            }
            Some(v.to_be_bytes().to_vec())
        }
        (true, _) => {
            let mut t = Vec::new();
            for &s in &samples[0..3] {
                let s = if bd == 16 && rng.below(2) == 0 {
                    // Pillow compares high bytes with low bytes: make that match.
                    (s & 0xFF00) | (s >> 8)
                } else {
                    s
                };
                t.extend_from_slice(&s.to_be_bytes());
            }
            Some(t)
        }
    };
    Src {
        w,
        h,
        ct,
        bd,
        samples,
        plte,
        trns,
        exif: None,
    }
}

fn check(src: &Src, data: &[u8], what: &str) {
    for unchanged in [false, true] {
        let mode = if unchanged {
            Mode::Unchanged
        } else {
            Mode::Rgb
        };
        let got = png::decode(data, &req(mode, None)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (layout, pixels) = expected(src, unchanged);
        assert_eq!(got.layout, layout, "{what}");
        assert_eq!(got.image.channels, layout.channels(), "{what}");
        assert_eq!(
            (got.image.width, got.image.height),
            (src.w as usize, src.h as usize)
        );
        assert!(
            got.image.data == pixels,
            "{what} unchanged={unchanged}: pixels differ"
        );
    }
}

#[test]
fn every_colour_type_and_depth() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (ct, bd) in COMBOS {
        for with_trns in [false, true] {
            for interlaced in [false, true] {
                for (w, h) in [(1, 1), (13, 7), (9, 17), (33, 3)] {
                    let src = random_src(&mut rng, ct, bd, w, h, with_trns);
                    let data = write_png(&src, interlaced, 1 + rng.below(200) as usize);
                    let what = format!("ct{ct} bd{bd} trns={with_trns} il={interlaced} {w}x{h}");
                    check(&src, &data, &what);
                    let info = png::probe(&data).unwrap();
                    let (layout, _) = expected(&src, false);
                    assert_eq!(info.channels as usize, layout.channels(), "{what}");
                    assert_eq!(info.bit_depth, if bd == 16 { 16 } else { 8 });
                    assert_eq!((info.width, info.height), (w, h));
                    assert_eq!(info.progressive, interlaced);
                    assert_eq!(info.orientation, 1);
                }
            }
        }
    }
}

/// The png crate's own encoder (real deflate, adaptive filters).
#[test]
fn png_crate_encoder_roundtrip() {
    let mut rng = Rng(77);
    for (ct, bd) in COMBOS {
        let (w, h) = (97, 61);
        let src = random_src(&mut rng, ct, bd, w, h, ct != 4 && ct != 6);
        let mut data = Vec::new();
        {
            let mut enc = ::png::Encoder::new(&mut data, w, h);
            enc.set_color(match ct {
                0 => ::png::ColorType::Grayscale,
                2 => ::png::ColorType::Rgb,
                3 => ::png::ColorType::Indexed,
                4 => ::png::ColorType::GrayscaleAlpha,
                _ => ::png::ColorType::Rgba,
            });
            enc.set_depth(::png::BitDepth::from_u8(bd).unwrap());
            enc.set_filter(::png::Filter::Adaptive);
            if let Some(p) = &src.plte {
                enc.set_palette(p.clone());
            }
            if let Some(t) = &src.trns {
                enc.set_trns(t.clone());
            }
            let mut wr = enc.write_header().unwrap();
            let ch = channels_of(ct);
            let mut packed = Vec::new();
            for y in 0..h as usize {
                let row = &src.samples[y * w as usize * ch..(y + 1) * w as usize * ch];
                packed.extend_from_slice(&pack(row, bd));
            }
            wr.write_image_data(&packed).unwrap();
        }
        check(&src, &data, &format!("encoder ct{ct} bd{bd}"));
    }
}

fn crop(d: &Decoded, r: Rect) -> PixelData {
    let (w, c) = (d.image.width, d.image.channels);
    let rows = r.y as usize..(r.y + r.height) as usize;
    let cols = r.x as usize * c..(r.x + r.width) as usize * c;
    match &d.image.data {
        PixelData::U8(v) => PixelData::U8(
            rows.flat_map(|y| v[y * w * c..][cols.clone()].to_vec())
                .collect(),
        ),
        PixelData::U16(v) => PixelData::U16(
            rows.flat_map(|y| v[y * w * c..][cols.clone()].to_vec())
                .collect(),
        ),
    }
}

#[test]
fn roi_equals_crop_of_full_decode() {
    let mut rng = Rng(4242);
    for (ct, bd) in COMBOS {
        for interlaced in [false, true] {
            let (w, h) = (37, 29);
            let src = random_src(&mut rng, ct, bd, w, h, ct == 3 || ct == 0);
            let data = write_png(&src, interlaced, 500);
            for mode in [Mode::Rgb, Mode::Unchanged] {
                let full = png::decode(&data, &req(mode, None)).unwrap();
                for _ in 0..25 {
                    let x = rng.below(u64::from(w)) as u32;
                    let y = rng.below(u64::from(h)) as u32;
                    let rw = 1 + rng.below(u64::from(w - x)) as u32;
                    let rh = 1 + rng.below(u64::from(h - y)) as u32;
                    let r = Rect::new(x, y, rw, rh);
                    let got = png::decode(&data, &req(mode, Some(r))).unwrap();
                    assert_eq!(got.layout, full.layout);
                    assert_eq!(
                        (got.image.width, got.image.height),
                        (rw as usize, rh as usize)
                    );
                    assert!(
                        got.image.data == crop(&full, r),
                        "ct{ct} bd{bd} il={interlaced} {r:?}"
                    );
                }
            }
        }
    }
}

/// A ROI at the top of the image must not need the data of the rows below it.
#[test]
fn roi_stops_after_last_needed_row() {
    let mut rng = Rng(5);
    let src = random_src(&mut rng, 2, 8, 50, 40, false);
    let data = write_png(&src, false, 100_000);
    let r = Rect::new(3, 0, 20, 10);
    let full = png::decode(&data, &req(Mode::Rgb, None)).unwrap();
    // Cut the file right after the data of row 10 (stored deflate: byte-addressable).
    let idat_data_start = data.windows(4).position(|w| w == b"IDAT").unwrap() + 4 + 2;
    let cut = idat_data_start + 5 + 11 * (1 + 50 * 3) + 5;
    let got = png::decode(&data[..cut], &req(Mode::Rgb, Some(r))).unwrap();
    assert!(got.image.data == crop(&full, r));
    assert!(png::decode(&data[..cut], &req(Mode::Rgb, None)).is_err());
}

#[test]
fn exif_orientation_and_probe() {
    let mut rng = Rng(9);
    let mut src = random_src(&mut rng, 2, 8, 5, 4, false);
    // Big-endian TIFF block, no "Exif\0\0" prefix (usual in PNG), orientation 6.
    src.exif = Some(b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec());
    let data = write_png(&src, false, 1000);
    let info = png::probe(&data).unwrap();
    assert_eq!(info.orientation, 6);
    assert_eq!(
        (info.width, info.height, info.channels, info.bit_depth),
        (5, 4, 3, 8)
    );
    check(&src, &data, "exif");
}

fn fuzz_one(data: &[u8]) {
    let base = req(Mode::Rgb, None);
    common::fuzz_one(
        data,
        png::probe,
        png::decode,
        base,
        &[Mode::Rgb, Mode::Unchanged],
    );
}

#[test]
fn truncation_at_every_offset() {
    let mut rng = Rng(31337);
    for (ct, bd, il) in [(3, 4, false), (2, 16, true), (0, 8, false), (6, 8, true)] {
        let src = random_src(&mut rng, ct, bd, 11, 9, ct == 3);
        for data in [write_png(&src, il, 40), {
            let mut v = Vec::new();
            let mut enc = ::png::Encoder::new(&mut v, 11, 9);
            enc.set_color(::png::ColorType::Rgb);
            let mut wr = enc.write_header().unwrap();
            wr.write_image_data(&[7u8; 11 * 9 * 3]).unwrap();
            drop(wr);
            v
        }] {
            let full = png::decode(&data, &req(Mode::Rgb, None)).unwrap();
            for cut in 0..data.len() {
                let d = &data[..cut];
                match png::decode(d, &req(Mode::Rgb, None)) {
                    // Cut after the last row's data (in the Adler-32 / IEND): fine.
                    Ok(got) => assert!(got == full, "cut {cut}: wrong pixels"),
                    Err(e) => assert!(is_typed(&e), "cut {cut}: {e:?}"),
                }
                if cut < 29 {
                    assert!(png::probe(d).is_err());
                }
            }
        }
    }
    // A cut inside the image data is reported as truncation.
    let src = random_src(&mut rng, 2, 8, 40, 40, false);
    let data = write_png(&src, false, 1 << 20);
    let e = png::decode(&data[..data.len() / 2], &req(Mode::Rgb, None)).unwrap_err();
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

#[test]
fn bit_flips_and_random_bytes() {
    let mut rng = Rng(2718);
    let src = random_src(&mut rng, 3, 8, 16, 12, true);
    let seeds = [
        write_png(&src, false, 64),
        write_png(&random_src(&mut rng, 0, 2, 16, 12, true), true, 64),
        write_png(&random_src(&mut rng, 6, 16, 16, 12, false), false, 64),
    ];
    for data in &seeds {
        for _ in 0..3000 {
            let mut d = data.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(d.len() as u64) as usize;
                d[i] ^= 1 << rng.below(8);
            }
            fuzz_one(&d);
        }
    }
    for _ in 0..2000 {
        let n = rng.below(300) as usize;
        let mut d: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
        if rng.below(2) == 0 && d.len() >= 8 {
            d[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        }
        fuzz_one(&d);
    }
}

fn bomb(w: u32, h: u32, ct: u8, bd: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bd, ct, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&[0; 16]));
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn decompression_bomb_headers() {
    for (w, h) in [
        (65536, 65536),
        (0x7FFF_FFFF, 0x7FFF_FFFF),
        (0x7FFF_FFFF, 2),
        (20000, 10000),
    ] {
        let data = bomb(w, h, 6, 16);
        assert!(data.len() < 100);
        let e = png::decode(&data, &req(Mode::Rgb, None)).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{w}x{h}: {e:?}");
        // probe only reads headers
        assert_eq!(png::probe(&data).unwrap().width, w);
    }
    // Under the limit but with no data: an error, not a huge allocation that succeeds.
    let e = png::decode(&bomb(10000, 10000, 0, 1), &req(Mode::Rgb, None)).unwrap_err();
    assert!(is_typed(&e), "{e:?}");
    // Zero and out-of-range sizes are corrupt.
    for (w, h) in [(0, 5), (5, 0), (0x8000_0000, 1)] {
        let e = png::decode(&bomb(w, h, 2, 8), &req(Mode::Rgb, None)).unwrap_err();
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
}

#[test]
fn bad_headers_are_corrupt() {
    for (ct, bd) in [(1, 8), (2, 4), (3, 16), (4, 1), (6, 2), (0, 3), (7, 8)] {
        let e = png::probe(&bomb(4, 4, ct, bd)).unwrap_err();
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
    // Indexed without PLTE.
    let e = png::decode(&bomb(4, 4, 3, 8), &req(Mode::Rgb, None)).unwrap_err();
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
/// holding `NAME.png` + `NAME.png.rgba` (u32 LE width, u32 LE height, RGBA bytes).
#[test]
#[ignore]
fn pillow_parity() {
    parity("png");
}

fn to_rgba(d: &Decoded) -> Vec<u8> {
    let PixelData::U8(v) = &d.image.data else {
        panic!("16-bit")
    };
    let mut out = Vec::with_capacity(d.image.width * d.image.height * 4);
    for p in v.chunks_exact(d.layout.channels()) {
        match d.layout {
            Layout::Gray => out.extend_from_slice(&[p[0], p[0], p[0], 255]),
            Layout::GrayAlpha => out.extend_from_slice(&[p[0], p[0], p[0], p[1]]),
            Layout::Rgb => out.extend_from_slice(&[p[0], p[1], p[2], 255]),
            Layout::Rgba => out.extend_from_slice(p),
            l => panic!("unexpected layout {l:?}"),
        }
    }
    out
}

fn parity(ext: &str) {
    let Ok(dir) = std::env::var("PIXFEED_PARITY_DIR") else {
        eprintln!("PIXFEED_PARITY_DIR not set");
        return;
    };
    let (mut same, mut differ) = (0, Vec::new());
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    names.sort();
    for path in names {
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let ours = png::decode(&data, &req(Mode::Rgba, None));
        let expected = std::fs::read(format!("{}.rgba", path.display())).ok();
        match (ours, expected) {
            (Ok(d), Some(e)) => {
                if to_rgba(&d) == e[8..] {
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
    let unexpected: Vec<_> = differ.iter().filter(|n| !n.contains("GRAY16")).collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}
