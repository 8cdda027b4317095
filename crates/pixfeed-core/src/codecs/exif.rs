//! EXIF orientation: just enough TIFF parsing to read tag 0x0112 of IFD0. Own code because
//! this is the only tag we need and it must never fail a decode (bad EXIF = orientation 1).

/// Orientation (1..=8) from an EXIF block. Accepts the block with or without the
/// `Exif\0\0` prefix (JPEG APP1 has it; PNG eXIf usually does not; WebP varies).
/// Anything malformed or out of range yields 1, as Pillow's `exif_transpose` does.
pub fn orientation(block: &[u8]) -> u8 {
    resolve(orientation_tag(block), None)
}

/// The raw orientation value when the block has the tag at all (valid or not).
pub fn orientation_tag(block: &[u8]) -> Option<u8> {
    let tiff = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    read_orientation(tiff)
}

/// `tiff:Orientation` from an XMP packet (`tiff:Orientation="6"` or
/// `<tiff:Orientation>6</tiff:Orientation>`), the way Pillow's `getexif` falls back to it.
pub fn xmp_orientation(xmp: &[u8]) -> Option<u8> {
    const KEY: &[u8] = b"tiff:Orientation";
    let mut from = 0;
    while let Some(at) = xmp[from..].windows(KEY.len()).position(|w| w == KEY) {
        let rest = &xmp[from + at + KEY.len()..];
        let digit = match rest {
            [b'=', b'"', d, ..] | [b'>', d, ..] => Some(*d),
            _ => None,
        };
        if let Some(d) = digit.filter(u8::is_ascii_digit) {
            return Some(d - b'0');
        }
        from += at + KEY.len();
    }
    None
}

/// Pillow's rule: the EXIF tag wins when present (an invalid value means upright);
/// without it, XMP's `tiff:Orientation`; else upright.
pub fn resolve(exif_tag: Option<u8>, xmp: Option<u8>) -> u8 {
    exif_tag
        .or(xmp)
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

fn read_orientation(tiff: &[u8]) -> Option<u8> {
    let big_endian = match tiff.get(0..2)? {
        b"II" => false,
        b"MM" => true,
        _ => return None,
    };
    let u16_at = |off: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(off..off + 2)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(off..off + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2 + 12 * i)?;
        if u16_at(entry)? == 0x0112 {
            // Type SHORT (3), count 1: the value sits in the first two bytes of the field.
            let typ = u16_at(entry + 2)?;
            let value = match typ {
                3 => u16_at(entry + 8)?,
                4 => u16::try_from(u32_at(entry + 8)?).ok()?,
                _ => return None,
            };
            return u8::try_from(value).ok();
        }
    }
    None
}

/// Build a minimal little- or big-endian EXIF block carrying one orientation tag (tests).
#[cfg(test)]
pub(crate) fn make_block(orientation: u16, big_endian: bool) -> Vec<u8> {
    let mut v = b"Exif\0\0".to_vec();
    let w16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    v.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    w16(&mut v, 42);
    w32(&mut v, 8);
    w16(&mut v, 1);
    w16(&mut v, 0x0112);
    w16(&mut v, 3);
    w32(&mut v, 1);
    w16(&mut v, orientation);
    w16(&mut v, 0);
    w32(&mut v, 0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_byte_orders() {
        for o in 1..=8u16 {
            assert_eq!(orientation(&make_block(o, false)), o as u8);
            assert_eq!(orientation(&make_block(o, true)), o as u8);
            // Without the Exif\0\0 prefix (PNG eXIf).
            assert_eq!(orientation(&make_block(o, true)[6..]), o as u8);
        }
    }

    #[test]
    fn xmp_forms_and_precedence() {
        assert_eq!(xmp_orientation(br#"<x tiff:Orientation="6"/>"#), Some(6));
        assert_eq!(
            xmp_orientation(b"<tiff:Orientation>8</tiff:Orientation>"),
            Some(8)
        );
        assert_eq!(
            xmp_orientation(b"tiff:OrientationX tiff:Orientation='3'"),
            None
        );
        assert_eq!(xmp_orientation(b"nothing"), None);
        assert_eq!(resolve(None, Some(6)), 6);
        assert_eq!(resolve(Some(3), Some(6)), 3);
        assert_eq!(
            resolve(Some(9), Some(6)),
            1,
            "an invalid EXIF tag still wins"
        );
        assert_eq!(resolve(None, None), 1);
    }

    #[test]
    fn bad_blocks_mean_upright() {
        assert_eq!(orientation(b""), 1);
        assert_eq!(orientation(b"Exif\0\0II"), 1);
        assert_eq!(orientation(&make_block(9, false)), 1);
        assert_eq!(orientation(&make_block(0, false)), 1);
        let mut b = make_block(6, false);
        b.truncate(b.len() - 8);
        assert_eq!(orientation(&b), 1);
    }
}
