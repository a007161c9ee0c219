//! A student's own drawing or photo, made into the kind of 28x28 picture Fashion-MNIST holds, so
//! a model trained on Fashion-MNIST can classify it. Fashion-MNIST's authors made each item a
//! light shape on black: product photos on white, trimmed to the item, the longest side scaled
//! to 28 pixels, centred, negated and greyscaled. Every item's brightest pixel is 254 or 255, so
//! the contrast is stretched as well. [`prepare`] does the same steps and keeps each one, so the
//! page can show them.
//!
//! Pixels are `f32` from 0 (black) to 1 (white), as the models read them (bytes / 255).

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma, Rgba, RgbaImage};
use thiserror::Error;

/// The side of the model's input.
pub const SIDE: u32 = 28;

/// The largest picture read: a 4096x4096 one. Bigger photos are scaled down first (the page does
/// it while decoding), which also keeps the steps quick.
pub const MAX_PIXELS: u64 = 4096 * 4096;

/// How far from the background, in the stretched range, a pixel must be to count as the item:
/// below it is photo noise or shading. The same level as a faint edge of a Fashion-MNIST item.
pub const ITEM_LEVEL: f32 = 0.1;

/// A greyscale picture, 0 black to 1 white.
pub type Grey = ImageBuffer<Luma<f32>, Vec<f32>>;

#[derive(Debug, Error)]
pub enum PictureError {
    #[error("the picture is empty ({width}x{height} pixels)")]
    Empty { width: u32, height: u32 },
    #[error(
        "the picture is {width}x{height} pixels, more than the {max} pixels (4096x4096) the lab \
         reads: scale it down first"
    )]
    TooLarge { width: u32, height: u32, max: u64 },
    #[error(
        "{got} bytes of RGBA pixels do not make a {width}x{height} picture, which needs {expected}"
    )]
    BufferSize {
        width: u32,
        height: u32,
        expected: u64,
        got: usize,
    },
    #[error(
        "nothing in the picture stands out from its background: draw or photograph one item on a \
         plain background"
    )]
    NoItem,
    #[error("{file} is not a picture the lab reads (PNG, JPEG or WebP): {source}")]
    Unreadable {
        file: String,
        #[source]
        source: image::ImageError,
    },
}

/// Where the item lies in a picture, in its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Each step from the student's picture to the model's input.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// 1. Greyscale (transparent parts count as white paper).
    pub grey: Grey,
    /// Whether the background was light, so the picture was negated.
    pub inverted: bool,
    /// 2. A light item on black: negated where the background was light, the background
    ///    brought to 0 and the item's brightest pixel to 1.
    pub item_on_black: Grey,
    /// 3. The item's box in `item_on_black`.
    pub bounds: Bounds,
    /// 3. Cropped to that box.
    pub cropped: Grey,
    /// 4. The longest side scaled to 28 pixels (the aspect ratio kept) and centred on black:
    ///    the model's input.
    pub input: Grey,
}

impl Prepared {
    /// The model's input: 28x28 pixels, row by row.
    pub fn pixels(&self) -> &[f32] {
        self.input.as_raw()
    }

    /// The steps in order, with a short name for each (the page labels its thumbnails).
    pub fn steps(&self) -> [(&'static str, &Grey); 4] {
        [
            ("greyscale", &self.grey),
            (
                if self.inverted {
                    "negated, light on black"
                } else {
                    "light on black"
                },
                &self.item_on_black,
            ),
            ("cropped to the item", &self.cropped),
            ("28x28, centred", &self.input),
        ]
    }
}

/// [`prepare`] for RGBA bytes, row by row, as a canvas's `getImageData` gives them.
pub fn prepare_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Result<Prepared, PictureError> {
    check_size(width, height)?;
    let expected = u64::from(width) * u64::from(height) * 4;
    let got = rgba.len();
    let picture = RgbaImage::from_raw(width, height, rgba).ok_or(PictureError::BufferSize {
        width,
        height,
        expected,
        got,
    })?;
    prepare(&picture)
}

/// Reads a PNG, JPEG or WebP file (with the `formats` feature; without it every file is
/// unreadable). `file` names it in errors. Pictures over [`MAX_PIXELS`] are refused before
/// their pixels are decoded.
pub fn decode(file: &str, bytes: &[u8]) -> Result<RgbaImage, PictureError> {
    let unreadable = |source| PictureError::Unreadable {
        file: file.to_string(),
        source,
    };
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| unreadable(image::ImageError::IoError(e)))?;
    let (width, height) = reader.into_dimensions().map_err(unreadable)?;
    check_size(width, height)?;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| unreadable(image::ImageError::IoError(e)))?;
    Ok(reader.decode().map_err(unreadable)?.to_rgba8())
}

