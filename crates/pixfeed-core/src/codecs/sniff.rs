//! Format detection from magic bytes (never from the file name).

use super::Format;

/// The format of `data`, or `None` when no decoder recognizes its signature.
pub fn sniff(data: &[u8]) -> Option<Format> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if data.starts_with(b"BM") {
        Some(Format::Bmp)
    } else if data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else {
        None
    }
}

/// A short human name for what the bytes look like, for error messages about formats
/// pixfeed does not decode.
pub fn describe_unknown(data: &[u8]) -> String {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
        (b"\0\0\0\x0cjP  ", "JPEG 2000"),
        (b"8BPS", "PSD"),
        (b"%PDF", "PDF"),
        (b"qoif", "QOI"),
    ];
    if data.is_empty() {
        return "empty input (0 bytes)".to_string();
    }
    for (magic, name) in KNOWN {
        if data.starts_with(magic) {
            return format!("{name} is not supported");
        }
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        return "HEIF/AVIF/MP4 container is not supported".to_string();
    }
    let head: Vec<String> = data.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("unrecognized signature {}", head.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Format::Png));
        assert_eq!(sniff(b"BM....."), Some(Format::Bmp));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn describes_unknown() {
        assert!(describe_unknown(b"GIF89a...").contains("GIF"));
        assert!(describe_unknown(b"").contains("empty"));
        assert!(describe_unknown(b"\x01\x02").contains("01 02"));
    }
}
