//! Your own image (section 5): a drawing square (mouse, pen or finger) and a photo (the file
//! button, or a file dropped on the square), made ready and classified (`ui/picture.rs`): each
//! step as a small picture, the ten class probabilities as bars, and the picture through every
//! conv and pool layer in the same grid as the test images'.

use crate::error::During;
use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, document, on, set_text};
use crate::ui::picture::{Answer, PictureInput, Step, MAX_FILE_BYTES};
use crate::ui::{draw, Dispatcher, Panel};
use crate::WebError;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CanvasRenderingContext2d, DragEvent, Element, Event, File, HtmlCanvasElement, HtmlImageElement,
    HtmlInputElement, PointerEvent, Url,
};

const PANEL: &str = "your own image";
/// The ink on the 280-pixel square: about as wide, once scaled to 28 pixels, as the strokes
/// of a Fashion-MNIST item's outline.
const INK_WIDTH: f64 = 18.0;
/// A photo is scaled while it is decoded so that its longest side is at most this: making it
/// ready stays quick, and the 28x28 input loses nothing.
const MAX_SIDE: f64 = 1024.0;
/// The longest side of each step's picture as shown.
const STEP_SIZE: usize = 112;

pub struct PicturePanel {
    status: Element,
    steps: Element,
    probabilities: Element,
    maps: Element,
    /// The picture version and the filter last drawn.
    drawn: Cell<(u64, usize)>,
}

impl PicturePanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let canvas: HtmlCanvasElement = bind(PANEL, "picture-canvas")?;
        let clear: Element = bind(PANEL, "picture-clear")?;
        let file: HtmlInputElement = bind(PANEL, "picture-file")?;
        let panel = PicturePanel {
            status: bind(PANEL, "picture-status")?,
            steps: bind(PANEL, "picture-steps")?,
            probabilities: bind(PANEL, "picture-probabilities")?,
            maps: bind(PANEL, "picture-maps")?,
            drawn: Cell::new((0, usize::MAX)),
        };
        let context = context_2d(&canvas)?;
        blank(&canvas, &context);
        listen_for_ink(dispatcher, &canvas, &context);

        let (d, square, ink) = (dispatcher.clone(), canvas.clone(), context.clone());
        on(&clear, "click", move |_| {
            blank(&square, &ink);
            d.dispatch(Msg::Picture(PictureInput::Cleared));
        });
        let (d, input) = (dispatcher.clone(), file.clone());
        on(&file, "change", move |_| {
            if let Some(picked) = input.files().and_then(|files| files.get(0)) {
                open_file(&d, picked);
            }
            input.set_value("");
        });
        // A file dropped on the square; the page must refuse the default (opening the file).
        on(&canvas, "dragover", |event| event.prevent_default());
        let square = canvas.clone();
        on(&canvas, "dragenter", move |_| {
            let _ = square.class_list().add_1("dropping");
        });
        let square = canvas.clone();
        on(&canvas, "dragleave", move |_| {
            let _ = square.class_list().remove_1("dropping");
        });
        let (d, square) = (dispatcher.clone(), canvas.clone());
        on(&canvas, "drop", move |event| {
            event.prevent_default();
            let _ = square.class_list().remove_1("dropping");
            let dropped = event
                .dyn_ref::<DragEvent>()
                .and_then(DragEvent::data_transfer)
                .and_then(|transfer| transfer.files())
                .and_then(|files| files.get(0));
            if let Some(dropped) = dropped {
                open_file(&d, dropped);
            }
        });
        Ok(panel)
    }
}

