//! The last step of the fused pass: flip, normalize and lay out one resized HWC uint8 image
//! into its slot of the batch, in one sweep. Normalization is a per-channel 256-entry table
//! built once per batch, so the sweep is a gather and a store.

/// Element type of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutDtype {
    F32,
    F16,
    /// bfloat16 bits (round-to-nearest-even from f32), stored as u16.
    BF16,
    /// No normalization: the resized pixels as they are.
    U8,
}

crate::names::named!(
    OutDtype,
    "dtype",
    Or,
    [
        ("float32", OutDtype::F32),
        ("float16", OutDtype::F16),
        ("bfloat16", OutDtype::BF16),
        ("uint8", OutDtype::U8),
    ]
);

impl OutDtype {
    pub fn size(self) -> usize {
        match self {
            OutDtype::F32 => 4,
            OutDtype::F16 | OutDtype::BF16 => 2,
            OutDtype::U8 => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutLayout {
    Nchw,
    Nhwc,
}

crate::names::named!(
    OutLayout,
    "layout",
    Or,
    [("NCHW", OutLayout::Nchw), ("NHWC", OutLayout::Nhwc)]
);

/// Per-channel lookup tables `v -> (v/255 - mean)/std`, already in the output's bits, with
/// exactly the rounding of `pixfeed.normalize` (see `kernels::normalize`).
#[derive(Debug, Clone)]
pub enum Lut {
    F32(Vec<[f32; 256]>),
    U16(Vec<[u16; 256]>),
    Identity,
}

impl Lut {
    pub fn new(dtype: OutDtype, mean: &[f64], std: &[f64]) -> crate::Result<Self> {
        use crate::kernels::normalize::{bf16_tables, f16_tables, f32_tables};
        Ok(match dtype {
            OutDtype::F32 => Lut::F32(f32_tables(mean, std)?),
            OutDtype::F16 => Lut::U16(f16_tables(mean, std)?),
            OutDtype::BF16 => Lut::U16(bf16_tables(mean, std)?),
            OutDtype::U8 => Lut::Identity,
        })
    }
}

/// Write `src` (`w x h x c` contiguous u8) into `slot` (bytes of one batch item).
#[allow(clippy::too_many_arguments)]
pub fn write_item(
    src: &[u8],
    w: usize,
    h: usize,
    c: usize,
    flip: bool,
    lut: &Lut,
    layout: OutLayout,
    slot: &mut [u8],
) {
    match lut {
        Lut::F32(t) if c == 3 && layout == OutLayout::Nchw => {
            #[cfg(target_arch = "x86_64")]
            if super::write_avx2::available() {
                // SAFETY: AVX2 is available; the sizes are write_item's contract.
                unsafe { super::write_avx2::write_rgb_f32_nchw(src, w, h, flip, t, slot) };
                return;
            }
            write_rgb_f32_nchw(src, w, h, flip, t, slot)
        }
        Lut::F32(t) => write_typed::<4>(src, w, h, c, flip, layout, slot, |ch, v| {
            t[ch][v as usize].to_ne_bytes()
        }),
        Lut::U16(t) => write_typed::<2>(src, w, h, c, flip, layout, slot, |ch, v| {
            t[ch][v as usize].to_ne_bytes()
        }),
        Lut::Identity => write_typed::<1>(src, w, h, c, flip, layout, slot, |_, v| [v]),
    }
}

/// The loader's common case (RGB to float32 NCHW) in one pass over each source row that
/// fills the three planes at once: the generic path reads every row three times.
fn write_rgb_f32_nchw(
    src: &[u8],
    w: usize,
    h: usize,
    flip: bool,
    t: &[[f32; 256]],
    slot: &mut [u8],
) {
    let plane = w * h * 4;
    debug_assert_eq!(slot.len(), plane * 3);
    let (t0, t1, t2) = (&t[0], &t[1], &t[2]);
    let (p0, rest) = slot.split_at_mut(plane);
    let (p1, p2) = rest.split_at_mut(plane);
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        let o0 = &mut p0[y * w * 4..(y + 1) * w * 4];
        let o1 = &mut p1[y * w * 4..(y + 1) * w * 4];
        let o2 = &mut p2[y * w * 4..(y + 1) * w * 4];
        let outs = o0
            .chunks_exact_mut(4)
            .zip(o1.chunks_exact_mut(4))
            .zip(o2.chunks_exact_mut(4));
        if flip {
            for (((a, b), c), px) in outs.zip(row.chunks_exact(3).rev()) {
                a.copy_from_slice(&t0[px[0] as usize].to_ne_bytes());
                b.copy_from_slice(&t1[px[1] as usize].to_ne_bytes());
                c.copy_from_slice(&t2[px[2] as usize].to_ne_bytes());
            }
        } else {
            for (((a, b), c), px) in outs.zip(row.chunks_exact(3)) {
                a.copy_from_slice(&t0[px[0] as usize].to_ne_bytes());
                b.copy_from_slice(&t1[px[1] as usize].to_ne_bytes());
                c.copy_from_slice(&t2[px[2] as usize].to_ne_bytes());
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_typed<const B: usize>(
    src: &[u8],
    w: usize,
    h: usize,
    c: usize,
    flip: bool,
    layout: OutLayout,
    slot: &mut [u8],
    map: impl Fn(usize, u8) -> [u8; B],
) {
    debug_assert_eq!(slot.len(), w * h * c * B);
    match layout {
        OutLayout::Nhwc => {
            for y in 0..h {
                let row = &src[y * w * c..(y + 1) * w * c];
                let out = &mut slot[y * w * c * B..(y + 1) * w * c * B];
                for x in 0..w {
                    let sx = if flip { w - 1 - x } else { x };
                    for ch in 0..c {
                        let o = (x * c + ch) * B;
                        out[o..o + B].copy_from_slice(&map(ch, row[sx * c + ch]));
                    }
                }
            }
        }
        OutLayout::Nchw => {
            let plane = w * h * B;
            for ch in 0..c {
                let out_plane = &mut slot[ch * plane..(ch + 1) * plane];
                for y in 0..h {
                    let row = &src[y * w * c..(y + 1) * w * c];
                    let out = &mut out_plane[y * w * B..(y + 1) * w * B];
                    if flip {
                        for (x, o) in out.chunks_exact_mut(B).enumerate() {
                            o.copy_from_slice(&map(ch, row[(w - 1 - x) * c + ch]));
                        }
                    } else {
                        for (x, o) in out.chunks_exact_mut(B).enumerate() {
                            o.copy_from_slice(&map(ch, row[x * c + ch]));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nchw_f32_with_flip_matches_formula() {
        let (w, h, c) = (3, 2, 3);
        let src: Vec<u8> = (0..(w * h * c) as u8).map(|v| v * 10).collect();
        let mean = [0.5, 0.4, 0.3];
        let std = [0.2, 0.25, 0.3];
        let lut = Lut::new(OutDtype::F32, &mean, &std).unwrap();
        let mut slot = vec![0u8; w * h * c * 4];
        write_item(&src, w, h, c, true, &lut, OutLayout::Nchw, &mut slot);
        let vals: Vec<f32> = slot
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let v = src[(y * w + (w - 1 - x)) * c + ch];
                    let want = ((f64::from(v) / 255.0 - mean[ch]) / std[ch]) as f32;
                    assert_eq!(vals[ch * w * h + y * w + x], want);
                }
            }
        }
    }

    fn imagenet_f32() -> Lut {
        Lut::new(
            OutDtype::F32,
            &[0.485, 0.456, 0.406],
            &[0.229, 0.224, 0.225],
        )
        .unwrap()
    }

    #[test]
    fn rgb_f32_nchw_fast_path_equals_the_generic_path() {
        let (w, h) = (7, 5);
        let src: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 256) as u8).collect();
        let lut = imagenet_f32();
        let Lut::F32(t) = &lut else { unreachable!() };
        for flip in [false, true] {
            let mut fast = vec![0u8; w * h * 3 * 4];
            let mut generic = vec![0u8; w * h * 3 * 4];
            write_item(&src, w, h, 3, flip, &lut, OutLayout::Nchw, &mut fast);
            write_typed::<4>(
                &src,
                w,
                h,
                3,
                flip,
                OutLayout::Nchw,
                &mut generic,
                |ch, v| t[ch][v as usize].to_ne_bytes(),
            );
            assert_eq!(fast, generic, "flip {flip}");
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn rgb_f32_nchw_avx2_equals_the_scalar_sweep() {
        if !super::super::write_avx2::available() {
            return;
        }
        let lut = imagenet_f32();
        let Lut::F32(t) = &lut else { unreachable!() };
        // Widths below, at and around multiples of 8 (tails), aligned and unaligned slots.
        for (w, h) in [(1, 1), (7, 3), (8, 2), (9, 4), (16, 3), (23, 5), (224, 6)] {
            let src: Vec<u8> = (0..w * h * 3).map(|i| (i * 73 % 256) as u8).collect();
            for flip in [false, true] {
                for offset in [0, 4] {
                    let n = w * h * 12;
                    let mut want = vec![0u8; n];
                    write_rgb_f32_nchw(&src, w, h, flip, t, &mut want);
                    // A 32-byte aligned region of f32s, then `offset` bytes in.
                    let mut backing = vec![0f32; n / 4 + 16];
                    let skip = backing.as_ptr().align_offset(32);
                    let bytes: &mut [u8] = bytemuck_cast(&mut backing[skip..]);
                    let got = &mut bytes[offset..offset + n];
                    // SAFETY: AVX2 checked above; sizes match.
                    unsafe {
                        super::super::write_avx2::write_rgb_f32_nchw(&src, w, h, flip, t, got)
                    };
                    assert_eq!(got, &want[..], "{w}x{h} flip {flip} offset {offset}");
                }
            }
        }
    }

    fn bytemuck_cast(v: &mut [f32]) -> &mut [u8] {
        let len = std::mem::size_of_val(v);
        // SAFETY: any f32 storage is valid bytes; the length covers exactly the slice.
        unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, len) }
    }

    #[test]
    fn nhwc_u8_is_a_copy() {
        let src: Vec<u8> = (0..24).collect();
        let mut slot = vec![0u8; 24];
        write_item(
            &src,
            4,
            2,
            3,
            false,
            &Lut::Identity,
            OutLayout::Nhwc,
            &mut slot,
        );
        assert_eq!(slot, src);
    }
}
