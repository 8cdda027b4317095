//! Parallel decode of many sources, results in input order.

use rayon::prelude::*;

use crate::decode::{decode_source, DecodeOptions};
use crate::error::catch_panic;
use crate::image::Image;
use crate::source::Source;
use crate::{pool, Error, Result};

/// Decode every source on the pool, item `i` with `opts[i]` (or `opts[0]` for all when one
/// is given). Each result is independent: one failure never stops the others (the caller
/// applies its error policy).
pub fn decode_batch(
    sources: &[Source<'_>],
    opts: &[DecodeOptions],
    threads: Option<usize>,
) -> Result<Vec<Result<Image>>> {
    if opts.len() != 1 && opts.len() != sources.len() {
        return Err(Error::invalid(
            "opts",
            format!(
                "expected 1 or {} options, got {}",
                sources.len(),
                opts.len()
            ),
        ));
    }
    let opt = |i: usize| if opts.len() == 1 { &opts[0] } else { &opts[i] };
    pool::install(threads, || {
        sources
            .par_iter()
            .enumerate()
            .with_max_len(1)
            .map(|(i, src)| catch_panic(|| decode_source(*src, opt(i))))
            .collect()
    })
}
