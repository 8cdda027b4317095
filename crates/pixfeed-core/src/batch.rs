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
    // One source or one thread: the calling thread decodes. A pool of one thread would be
    // shared by every caller asking for one (e.g. the filter's streams, each decoding its
    // own batch), serializing them, and a hand-off costs more than it saves.
    if sources.len() <= 1 || threads == Some(1) {
        return Ok(sources
            .iter()
            .enumerate()
            .map(|(i, src)| catch_panic(|| decode_source(*src, opt(i))))
            .collect());
    }
    pool::install_for(sources.len(), threads, || {
        sources
            .par_iter()
            .enumerate()
            .with_max_len(1)
            .map(|(i, src)| catch_panic(|| decode_source(*src, opt(i))))
            .collect()
    })
}
