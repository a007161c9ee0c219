//! Writes tests/fixtures/pictures/ankle-boot-photo.png: Fashion-MNIST's first test image (an
//! ankle boot) as a student's photo of it looks: a brown boot on a beige table lit from one
//! side, seven times the size, off-centre, in colour. The preprocessing test and the page's
//! end-to-end test classify it.
//!
//!     cargo run -p convlab-picture --example photo_fixture

use convlab_core::data::{TEST_IMAGES, TEST_LABELS};
use convlab_core::Dataset;
use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma, Rgba, RgbaImage};

const TEST_IMAGES_GZ: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/t10k-images-idx3-ubyte.gz");
const TEST_LABELS_GZ: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/t10k-labels-idx1-ubyte.gz");
const OUT: &str = "tests/fixtures/pictures/ankle-boot-photo.png";

const SCALE: u32 = 7;
const TABLE: [f32; 3] = [232.0, 222.0, 204.0];
const LEATHER: [f32; 3] = [92.0, 52.0, 28.0];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let test_set = Dataset::from_idx(TEST_IMAGES, TEST_IMAGES_GZ, TEST_LABELS, TEST_LABELS_GZ)?;
    let item = ImageBuffer::<Luma<f32>, Vec<f32>>::from_fn(28, 28, |x, y| {
        Luma([f32::from(test_set.images[(y * 28 + x) as usize]) / 255.0])
    });
    let big = imageops::resize(&item, 28 * SCALE, 28 * SCALE, FilterType::CatmullRom);

    let (width, height, left, top) = (360, 240, 150, 22);
    let photo = RgbaImage::from_fn(width, height, |x, y| {
        // Light from the left: the table darkens a little to the right.
        let light = 1.0 - 0.02 * x as f32 / width as f32;
        let inside = |at: u32, start: u32| at.checked_sub(start).filter(|&d| d < 28 * SCALE);
        let boot = match (inside(x, left), inside(y, top)) {
            (Some(bx), Some(by)) => big.get_pixel(bx, by).0[0].clamp(0.0, 1.0),
            _ => 0.0,
        };
        let channel = |c: usize| (TABLE[c] * (1.0 - boot) + LEATHER[c] * boot) * light;
        Rgba([channel(0) as u8, channel(1) as u8, channel(2) as u8, 255])
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(OUT);
    std::fs::create_dir_all(out.parent().unwrap())?;
    photo.save(&out)?;
    println!("wrote {}", out.display());
    Ok(())
}