fn context_2d(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, WebError> {
    canvas
        .get_context("2d")
        .during("drawing on the picture square")?
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        .ok_or(WebError::Unavailable(
            "this browser gives no 2D canvas to draw on",
        ))
}

/// Black, as a Fashion-MNIST background.
fn blank(canvas: &HtmlCanvasElement, context: &CanvasRenderingContext2d) {
    context.set_fill_style_str("#000");
    context.fill_rect(0.0, 0.0, canvas.width().into(), canvas.height().into());
}

/// The pointer's place on the canvas, in canvas pixels (the square may be shown scaled).
///
/// Read through `Reflect`: web-sys gives `offsetX` only with its `MouseEvent` feature, and a new
/// web-sys feature rebuilds every crate built on web-sys (wgpu among them).
fn canvas_point(canvas: &HtmlCanvasElement, event: &Event) -> (f64, f64) {
    let read = |key: &str| {
        js_sys::Reflect::get(event, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
    (read("offsetX") * scale, read("offsetY") * scale)
}

/// Draws white ink while the pointer is down, and hands the square to the state at most once
/// per animation frame, and once more when the stroke ends.
fn listen_for_ink(
    dispatcher: &Dispatcher,
    canvas: &HtmlCanvasElement,
    context: &CanvasRenderingContext2d,
) {
    let last: Rc<Cell<Option<(f64, f64)>>> = Rc::new(Cell::new(None));
    let scheduled = Rc::new(Cell::new(false));
    let send = {
        let (d, canvas, context, scheduled) = (
            dispatcher.clone(),
            canvas.clone(),
            context.clone(),
            scheduled.clone(),
        );
        Rc::new(move || {
            if scheduled.replace(true) {
                return;
            }
            let (d, canvas, context, scheduled) = (
                d.clone(),
                canvas.clone(),
                context.clone(),
                scheduled.clone(),
            );
            let frame = Closure::once_into_js(move || {
                scheduled.set(false);
                let (width, height) = (canvas.width(), canvas.height());
                if let Ok(image) = context.get_image_data(0.0, 0.0, width.into(), height.into()) {
                    d.dispatch(Msg::Picture(PictureInput::Drawn {
                        width,
                        height,
                        rgba: image.data().0,
                    }));
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.request_animation_frame(frame.unchecked_ref());
            }
        })
    };
    let ink = |context: &CanvasRenderingContext2d, from: (f64, f64), to: (f64, f64)| {
        context.set_stroke_style_str("#fff");
        context.set_line_width(INK_WIDTH);
        context.set_line_cap("round");
        context.set_line_join("round");
        context.begin_path();
        context.move_to(from.0, from.1);
        context.line_to(to.0, to.1);
        context.stroke();
    };

    let (square, context2, down) = (canvas.clone(), context.clone(), last.clone());
    let start = send.clone();
    on(canvas, "pointerdown", move |event| {
        event.prevent_default();
        if let Some(pointer) = event.dyn_ref::<PointerEvent>() {
            let _ = square.set_pointer_capture(pointer.pointer_id());
        }
        let at = canvas_point(&square, event);
        ink(&context2, at, at);
        down.set(Some(at));
        start();
    });
    let (square, context2, moved) = (canvas.clone(), context.clone(), last.clone());
    let more = send.clone();
    on(canvas, "pointermove", move |event| {
        if let Some(from) = moved.get() {
            let to = canvas_point(&square, event);
            ink(&context2, from, to);
            moved.set(Some(to));
            more();
        }
    });
    for end in ["pointerup", "pointercancel"] {
        let (up, last_frame) = (last.clone(), send.clone());
        on(canvas, end, move |_| {
            if up.take().is_some() {
                last_frame();
            }
        });
    }
}

/// Decodes `file` in the browser, scaled to at most [`MAX_SIDE`], and hands its pixels to the
/// state; a file too large, unreadable or not a picture is named with what is wrong.
fn open_file(dispatcher: &Dispatcher, file: File) {
    let d = dispatcher.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let name = file.name();
        let input = match decoded(&file).await {
            Ok((width, height, rgba)) => PictureInput::Opened {
                name,
                width,
                height,
                rgba,
            },
            Err(problem) => PictureInput::Unreadable { name, problem },
        };
        d.dispatch(Msg::Picture(input));
    });
}

async fn decoded(file: &File) -> Result<(u32, u32, Vec<u8>), String> {
    if file.size() > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {:.0} MB; pictures of up to {:.0} MB are read",
            file.size() / 1048576.0,
            MAX_FILE_BYTES / 1048576.0
        ));
    }
    let url = Url::create_object_url_with_blob(file).map_err(|e| WebError::from(e).to_string())?;
    let image = HtmlImageElement::new().map_err(|e| WebError::from(e).to_string())?;
    image.set_src(&url);
    let decoding = wasm_bindgen_futures::JsFuture::from(image.decode()).await;
    let _ = Url::revoke_object_url(&url);
    if decoding.is_err() || image.natural_width() == 0 || image.natural_height() == 0 {
        return Err(
            "the browser cannot read it as a picture: open a PNG, JPEG or WebP file".to_string(),
        );
    }
    let (width, height) = (
        f64::from(image.natural_width()),
        f64::from(image.natural_height()),
    );
    let scale = (MAX_SIDE / width.max(height)).min(1.0);
    let (width, height) = (
        ((width * scale).round() as u32).max(1),
        ((height * scale).round() as u32).max(1),
    );
    let canvas: HtmlCanvasElement = document()
        .create_element("canvas")
        .map_err(|e| WebError::from(e).to_string())?
        .unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    let context = context_2d(&canvas).map_err(|e| e.to_string())?;
    context
        .draw_image_with_html_image_element_and_dw_and_dh(
            &image,
            0.0,
            0.0,
            width.into(),
            height.into(),
        )
        .map_err(|e| WebError::from(e).to_string())?;
    let pixels = context
        .get_image_data(0.0, 0.0, width.into(), height.into())
        .map_err(|e| WebError::from(e).to_string())?;
    Ok((width, height, pixels.data().0))
}

/// A step's picture as grey RGBA bytes.
fn step_rgba(step: &Step) -> Vec<u8> {
    let bytes: Vec<u8> = step
        .pixels
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    draw::grey_rgba(&bytes)
}

fn draw_steps(target: &Element, steps: &[Step]) {
    target.set_inner_html("");
    for step in steps {
        let (width, height) = (step.width as usize, step.height as usize);
        // The longest side is STEP_SIZE: a thin stroke's crop stays in its box.
        let shown_width = if width >= height {
            STEP_SIZE
        } else {
            (STEP_SIZE * width / height.max(1)).max(1)
        };
        let picture = draw::canvas(width, height, &step_rgba(step), shown_width);
        let figure = draw::labelled_figure(
            &picture,
            &format!("{}: {} × {} pixels", step.name, step.width, step.height),
            &format!("{} ({} × {})", step.name, step.width, step.height),
        );
        let _ = target.append_child(&figure);
    }
}

fn probabilities(answer: &Answer) -> String {
    let model = if answer.trained {
        "the trained model"
    } else {
        "the untrained model (random weights): train it for a real answer"
    };
    draw::probability_table(&answer.probabilities, model)
}

impl Panel for PicturePanel {
    fn render(&self, app: &App) {
        let picture = &app.picture;
        set_text(&self.status, &picture.status);
        let wanted = (app.versions.picture, app.maps.filter);
        if self.drawn.replace(wanted) == wanted {
            return;
        }
        draw_steps(&self.steps, &picture.steps);
        match &picture.answer {
            Some(answer) if picture.input.is_some() => {
                self.probabilities.set_inner_html(&probabilities(answer));
                draw::draw_grid(
                    &self.maps,
                    &answer.maps,
                    "",
                    &["your picture".to_string()],
                    app.maps.filter,
                );
            }
            _ => {
                self.probabilities.set_inner_html("");
                self.maps.set_inner_html("");
            }
        }
    }
}
