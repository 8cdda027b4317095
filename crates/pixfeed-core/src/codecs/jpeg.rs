//! JPEG codec (to be implemented).

use super::{Decoded, RawInfo, RawRequest};
use crate::{Error, Result};

pub fn probe(_data: &[u8]) -> Result<RawInfo> {
    Err(Error::unsupported("jpeg", "decoder not implemented yet"))
}

pub fn decode(_data: &[u8], _req: &RawRequest) -> Result<Decoded> {
    Err(Error::unsupported("jpeg", "decoder not implemented yet"))
}

/// The libjpeg-turbo version compiled in (stub until the shim lands).
pub fn library_version() -> &'static str {
    "unknown"
}
