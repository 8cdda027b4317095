//! numpy arrays in and out of the core without copies: uint8 images as `ImageView`s (held
//! across the GIL release), preallocated `out=` batches as mutable byte slices.

use numpy::{
    PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArrayMethods,
};
use pixfeed_core::image::ImageView;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A borrowed uint8 image: (H, W) or (H, W, C) with unit channel stride and pixel stride C,
/// rows any non-negative stride apart. The Python layer makes other layouts contiguous first.
pub struct ArrayIn<'py> {
    _borrow: PyReadonlyArrayDyn<'py, u8>,
    ptr: *const u8,
    span: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub row_stride: usize,
    /// 2 for (H, W), 3 for (H, W, C): outputs keep the caller's number of dims.
    pub ndim: usize,
}

// SAFETY: the pointer targets the numpy buffer kept alive (and borrowed read-only against
// other Rust borrows) by `_borrow` for the lifetime of `ArrayIn`; we only read through it.
unsafe impl Send for ArrayIn<'_> {}
// SAFETY: as above: shared reads only.
unsafe impl Sync for ArrayIn<'_> {}

impl<'py> ArrayIn<'py> {
    pub fn extract(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        let arr = obj
            .cast::<PyArrayDyn<u8>>()
            .map_err(|_| PyTypeError::new_err(format!("{name}: expected a uint8 numpy array")))?;
        let borrow = arr.try_readonly().map_err(|e| {
            PyValueError::new_err(format!("{name}: array is being written elsewhere ({e})"))
        })?;
        let shape = borrow.shape().to_vec();
        let strides = borrow.strides().to_vec();
        let (height, width, channels) = match shape.as_slice() {
            [h, w] => (*h, *w, 1),
            [h, w, c] => (*h, *w, *c),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "{name}: expected a 2-D (H, W) or 3-D (H, W, C) image, got shape {shape:?}"
                )))
            }
        };
        if !(1..=4).contains(&channels) {
            return Err(PyValueError::new_err(format!(
                "{name}: expected 1 to 4 channels, got {channels}"
            )));
        }
        let pixel_ok = if shape.len() == 3 {
            strides[2] == 1 && strides[1] == channels as isize
        } else {
            strides[1] == 1
        };
        let row_stride = strides[0];
        if !pixel_ok || row_stride < (width * channels) as isize {
            return Err(PyValueError::new_err(format!(
                "{name}: pixels must be contiguous within rows (strides {strides:?})"
            )));
        }
        let row_stride = row_stride as usize;
        let span = if height == 0 || width == 0 {
            0
        } else {
            (height - 1) * row_stride + width * channels
        };
        Ok(ArrayIn {
            ptr: borrow.data() as *const u8,
            _borrow: borrow,
            span,
            height,
            width,
            channels,
            row_stride,
            ndim: shape.len(),
        })
    }

    pub fn view(&self) -> ImageView<'_> {
        // SAFETY: `span` bytes from `ptr` are inside the numpy buffer (computed from its shape
        // and non-negative strides above) and stay alive while `self` holds the borrow.
        let data = unsafe { std::slice::from_raw_parts(self.ptr, self.span) };
        ImageView {
            data,
            width: self.width,
            height: self.height,
            channels: self.channels,
            row_stride: self.row_stride,
        }
    }
}

/// A writeable, C-contiguous uint8 batch passed as `out=`.
pub struct ArrayOut<'py> {
    _borrow: PyReadwriteArrayDyn<'py, u8>,
    ptr: *mut u8,
    len: usize,
    pub shape: Vec<usize>,
}

// SAFETY: the pointer targets the numpy buffer exclusively borrowed (against other Rust
// borrows) by `_borrow` for the lifetime of `ArrayOut`.
unsafe impl Send for ArrayOut<'_> {}

impl<'py> ArrayOut<'py> {
    pub fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let arr = obj
            .cast::<PyArrayDyn<u8>>()
            .map_err(|_| PyTypeError::new_err("out: expected a uint8 numpy array"))?;
        if !arr.is_c_contiguous() {
            return Err(PyValueError::new_err("out: must be C-contiguous"));
        }
        let mut borrow = arr
            .try_readwrite()
            .map_err(|e| PyValueError::new_err(format!("out: not writeable ({e})")))?;
        let shape = borrow.shape().to_vec();
        let len = shape.iter().product();
        let ptr = borrow
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(format!("out: {e}")))?
            .as_mut_ptr();
        Ok(ArrayOut {
            _borrow: borrow,
            ptr,
            len,
            shape,
        })
    }

    /// Bytes per image, after checking that the first dimension holds `n` images.
    pub fn slot_len(&self, n: usize) -> PyResult<usize> {
        if self.shape.first() != Some(&n) {
            return Err(PyValueError::new_err(format!(
                "out: expected {n} images in the first dimension, got shape {:?}",
                self.shape
            )));
        }
        Ok(self.shape[1..].iter().product())
    }

    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `len` elements from `ptr` are the C-contiguous buffer we hold a write borrow of.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}
