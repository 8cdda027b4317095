//! Owned image buffers: interleaved HWC, row-major, no padding between rows.

/// Pixel storage: 8-bit for everything but 16-bit sources decoded unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PixelData {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// An owned, C-contiguous HWC image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    /// 1 (gray), 2 (gray+alpha), 3 (RGB/BGR) or 4 (RGBA/CMYK).
    pub channels: usize,
    pub data: PixelData,
}

impl Image {
    pub fn new_u8(width: usize, height: usize, channels: usize, data: Vec<u8>) -> Self {
        debug_assert_eq!(data.len(), width * height * channels);
        Image {
            width,
            height,
            channels,
            data: PixelData::U8(data),
        }
    }
    pub fn new_u16(width: usize, height: usize, channels: usize, data: Vec<u16>) -> Self {
        debug_assert_eq!(data.len(), width * height * channels);
        Image {
            width,
            height,
            channels,
            data: PixelData::U16(data),
        }
    }
    /// The 8-bit samples, or `None` for a 16-bit image.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match &self.data {
            PixelData::U8(v) => Some(v),
            PixelData::U16(_) => None,
        }
    }
    pub fn is_u16(&self) -> bool {
        matches!(self.data, PixelData::U16(_))
    }
}

/// A rectangle `(x, y, width, height)` in pixels, top-left origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Rect {
            x,
            y,
            width,
            height,
        }
    }
    /// True when the rectangle is non-empty and lies inside a `w x h` image.
    pub fn fits_in(&self, w: u32, h: u32) -> bool {
        self.width > 0
            && self.height > 0
            && u64::from(self.x) + u64::from(self.width) <= u64::from(w)
            && u64::from(self.y) + u64::from(self.height) <= u64::from(h)
    }
}

/// A borrowed 8-bit HWC image whose pixels are contiguous within a row but whose rows may
/// be `row_stride` bytes apart (any numpy view with a unit channel stride).
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    /// Bytes from one row's start to the next (>= width * channels).
    pub row_stride: usize,
}

impl<'a> ImageView<'a> {
    /// A view over `data`, checking that every row lies inside it.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        channels: usize,
        row_stride: usize,
    ) -> crate::Result<Self> {
        let row = width * channels;
        let needed = if height == 0 {
            0
        } else {
            (height - 1) * row_stride + row
        };
        if row_stride < row || data.len() < needed {
            return Err(crate::Error::invalid(
                "image",
                format!(
                    "buffer of {} bytes cannot hold {height} rows of {row} bytes {row_stride} apart",
                    data.len()
                ),
            ));
        }
        Ok(ImageView {
            data,
            width,
            height,
            channels,
            row_stride,
        })
    }
    /// A view of a contiguous buffer.
    pub fn contiguous(
        data: &'a [u8],
        width: usize,
        height: usize,
        channels: usize,
    ) -> crate::Result<Self> {
        Self::new(data, width, height, channels, width * channels)
    }
    /// Row `y` (exactly `width * channels` bytes).
    #[inline]
    pub fn row(&self, y: usize) -> &'a [u8] {
        let s = y * self.row_stride;
        &self.data[s..s + self.width * self.channels]
    }
    pub fn is_contiguous(&self) -> bool {
        self.row_stride == self.width * self.channels
    }
}

/// A mutable contiguous HWC destination (a slot of a preallocated batch, or a fresh Vec).
#[derive(Debug)]
pub struct ImageViewMut<'a> {
    pub data: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

impl<'a> ImageViewMut<'a> {
    pub fn new(
        data: &'a mut [u8],
        width: usize,
        height: usize,
        channels: usize,
    ) -> crate::Result<Self> {
        if data.len() != width * height * channels {
            return Err(crate::Error::invalid(
                "out",
                format!(
                    "slot of {} bytes does not fit {width}x{height}x{channels}",
                    data.len()
                ),
            ));
        }
        Ok(ImageViewMut {
            data,
            width,
            height,
            channels,
        })
    }
}
