//! The per-epoch loss and accuracy charts (training and validation), drawn with plotters on
//! a `<canvas>`: with 20 epochs the validation curve turning up shows the overfitting.

use convlab_core::EpochMetrics;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

const TRAIN_COLOUR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOUR: RGBColor = RGBColor(255, 127, 14);

/// Which metric a chart shows.
#[derive(Clone, Copy)]
pub enum Metric {
    Loss,
    Accuracy,
}

impl Metric {
    fn title(self) -> &'static str {
        match self {
            Metric::Loss => "loss",
            Metric::Accuracy => "accuracy",
        }
    }

    fn train(self, m: &EpochMetrics) -> f32 {
        match self {
            Metric::Loss => m.loss,
            Metric::Accuracy => m.accuracy,
        }
    }

    fn val(self, m: &EpochMetrics) -> Option<f32> {
        match self {
            Metric::Loss => m.val_loss,
            Metric::Accuracy => m.val_accuracy,
        }
    }
}

/// Draws `metric` per epoch on `canvas`, the x axis spanning the planned `epochs`.
pub fn draw(canvas: HtmlCanvasElement, metric: Metric, history: &[EpochMetrics], epochs: usize) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
        return;
    };
    // A chart that fails to draw leaves the numbers in the epoch log; nothing else to do.
    let _ = draw_on(backend.into_drawing_area(), metric, history, epochs);
}

fn draw_on(
    area: DrawingArea<CanvasBackend, plotters::coord::Shift>,
    metric: Metric,
    history: &[EpochMetrics],
    epochs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    area.fill(&WHITE)?;
    let train: Vec<(f32, f32)> = history
        .iter()
        .map(|m| (m.epoch as f32, metric.train(m)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let val: Vec<(f32, f32)> = history
        .iter()
        .filter_map(|m| Some((m.epoch as f32, metric.val(m)?)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let values = train.iter().chain(&val).map(|&(_, v)| v);
    let (low, high) = match metric {
        Metric::Accuracy => {
            let low = values.fold(1.0f32, f32::min);
            (((low * 10.0).floor() / 10.0).clamp(0.0, 0.9), 1.0)
        }
        Metric::Loss => (0.0, values.fold(0.1f32, f32::max) * 1.1),
    };
    let mut chart = ChartBuilder::on(&area)
        .caption(metric.title(), ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(46)
        .build_cartesian_2d(0.5f32..epochs.max(1) as f32 + 0.5, low..high)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(epochs.clamp(2, 10))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.2}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (series, colour, label) in [
        (&train, TRAIN_COLOUR, metric.title().to_string()),
        (&val, VAL_COLOUR, format!("val_{}", metric.title())),
    ] {
        if series.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(
                series.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        chart.draw_series(
            series
                .iter()
                .map(|&point| Circle::new(point, 3, colour.filled())),
        )?;
    }
    if !train.is_empty() {
        chart
            .configure_series_labels()
            .border_style(BLACK.mix(0.3))
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    area.present()?;
    Ok(())
}
