//! The per-epoch loss and accuracy charts (training and validation), drawn with plotters on
//! a `<canvas>`: with 20 epochs the validation curve turning up shows the overfitting.

use convlab_core::EpochMetrics;
use plotters::coord::types::RangedCoordf32;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
    let mut chart = epoch_chart(&area, metric.title().to_string(), metric, epochs, values)?;
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

/// A chart of `metric` per epoch (1 to `epochs`), its y axis fitted to `values`.
fn epoch_chart<'a>(
    area: &'a DrawingArea<CanvasBackend, plotters::coord::Shift>,
    caption: String,
    metric: Metric,
    epochs: usize,
    values: impl Iterator<Item = f32>,
) -> Result<
    ChartContext<'a, CanvasBackend, Cartesian2d<RangedCoordf32, RangedCoordf32>>,
    Box<dyn std::error::Error>,
> {
    let (low, high) = match metric {
        Metric::Accuracy => {
            let low = values.fold(1.0f32, f32::min);
            (((low * 10.0).floor() / 10.0).clamp(0.0, 0.9), 1.0)
        }
        Metric::Loss => (0.0, values.fold(0.1f32, f32::max) * 1.1),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
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
    Ok(chart)
}

/// One colour per compared run (matplotlib's tab10), repeating after ten.
const RUN_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A run on a comparison chart: its label and its epochs.
pub struct ComparedRun<'a> {
    pub label: String,
    pub history: &'a [EpochMetrics],
}

/// `metric` per epoch of several runs on one chart: a colour per run, the training curve
/// solid and the validation curve (when the run had one) dashed.
pub fn draw_compared(canvas: HtmlCanvasElement, metric: Metric, runs: &[ComparedRun]) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
        return;
    };
    // A chart that fails to draw leaves the figures in the history table.
    let _ = compared_on(backend.into_drawing_area(), metric, runs);
}

fn compared_on(
    area: DrawingArea<CanvasBackend, plotters::coord::Shift>,
    metric: Metric,
    runs: &[ComparedRun],
) -> Result<(), Box<dyn std::error::Error>> {
    area.fill(&WHITE)?;
    let epochs = runs.iter().map(|r| r.history.len()).max().unwrap_or(1);
    let values = runs.iter().flat_map(|r| {
        r.history
            .iter()
            .flat_map(move |m| [Some(metric.train(m)), metric.val(m)])
            .flatten()
            .filter(|v| v.is_finite())
    });
    let caption = format!("{} of the compared runs", metric.title());
    let mut chart = epoch_chart(&area, caption, metric, epochs, values)?;
    for (i, run) in runs.iter().enumerate() {
        let colour = RUN_COLOURS[i % RUN_COLOURS.len()];
        let train: Vec<(f32, f32)> = run
            .history
            .iter()
            .map(|m| (m.epoch as f32, metric.train(m)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        let val: Vec<(f32, f32)> = run
            .history
            .iter()
            .filter_map(|m| Some((m.epoch as f32, metric.val(m)?)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(
                train.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(run.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        chart.draw_series(train.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        if !val.is_empty() {
            chart.draw_series(DashedLineSeries::new(
                val.iter().copied(),
                6,
                4,
                colour.stroke_width(2),
            ))?;
        }
    }
    if !runs.is_empty() {
        chart
            .configure_series_labels()
            // Away from the curves: loss falls to the bottom, accuracy rises to the top.
            .position(match metric {
                Metric::Loss => SeriesLabelPosition::UpperRight,
                Metric::Accuracy => SeriesLabelPosition::LowerRight,
            })
            .border_style(BLACK.mix(0.3))
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    area.present()?;
    Ok(())
}

/// A run on the scatter: its label, seconds per epoch and test accuracy.
pub struct RunPoint {
    pub label: String,
    pub seconds_per_epoch: f64,
    pub test_accuracy: f32,
    /// Chosen for comparison: drawn larger and in its comparison colour.
    pub colour: Option<usize>,
}

/// Test accuracy against seconds per epoch, each run a labelled point: the lab's "what impact
/// on accuracy and training time?" as one picture.
pub fn draw_scatter(canvas: HtmlCanvasElement, points: &[RunPoint]) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
        return;
    };
    let _ = scatter_on(backend.into_drawing_area(), points);
}

fn scatter_on(
    area: DrawingArea<CanvasBackend, plotters::coord::Shift>,
    points: &[RunPoint],
) -> Result<(), Box<dyn std::error::Error>> {
    area.fill(&WHITE)?;
    let slowest = points
        .iter()
        .map(|p| p.seconds_per_epoch)
        .fold(0.1f64, f64::max);
    // A margin of 0.02 around the points, on steps of 0.05, so no point sits on an edge.
    let lowest = points
        .iter()
        .map(|p| p.test_accuracy)
        .fold(1.0f32, f32::min);
    let highest = points
        .iter()
        .map(|p| p.test_accuracy)
        .fold(0.0f32, f32::max);
    let low = (((lowest - 0.02) * 20.0).floor() / 20.0).clamp(0.0, 0.95);
    let high = (((highest + 0.02) * 20.0).ceil() / 20.0).clamp(low + 0.05, 1.0);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            "test accuracy against seconds per epoch",
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(46)
        // Room on the right for the slowest run's label, where it fits.
        .build_cartesian_2d(0f64..slowest * 1.6, low..high)?;
    chart
        .configure_mesh()
        .x_desc("seconds per epoch")
        .y_desc("test accuracy")
        .y_label_formatter(&|y| format!("{y:.2}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    // A label that would run past the plot's right edge goes on its point's left.
    let font = TextStyle::from(("sans-serif", 11).into_font());
    let right_edge = chart.plotting_area().get_pixel_range().0.end;
    let labels: Vec<((i32, i32), TextStyle)> = points
        .iter()
        .map(|p| {
            let x = chart
                .backend_coord(&(p.seconds_per_epoch, p.test_accuracy))
                .0;
            let width = area
                .estimate_text_size(&p.label, &font)
                .map_or(0, |(width, _)| width as i32);
            if x + 6 + width > right_edge {
                ((-6, -12), font.pos(Pos::new(HPos::Right, VPos::Top)))
            } else {
                ((6, -12), font.clone())
            }
        })
        .collect();
    chart.draw_series(points.iter().zip(labels).map(|(p, (at, style))| {
        let (colour, size) = match p.colour {
            Some(i) => (RUN_COLOURS[i % RUN_COLOURS.len()], 5),
            None => (RGBColor(90, 90, 90), 3),
        };
        EmptyElement::at((p.seconds_per_epoch, p.test_accuracy))
            + Circle::new((0, 0), size, colour.filled())
            + Text::new(p.label.clone(), at, style)
    }))?;
    area.present()?;
    Ok(())
}
