//! Ad-hoc timing of the loader's resize step (fast_image_resize), for profiling only.
use fast_image_resize as fir;
use std::time::Instant;

fn main() {
    let (sw, sh, dw, dh) = (290u32, 290u32, 224u32, 224u32);
    let src: Vec<u8> = (0..sw * sh * 3).map(|i| (i * 7 % 251) as u8).collect();
    let mut dst = vec![0u8; (dw * dh * 3) as usize];
    let mut r = fir::Resizer::new();
    println!("cpu extensions: {:?}", r.cpu_extensions());
    for (name, alg) in [
        (
            "conv bilinear",
            fir::ResizeAlg::Convolution(fir::FilterType::Bilinear),
        ),
        (
            "interp bilinear",
            fir::ResizeAlg::Interpolation(fir::FilterType::Bilinear),
        ),
    ] {
        let s = fir::images::ImageRef::new(sw, sh, &src, fir::PixelType::U8x3).unwrap();
        let mut d =
            fir::images::Image::from_slice_u8(dw, dh, &mut dst, fir::PixelType::U8x3).unwrap();
        let opts = fir::ResizeOptions::new()
            .resize_alg(alg)
            .crop(3.5, 2.25, 280.0, 281.0);
        for _ in 0..50 {
            r.resize(&s, &mut d, &opts).unwrap();
        }
        let t = Instant::now();
        let n = 500;
        for _ in 0..n {
            r.resize(&s, &mut d, &opts).unwrap();
        }
        println!(
            "{name}: {:.1} us",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
