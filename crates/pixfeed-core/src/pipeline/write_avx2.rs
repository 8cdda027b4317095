//! AVX2 backend of the loader's common write (RGB u8 -> float32 NCHW through the
//! per-channel tables, optional flip).
//!
//! Why our own: this is a table lookup, not arithmetic (the tables hold the exactly
//! rounded `(v/255 - mean)/std`, which no float formula reproduces for every byte), so no
//! library kernel applies. Eight pixels per step: two byte shuffles pick a channel's eight
//! bytes out of the 24, they widen to 32-bit indices, and one gather reads the channel's
//! table (1 KiB, in L1). The planes are written with non-temporal stores when aligned: a
//! batch slot is written once and read by the consumer much later, so skipping the
//! read-for-ownership halves the memory traffic and keeps the decoder's data in cache.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Shuffle masks picking channel `c` of 8 RGB pixels (24 bytes: 16 in `lo`, 8 in `hi`),
/// pixel `i` (or `7 - i` when flipped) into byte lane `i`; -1 lanes give 0.
const fn masks(c: usize, flip: bool) -> ([i8; 16], [i8; 16]) {
    let mut lo = [-1i8; 16];
    let mut hi = [-1i8; 16];
    let mut i = 0;
    while i < 8 {
        let px = if flip { 7 - i } else { i };
        let b = 3 * px + c;
        if b < 16 {
            lo[i] = b as i8;
        } else {
            hi[i] = (b - 16) as i8;
        }
        i += 1;
    }
    (lo, hi)
}

const MASKS: [[([i8; 16], [i8; 16]); 3]; 2] = [
    [masks(0, false), masks(1, false), masks(2, false)],
    [masks(0, true), masks(1, true), masks(2, true)],
];

/// Whether [`write_rgb_f32_nchw`] can run here.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::kernels::cpu::avx2()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `slot` (3 planes of `w * h` float32) from `src` (`w x h` RGB, contiguous), each value
/// `t[channel][byte]`, columns mirrored when `flip`. Same output as the scalar sweep.
///
/// # Safety
/// The CPU must support AVX2 ([`available`]); `src.len() == w * h * 3` and
/// `slot.len() == w * h * 12`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn write_rgb_f32_nchw(
    src: &[u8],
    w: usize,
    h: usize,
    flip: bool,
    t: &[[f32; 256]],
    slot: &mut [u8],
) {
    assert!(src.len() == w * h * 3 && slot.len() == w * h * 12 && t.len() >= 3);
    let plane = w * h;
    let out = slot.as_mut_ptr().cast::<f32>();
    // Non-temporal stores need 32-byte aligned addresses: every row of every plane is when
    // the slot is and rows are whole multiples of 8 floats.
    let stream = out as usize % 32 == 0 && w % 8 == 0;
    let m = &MASKS[usize::from(flip)];
    let mask = |v: &[i8; 16]| {
        // SAFETY: 16 bytes.
        unsafe { _mm_loadu_si128(v.as_ptr().cast::<__m128i>()) }
    };
    let masks = [
        (mask(&m[0].0), mask(&m[0].1)),
        (mask(&m[1].0), mask(&m[1].1)),
        (mask(&m[2].0), mask(&m[2].1)),
    ];
    let steps = w / 8;
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        for s in 0..steps {
            let x = s * 8;
            let first = if flip { w - 8 - x } else { x };
            let px = &row[first * 3..first * 3 + 24];
            // SAFETY: `px` is 24 bytes: 16 from its start, 8 from byte 16.
            let (lo, hi) = unsafe {
                (
                    _mm_loadu_si128(px.as_ptr().cast::<__m128i>()),
                    _mm_loadl_epi64(px[16..].as_ptr().cast::<__m128i>()),
                )
            };
            for (ch, &(mlo, mhi)) in masks.iter().enumerate() {
                let bytes = _mm_or_si128(_mm_shuffle_epi8(lo, mlo), _mm_shuffle_epi8(hi, mhi));
                let idx = _mm256_cvtepu8_epi32(bytes);
                // SAFETY: the indices are bytes (< 256) and the table has 256 entries; the
                // 8 floats at `dst` are row y, columns x..x + 8 of plane ch, inside the slot
                // (x + 8 <= w), 32-byte aligned when `stream`.
                unsafe {
                    let v = _mm256_i32gather_ps::<4>(t[ch].as_ptr(), idx);
                    let dst = out.add(ch * plane + y * w + x);
                    if stream {
                        _mm256_stream_ps(dst, v);
                    } else {
                        _mm256_storeu_ps(dst, v);
                    }
                }
            }
        }
        for x in steps * 8..w {
            let sx = if flip { w - 1 - x } else { x };
            for (ch, table) in t.iter().take(3).enumerate() {
                let v = table[usize::from(row[sx * 3 + ch])];
                // SAFETY: row y, column x of plane ch: inside the slot.
                unsafe { out.add(ch * plane + y * w + x).write_unaligned(v) };
            }
        }
    }
    if stream {
        // Non-temporal stores are weakly ordered: fence before the slot is handed over.
        _mm_sfence();
    }
}
