//! JPEG codec tests. Test files are made by libjpeg's own encoder through
//! `pf_jpeg_encode` (csrc/jpeg_enc.c), so nothing is read from disk.

use super::*;
use crate::codecs::region_or_full;
use crate::DecodeErrorKind;

use crate::codecs::encode::{pf_jpeg_encode, pf_jpeg_free, PfJpegEncParams};

/// Encoder options.
#[derive(Clone, Debug)]
struct Enc {
    /// 1 gray, 3 RGB, 4 CMYK input.
    components: u32,
    /// 0 default, 1 RGB stored as RGB, 2 YCCK.
    space: u32,
    quality: u32,
    /// (h, v) sampling factors of component 0.
    samp: (u32, u32),
    progressive: bool,
    arithmetic: bool,
    restart_rows: u32,
    precision: u32,
    lossless: bool,
    optimize: bool,
    app1: Option<Vec<u8>>,
}

impl Default for Enc {
    fn default() -> Self {
        Enc {
            components: 3,
            space: 0,
            quality: 90,
            samp: (2, 2),
            progressive: false,
            arithmetic: false,
            restart_rows: 0,
            precision: 8,
            lossless: false,
            optimize: false,
            app1: None,
        }
    }
}

impl Enc {
    fn samp(mut self, h: u32, v: u32) -> Self {
        self.samp = (h, v);
        self
    }
    fn gray(mut self) -> Self {
        self.components = 1;
        self.samp = (1, 1);
        self
    }
    fn cmyk(mut self) -> Self {
        self.components = 4;
        self.samp = (1, 1);
        self
    }
    fn progressive(mut self) -> Self {
        self.progressive = true;
        self
    }
    fn restart(mut self, rows: u32) -> Self {
        self.restart_rows = rows;
        self
    }
    fn optimize(mut self) -> Self {
        self.optimize = true;
        self
    }
    fn quality(mut self, q: u32) -> Self {
        self.quality = q;
        self
    }
    fn arith(mut self) -> Self {
        self.arithmetic = true;
        self
    }
    fn space(mut self, space: u32) -> Self {
        self.space = space;
        self
    }
    fn precision(mut self, bits: u32) -> Self {
        self.precision = bits;
        self
    }
    fn lossless(mut self) -> Self {
        self.lossless = true;
        self
    }
    fn app1(mut self, block: Vec<u8>) -> Self {
        self.app1 = Some(block);
        self
    }
}

fn encode(pixels: &[u8], w: u32, h: u32, enc: &Enc) -> Vec<u8> {
    assert_eq!(pixels.len(), (w * h * enc.components) as usize);
    let app1 = enc.app1.as_deref().unwrap_or(&[]);
    let p = PfJpegEncParams {
        width: w,
        height: h,
        in_components: enc.components,
        jpeg_space: enc.space,
        quality: enc.quality,
        h_samp: enc.samp.0,
        v_samp: enc.samp.1,
        progressive: enc.progressive.into(),
        arithmetic: enc.arithmetic.into(),
        restart_rows: enc.restart_rows,
        precision: enc.precision,
        lossless: enc.lossless.into(),
        optimize: enc.optimize.into(),
        app1: app1.as_ptr(),
        app1_len: app1.len(),
    };
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut out_len = 0usize;
    let mut msg = [0u8; 256];
    // SAFETY: `pixels` holds h rows of w * components bytes (asserted above); `p` and
    // `app1` outlive the call; the out-pointers and `msg` are valid for writes.
    let rc = unsafe {
        pf_jpeg_encode(
            pixels.as_ptr(),
            &p,
            &mut out,
            &mut out_len,
            msg.as_mut_ptr().cast(),
            msg.len(),
        )
    };
    assert_eq!(
        rc,
        0,
        "encoder failed: {}",
        CStr::from_bytes_until_nul(&msg).unwrap().to_string_lossy()
    );
    // SAFETY: on success `out` is a malloc'ed buffer of `out_len` bytes owned by us; it is
    // copied, then freed exactly once.
    unsafe {
        let v = std::slice::from_raw_parts(out, out_len).to_vec();
        pf_jpeg_free(out);
        v
    }
}

/// Small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Smooth gradients.
fn gradient(w: u32, h: u32, c: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * c) as usize);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                let val = match k {
                    0 => x * 255 / w.max(2).saturating_sub(1).max(1),
                    1 => y * 255 / h.max(2).saturating_sub(1).max(1),
                    2 => (x + y) * 255 / (w + h),
                    _ => 255 - (x * 255 / w.max(1)),
                };
                v.push(val.min(255) as u8);
            }
        }
    }
    v
}

/// Texture: gradients plus sharp stripes plus noise, so that edges and chroma matter.
fn texture(w: u32, h: u32, c: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let g = gradient(w, h, c);
    let mut v = Vec::with_capacity(g.len());
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                let base = i32::from(g[((y * w + x) * c + k) as usize]);
                let stripe = if (x / (3 + k) + y / 5) % 2 == 0 {
                    40
                } else {
                    -40
                };
                let noise = (rng.below(41) as i32) - 20;
                v.push((base + stripe + noise).clamp(0, 255) as u8);
            }
        }
    }
    v
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

const STRICT: Flags = Flags {
    fast: false,
    strict: true,
    reference: false,
};

fn req(mode: Mode) -> RawRequest {
    RawRequest {
        mode,
        roi: None,
        min_size: None,
        max_pixels: 178_956_970,
        fast: false,
        strict: true,
    }
}

fn pixels(d: &Decoded) -> &[u8] {
    d.image.as_u8().unwrap()
}

/// Decode at an explicit scale (bypassing `choose_scale`).
fn decode_m(data: &[u8], mode: Mode, region: Option<Rect>, m: u32) -> Result<Decoded> {
    let hdr = parse_header(data)?;
    let region = region_or_full(region, hdr.width, hdr.height);
    decode_at(data, &hdr, mode, region, m, STRICT, false).map(|(d, _)| d)
}

/// Band decode at an explicit scale: the image and the region's first column in it.
fn decode_band_m(data: &[u8], mode: Mode, region: Rect, m: u32) -> Result<(Decoded, u32)> {
    let hdr = parse_header(data)?;
    decode_at(data, &hdr, mode, region, m, STRICT, true)
}

/// Crop `r` out of a packed image of width `w`.
fn crop(buf: &[u8], w: usize, ch: usize, r: Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity(r.width as usize * r.height as usize * ch);
    for y in r.y as usize..(r.y + r.height) as usize {
        let start = (y * w + r.x as usize) * ch;
        out.extend_from_slice(&buf[start..start + r.width as usize * ch]);
    }
    out
}

