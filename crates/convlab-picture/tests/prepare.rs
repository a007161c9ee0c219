//! Known pictures to known 28x28 inputs: drawn shapes, a transparent picture, the errors, and a
//! Fashion-MNIST item photographed the way a student would (the committed fixture) back to the
//! item itself.

use convlab_core::data::{TEST_IMAGES, TEST_LABELS};
use convlab_core::Dataset;
use convlab_picture::{decode, prepare, prepare_rgba, Bounds, PictureError, SIDE};
use image::{Rgba, RgbaImage};

/// The photographed ankle boot (see examples/photo_fixture.rs), and the test set it came from:
/// compiled in, so the test does not depend on where the checkout lies.
const PHOTO: &[u8] = include_bytes!("../../../tests/fixtures/pictures/ankle-boot-photo.png");
const TEST_IMAGES_GZ: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/t10k-images-idx3-ubyte.gz");
const TEST_LABELS_GZ: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/t10k-labels-idx1-ubyte.gz");

fn filled(width: u32, height: u32, colour: [u8; 4]) -> RgbaImage {
    RgbaImage::from_pixel(width, height, Rgba(colour))
}

fn paint(picture: &mut RgbaImage, x: u32, y: u32, width: u32, height: u32, colour: [u8; 4]) {
    for py in y..y + height {
        for px in x..x + width {
            picture.put_pixel(px, py, Rgba(colour));
        }
    }
}

/// The input's rows (or columns) that hold any of the item.
fn lit_range(input: &[f32], by_row: bool) -> (usize, usize) {
    let side = SIDE as usize;
    let lit: Vec<usize> = (0..side)
        .filter(|&i| {
            (0..side).any(|j| {
                let (row, col) = if by_row { (i, j) } else { (j, i) };
                input[row * side + col] > 0.5
            })
        })
        .collect();
    (lit[0], *lit.last().unwrap())
}

#[test]
fn a_dark_box_on_a_light_coloured_background_becomes_a_centred_light_box_on_black() {
    // Navy on beige, off-centre, twice as wide as tall.
    let mut picture = filled(200, 100, [230, 225, 210, 255]);
    paint(&mut picture, 110, 20, 60, 30, [20, 30, 80, 255]);
    let prepared = prepare(&picture).unwrap();

    assert!(prepared.inverted, "a light background is negated");
    assert_eq!(
        prepared.bounds,
        Bounds {
            x: 110,
            y: 20,
            width: 60,
            height: 30
        }
    );
    assert_eq!(prepared.cropped.dimensions(), (60, 30));
    // Contrast stretched: the item is white, the background black.
    assert!(prepared
        .cropped
        .pixels()
        .all(|p| (p.0[0] - 1.0).abs() < 1e-5));
    assert_eq!(prepared.item_on_black.get_pixel(5, 5).0[0], 0.0);

    // 60x30 scales to 28x14, centred: rows 7 to 20, every column.
    let input = prepared.pixels();
    assert_eq!(input.len(), 28 * 28);
    assert_eq!(lit_range(input, true), (7, 20));
    assert_eq!(lit_range(input, false), (0, 27));
    let side = SIDE as usize;
    for row in 0..side {
        for col in 0..side {
            let v = input[row * side + col];
            let expected = if (7..=20).contains(&row) { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-4, "row {row} col {col}: {v}");
        }
    }
}

#[test]
fn a_light_stroke_on_black_is_kept_as_it_is_and_an_odd_margin_goes_first() {
    // As the page's drawing canvas makes it: white ink on black, tall and thin.
    let mut picture = filled(90, 90, [0, 0, 0, 255]);
    paint(&mut picture, 10, 5, 15, 45, [255, 255, 255, 255]);
    let prepared = prepare(&picture).unwrap();

    assert!(!prepared.inverted);
    // 15x45 scales to 9x28 (28 / 45 * 15 = 9.33): 19 columns of margin, 10 before, 9 after.
    assert_eq!(lit_range(prepared.pixels(), false), (10, 18));
    assert_eq!(lit_range(prepared.pixels(), true), (0, 27));
}

