//! `run_batch` end to end on small in-memory files: every crop kind in fast and exact mode,
//! per-item errors, determinism across thread counts, and the sampled boxes against
//! `geometry`'s RandomResizedCrop.

use super::*;
use crate::codecs::{encode::encode, Format};

/// A smooth gradient with a little texture, so that resampling errors stay small.
fn photo(w: u32, h: u32, format: Format) -> Vec<u8> {
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            px.push((x * 255 / w) as u8);
            px.push((y * 255 / h) as u8);
            px.push((((x + y) % 16) * 2 + 100) as u8);
        }
    }
    encode(&px, w, h, 3, format, 95).unwrap()
}

fn spec(crop: CropKind, size: (u32, u32), exact: bool) -> PipelineSpec {
    PipelineSpec {
        exact,
        ..super::tests::spec(crop, size)
    }
}

fn rrc() -> CropKind {
    CropKind::RandomResized(CropSampling::default())
}

fn run(s: &PipelineSpec, files: &[Vec<u8>], threads: Option<usize>) -> (Vec<u8>, Vec<Result<()>>) {
    let sources: Vec<Source<'_>> = files.iter().map(|f| Source::Bytes(f)).collect();
    let keys: Vec<u64> = (0..files.len() as u64).map(|k| k * 7 + 3).collect();
    let mut out = vec![0u8; s.item_bytes() * files.len()];
    let results = run_batch(s, &sources, &keys, None, 42, 1, &mut out, threads).unwrap();
    (out, results)
}

fn files() -> Vec<Vec<u8>> {
    vec![
        photo(160, 120, Format::Jpeg),
        photo(97, 131, Format::Png),
        photo(64, 64, Format::Jpeg),
        photo(200, 50, Format::Png),
    ]
}

#[test]
fn every_crop_kind_fills_its_slots_in_both_modes() {
    let files = files();
    for exact in [false, true] {
        for crop in [rrc(), CropKind::Center { shorter: 40 }, CropKind::Resize] {
            let s = spec(crop, (32, 24), exact);
            let (out, results) = run(&s, &files, Some(2));
            assert!(results.iter().all(Result::is_ok), "{crop:?} {results:?}");
            // The green channel follows the rows of the source: top darker than bottom
            // (flips are horizontal), whatever the crop.
            for item in out.chunks_exact(s.item_bytes()) {
                let green = |row: usize| item[row * 32 * 3 + 16 * 3 + 1];
                assert!(green(0) < green(23), "{crop:?} exact={exact}");
            }
        }
    }
}

#[test]
fn fast_mode_is_close_to_exact_mode() {
    let files = files();
    let crop = CropKind::Center { shorter: 40 };
    let (mut fast_s, exact_s) = (spec(crop, (32, 32), false), spec(crop, (32, 32), true));
    fast_s.fast_decode = false;
    let (fast, _) = run(&fast_s, &files, Some(1));
    let (exact, _) = run(&exact_s, &files, Some(1));
    let diff: u64 = fast
        .iter()
        .zip(&exact)
        .map(|(&a, &b)| u64::from(a.abs_diff(b)))
        .sum();
    let mean = diff as f64 / fast.len() as f64;
    assert!(mean < 3.0, "mean abs difference {mean}");
}

#[test]
fn results_do_not_depend_on_threads() {
    let files = files();
    for exact in [false, true] {
        let s = spec(rrc(), (24, 24), exact);
        let (one, _) = run(&s, &files, Some(1));
        let (two, _) = run(&s, &files, Some(2));
        let (pool, _) = run(&s, &files, None);
        assert_eq!(one, two);
        assert_eq!(one, pool);
    }
}

#[test]
fn errors_are_per_item() {
    let mut files = files();
    files[1] = b"not an image".to_vec();
    let mut cut = files[2].clone();
    cut.truncate(cut.len() / 2);
    files[2] = cut;
    let s = spec(rrc(), (16, 16), false);
    let (out, results) = run(&s, &files, Some(2));
    assert!(results[0].is_ok() && results[3].is_ok());
    assert!(
        matches!(results[1], Err(Error::UnsupportedFormat(_))),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(results[2], Err(Error::Decode { .. })),
        "{:?}",
        results[2]
    );
    // The good items equal a batch of just them.
    let good = [files[0].clone(), files[3].clone()];
    let sources: Vec<Source<'_>> = good.iter().map(|f| Source::Bytes(f)).collect();
    let mut alone = vec![0u8; s.item_bytes() * 2];
    run_batch(&s, &sources, &[3, 24], None, 42, 1, &mut alone, Some(1)).unwrap();
    let item = s.item_bytes();
    assert_eq!(&out[..item], &alone[..item]);
    assert_eq!(&out[3 * item..], &alone[item..]);
}

#[test]
fn crop_none_needs_the_output_size() {
    let files = vec![photo(16, 16, Format::Png), photo(17, 16, Format::Png)];
    for exact in [false, true] {
        let s = spec(CropKind::None, (16, 16), exact);
        let (_, results) = run(&s, &files, Some(1));
        assert!(results[0].is_ok());
        assert!(matches!(
            results[1],
            Err(Error::InvalidArgument { arg: "crop", .. })
        ));
    }
}

#[test]
fn a_bad_batch_shape_is_refused() {
    let files = files();
    let s = spec(rrc(), (8, 8), false);
    let sources: Vec<Source<'_>> = files.iter().map(|f| Source::Bytes(f)).collect();
    let mut out = vec![0u8; s.item_bytes() * files.len() - 1];
    let keys = [0, 1, 2, 3];
    assert!(run_batch(&s, &sources, &keys, None, 0, 0, &mut out, None).is_err());
}

#[test]
fn sampled_boxes_are_geometrys_random_resized_crop() {
    // The loader draws the box first from the sample's stream, exactly as
    // `geometry::random_resized_crop_box` (what `pixfeed.random_resized_crop_params` uses).
    let sampling = CropSampling::new((0.2, 0.9), (0.5, 2.0)).unwrap();
    for flip in [0.0, 0.5] {
        let mut s = spec(CropKind::RandomResized(sampling), (8, 8), false);
        s.flip = flip;
        for index in 0..300u64 {
            let (w, h) = (1 + (index * 37 % 900) as u32, 1 + (index * 91 % 700) as u32);
            let (seed, epoch) = (index ^ 0x5eed, index % 3);
            let drawn = sample_params(&s, w, h, seed, epoch, index, None).crop;
            let mut rng = SampleRng::new(seed, epoch, index);
            let expected = geometry::random_resized_crop_box(w, h, &sampling, &mut rng);
            assert_eq!(drawn, BoxF::from(expected), "{w}x{h} index {index}");
        }
    }
}