fn check_size(width: u32, height: u32) -> Result<(), PictureError> {
    if width == 0 || height == 0 {
        return Err(PictureError::Empty { width, height });
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PictureError::TooLarge {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    Ok(())
}

/// Makes `picture` into the model's input, keeping every step.
pub fn prepare(picture: &RgbaImage) -> Result<Prepared, PictureError> {
    check_size(picture.width(), picture.height())?;

    // 1. Over white paper, then greyscale.
    let mut paper = RgbaImage::from_pixel(
        picture.width(),
        picture.height(),
        Rgba([255, 255, 255, 255]),
    );
    imageops::overlay(&mut paper, picture, 0, 0);
    let grey = image::DynamicImage::ImageRgba8(paper).to_luma32f();

    // 2. The background is what the picture's edge mostly shows: its median.
    let background = median(edge_pixels(&grey));
    let inverted = background > 0.5;
    let lighten = |v: f32| if inverted { 1.0 - v } else { v };
    let background = lighten(background);
    let brightest = grey.pixels().map(|p| lighten(p.0[0])).fold(0.0, f32::max);
    if brightest - background < ITEM_LEVEL {
        return Err(PictureError::NoItem);
    }
    let range = brightest - background;
    let item_on_black = Grey::from_fn(grey.width(), grey.height(), |x, y| {
        Luma([((lighten(grey.get_pixel(x, y).0[0]) - background) / range).clamp(0.0, 1.0)])
    });

    // 3. The box around every pixel that stands out.
    let bounds = item_bounds(&item_on_black).ok_or(PictureError::NoItem)?;
    let cropped = imageops::crop_imm(
        &item_on_black,
        bounds.x,
        bounds.y,
        bounds.width,
        bounds.height,
    )
    .to_image();

    // 4. The longest side to 28, centred; an odd margin puts the extra pixel before the item,
    //    as Fashion-MNIST does.
    let scale = SIDE as f32 / bounds.width.max(bounds.height) as f32;
    let fit = |side: u32| ((side as f32 * scale).round() as u32).clamp(1, SIDE);
    let (width, height) = (fit(bounds.width), fit(bounds.height));
    let scaled = imageops::resize(&cropped, width, height, FilterType::Triangle);
    let mut input = Grey::new(SIDE, SIDE);
    imageops::replace(
        &mut input,
        &scaled,
        i64::from((SIDE - width).div_ceil(2)),
        i64::from((SIDE - height).div_ceil(2)),
    );

    Ok(Prepared {
        grey,
        inverted,
        item_on_black,
        bounds,
        cropped,
        input,
    })
}

/// The outermost ring of pixels.
fn edge_pixels(grey: &Grey) -> Vec<f32> {
    let (width, height) = grey.dimensions();
    grey.enumerate_pixels()
        .filter(|(x, y, _)| *x == 0 || *y == 0 || *x == width - 1 || *y == height - 1)
        .map(|(_, _, p)| p.0[0])
        .collect()
}

fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

/// The smallest box holding every pixel at [`ITEM_LEVEL`] or above; `None` when there is none.
fn item_bounds(item_on_black: &Grey) -> Option<Bounds> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in item_on_black.enumerate_pixels() {
        if p.0[0] >= ITEM_LEVEL {
            found = Some(match found {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    found.map(|(x0, y0, x1, y1)| Bounds {
        x: x0,
        y: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}