#[test]
fn transparent_parts_count_as_white_paper() {
    let mut picture = filled(40, 40, [0, 0, 0, 0]);
    paint(&mut picture, 10, 10, 20, 20, [0, 0, 0, 255]);
    let prepared = prepare(&picture).unwrap();
    assert!(prepared.inverted);
    assert_eq!(prepared.bounds.width, 20);
    assert_eq!(lit_range(prepared.pixels(), true), (0, 27));
}

#[test]
fn rgba_bytes_as_a_canvas_gives_them() {
    let mut picture = filled(30, 20, [250, 250, 250, 255]);
    paint(&mut picture, 3, 4, 10, 10, [10, 10, 10, 255]);
    let from_bytes = prepare_rgba(30, 20, picture.clone().into_raw()).unwrap();
    assert_eq!(from_bytes.pixels(), prepare(&picture).unwrap().pixels());
}

#[test]
fn bad_pictures_get_errors_that_say_what_is_wrong() {
    let message = |e: PictureError| e.to_string();

    let empty = prepare_rgba(0, 10, vec![]).unwrap_err();
    assert!(matches!(
        empty,
        PictureError::Empty {
            width: 0,
            height: 10
        }
    ));
    assert!(message(empty).contains("0x10"));

    // Refused from its size alone, before any pixel is read.
    let huge = prepare_rgba(5000, 5000, vec![]).unwrap_err();
    assert!(matches!(huge, PictureError::TooLarge { .. }), "{huge}");
    assert!(message(huge).contains("5000x5000"));

    let short = prepare_rgba(4, 4, vec![0; 60]).unwrap_err();
    assert!(
        matches!(
            short,
            PictureError::BufferSize {
                expected: 64,
                got: 60,
                ..
            }
        ),
        "{short}"
    );

    let flat = prepare(&filled(50, 50, [128, 128, 128, 255])).unwrap_err();
    assert!(matches!(flat, PictureError::NoItem), "{flat}");
    // A faint smudge is not an item either.
    let mut smudge = filled(50, 50, [200, 200, 200, 255]);
    paint(&mut smudge, 20, 20, 5, 5, [195, 195, 195, 255]);
    assert!(matches!(prepare(&smudge), Err(PictureError::NoItem)));

    let not_a_picture = decode("notes.txt", b"these are not pixels").unwrap_err();
    assert!(matches!(not_a_picture, PictureError::Unreadable { .. }));
    assert!(message(not_a_picture).starts_with("notes.txt is not a picture"));
    // A PNG cut short after its header.
    let cut = decode("cut.png", &PHOTO[..100]).unwrap_err();
    assert!(matches!(cut, PictureError::Unreadable { .. }), "{cut}");
}

#[test]
fn a_photographed_fashion_mnist_item_comes_back_as_that_item() {
    let test_set =
        Dataset::from_idx(TEST_IMAGES, TEST_IMAGES_GZ, TEST_LABELS, TEST_LABELS_GZ).unwrap();
    let original: Vec<f32> = test_set.images[..784]
        .iter()
        .map(|&b| f32::from(b) / 255.0)
        .collect();

    let photo = decode("ankle-boot-photo.png", PHOTO).unwrap();
    let prepared = prepare(&photo).unwrap();
    assert!(
        prepared.inverted,
        "the photo is a dark boot on a light table"
    );
    let input = prepared.pixels();

    // Scaling up for the photo and down again blurs edges, so pixels differ a little; the
    // shape, its place and its brightness must come back.
    let mean_error: f32 = input
        .iter()
        .zip(&original)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / 784.0;
    assert!(mean_error < 0.05, "mean absolute difference {mean_error}");
    for by_row in [true, false] {
        let (got, want) = (lit_range(input, by_row), lit_range(&original, by_row));
        assert!(
            got.0.abs_diff(want.0) <= 1 && got.1.abs_diff(want.1) <= 1,
            "lit {} {got:?}, the item's {want:?}",
            if by_row { "rows" } else { "columns" }
        );
    }
}