fn kind(e: &Error) -> Option<DecodeErrorKind> {
    match e {
        Error::Decode { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[test]
fn version_and_simd() {
    assert_eq!(libjpeg_turbo_version(), "3.1.0");
    assert!(simd_enabled());
}

#[test]
fn full_decode_gradient_and_noise() {
    let (w, h) = (203u32, 157u32);
    let src = gradient(w, h, 3);
    for (hs, vs, min_psnr) in [(1, 1, 38.0), (2, 1, 34.0), (2, 2, 32.0), (1, 2, 34.0)] {
        let jpg = encode(&src, w, h, &Enc::default().samp(hs, vs).quality(95));
        let d = decode(&jpg, &req(Mode::Rgb)).unwrap();
        assert_eq!(
            (d.image.width, d.image.height, d.image.channels),
            (203, 157, 3)
        );
        assert_eq!(d.layout, Layout::Rgb);
        let p = psnr(pixels(&d), &src);
        assert!(p > min_psnr, "{hs}x{vs}: psnr {p}");
    }
    // Noise: worst case for JPEG; only check it is in the right ballpark.
    let noise = Rng::new(7).bytes((w * h * 3) as usize);
    let jpg = encode(&noise, w, h, &Enc::default().samp(1, 1).quality(95));
    let d = decode(&jpg, &req(Mode::Rgb)).unwrap();
    let p = psnr(pixels(&d), &noise);
    assert!(p > 20.0, "noise psnr {p}");
    // Gray.
    let g = gradient(w, h, 1);
    let jpg = encode(&g, w, h, &Enc::default().gray().quality(95));
    let d = decode(&jpg, &req(Mode::L)).unwrap();
    assert_eq!(d.layout, Layout::Gray);
    assert!(psnr(pixels(&d), &g) > 40.0);
}

/// Configurations exercised by the ROI tests: (name, encoder).
fn roi_configs() -> Vec<(&'static str, Enc)> {
    vec![
        ("444", Enc::default().samp(1, 1)),
        ("422", Enc::default().samp(2, 1)),
        ("420", Enc::default().samp(2, 2)),
        ("440", Enc::default().samp(1, 2)),
        ("420-prog", Enc::default().samp(2, 2).progressive()),
        ("422-prog", Enc::default().samp(2, 1).progressive()),
        ("444-prog", Enc::default().samp(1, 1).progressive()),
        ("440-prog", Enc::default().samp(1, 2).progressive()),
        ("420-rst", Enc::default().samp(2, 2).restart(1)),
        ("422-rst", Enc::default().samp(2, 1).restart(2)),
        ("420-arith", Enc::default().samp(2, 2).arith()),
        ("gray", Enc::default().gray()),
        ("gray-prog", Enc::default().gray().progressive()),
        ("cmyk", Enc::default().cmyk()),
        ("ycck-prog", Enc::default().cmyk().progressive().space(2)),
        ("420-prog-partial", Enc::default().samp(2, 2).progressive()),
        ("444-prog-partial", Enc::default().samp(1, 1).progressive()),
        ("gray-prog-partial", Enc::default().gray().progressive()),
        ("rgb-stored", Enc::default().samp(1, 1).space(1)),
    ]
}

/// Offsets of the SOS markers (0xFF 0xDA) of a JPEG: inside entropy-coded data 0xFF is
/// always followed by 0x00 or a RST marker, so a plain scan is exact.
fn sos_offsets(jpg: &[u8]) -> Vec<usize> {
    jpg.windows(2)
        .enumerate()
        .filter(|(_, w)| w == &[0xFF, 0xDA])
        .map(|(i, _)| i)
        .collect()
}

/// A progressive file without its last `n` scans (still ending with EOI).
fn drop_last_scans(jpg: &[u8], n: usize) -> Vec<u8> {
    let sos = sos_offsets(jpg);
    assert!(sos.len() > n);
    let mut v = jpg[..sos[sos.len() - n]].to_vec();
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

fn random_rect(rng: &mut Rng, w: u32, h: u32) -> Rect {
    // Mix of tiny, edge-touching and large rectangles.
    let pick = |rng: &mut Rng, size: u32| -> (u32, u32) {
        match rng.below(4) {
            0 => {
                let len = 1 + rng.below(size.min(4));
                (rng.below(size - len + 1), len)
            }
            1 => {
                let len = 1 + rng.below(size);
                (size - len, len)
            }
            2 => {
                let len = 1 + rng.below(size);
                (0, len)
            }
            _ => {
                let a = rng.below(size);
                let b = rng.below(size);
                (a.min(b), a.max(b) - a.min(b) + 1)
            }
        }
    };
    let (x, rw) = pick(rng, w);
    let (y, rh) = pick(rng, h);
    Rect::new(x, y, rw, rh)
}

/// ROI decodes (crop + skip + early stop) equal the same region of the full decode at the
/// same scale, byte for byte, for every sampling, progressive, restart, arithmetic, gray,
/// CMYK and every scale M/8.
#[test]
fn roi_matches_full_decode_at_every_scale() {
    let (w, h) = (203u32, 157u32);
    let mut rng = Rng::new(42);
    for (name, enc) in roi_configs() {
        let src = texture(w, h, enc.components, 3);
        let mut jpg = encode(&src, w, h, &enc);
        if name.ends_with("-partial") {
            // Drop the final refinement scans: a complete, valid file whose coefficients
            // are not all known, so libjpeg applies block smoothing across blocks.
            jpg = drop_last_scans(&jpg, if enc.components == 1 { 2 } else { 4 });
        }
        let modes: &[Mode] = if enc.components == 3 {
            &[Mode::Rgb, Mode::Bgr, Mode::Rgba]
        } else {
            &[Mode::Unchanged]
        };
        for &mode in modes {
            for m in 1..=8u32 {
                let full = decode_m(&jpg, mode, None, m).unwrap();
                let (fw, fh) = (full.image.width, full.image.height);
                assert_eq!(
                    (fw as u32, fh as u32),
                    (scaled_size(w, m), scaled_size(h, m))
                );
                let ch = full.image.channels;
                for _ in 0..12 {
                    let region = random_rect(&mut rng, w, h);
                    let r = scale_region(w, h, region, m);
                    let got = decode_m(&jpg, mode, Some(region), m)
                        .unwrap_or_else(|e| panic!("{name} {mode:?} M={m} {region:?}: {e}"));
                    assert_eq!(
                        (got.image.width, got.image.height),
                        (r.width as usize, r.height as usize)
                    );
                    assert_eq!(got.layout, full.layout);
                    let want = crop(pixels(&full), fw, ch, r);
                    // The band decode holds the same pixels in its view columns.
                    let (band, left) = decode_band_m(&jpg, mode, region, m)
                        .unwrap_or_else(|e| panic!("{name} {mode:?} M={m} {region:?}: {e}"));
                    assert_eq!(band.image.height, r.height as usize);
                    assert!(band.image.width >= left as usize + r.width as usize);
                    let view = Rect::new(left, 0, r.width, r.height);
                    assert!(
                        crop(pixels(&band), band.image.width, ch, view) == want,
                        "{name} {mode:?} M={m} region {region:?}: band view differs"
                    );
                    if pixels(&got) != want.as_slice() {
                        let first = pixels(&got)
                            .iter()
                            .zip(&want)
                            .position(|(a, b)| a != b)
                            .unwrap();
                        let px = first / ch;
                        panic!(
                            "{name} {mode:?} M={m} region {region:?} -> scaled {r:?}: first \
                             difference at ({}, {})",
                            px % r.width as usize,
                            px / r.width as usize
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn scale_choice_is_smallest_sufficient() {
    let (w, h) = (203u32, 157u32);
    let full = Rect::new(0, 0, w, h);
    assert_eq!(choose_scale(w, h, full, None), 8);
    assert_eq!(choose_scale(w, h, full, Some((1, 1))), 1);
    assert_eq!(choose_scale(w, h, full, Some((26, 20))), 1); // ceil(203/8)=26, ceil(157/8)=20
    assert_eq!(choose_scale(w, h, full, Some((27, 20))), 2);
    assert_eq!(choose_scale(w, h, full, Some((102, 1))), 4);
    // 3/8..7/8 are never chosen (slower than full-size SIMD): 103 > 102 needs the full scale.
    assert_eq!(choose_scale(w, h, full, Some((103, 1))), 8);
    assert_eq!(choose_scale(w, h, full, Some((203, 157))), 8);
    // Larger than the image: full size.
    assert_eq!(choose_scale(w, h, full, Some((500, 10))), 8);
    let mut rng = Rng::new(5);
    for _ in 0..2000 {
        let region = random_rect(&mut rng, w, h);
        let target = (
            1 + rng.below(region.width + 8),
            1 + rng.below(region.height + 8),
        );
        let m = choose_scale(w, h, region, Some(target));
        let r = scale_region(w, h, region, m);
        assert!(r.width > 0 && r.height > 0);
        assert!(r.x + r.width <= scaled_size(w, m) && r.y + r.height <= scaled_size(h, m));
        if m < 8 {
            assert!(
                r.width >= target.0 && r.height >= target.1,
                "{region:?} {target:?}"
            );
        }
        if target.0 <= region.width && target.1 <= region.height {
            assert!(r.width >= target.0 && r.height >= target.1, "never smaller");
        }
        assert!(SCALES.contains(&m));
        for smaller in SCALES.into_iter().filter(|&s| s < m) {
            let s = scale_region(w, h, region, smaller);
            assert!(
                s.width < target.0 || s.height < target.1,
                "M={smaller} would do"
            );
        }
    }
}

#[test]
fn decode_reduced_through_public_api() {
    let (w, h) = (203u32, 157u32);
    let jpg = encode(&texture(w, h, 3, 1), w, h, &Enc::default());
    let mut rq = req(Mode::Rgb);
    rq.min_size = Some((50, 30));
    let d = decode(&jpg, &rq).unwrap();
    // M=2: 51x40.
    assert_eq!((d.image.width, d.image.height), (51, 40));
    assert_eq!(
        pixels(&d),
        pixels(&decode_m(&jpg, Mode::Rgb, None, 2).unwrap())
    );
    rq.roi = Some(Rect::new(10, 20, 100, 50));
    rq.min_size = Some((30, 30));
    let d = decode(&jpg, &rq).unwrap();
    // M=5 would do (33 rows) but only 1, 2, 4 and 8 are used; M=4 gives 25 rows: full size.
    assert_eq!((d.image.width, d.image.height), (100, 50));
    rq.min_size = Some((30, 20));
    // M=4: x 5..55, y 10..35.
    let d = decode(&jpg, &rq).unwrap();
    assert_eq!((d.image.width, d.image.height), (50, 25));
    // ROI outside the image is an argument error, not a panic.
    rq.roi = Some(Rect::new(200, 0, 10, 10));
    assert!(matches!(
        decode(&jpg, &rq),
        Err(Error::InvalidArgument { arg: "roi", .. })
    ));
}

#[test]
fn colour_modes() {
    let (w, h) = (61u32, 47u32);
    let jpg = encode(&texture(w, h, 3, 9), w, h, &Enc::default().samp(2, 1));
    let rgb = decode(&jpg, &req(Mode::Rgb)).unwrap();
    let bgr = decode(&jpg, &req(Mode::Bgr)).unwrap();
    let rgba = decode(&jpg, &req(Mode::Rgba)).unwrap();
    let l = decode(&jpg, &req(Mode::L)).unwrap();
    let un = decode(&jpg, &req(Mode::Unchanged)).unwrap();
    assert_eq!(
        (bgr.layout, rgba.layout, l.layout),
        (Layout::Bgr, Layout::Rgba, Layout::Rgb)
    );
    assert_eq!(un, rgb);
    assert_eq!(l, rgb);
    for (i, px) in pixels(&rgb).chunks(3).enumerate() {
        assert_eq!(&pixels(&bgr)[i * 3..i * 3 + 3], &[px[2], px[1], px[0]]);
        assert_eq!(
            &pixels(&rgba)[i * 4..i * 4 + 4],
            &[px[0], px[1], px[2], 255]
        );
    }

    // Gray file: L/unchanged give Gray; RGB is the gray value repeated (Pillow's L->RGB).
    let gjpg = encode(&texture(w, h, 1, 9), w, h, &Enc::default().gray());
    let g = decode(&gjpg, &req(Mode::L)).unwrap();
    assert_eq!(g.layout, Layout::Gray);
    assert_eq!(g.image.channels, 1);
    assert_eq!(decode(&gjpg, &req(Mode::Unchanged)).unwrap(), g);
    let grgb = decode(&gjpg, &req(Mode::Rgb)).unwrap();
    let grgba = decode(&gjpg, &req(Mode::Rgba)).unwrap();
    let gbgr = decode(&gjpg, &req(Mode::Bgr)).unwrap();
    for (i, &v) in pixels(&g).iter().enumerate() {
        assert_eq!(&pixels(&grgb)[i * 3..i * 3 + 3], &[v, v, v]);
        assert_eq!(&pixels(&gbgr)[i * 3..i * 3 + 3], &[v, v, v]);
        assert_eq!(&pixels(&grgba)[i * 4..i * 4 + 4], &[v, v, v, 255]);
    }
}

/// CMYK and YCCK come back as Cmyk with samples inverted (Pillow's "CMYK;I" reading).
#[test]
fn cmyk_is_inverted_like_pillow() {
    let (w, h) = (64u32, 48u32);
    let src = gradient(w, h, 4);
    let inverted: Vec<u8> = src.iter().map(|v| 255 - v).collect();
    for space in [0, 2] {
        let enc = Enc::default().cmyk().quality(98).space(space);
        let jpg = encode(&src, w, h, &enc);
        let info = probe(&jpg).unwrap();
        assert_eq!(info.channels, 4);
        for mode in [Mode::Rgb, Mode::Bgr, Mode::Rgba, Mode::L, Mode::Unchanged] {
            let d = decode(&jpg, &req(mode)).unwrap();
            assert_eq!(d.layout, Layout::Cmyk);
            assert_eq!(d.image.channels, 4);
            let p = psnr(pixels(&d), &inverted);
            assert!(p > 35.0, "space {space}: psnr {p}");
        }
    }
}

#[test]
fn probe_reports_header_facts() {
    let (w, h) = (45u32, 30u32);
    let rgb = texture(w, h, 3, 2);
    let info = probe(&encode(&rgb, w, h, &Enc::default())).unwrap();
    assert_eq!(
        info,
        RawInfo {
            format: Format::Jpeg,
            width: 45,
            height: 30,
            channels: 3,
            bit_depth: 8,
            orientation: 1,
            progressive: false,
        }
    );
    let info = probe(&encode(&rgb, w, h, &Enc::default().progressive())).unwrap();
    assert!(info.progressive);
    let gray = texture(w, h, 1, 2);
    let info = probe(&encode(&gray, w, h, &Enc::default().gray())).unwrap();
    assert_eq!((info.channels, info.progressive), (1, false));
    let cmyk = texture(w, h, 4, 2);
    let info = probe(&encode(&cmyk, w, h, &Enc::default().cmyk().progressive())).unwrap();
    assert_eq!((info.channels, info.progressive), (4, true));
    for o in 1..=8u16 {
        for be in [false, true] {
            let enc = Enc::default().app1(exif::make_block(o, be));
            let jpg = encode(&rgb, w, h, &enc);
            assert_eq!(probe(&jpg).unwrap().orientation, o as u8);
            // Orientation does not change the stored pixels.
            assert_eq!(decode(&jpg, &req(Mode::Rgb)).unwrap().image.width, 45);
        }
    }
    // Invalid orientation value: 1.
    let enc = Enc::default().app1(exif::make_block(9, false));
    assert_eq!(probe(&encode(&rgb, w, h, &enc)).unwrap().orientation, 1);
}

#[test]
fn precision_and_lossless() {
    let (w, h) = (40u32, 24u32);
    let src = texture(w, h, 3, 4);
    let enc = Enc::default().precision(12);
    let jpg = encode(&src, w, h, &enc);
    let info = probe(&jpg).unwrap();
    assert_eq!(info.bit_depth, 12);
    let e = decode(&jpg, &req(Mode::Rgb)).unwrap_err();
    assert_eq!(kind(&e), Some(DecodeErrorKind::Unsupported), "{e}");

    // 8-bit lossless (SOF3) grayscale decodes exactly, ignores scaling, and crops.
    let g = texture(w, h, 1, 4);
    let enc = Enc::default().gray().lossless();
    let jpg = encode(&g, w, h, &enc);
    let d = decode(&jpg, &req(Mode::L)).unwrap();
    assert_eq!(pixels(&d), g.as_slice());
    let mut rq = req(Mode::L);
    rq.min_size = Some((5, 5));
    rq.roi = Some(Rect::new(3, 5, 17, 9));
    let d = decode(&jpg, &rq).unwrap();
    assert_eq!(pixels(&d), crop(&g, w as usize, 1, Rect::new(3, 5, 17, 9)));
}

#[test]
fn too_large_is_refused_from_the_header() {
    // SOI, SOF0 60000x60000x3, then SOS: no pixel data at all.
    let mut jpg = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 17, 8, 0xEA, 0x60, 0xEA, 0x60, 3,
    ];
    for id in 1..=3u8 {
        jpg.extend_from_slice(&[id, 0x11, 0]);
    }
    jpg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    let info = probe(&jpg).unwrap();
    assert_eq!((info.width, info.height), (60000, 60000));
    match decode(&jpg, &req(Mode::Rgb)) {
        Err(Error::TooLarge { width, height, .. }) => assert_eq!((width, height), (60000, 60000)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_and_non_jpeg_input() {
    for data in [
        &b""[..],
        b"\xFF",
        b"\xFF\xD8",
        b"\xFF\xD8\xFF",
        b"PNG",
        b"\x00\x01",
    ] {
        assert!(probe(data).is_err());
        assert!(decode(data, &req(Mode::Rgb)).is_err());
    }
    assert_eq!(
        kind(&decode(b"", &req(Mode::Rgb)).unwrap_err()),
        Some(DecodeErrorKind::Truncated)
    );
    assert_eq!(
        kind(&probe(b"GIF89a").unwrap_err()),
        Some(DecodeErrorKind::Corrupt)
    );
}

/// A sequential file lacking only its EOI decodes; a progressive one is truncated (all its
/// scans must be read first, and Pillow refuses it too).
#[test]
fn missing_eoi() {
    let (w, h) = (77u32, 51u32);
    let src = texture(w, h, 3, 6);
    for enc in [
        Enc::default(),
        Enc::default().restart(1),
        Enc::default().gray(),
    ] {
        let src = if enc.components == 1 {
            texture(w, h, 1, 6)
        } else {
            src.clone()
        };
        let jpg = encode(&src, w, h, &enc);
        assert_eq!(&jpg[jpg.len() - 2..], &[0xFF, 0xD9]);
        let full = decode(&jpg, &req(Mode::Rgb)).unwrap();
        let cut = decode(&jpg[..jpg.len() - 2], &req(Mode::Rgb)).unwrap();
        assert_eq!(cut, full);
        let cut = decode(&jpg[..jpg.len() - 1], &req(Mode::Rgb)).unwrap();
        assert_eq!(cut, full);
    }
    let jpg = encode(&src, w, h, &Enc::default().progressive());
    let e = decode(&jpg[..jpg.len() - 2], &req(Mode::Rgb)).unwrap_err();
    assert_eq!(kind(&e), Some(DecodeErrorKind::Truncated), "{e}");
}

/// Cutting a file anywhere before its EOI never yields Ok: truncated every time.
#[test]
fn truncation_is_detected_everywhere() {
    let (w, h) = (96u32, 64u32);
    let src = texture(w, h, 3, 8);
    let arith = Enc::default().arith();
    for enc in [
        Enc::default(),
        Enc::default().samp(1, 1).restart(1),
        Enc::default().progressive(),
        arith,
        Enc::default().cmyk(),
    ] {
        let src = if enc.components == 4 {
            texture(w, h, 4, 8)
        } else {
            src.clone()
        };
        let jpg = encode(&src, w, h, &enc);
        let step = (jpg.len() / 300).max(1);
        let mut cuts: Vec<usize> = (0..jpg.len() - 2).step_by(step).collect();
        cuts.extend(jpg.len().saturating_sub(40)..jpg.len() - 2);
        for cut in cuts {
            match decode(&jpg[..cut], &req(Mode::Rgb)) {
                Ok(_) => panic!("{enc:?}: cut at {cut}/{} decoded", jpg.len()),
                Err(e) => assert_eq!(
                    kind(&e),
                    Some(DecodeErrorKind::Truncated),
                    "{enc:?} cut at {cut}/{}: {e}",
                    jpg.len()
                ),
            }
        }
    }
}

/// Damage inside the entropy-coded data is an error, not gray or garbage pixels.
#[test]
fn corrupt_scan_data_is_an_error() {
    let (w, h) = (96u32, 64u32);
    let jpg = encode(&texture(w, h, 3, 8), w, h, &Enc::default());
    let sos = sos_offsets(&jpg)[0];
    // A stray marker in the middle of the scan: premature end of data segment.
    let mut bad = jpg.clone();
    let mid = sos + (jpg.len() - sos) / 2;
    bad[mid] = 0xFF;
    bad[mid + 1] = 0xD9;
    let e = decode(&bad, &req(Mode::Rgb)).unwrap_err();
    assert_eq!(kind(&e), Some(DecodeErrorKind::Corrupt), "{e}");
    // A restart marker where none is expected.
    let mut bad = jpg.clone();
    bad[mid] = 0xFF;
    bad[mid + 1] = 0xD3;
    let e = decode(&bad, &req(Mode::Rgb)).unwrap_err();
    assert_eq!(kind(&e), Some(DecodeErrorKind::Corrupt), "{e}");
}

/// Random bytes, bit flips and byte stores: Ok or a typed error, never a panic or a crash.
#[test]
fn garbage_never_panics() {
    let mut rng = Rng::new(1234);
    for n in [0usize, 1, 2, 3, 10, 100, 1000] {
        for _ in 0..20 {
            let mut data = rng.bytes(n);
            if n >= 2 && rng.below(2) == 0 {
                data[0] = 0xFF;
                data[1] = 0xD8;
            }
            let _ = probe(&data);
            let _ = decode(&data, &req(Mode::Rgb));
        }
    }
    let (w, h) = (48u32, 40u32);
    let arith = Enc::default().progressive().arith();
    let bases: Vec<Vec<u8>> = [
        Enc::default(),
        Enc::default().progressive(),
        Enc::default().samp(2, 1).restart(1),
        Enc::default().cmyk(),
        arith,
    ]
    .iter()
    .map(|enc| encode(&texture(w, h, enc.components, 11), w, h, enc))
    .collect();
    let mut oks = 0;
    for i in 0..1500 {
        let base = &bases[i % bases.len()];
        let mut data = base.clone();
        for _ in 0..=rng.below(4) {
            let pos = rng.below(data.len() as u32) as usize;
            match rng.below(3) {
                0 => data[pos] ^= 1 << rng.below(8),
                1 => data[pos] = rng.next() as u8,
                _ => data[pos] = 0xFF,
            }
        }
        let mut rq = req(if i % 2 == 0 {
            Mode::Rgb
        } else {
            Mode::Unchanged
        });
        if i % 3 == 0 {
            rq.roi = Some(random_rect(&mut rng, w, h));
        }
        if i % 5 == 0 {
            rq.min_size = Some((1 + rng.below(w), 1 + rng.below(h)));
        }
        let _ = probe(&data);
        match decode(&data, &rq) {
            Ok(d) => {
                oks += 1;
                assert_eq!(
                    pixels(&d).len(),
                    d.image.width * d.image.height * d.image.channels
                );
            }
            Err(Error::Decode { .. }) | Err(Error::TooLarge { .. }) => {}
            Err(Error::InvalidArgument { arg: "roi", .. }) => {} // header size changed
            Err(e) => panic!("unexpected error type {e:?}"),
        }
    }
    // Some damage lands in places that do not matter (APP segments, padding).
    assert!(oks > 0);
}

/// Larger image: many iMCU rows and columns to skip and crop over.
#[test]
fn roi_matches_full_decode_large_image() {
    let (w, h) = (517u32, 389u32);
    let mut rng = Rng::new(77);
    for enc in [
        Enc::default().samp(2, 2),
        Enc::default().samp(1, 2).restart(3),
        Enc::default().samp(2, 1).progressive(),
    ] {
        let jpg = encode(&texture(w, h, 3, 21), w, h, &enc);
        for m in [1u32, 3, 6, 8] {
            let full = decode_m(&jpg, Mode::Rgb, None, m).unwrap();
            for _ in 0..8 {
                let region = random_rect(&mut rng, w, h);
                let r = scale_region(w, h, region, m);
                let got = decode_m(&jpg, Mode::Rgb, Some(region), m).unwrap();
                assert!(
                    pixels(&got) == crop(pixels(&full), full.image.width, 3, r).as_slice(),
                    "{enc:?} M={m} {region:?}"
                );
            }
        }
    }
}

/// Only the rows a request needs are decoded: damage below the region of a sequential
/// file goes unnoticed, and the region is still exact.
#[test]
fn damage_below_the_region_is_not_decoded() {
    let (w, h) = (96u32, 64u32);
    let jpg = encode(&texture(w, h, 3, 8), w, h, &Enc::default());
    let sos = sos_offsets(&jpg)[0];
    let mut bad = jpg.clone();
    let late = sos + (jpg.len() - sos) * 9 / 10;
    bad[late] = 0xFF;
    bad[late + 1] = 0xD9;
    assert!(decode(&bad, &req(Mode::Rgb)).is_err());
    let mut rq = req(Mode::Rgb);
    rq.roi = Some(Rect::new(5, 0, 50, 16));
    assert_eq!(decode(&bad, &rq).unwrap(), decode(&jpg, &rq).unwrap());
}

/// Baseline files of every sampling, gray (one or two block rows per iMCU row), CMYK, stored
/// RGB and low / high quality: what [`skip`] handles.
fn sequential_encodings() -> Vec<Enc> {
    vec![
        Enc::default().samp(1, 1),
        Enc::default().samp(2, 1),
        Enc::default().samp(2, 2),
        Enc::default().samp(1, 2),
        Enc::default().gray(),
        Enc::default().gray().samp(1, 2),
        Enc::default().gray().quality(100),
        Enc::default().cmyk(),
        Enc::default().samp(2, 2).quality(100),
        Enc::default().samp(2, 2).quality(5),
        Enc::default().samp(1, 1).space(1),
    ]
}

/// RGB for three-component files, else the file's own channels.
fn mode_for(enc: &Enc) -> Mode {
    if enc.components == 3 {
        Mode::Rgb
    } else {
        Mode::Unchanged
    }
}

/// Spliced streams ([`skip`]): for every split row of baseline files of every sampling, gray,
/// CMYK, stored RGB and low / high quality, the spliced stream decodes to the original's rows
/// (below the synthetic row and its context row); and ROI decodes through `decode`, which
/// splices when the region starts far enough down, equal full decodes at every scale.
#[test]
fn spliced_streams_decode_to_the_original_rows() {
    let (w, h) = (157u32, 389u32);
    let mut rng = Rng::new(9);
    for enc in sequential_encodings() {
        let jpg = encode(&texture(w, h, enc.components, 5), w, h, &enc);
        let mode = mode_for(&enc);
        let full = decode_m(&jpg, mode, None, 8).unwrap();
        let ch = full.image.channels;
        let row_bytes = w as usize * ch;
        let st = skip::Stream::parse(&jpg).unwrap_or_else(|| panic!("{enc:?}: not spliceable"));
        let rh = st.row_height();
        for s in 1..h.div_ceil(rh) {
            let sp = st
                .splice(&jpg, s as usize)
                .unwrap_or_else(|| panic!("{enc:?}: no splice at row {s}"));
            let got = decode_m(&sp, mode, None, 8).unwrap();
            let shift = (s - 1) * rh;
            assert_eq!(got.image.height as u32, h - shift);
            // From the second real iMCU row on (the first has the synthetic row as context).
            let from = ((s + 1) * rh).min(h) as usize;
            assert!(
                pixels(&got)[(from - shift as usize) * row_bytes..]
                    == pixels(&full)[from * row_bytes..],
                "{enc:?}: split at iMCU row {s}"
            );
        }
        for m in [1u32, 2, 4, 8] {
            let full_m = decode_m(&jpg, mode, None, m).unwrap();
            for _ in 0..24 {
                let region = random_rect(&mut rng, w, h);
                let r = scale_region(w, h, region, m);
                let mut rq = req(mode);
                rq.roi = Some(region);
                rq.min_size = Some((r.width, r.height));
                if choose_scale(w, h, region, rq.min_size) != m {
                    continue;
                }
                let got = decode(&jpg, &rq).unwrap();
                assert!(
                    pixels(&got) == crop(pixels(&full_m), full_m.image.width, ch, r).as_slice(),
                    "{enc:?} M={m} {region:?}"
                );
            }
        }
    }
    // Not spliceable: progressive, restart markers, arithmetic coding.
    for enc in [
        Enc::default().progressive(),
        Enc::default().restart(1),
        Enc::default().arith(),
    ] {
        let jpg = encode(&texture(64, 64, 3, 1), 64, 64, &enc);
        assert!(skip::Stream::parse(&jpg).is_none(), "{enc:?}");
    }
}

/// Gray files at scale 1/8 are computed from the DC coefficients by our own parse: equal to
/// libjpeg's 1x1 IDCT output for every region, quality (extreme DC values included) and
/// vertical sampling factor.
#[test]
fn gray_dc_regions_equal_libjpeg() {
    let (w, h) = (203u32, 157u32);
    let mut rng = Rng::new(5);
    for (q, seed) in [(90u32, 1u64), (100, 2), (5, 3), (50, 4)] {
        let mut src = texture(w, h, 1, seed);
        // Saturated areas: DC values at the ends of the range.
        for (i, v) in src.iter_mut().enumerate() {
            if (i / w as usize) % 40 < 8 {
                *v = if (i % w as usize) < 100 { 0 } else { 255 };
            }
        }
        let jpg = encode(&src, w, h, &Enc::default().gray().quality(q));
        let hdr = parse_header(&jpg).unwrap();
        let full = decode_m(&jpg, Mode::Unchanged, None, 1).unwrap();
        let (fw, fh) = (full.image.width, full.image.height);
        let whole = decode_gray_dc(&jpg, &hdr, Rect::new(0, 0, w, h)).expect("gray DC path");
        assert_eq!((whole.image.width, whole.image.height), (fw, fh));
        assert!(pixels(&whole) == pixels(&full), "q{q}: whole image");
        for _ in 0..40 {
            let region = random_rect(&mut rng, w, h);
            let r = scale_region(w, h, region, 1);
            let got = decode_gray_dc(&jpg, &hdr, region).expect("gray DC path");
            assert!(
                pixels(&got) == crop(pixels(&full), fw, 1, r).as_slice(),
                "q{q} {region:?}"
            );
        }
    }
}

/// Narrow files ([`skip::Stream::narrow`]): for baseline files of every sampling, gray
/// (with one or two block rows per iMCU row), CMYK, stored RGB and low / high quality, a
/// region decoded from the narrow file equals the same region of the full decode at every
/// scale, for plain and band output, with the synthetic column on either side.
#[test]
fn narrowed_streams_decode_to_the_original_region() {
    let (w, h) = (397u32, 203u32);
    let mut rng = Rng::new(11);
    for enc in sequential_encodings() {
        let jpg = encode(&texture(w, h, enc.components, 7), w, h, &enc);
        let mode = mode_for(&enc);
        let st = skip::Stream::parse(&jpg).unwrap_or_else(|| panic!("{enc:?}: not parsed"));
        let (mut used, mut left_side, mut right_side) = (0, 0, 0);
        for m in [1u32, 2, 4, 8] {
            let full = decode_m(&jpg, mode, None, m).unwrap();
            let (fw, ch) = (full.image.width, full.image.channels);
            for i in 0..60 {
                let region = random_rect(&mut rng, w, h);
                let r = scale_region(w, h, region, m);
                let band = i % 2 == 1;
                let Some(got) = decode_narrowed(&jpg, &st, mode, r, m, STRICT, band) else {
                    continue;
                };
                let (got, left) = got.unwrap_or_else(|e| panic!("{enc:?} M={m} {r:?}: {e}"));
                let gw = got.image.width;
                let px = crop(pixels(&got), gw, ch, Rect::new(left, 0, r.width, r.height));
                assert!(
                    px == crop(pixels(&full), fw, ch, r),
                    "{enc:?} M={m} {region:?} band={band}"
                );
                used += 1;
                let (_, _, _, mcu_w) = st.units();
                if r.x / (mcu_w * m / 8) > 0 {
                    left_side += 1;
                } else {
                    right_side += 1;
                }
            }
        }
        assert!(
            used >= 40 && left_side > 5 && right_side > 5,
            "{enc:?}: {used} {left_side} {right_side}"
        );
    }
}

/// A narrow region through `decode` (the path crop_paths and the loader take) equals the
/// full decode's region, at the corners and inside.
#[test]
fn narrow_regions_skip_columns_through_decode() {
    let (w, h) = (640u32, 480u32);
    let jpg = encode(&texture(w, h, 3, 3), w, h, &Enc::default());
    let full = decode_m(&jpg, Mode::Rgb, None, 8).unwrap();
    for region in [
        Rect::new(0, 0, 64, 64),
        Rect::new(300, 200, 100, 50),
        Rect::new(576, 416, 64, 64),
        Rect::new(17, 333, 200, 147),
    ] {
        let mut rq = req(Mode::Rgb);
        rq.roi = Some(region);
        let got = decode(&jpg, &rq).unwrap();
        assert!(
            pixels(&got) == crop(pixels(&full), w as usize, 3, region),
            "{region:?}"
        );
    }
}

/// pixfeed's MCU decoder (csrc/jpeg_huff.c) against libjpeg's own: a file decoded with both
/// gives the same pixels, for standard and optimized Huffman tables (whose codes reach 16
/// bits and use every run/size symbol, 0xF1..0xFA included), every sampling, gray and
/// qualities 5..100, in full and through regions (skipped rows, cropped columns).
#[test]
fn mcu_decoder_equals_libjpeg() {
    let (w, h) = (333u32, 251u32);
    let mut rng = Rng::new(21);
    for q in [5u32, 50, 90, 95, 100] {
        for base in [
            Enc::default().samp(2, 2),
            Enc::default().samp(2, 1),
            Enc::default().samp(1, 1),
            Enc::default().gray(),
        ] {
            for enc in [base.clone().quality(q), base.quality(q).optimize()] {
                let jpg = encode(&texture(w, h, enc.components, u64::from(q)), w, h, &enc);
                let mode = if enc.components == 3 {
                    Mode::Rgb
                } else {
                    Mode::Unchanged
                };
                // Progressive re-encoding is not available here; libjpeg's own decoder is
                // reached by a restart interval, which our decoder declines.
                let mut plain = enc.clone();
                plain.restart_rows = 1;
                let reference = encode(&texture(w, h, enc.components, u64::from(q)), w, h, &plain);
                let ours = decode_m(&jpg, mode, None, 8).unwrap();
                let theirs = decode_m(&reference, mode, None, 8).unwrap();
                assert!(pixels(&ours) == pixels(&theirs), "{enc:?}: full decode");
                for _ in 0..6 {
                    let region = random_rect(&mut rng, w, h);
                    let mut rq = req(mode);
                    rq.roi = Some(region);
                    let got = decode(&jpg, &rq).unwrap();
                    let ch = ours.image.channels;
                    assert!(
                        pixels(&got) == crop(pixels(&ours), w as usize, ch, region).as_slice(),
                        "{enc:?} {region:?}"
                    );
                }
            }
        }
    }
}

/// A decode's outcome, comparable: the pixels (their size and hash), or the error's kind and
/// message. The count in libjpeg's "N extraneous bytes before marker" depends on how far the
/// bit reader had read ahead (ours reads further than libjpeg's slow path), so it is left out.
type Outcome = std::result::Result<(usize, u64), (Option<DecodeErrorKind>, String)>;

fn outcome(r: Result<Decoded>) -> Outcome {
    use std::hash::{Hash, Hasher};
    match r {
        Ok(d) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            pixels(&d).hash(&mut h);
            Ok((pixels(&d).len(), h.finish()))
        }
        Err(e) => {
            let msg = e.to_string();
            let msg = match (msg.find("data: "), msg.find(" extraneous bytes")) {
                (Some(a), Some(b)) if a + 6 <= b => format!("{}N{}", &msg[..a + 6], &msg[b..]),
                _ => msg,
            };
            Err((kind(&e), msg))
        }
    }
}

/// `jpg` with `bytes` inserted at the middle of its (first) scan's entropy-coded data.
fn inject(jpg: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut v = jpg[..at].to_vec();
    v.extend_from_slice(bytes);
    v.extend_from_slice(&jpg[at..]);
    v
}

/// A run of 48 one bits (stuffed 0xFF bytes) in the scan: some code starts inside it with 16
/// ones after it, which no table has (encoders never emit the all-ones code), so the data
/// is corrupt wherever the run lands. Strict raises libjpeg's own "bad Huffman code"; lenient
/// decodes as libjpeg's own decoder does, pixel for pixel.
#[test]
fn bad_huffman_code_strict_and_lenient() {
    let (w, h) = (256u32, 192u32);
    for enc in [
        Enc::default(),
        Enc::default().gray(),
        Enc::default().optimize(),
    ] {
        let jpg = encode(&texture(w, h, enc.components, 5), w, h, &enc);
        let mode = mode_for(&enc);
        let sos = sos_offsets(&jpg)[0];
        // Early in the scan: thousands of bytes follow, where libjpeg's fast path would run.
        let at = sos + 40;
        let bad = inject(
            &jpg,
            at,
            &[
                0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00,
            ],
        );
        let e = decode(&bad, &req(mode)).unwrap_err();
        assert_eq!(kind(&e), Some(DecodeErrorKind::Corrupt), "{enc:?}: {e}");
        assert!(e.to_string().contains("bad Huffman code"), "{enc:?}: {e}");
        let reference = decode_reference(&bad, mode, true).unwrap_err();
        assert_eq!(e.to_string(), reference.to_string());
        let mut lenient = req(mode);
        lenient.strict = false;
        let got = decode(&bad, &lenient).unwrap();
        let want = decode_reference(&bad, mode, false).unwrap();
        assert!(pixels(&got) == pixels(&want), "{enc:?}: lenient pixels");
        assert!(pixels(&got) != pixels(&decode(&jpg, &req(mode)).unwrap()));
    }
}

/// Garbage in the middle of the entropy-coded data: strict raises (a warning of libjpeg's:
/// bad code, premature end of segment or extraneous bytes before the EOI marker), lenient
/// returns what libjpeg recovers, as its own decoder does.
#[test]
fn injected_garbage_strict_and_lenient() {
    let (w, h) = (256u32, 192u32);
    let jpg = encode(&texture(w, h, 3, 9), w, h, &Enc::default());
    let sos = sos_offsets(&jpg)[0];
    let mut rng = Rng::new(99);
    let mut raised = 0;
    for _ in 0..40 {
        let at = sos + 20 + rng.below((jpg.len() - sos - 40) as u32) as usize;
        let mut junk = rng.bytes(200);
        // No markers: garbage that only the entropy decoder and the EOI check can notice.
        for b in junk.iter_mut() {
            if *b == 0xFF {
                *b = 0xFE;
            }
        }
        let bad = inject(&jpg, at, &junk);
        let strict = outcome(decode(&bad, &req(Mode::Rgb)));
        assert_eq!(strict, outcome(decode_reference(&bad, Mode::Rgb, true)));
        if let Err((k, _)) = &strict {
            assert_eq!(*k, Some(DecodeErrorKind::Corrupt));
            raised += 1;
        }
        let mut lenient = req(Mode::Rgb);
        lenient.strict = false;
        let got = outcome(decode(&bad, &lenient));
        assert!(got.is_ok());
        assert_eq!(got, outcome(decode_reference(&bad, Mode::Rgb, false)));
    }
    assert_eq!(
        raised, 40,
        "every garbage injection is a warning of libjpeg's"
    );
}

/// The MCU decoder's verdict and pixels equal libjpeg-turbo's own checking decoder on a few
/// thousand mutated files (bit flips, byte stores, marker bytes, inserted and deleted bytes,
/// cuts), in strict and lenient mode, for every kind of file the MCU decoder handles and a
/// few it declines (restart intervals, progressive).
#[test]
fn mutated_files_mcu_decoder_equals_libjpeg() {
    let (w, h) = (160u32, 120u32);
    let encs = [
        Enc::default(),
        Enc::default().samp(1, 1),
        Enc::default().samp(2, 1),
        Enc::default().gray(),
        Enc::default().optimize().quality(75),
        Enc::default().cmyk(),
        Enc::default().restart(1),
        Enc::default().progressive(),
    ];
    let bases: Vec<(Vec<u8>, Mode)> = encs
        .iter()
        .map(|e| {
            (
                encode(&texture(w, h, e.components, 3), w, h, e),
                mode_for(e),
            )
        })
        .collect();
    let mut rng = Rng::new(2024);
    let (mut n, mut strict_errors, mut bad_codes, mut lenient_ok) = (0, 0, 0, 0);
    for i in 0..2400 {
        let (base, mode) = &bases[i % bases.len()];
        let sos = sos_offsets(base)[0];
        let mut data = base.clone();
        // Mostly the entropy-coded data (where the MCU decoder works), sometimes anywhere.
        let lo = if rng.below(8) == 0 { 2 } else { sos + 16 };
        for _ in 0..=rng.below(3) {
            let pos = lo + rng.below((data.len() - lo - 2) as u32) as usize;
            match rng.below(6) {
                0 | 1 => data[pos] ^= 1 << rng.below(8),
                2 => data[pos] = rng.next() as u8,
                3 => data[pos] = 0xFF,
                4 => {
                    let len = 1 + rng.below(64) as usize;
                    let junk = rng.bytes(len);
                    data = inject(&data, pos, &junk);
                }
                _ => {
                    let end = (pos + 1 + rng.below(64) as usize).min(data.len() - 2);
                    data.drain(pos..end);
                }
            }
        }
        if rng.below(10) == 0 {
            data.truncate(lo + rng.below((data.len() - lo) as u32) as usize);
        }
        let ours = outcome(decode(&data, &req(*mode)));
        let theirs = outcome(decode_reference(&data, *mode, true));
        assert_eq!(ours, theirs, "file {i} (strict)");
        let mut lenient = req(*mode);
        lenient.strict = false;
        let ours_l = outcome(decode(&data, &lenient));
        let theirs_l = outcome(decode_reference(&data, *mode, false));
        assert_eq!(ours_l, theirs_l, "file {i} (lenient)");
        n += 1;
        if let Err((_, msg)) = &ours {
            strict_errors += 1;
            bad_codes += usize::from(msg.contains("bad Huffman code"));
        }
        lenient_ok += usize::from(ours_l.is_ok());
    }
    // The mutations reach every verdict: the comparison is not vacuous.
    assert!(strict_errors > n / 4, "{strict_errors} of {n}");
    assert!(bad_codes > 20, "{bad_codes} bad codes");
    assert!(
        lenient_ok > strict_errors / 4,
        "{lenient_ok} lenient decodes"
    );
}

/// A gray file whose scan names Huffman table 4 (ids run 0..=3) is refused by libjpeg, and by
/// every path: the full decode, a region, and the 1/8-scale paths that parse the file
/// themselves (the DC-only decode, narrow regions).
#[test]
fn huffman_table_id_past_3_is_refused_everywhere() {
    let (w, h) = (256u32, 256u32);
    let jpg = encode(&texture(w, h, 1, 4), w, h, &Enc::default().gray());
    let sos = sos_offsets(&jpg)[0];
    // FF DA, length, Ns = 1, Cs, Td/Ta.
    assert_eq!(jpg[sos + 4], 1);
    for sel in [0x40u8, 0x04, 0x44] {
        let mut bad = jpg.clone();
        bad[sos + 6] = sel;
        for strict in [true, false] {
            for (roi, min_size) in [
                (None, None),
                (None, Some((8, 8))),
                (Some(Rect::new(8, 200, 16, 16)), None),
                (Some(Rect::new(8, 200, 16, 16)), Some((2, 2))),
                (Some(Rect::new(0, 0, 64, 64)), Some((8, 8))),
            ] {
                let rq = RawRequest {
                    roi,
                    min_size,
                    strict,
                    ..req(Mode::L)
                };
                let e = decode(&bad, &rq).unwrap_err();
                assert_eq!(
                    kind(&e),
                    Some(DecodeErrorKind::Corrupt),
                    "{sel:#x} {rq:?}: {e}"
                );
                assert!(e.to_string().contains("Huffman table"), "{e}");
            }
        }
    }
    // The quantization table id of the frame header too (SOF0: ..., Ci, HiVi, Tq).
    let sof = jpg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut bad = jpg.clone();
    bad[sof + 12] = 4;
    for min_size in [None, Some((8, 8))] {
        let rq = RawRequest {
            min_size,
            ..req(Mode::L)
        };
        assert!(decode(&bad, &rq).is_err(), "{rq:?}");
    }
}
