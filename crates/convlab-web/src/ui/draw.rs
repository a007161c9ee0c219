//! Drawing on canvases: the lab's feature-map figure (rows: test images, columns: conv and pool layers, each cell
//! one filter in the 'inferno' colour map) and the test-image thumbnails, drawn on canvases.

use super::dom::document;
use convlab_core::data::{IMAGE_PIXELS, IMAGE_SIDE};
use convlab_core::{FeatureMaps, CLASS_NAMES};
use maud::{html, Markup};
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement, ImageData};

/// How many screen pixels a feature-map cell takes (the canvas is scaled up, pixelated).
const CELL_SIZE: usize = 84;

/// Colours `values` with inferno, scaled to their own range as matplotlib's `imshow` does.
pub fn inferno_rgba(values: &[f32]) -> Vec<u8> {
    let (low, high) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = if high > low { high - low } else { 1.0 };
    values
        .iter()
        .flat_map(|&v| {
            let t = if v.is_finite() { (v - low) / span } else { 0.0 };
            let c = colorous::INFERNO.eval_continuous(t.clamp(0.0, 1.0) as f64);
            [c.r, c.g, c.b, 255]
        })
        .collect()
}

/// Grey pixels (0 = black) as RGBA.
pub fn grey_rgba(pixels: &[u8]) -> Vec<u8> {
    pixels.iter().flat_map(|&p| [p, p, p, 255]).collect()
}

/// Signed weights as colours: blue below 0, white at 0, red above, full colour at `scale`
/// (the largest magnitude shown), so kernels of one layer compare by colour.
pub fn diverging_rgba(values: &[f32], scale: f32) -> Vec<u8> {
    let scale = if scale > 0.0 { scale } else { 1.0 };
    values
        .iter()
        .flat_map(|&v| {
            let t = (v / scale).clamp(-1.0, 1.0);
            let fade = (255.0 * (1.0 - t.abs())).round() as u8;
            if t >= 0.0 {
                [255, fade, fade, 255]
            } else {
                [fade, fade, 255, 255]
            }
        })
        .collect()
}

/// A canvas of `width` x `height` pixels showing `rgba`, displayed `size` pixels wide.
pub fn canvas(width: usize, height: usize, rgba: &[u8], size: usize) -> HtmlCanvasElement {
    let canvas: HtmlCanvasElement = document()
        .create_element("canvas")
        .expect("creating a canvas cannot fail")
        .unchecked_into();
    canvas.set_width(width as u32);
    canvas.set_height(height as u32);
    let _ = canvas.set_attribute(
        "style",
        &format!("width:{size}px;height:{}px", size * height / width.max(1)),
    );
    let context = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok());
    if let (Some(context), Ok(image)) = (
        context,
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32),
    ) {
        let _ = context.put_image_data(&image, 0.0, 0.0);
    }
    canvas
}

fn element(tag: &str, text: Option<&str>) -> Element {
    let e = document()
        .create_element(tag)
        .expect("creating an element cannot fail");
    e.set_text_content(text);
    e
}

/// A figure of `picture` over its `caption`; the picture is an image to screen readers, read
/// out as `description` (a canvas alone says nothing).
pub fn labelled_figure(picture: &HtmlCanvasElement, description: &str, caption: &str) -> Element {
    let _ = picture.set_attribute("role", "img");
    let _ = picture.set_attribute("aria-label", description);
    let figure = element("figure", None);
    let _ = figure.append_child(picture);
    let _ = figure.append_child(&element("figcaption", Some(caption)));
    figure
}

/// The maps grid's row heading for test image `image` of class `label`.
pub fn test_image_heading(image: usize, label: Option<u8>) -> String {
    match label {
        Some(l) => format!("#{image}: {}", CLASS_NAMES[l as usize]),
        None => format!("#{image}"),
    }
}

/// A feature map in words, for screen readers: its size, its range and where it is strongest.
pub fn describe_map(values: &[f32], width: usize) -> String {
    let width = width.max(1);
    let height = values.len() / width;
    let strongest = (0..values.len()).max_by(|&a, &b| values[a].total_cmp(&values[b]));
    let (low, high) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    match strongest {
        Some(at) => format!(
            "{width}×{height} activations from {low:.2} to {high:.2}, strongest at row {}, column {}",
            at / width + 1,
            at % width + 1
        ),
        None => "no activations".to_string(),
    }
}

/// Replaces `target`'s children with a table: one row per image (headed `rows`, under
/// `corner`), one column per layer, each cell filter `filter` of that layer.
pub fn draw_grid(
    target: &Element,
    maps: &[FeatureMaps],
    corner: &str,
    rows: &[String],
    filter: usize,
) {
    let table = element("table", None);
    let head = element("tr", None);
    let _ = head.append_child(&element("th", Some(corner)));
    for m in maps {
        let _ = head.append_child(&element(
            "th",
            Some(&format!(
                "{} ({}×{}×{})",
                m.name, m.height, m.width, m.channels
            )),
        ));
    }
    let _ = table.append_child(&head);
    for (row, heading) in rows.iter().enumerate() {
        let tr = element("tr", None);
        let _ = tr.append_child(&element("th", Some(heading)));
        for m in maps {
            let td = element("td", None);
            if filter < m.channels {
                let cell = canvas(
                    m.width,
                    m.height,
                    &inferno_rgba(m.channel(row, filter)),
                    CELL_SIZE,
                );
                let _ = cell.set_attribute("data-layer", &m.name);
                let _ = cell.set_attribute("title", &format!("{} filter {filter}", m.name));
                let _ = cell.set_attribute("role", "img");
                let _ = cell.set_attribute(
                    "aria-label",
                    &format!(
                        "{heading}, {} filter {filter}: {}",
                        m.name,
                        describe_map(m.channel(row, filter), m.width)
                    ),
                );
                let _ = td.append_child(&cell);
            } else {
                td.set_text_content(Some(&format!("{} has {} filters", m.name, m.channels)));
            }
            let _ = tr.append_child(&td);
        }
        let _ = table.append_child(&tr);
    }
    target.set_inner_html("");
    let _ = target.append_child(&table);
}

