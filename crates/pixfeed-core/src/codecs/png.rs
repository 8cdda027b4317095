//! PNG codec (to be implemented).

use super::{Decoded, RawInfo, RawRequest};
use crate::{Error, Result};

pub fn probe(_data: &[u8]) -> Result<RawInfo> {
    Err(Error::unsupported("png", "decoder not implemented yet"))
}

pub fn decode(_data: &[u8], _req: &RawRequest) -> Result<Decoded> {
    Err(Error::unsupported("png", "decoder not implemented yet"))
}
