//! Parallel decode of many sources, results in input order.

use rayon::prelude::*;

use crate::decode::{decode_source, DecodeOptions};
use crate::error::catch_panic;
use crate::image::{Image, Rect};
use crate::source::Source;
use crate::{pool, Result};

/// Decode every source on the pool; item `i` uses `rois[i]` when given. Each result is
/// independent: one failure never stops the others (the caller applies its error policy).
pub fn decode_batch(
    sources: &[Source<'_>],
    opts: &DecodeOptions,
    rois: Option<&[Option<Rect>]>,
    threads: Option<usize>,
) -> Result<Vec<Result<Image>>> {
    pool::install(threads, || {
        sources
            .par_iter()
            .enumerate()
            .with_max_len(1)
            .map(|(i, src)| {
                let mut o = *opts;
                if let Some(r) = rois {
                    o.roi = r[i];
                }
                catch_panic(|| decode_source(*src, &o))
            })
            .collect()
    })
}