/// Every filter of one layer for one image (row `row` of the maps).
pub fn draw_all_filters(target: &Element, map: &FeatureMaps, row: usize) {
    target.set_inner_html("");
    if row >= map.images {
        return;
    }
    for filter in 0..map.channels {
        let cell = canvas(
            map.width,
            map.height,
            &inferno_rgba(map.channel(row, filter)),
            56,
        );
        let description = format!(
            "{} filter {filter}: {}",
            map.name,
            describe_map(map.channel(row, filter), map.width)
        );
        let figure = labelled_figure(&cell, &description, &filter.to_string());
        let _ = target.append_child(&figure);
    }
}

/// The test images as thumbnails, each with its label and class name.
pub fn draw_samples(target: &Element, pixels: &[u8], labels: &[u8]) {
    target.set_inner_html("");
    for (i, (image, &label)) in pixels.chunks(IMAGE_PIXELS).zip(labels).enumerate() {
        let figure = element("figure", None);
        let _ = figure.set_attribute(
            "title",
            &format!("test image {i}: {}", CLASS_NAMES[label as usize]),
        );
        let _ = figure.append_child(&canvas(IMAGE_SIDE, IMAGE_SIDE, &grey_rgba(image), 42));
        let caption = element("figcaption", None);
        caption.set_inner_html(&html! { (i) ": " b { (label) } }.into_string());
        let _ = figure.append_child(&caption);
        let _ = target.append_child(&figure);
    }
}

/// Options for a `<select>` from `(value, label)` pairs.
pub fn options(choices: impl IntoIterator<Item = (String, String)>, selected: &str) -> Markup {
    html! {
        @for (value, label) in choices {
            option value=(value) selected[value == selected] { (label) }
        }
    }
}

/// The ten class probabilities as a verdict ("Ankle boot, 97.1%, says `said_by`.") and a table
/// of bars; the figures are in the table, so a screen reader reads them.
pub fn probability_table(probabilities: &[f32], said_by: &str) -> String {
    let best =
        (0..probabilities.len()).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    html! {
        @if let Some(best) = best {
            p.verdict {
                b { (CLASS_NAMES[best]) } ", "
                (format!("{:.1}%", probabilities[best] * 100.0))
                ", says " (said_by) "."
            }
        }
        table.probabilities {
            caption { "Class probabilities" }
            @for (class, p) in probabilities.iter().enumerate() {
                tr.top[Some(class) == best] {
                    th scope="row" { (CLASS_NAMES[class]) }
                    td.bar { meter min="0" max="1" value=(p) aria-hidden="true" {} }
                    td { (format!("{:.1}%", p * 100.0)) }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inferno_spans_dark_to_bright() {
        let rgba = inferno_rgba(&[0.0, 0.5, 1.0]);
        assert_eq!(rgba.len(), 12);
        let brightness =
            |i: usize| rgba[i * 4] as u32 + rgba[i * 4 + 1] as u32 + rgba[i * 4 + 2] as u32;
        assert!(brightness(0) < 60, "inferno starts near black");
        assert!(brightness(2) > 500, "and ends near white-yellow");
        assert!(brightness(0) < brightness(1) && brightness(1) < brightness(2));
    }

    #[test]
    fn weights_are_blue_white_red() {
        let rgba = diverging_rgba(&[-2.0, -1.0, 0.0, 1.0, 0.5, f32::NAN], 1.0);
        let pixels: Vec<&[u8]> = rgba.chunks(4).collect();
        assert_eq!(pixels[0], [0, 0, 255, 255], "clamped to full blue");
        assert_eq!(pixels[1], [0, 0, 255, 255]);
        assert_eq!(pixels[2], [255, 255, 255, 255]);
        assert_eq!(pixels[3], [255, 0, 0, 255]);
        assert_eq!(pixels[4], [255, 128, 128, 255]);
        assert_eq!(pixels.len(), 6);
        // All-zero kernels (scale 0) are white, not NaN.
        assert_eq!(diverging_rgba(&[0.0], 0.0), [255, 255, 255, 255]);
    }

    #[test]
    fn a_map_is_described_in_words() {
        let map = [0.0, 0.5, 0.25, 2.0, 1.0, 0.0];
        assert_eq!(
            describe_map(&map, 3),
            "3×2 activations from 0.00 to 2.00, strongest at row 2, column 1"
        );
        assert_eq!(describe_map(&[], 3), "no activations");
    }

    #[test]
    fn a_flat_map_is_drawn_not_divided_by_zero() {
        let rgba = inferno_rgba(&[0.3; 4]);
        assert!(rgba.chunks(4).all(|p| p == &rgba[..4]));
    }
}
