//! PNG pictures of a training run (plotters, bitmap backend). Text is drawn with the DejaVu Sans
//! font compiled into the binary (plotters' `ab_glyph` renderer), so no system fonts are needed.
//!
//! Pictures of a run folder: `loss.png` (loss per iteration with a smoothed line),
//! `accuracy.png` (train/validation accuracy per epoch), `weights.png` (first-layer weights as
//! 28x28 tiles, like the homework's `visualize_grid`), `samples.png` (test digits with
//! predicted/true labels, mistakes in red) and `confusion.png` (test-set confusion matrix).
//! The homework replay adds `lr_comparison.png` (fixed learning rate against decay).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, ensure, Context};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;
use serde::Deserialize;

use crate::data::mnist::{self, CLASSES, COLS, PIXELS, ROWS};
use crate::train::checkpoint::Checkpoint;
use crate::train::describe::settings_line;
use crate::train::trainer::{Extras, TrainConfig, TrainStats};

/// Pixel sizes of the pictures (width, height).
pub const LOSS_SIZE: (u32, u32) = (1000, 600);
pub const ACCURACY_SIZE: (u32, u32) = (1000, 600);
pub const COMPARISON_SIZE: (u32, u32) = (1000, 1100);
pub const WEIGHTS_SIZE: (u32, u32) = (1040, 1100);
pub const SAMPLES_SIZE: (u32, u32) = (960, 830);
pub const CONFUSION_SIZE: (u32, u32) = (860, 860);

/// File names `write_run_pictures` writes, in order.
pub const RUN_PICTURES: [&str; 5] = [
    "loss.png",
    "accuracy.png",
    "weights.png",
    "samples.png",
    "confusion.png",
];

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub(crate) const FONT: &str = "sans-serif";

pub(crate) type DrawResult = Result<(), Box<dyn Error>>;
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Register the bundled font with plotters once per process.
fn ensure_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    ensure!(
        ok,
        "the bundled font host/assets/DejaVuSans.ttf did not load"
    );
    Ok(())
}

pub(crate) fn draw_png(
    path: &Path,
    size: (u32, u32),
    f: impl FnOnce(&Area<'_>) -> DrawResult,
) -> anyhow::Result<PathBuf> {
    ensure_font()?;
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    let result = (|| -> DrawResult {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE)?;
        f(&root)?;
        root.present()?;
        Ok(())
    })();
    result.map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
    write_png(path, size, &rgb).with_context(|| format!("writing {}", path.display()))?;
    Ok(path.to_owned())
}

/// plotters draws into memory; the `png` crate encodes (plotters' own encoder would pull in
/// the whole `image` crate, a quarter of the host's first build).
fn write_png(path: &Path, (width, height): (u32, u32), rgb: &[u8]) -> anyhow::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(())
}

/// What `metrics.json` (written by `host train`) holds that the pictures need.
#[derive(Debug, Deserialize)]
pub struct RunMetrics {
    pub hidden: usize,
    pub val_acc: f64,
    pub test_acc: f64,
    /// Test accuracy of the run's int8 export (absent when it wrote none).
    #[serde(default)]
    pub int8_test_acc: Option<f64>,
    /// Epochs the run made (fractional for an `--iters` run).
    #[serde(default)]
    pub epochs: Option<f64>,
    /// The MNIST folder the run was trained on (absent in runs written before it was recorded).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    pub settings: SettingsView,
    pub stats: TrainStats,
}

#[derive(Debug, Deserialize)]
pub struct SettingsView {
    pub hidden: usize,
    pub seed: u32,
    pub train: TrainConfig,
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Absent in runs written before the extras were recorded: those were plain SGD runs.
    #[serde(default)]
    pub extras: Extras,
}

impl RunMetrics {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not the metrics.json of a `host train` run",
                path.display()
            )
        })
    }
}

/// What the pictures of one trained net are drawn from.
pub struct RunView<'a> {
    /// Settings line shown under the titles.
    pub subtitle: String,
    pub stats: &'a TrainStats,
    pub checkpoint: &'a Checkpoint,
    /// Raw test pixels (n x 784) and labels.
    pub test_images: &'a [u8],
    pub test_labels: &'a [u8],
    /// Epochs the run made: where the final evaluation sits on the accuracy chart.
    pub epochs: f64,
    /// The final evaluation of the trained net, drawn at the end of the accuracy chart.
    pub final_acc: Option<FinalAccuracy>,
    /// Classes the int8 model (the one the chip runs) predicts for the test images, when the
    /// run exported one: the confusion matrix and the samples then show that model.
    pub int8_classes: Option<Vec<u8>>,
}

/// Accuracies of the finished run.
#[derive(Clone, Copy, Debug)]
pub struct FinalAccuracy {
    pub val: f64,
    pub test: f64,
    pub int8_test: Option<f64>,
}

/// Read `model.ckpt` and `metrics.json` from `run_dir`, load the MNIST folder `data_dir` (by
/// default the one named in metrics.json), and write the run's pictures into `run_dir`.
/// Returns the files written.
pub fn write_run_pictures(run_dir: &Path, data_dir: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    ensure!(
        run_dir.is_dir(),
        "run folder {} does not exist (give a folder written by `host train`)",
        run_dir.display()
    );
    let metrics = RunMetrics::load(&run_dir.join("metrics.json"))?;
    let ckpt = Checkpoint::load(&run_dir.join("model.ckpt"))?;
    ensure!(
        ckpt.hidden == metrics.hidden,
        "{}: model.ckpt has {} hidden units but metrics.json says {}",
        run_dir.display(),
        ckpt.hidden,
        metrics.hidden
    );
    let data = match (data_dir, &metrics.data_dir) {
        (Some(d), _) => d.to_owned(),
        (None, Some(d)) => d.clone(),
        (None, None) => mnist::default_data_dir(),
    };
    let raw = mnist::load_raw(&data).with_context(|| {
        format!(
            "loading the MNIST test set for the pictures from {} (use --data to point elsewhere)",
            data.display()
        )
    })?;
    let int8_classes = int8_classes_of(&run_dir.join("model.postcard"), &raw.test_images)?;
    let epochs = metrics
        .epochs
        .unwrap_or(metrics.stats.val_acc_history.len() as f64);
    let view = RunView {
        subtitle: settings_line(
            metrics.hidden,
            &metrics.settings.train,
            &metrics.settings.extras,
        ),
        stats: &metrics.stats,
        checkpoint: &ckpt,
        test_images: &raw.test_images,
        test_labels: &raw.test_labels,
        epochs,
        final_acc: Some(FinalAccuracy {
            val: metrics.val_acc,
            test: metrics.test_acc,
            int8_test: metrics.int8_test_acc,
        }),
        int8_classes,
    };
    write_pictures(run_dir, &view)
}

/// The classes the model file at `path` predicts for `images`, or `None` when there is no
/// such file (a run without an int8 export).
fn int8_classes_of(path: &Path, images: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let model = model_format::Model::from_bytes(&bytes)
        .map_err(|e| anyhow!("{}: not a model file: {e}", path.display()))?;
    Ok(Some(crate::quantize::int8_classes(&model, images)))
}

/// Write the five run pictures of `view` into `dir`.
pub fn write_pictures(dir: &Path, view: &RunView<'_>) -> anyhow::Result<Vec<PathBuf>> {
    let ckpt = view.checkpoint;
    ensure!(
        ckpt.input == PIXELS && ckpt.classes == CLASSES,
        "pictures need an MNIST net (784 inputs, 10 classes), this one is {}-{}-{}",
        ckpt.input,
        ckpt.hidden,
        ckpt.classes
    );
    ensure!(
        view.test_images.len() == view.test_labels.len() * PIXELS,
        "{} test images but {} labels",
        view.test_images.len() / PIXELS,
        view.test_labels.len()
    );
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (preds, which) = match &view.int8_classes {
        Some(c) => (c.clone(), "int8 model (as on the chip)"),
        None => (predict_all(ckpt, view.test_images), "float model"),
    };
    let [loss, acc, weights, samples, confusion] = RUN_PICTURES.map(|n| dir.join(n));
    let sub = &view.subtitle;
    Ok(vec![
        draw_png(&loss, LOSS_SIZE, |root| {
            loss_panel(
                root,
                "Training loss",
                sub,
                &[("loss", &view.stats.loss_history, BLUE)],
            )
        })?,
        draw_png(&acc, ACCURACY_SIZE, |root| {
            accuracy_panel(
                root,
                "Classification accuracy after each epoch",
                sub,
                &[
                    ("train (minibatch)", &view.stats.train_acc_history, RED),
                    ("validation", &view.stats.val_acc_history, BLUE),
                ],
                AccuracyAxis::AfterEachEpoch {
                    epochs: view.epochs,
                    finals: view.final_acc,
                },
            )
        })?,
        draw_png(&weights, weights_size(ckpt.hidden), |root| {
            weights_picture(root, ckpt)
        })?,
        draw_png(&samples, SAMPLES_SIZE, |root| {
            samples_picture(root, view.test_images, view.test_labels, &preds, which)
        })?,
        draw_png(&confusion, CONFUSION_SIZE, |root| {
            confusion_picture(root, &confusion_matrix(view.test_labels, &preds), which)
        })?,
    ])
}

/// The homework's section-9 chart: loss of the fixed-LR and the LR-decay run on one panel,
/// their train/validation accuracies on a second.
pub fn write_lr_comparison(
    path: &Path,
    fixed: &TrainStats,
    decay: &TrainStats,
    subtitle: &str,
) -> anyhow::Result<PathBuf> {
    draw_png(path, COMPARISON_SIZE, |root| {
        let (top, bottom) = root.split_vertically(COMPARISON_SIZE.1 / 2);
        loss_panel(
            &top,
            "Loss history: fixed learning rate vs learning-rate decay",
            subtitle,
            &[
                ("with fixed LR", &fixed.loss_history, RED),
                ("with LR decay", &decay.loss_history, BLUE),
            ],
        )?;
        accuracy_panel(
            &bottom,
            "Classification accuracy history",
            "train = accuracy on the current minibatch, as the homework records it",
            &[
                (
                    "train, fixed LR",
                    &fixed.train_acc_history,
                    RGBColor(240, 150, 150),
                ),
                ("val, fixed LR", &fixed.val_acc_history, RED),
                (
                    "train, LR decay",
                    &decay.train_acc_history,
                    RGBColor(150, 170, 240),
                ),
                ("val, LR decay", &decay.val_acc_history, BLUE),
            ],
            AccuracyAxis::HomeworkRecords,
        )
    })
}

/// Centred moving average with an odd window (shrunk at the ends); `window` <= 1 copies.
pub fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    let mut prefix = Vec::with_capacity(values.len() + 1);
    prefix.push(0.0);
    for v in values {
        prefix.push(prefix.last().unwrap() + v);
    }
    (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            (prefix[hi] - prefix[lo]) / (hi - lo) as f64
        })
        .collect()
}

/// Smoothing window for a history of `n` values: about 2 % of it, odd.
fn smoothing_window(n: usize) -> usize {
    (n / 50).max(1) | 1
}

pub(crate) fn title_area<'a>(
    area: &Area<'a>,
    title: &str,
    subtitle: &str,
) -> Result<Area<'a>, Box<dyn Error>> {
    let (w, _) = area.dim_in_pixel();
    let (head, body) = area.split_vertically(62);
    let center = |y: i32, size: f64, text: &str| -> DrawResult {
        let style =
            TextStyle::from((FONT, size).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ));
        head.draw_text(text, &style, (w as i32 / 2, y))?;
        Ok(())
    };
    center(8, fitting_size(&head, title, 24.0, w)?, title)?;
    center(38, fitting_size(&head, subtitle, 16.0, w)?, subtitle)?;
    Ok(body)
}

/// The largest font size up to `size` (down to 60 % of it) at which `text` fits `width` with
/// a margin: an AdamW run with every extra has a settings line wider than the picture.
fn fitting_size(area: &Area<'_>, text: &str, size: f64, width: u32) -> Result<f64, Box<dyn Error>> {
    let room = width.saturating_sub(24);
    let mut s = size;
    while s > size * 0.6 {
        let (w, _) = area.estimate_text_size(text, &TextStyle::from((FONT, s).into_font()))?;
        if w <= room {
            break;
        }
        s -= 0.5;
    }
    Ok(s)
}

/// Every finite value of every series (a diverged run's NaN or inf must not set an axis).
fn finite_values<'a>(series: &'a [(&str, &[f64], RGBColor)]) -> impl Iterator<Item = f64> + 'a {
    series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .filter(|v| v.is_finite())
}

fn loss_panel(
    area: &Area<'_>,
    title: &str,
    subtitle: &str,
    series: &[(&str, &[f64], RGBColor)],
) -> DrawResult {
    let body = title_area(area, title, subtitle)?;
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(0).max(2);
    // A log axis: the loss falls by an order of magnitude in the first few hundred
    // iterations, and a linear axis squashes everything after them onto the floor.
    let positive = || finite_values(series).filter(|&v| v > 0.0);
    let hi = positive().fold(f64::MIN_POSITIVE, f64::max) * 1.3;
    let lo = positive().fold(hi, f64::min) / 1.3;
    let lo = if lo < hi { lo } else { hi / 10.0 };
    let mut chart = ChartBuilder::on(&body)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(n - 1) as f64, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(210, 210, 210))
        .x_desc("Iteration")
        .y_desc("Loss (log scale)")
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .x_labels(10)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|&v| fmt_tick(v))
        .draw()?;
    let on_axis = |(i, v): (usize, f64)| (v > 0.0 && v.is_finite()).then_some((i as f64, v));
    for &(name, values, color) in series {
        let w = smoothing_window(values.len());
        let raw = values.iter().copied().enumerate().filter_map(on_axis);
        // Tens of thousands of faint segments overlap into a solid band that hides the
        // average: fade them further the longer the run.
        let faint = 0.25 * (2_000.0 / values.len().max(1) as f64).clamp(0.15, 1.0);
        chart.draw_series(LineSeries::new(raw, color.mix(faint)))?;
        let smoothed = smooth(values, w);
        chart
            .draw_series(LineSeries::new(
                smoothed.into_iter().enumerate().filter_map(on_axis),
                color.stroke_width(3),
            ))?
            .label(format!("{name}: moving average of {w}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
    }
    // A legend entry for the faint lines, which carry no label of their own.
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label("faint: every iteration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.mix(0.3)));
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// A loss tick: enough digits to tell 0.02 from 0.03, no more.
fn fmt_tick(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// What the points of an accuracy chart are.
#[derive(Clone, Copy)]
enum AccuracyAxis {
    /// The homework's records as they are: record k at epoch k, record 0 after one step.
    HomeworkRecords,
    /// A training run: record k (k >= 1) is the net after k epochs (plus the one step the
    /// homework's check comes after), the untrained record 0 is left out, and the final
    /// evaluation is drawn at `epochs`.
    AfterEachEpoch {
        epochs: f64,
        finals: Option<FinalAccuracy>,
    },
}

fn accuracy_panel(
    area: &Area<'_>,
    title: &str,
    subtitle: &str,
    series: &[(&str, &[f64], RGBColor)],
    axis: AccuracyAxis,
) -> DrawResult {
    let body = title_area(area, title, subtitle)?;
    let skip = match axis {
        AccuracyAxis::HomeworkRecords => 0,
        AccuracyAxis::AfterEachEpoch { .. } => 1,
    };
    let points = |values: &[f64]| -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .skip(skip)
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as f64, v))
            .collect()
    };
    let mut finals: Vec<(String, f64, f64, RGBColor)> = Vec::new();
    let mut last_x = series
        .iter()
        .map(|s| s.1.len().saturating_sub(1))
        .max()
        .unwrap_or(0) as f64;
    if let AccuracyAxis::AfterEachEpoch {
        epochs,
        finals: Some(f),
    } = axis
    {
        last_x = last_x.max(epochs);
        finals.push((
            format!("final: validation {:.4}", f.val),
            epochs,
            f.val,
            BLUE,
        ));
        finals.push((
            format!("final: test {:.4}", f.test),
            epochs,
            f.test,
            RGBColor(0, 150, 70),
        ));
        if let Some(q) = f.int8_test {
            finals.push((
                format!("final: int8 test (the chip) {q:.4}"),
                epochs,
                q,
                RGBColor(140, 60, 170),
            ));
        }
    }
    let plotted: Vec<f64> = series
        .iter()
        .flat_map(|s| points(s.1))
        .map(|p| p.1)
        .chain(finals.iter().map(|f| f.2))
        .collect();
    // Zoom on the band the points span (to the next 0.01 outside them): the interesting part
    // of a good run is 0.96-0.99, which a 0-1 axis draws flat.
    let lo = plotted.iter().copied().fold(1.0, f64::min);
    let hi = plotted.iter().copied().fold(0.0, f64::max);
    let lo = (((lo - 0.005) * 100.0).floor() / 100.0).clamp(0.0, 0.99);
    let hi = (((hi + 0.005) * 100.0).ceil() / 100.0).clamp(lo + 0.01, 1.0);
    let first = skip as f64;
    let x = first - 0.3..last_x + 0.3;
    let ticks = (last_x - first) as usize + 1;
    let mut chart = line_chart(&body, x, lo..hi, ("Epoch", "Accuracy"), ticks.min(20))?;
    for &(name, values, color) in series {
        let pts = points(values);
        chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?
            .label(name)
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-12, 0), (12, 0)], color.stroke_width(2))
                    + Circle::new((0, 0), 4, color.filled())
            });
    }
    for (label, x, y, color) in finals {
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                (x, y),
                9,
                color.filled(),
            )))?
            .label(label)
            .legend(move |(x, y)| TriangleMarker::new((x, y), 7, color.filled()));
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}

type LineChart<'a> =
    ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The house style of every line chart: light grid, axis names, two-decimal y labels.
fn line_chart<'a>(
    body: &Area<'a>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
    x_labels: usize,
) -> Result<LineChart<'a>, Box<dyn Error>> {
    let mut chart = ChartBuilder::on(body)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(210, 210, 210))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .x_labels(x_labels)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.3}"))
        .draw()?;
    Ok(chart)
}

pub(crate) fn draw_legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Tiles per row for `hidden` weight tiles: the fewest empty cells, then the width nearest
/// 1.2 x sqrt(hidden) (a little wider than square suits the page). 128 -> 16 x 8,
/// 200 -> 20 x 10, 512 -> 32 x 16.
pub fn weight_grid_columns(hidden: usize) -> usize {
    let root = (hidden.max(1) as f64).sqrt();
    let lo = ((root * 0.8).floor() as usize).max(1);
    let hi = ((root * 1.6).ceil() as usize).min(hidden.max(1));
    (lo..=hi)
        .min_by(|&a, &b| {
            let empty = |c: usize| hidden.div_ceil(c) * c - hidden;
            let off = |c: usize| (c as f64 - 1.2 * root).abs();
            empty(a).cmp(&empty(b)).then(off(a).total_cmp(&off(b)))
        })
        .unwrap_or(1)
}

/// The weight shown white (and its negative black): the 99.9th percentile of |W1|. A handful
/// of large weights would otherwise set the scale and leave every tile a flat grey.
pub fn weight_scale(w1: &[f32]) -> f32 {
    let mut a: Vec<f32> = w1
        .iter()
        .filter(|w| w.is_finite())
        .map(|w| w.abs())
        .collect();
    if a.is_empty() {
        return 0.0;
    }
    let k = ((a.len() - 1) as f64 * 0.999).round() as usize;
    *a.select_nth_unstable_by(k, f32::total_cmp).1
}

/// W1 as a grid of 28x28 tiles, one per hidden unit, `cols` tiles a row, `padding` white
/// pixels between them; empty cells stay white. Every tile shares ONE scale, symmetric about
/// zero: 0 -> mid grey (128), +s -> white, -s -> black (s = [`weight_scale`], beyond it
/// clipped), so tiles compare with
/// each other and the background of every tile is the same grey (the homework scales each
/// tile to its own range, which makes a unit with small weights look as strong as any).
/// Returns (width, height, grey pixels row-major).
pub fn weight_grid(ckpt: &Checkpoint, padding: usize, cols: usize) -> (usize, usize, Vec<u8>) {
    let h = ckpt.hidden;
    let cols = cols.clamp(1, h.max(1));
    let rows = h.div_ceil(cols);
    let side = |n: usize, tile: usize| n * tile + padding * n.saturating_sub(1);
    let (width, height) = (side(cols, COLS), side(rows, ROWS));
    let mut out = vec![255u8; width * height];
    let max_abs = weight_scale(&ckpt.w1);
    for j in 0..h {
        let (gy, gx) = (j / cols, j % cols);
        let (y0, x0) = (gy * (ROWS + padding), gx * (COLS + padding));
        for r in 0..ROWS {
            for c in 0..COLS {
                let v = ckpt.w1[(r * COLS + c) * h + j];
                let g = if max_abs > 0.0 && v.is_finite() {
                    127.5 + 127.5 * v / max_abs
                } else {
                    127.5
                };
                out[(y0 + r) * width + x0 + c] = g.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    (width, height, out)
}

/// Paint a grey image with `scale` x `scale` blocks (`scale` may be fractional: block edges
/// are rounded down), top-left at `at`.
fn blit(
    area: &Area<'_>,
    at: (i32, i32),
    width: usize,
    pixels: &[u8],
    scale: f64,
    invert: bool,
) -> DrawResult {
    let edge = |i: usize| (i as f64 * scale).floor() as i32;
    for (i, &g) in pixels.iter().enumerate() {
        let g = if invert { 255 - g } else { g };
        let (x, y) = (i % width, i / width);
        area.draw(&Rectangle::new(
            [
                (at.0 + edge(x), at.1 + edge(y)),
                (at.0 + edge(x + 1), at.1 + edge(y + 1)),
            ],
            RGBColor(g, g, g).filled(),
        ))?;
    }
    Ok(())
}

const WEIGHT_PADDING: usize = 3;
const WEIGHTS_TITLE: u32 = 62;
const WEIGHTS_MARGIN: u32 = 10;

/// `weights.png`'s size for `hidden` units: `WEIGHTS_SIZE`'s width, and the height the grid
/// takes at that width (no empty band under a wide grid).
pub fn weights_size(hidden: usize) -> (u32, u32) {
    let cols = weight_grid_columns(hidden);
    let rows = hidden.max(1).div_ceil(cols);
    let side = |n: usize, tile: usize| (n * tile + WEIGHT_PADDING * (n - 1)) as f64;
    let inner = (WEIGHTS_SIZE.0 - 2 * WEIGHTS_MARGIN) as f64;
    let scale = inner / side(cols, COLS);
    let grid_h = (side(rows, ROWS) * scale).ceil() as u32;
    (
        WEIGHTS_SIZE.0,
        (WEIGHTS_TITLE + grid_h + 2 * WEIGHTS_MARGIN).min(WEIGHTS_SIZE.1),
    )
}

fn weights_picture(root: &Area<'_>, ckpt: &Checkpoint) -> DrawResult {
    let max_abs = weight_scale(&ckpt.w1);
    let body = title_area(
        root,
        &format!("First-layer weights W1: {} hidden units", ckpt.hidden),
        &format!(
            "one 28x28 tile per hidden unit, one scale for all: black -{max_abs:.3}, grey 0, white +{max_abs:.3} (99.9th percentile of |W1|)"
        ),
    )?;
    let (w, h, pixels) = weight_grid(ckpt, WEIGHT_PADDING, weight_grid_columns(ckpt.hidden));
    let (bw, bh) = body.dim_in_pixel();
    let margin = 2.0 * WEIGHTS_MARGIN as f64;
    let scale = ((bw as f64 - margin) / w as f64)
        .min((bh as f64 - margin) / h as f64)
        .max(0.1);
    let at = (
        ((bw as f64 - w as f64 * scale) / 2.0) as i32,
        ((bh as f64 - h as f64 * scale) / 2.0) as i32,
    );
    blit(&body, at, w, &pixels, scale, false)
}

/// Which test images `samples.png` shows: the first 32, then the first 16 mistakes.
pub fn sample_indices(labels: &[u8], preds: &[u8]) -> (Vec<usize>, Vec<usize>) {
    let first: Vec<usize> = (0..labels.len().min(32)).collect();
    let mistakes = (0..labels.len())
        .filter(|&i| preds[i] != labels[i])
        .take(16)
        .collect();
    (first, mistakes)
}

const SAMPLE_COLS: usize = 8;

fn samples_picture(
    root: &Area<'_>,
    images: &[u8],
    labels: &[u8],
    preds: &[u8],
    which: &str,
) -> DrawResult {
    let (first, mistakes) = sample_indices(labels, preds);
    let body = title_area(
        root,
        &format!("Test digits: predicted (true), by {which}"),
        &format!(
            "rows 1-4: the first {} test images; rows 5-6: the first {} mistakes (red)",
            first.len(),
            mistakes.len()
        ),
    )?;
    let (bw, _) = body.dim_in_pixel();
    let cell_w = bw as i32 / SAMPLE_COLS as i32;
    let cell_h = 120;
    let scale = 3;
    let label_style =
        TextStyle::from((FONT, 17).into_font()).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
    let slots = first
        .iter()
        .map(|&i| (i, false))
        .chain(mistakes.iter().map(|&i| (i, true)));
    for (slot, (idx, second_block)) in slots.enumerate() {
        // Mistakes start on a fresh row.
        let slot = if second_block {
            first.len().div_ceil(SAMPLE_COLS) * SAMPLE_COLS + slot - first.len()
        } else {
            slot
        };
        let (row, col) = ((slot / SAMPLE_COLS) as i32, (slot % SAMPLE_COLS) as i32);
        let x0 = col * cell_w + (cell_w - 28 * scale) / 2;
        let y0 = row * cell_h + 6;
        blit(
            &body,
            (x0, y0),
            COLS,
            &images[idx * PIXELS..(idx + 1) * PIXELS],
            scale as f64,
            true,
        )?;
        let wrong = preds[idx] != labels[idx];
        let color = if wrong { RED } else { BLACK };
        if wrong {
            body.draw(&Rectangle::new(
                [(x0 - 3, y0 - 3), (x0 + 28 * scale + 3, y0 + 28 * scale + 3)],
                RED.stroke_width(3),
            ))?;
        }
        body.draw_text(
            &format!("{} ({})", preds[idx], labels[idx]),
            &label_style.color(&color),
            (x0 + 14 * scale, y0 + 28 * scale + 9),
        )?;
    }
    Ok(())
}

/// `m[true][predicted]` counts.
pub fn confusion_matrix(labels: &[u8], preds: &[u8]) -> [[usize; CLASSES]; CLASSES] {
    let mut m = [[0; CLASSES]; CLASSES];
    for (&t, &p) in labels.iter().zip(preds) {
        m[t as usize][p as usize] += 1;
    }
    m
}

fn confusion_picture(root: &Area<'_>, m: &[[usize; CLASSES]; CLASSES], which: &str) -> DrawResult {
    let total: usize = m.iter().flatten().sum();
    let correct: usize = (0..CLASSES).map(|k| m[k][k]).sum();
    let body = title_area(
        root,
        &format!(
            "Confusion matrix, test set: {correct} of {total} right ({:.2} %)",
            100.0 * correct as f64 / total.max(1) as f64
        ),
        &format!("{which}; rows: true digit, columns: predicted digit"),
    )?;
    let mut chart = ChartBuilder::on(&body)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..9.5, 9.5f64..-0.5)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("Predicted digit")
        .y_desc("True digit")
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 16))
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let centre =
        TextStyle::from((FONT, 15).into_font()).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
    for (t, row) in m.iter().enumerate() {
        let row_total = row.iter().sum::<usize>().max(1) as f64;
        for (p, &n) in row.iter().enumerate() {
            let share = n as f64 / row_total;
            // Off-diagonal shares are small; stretch them so a 1 % confusion is visible.
            let (color, strength) = if t == p {
                (RGBColor(40, 90, 200), share)
            } else {
                (RGBColor(210, 40, 40), (share * 20.0).min(1.0))
            };
            let mix = |c: u8| (255.0 - (255.0 - c as f64) * strength).round() as u8;
            let fill = if n == 0 {
                WHITE
            } else {
                RGBColor(mix(color.0), mix(color.1), mix(color.2))
            };
            let (x, y) = (p as f64, t as f64);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                fill.filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                RGBColor(200, 200, 200),
            )))?;
            let text_color = if strength > 0.55 { WHITE } else { BLACK };
            chart.draw_series(std::iter::once(Text::new(
                n.to_string(),
                (x, y),
                centre.clone().color(&text_color),
            )))?;
        }
    }
    Ok(())
}

/// Predicted classes of raw test images: the trained net's own batched forward pass for the
/// built-in hidden sizes (so the counts match the accuracy `train` reported), else the
/// checkpoint's scalar reference.
pub fn predict_all(ckpt: &Checkpoint, images: &[u8]) -> Vec<u8> {
    match crate::with_hidden!(ckpt.hidden, predict_batched(ckpt, images)) {
        Ok(p) => p,
        Err(_) => images
            .par_chunks(PIXELS)
            .map(|px| ckpt.predict(px) as u8)
            .collect(),
    }
}

fn predict_batched<const H: usize>(ckpt: &Checkpoint, images: &[u8]) -> anyhow::Result<Vec<u8>> {
    let net = ckpt.to_net::<f32, PIXELS, H, CLASSES>()?;
    const CHUNK: usize = 500;
    let parts: Vec<Vec<u8>> = images
        .par_chunks(CHUNK * PIXELS)
        .map(|chunk| {
            // The preprocessing of `mnist::Dataset`: pixel/255 - mean image.
            let x: Vec<f32> = chunk
                .chunks_exact(PIXELS)
                .flat_map(|img| {
                    img.iter()
                        .zip(&ckpt.mean_image)
                        .map(|(&p, &m)| p as f32 / 255.0 - m)
                })
                .collect();
            net.predict(&x)
        })
        .collect();
    Ok(parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_length_and_averages() {
        let v = [0.0, 3.0, 6.0, 9.0];
        assert_eq!(smooth(&v, 1), v.to_vec());
        assert_eq!(smooth(&v, 3), vec![1.5, 3.0, 6.0, 7.5]);
        assert!(smooth(&[], 5).is_empty());
        assert_eq!(smoothing_window(2000), 41);
    }

    fn checkpoint_with_w1(hidden: usize, w1: Vec<f32>) -> Checkpoint {
        Checkpoint {
            format: String::new(),
            input: PIXELS,
            hidden,
            classes: CLASSES,
            w1,
            b1: vec![0.0; hidden],
            w2: vec![0.0; hidden * CLASSES],
            b2: vec![0.0; CLASSES],
            mean_image: vec![0.0; PIXELS],
        }
    }

    #[test]
    fn weight_tiles_share_one_scale_symmetric_about_zero() {
        let hidden = 5;
        // Unit j's weights are all j/10 - 0.2 (so unit 2's are 0), except one pixel each.
        let mut w1 = vec![0f32; PIXELS * hidden];
        for i in 0..PIXELS {
            for j in 0..hidden {
                w1[i * hidden + j] = j as f32 / 10.0 - 0.2;
            }
        }
        let ckpt = checkpoint_with_w1(hidden, w1);
        let s = weight_scale(&ckpt.w1);
        assert!((s - 0.2).abs() < 1e-6, "scale {s}");
        let (w, h, px) = weight_grid(&ckpt, 3, 3);
        // 5 tiles in rows of 3 -> 3 x 2 cells: 3 * 28 + 2 * 3 = 90 wide, 2 * 28 + 3 = 59 high.
        assert_eq!((w, h), (90, 59));
        let tile = |j: usize, r: usize, c: usize| px[((j / 3) * 31 + r) * w + (j % 3) * 31 + c];
        assert_eq!(tile(0, 5, 5), 0, "-scale is black");
        assert_eq!(
            tile(2, 5, 5),
            128,
            "a zero weight is mid grey in every tile"
        );
        assert_eq!(tile(4, 27, 27), 255, "+scale is white");
        assert!(tile(1, 0, 0) > 0 && tile(1, 0, 0) < 128);
        assert_eq!(px[28], 255, "padding is white");
        assert!(
            (0..28).all(|r| px[(31 + r) * w + 2 * 31..(31 + r) * w + 90]
                .iter()
                .all(|&g| g == 255)),
            "the empty cell stays white"
        );
    }

    #[test]
    fn weight_grids_leave_no_empty_cells_for_the_usual_sizes() {
        for (hidden, cols) in [(50, 10), (128, 16), (200, 20), (512, 32)] {
            assert_eq!(weight_grid_columns(hidden), cols, "hidden {hidden}");
        }
        assert_eq!(weight_grid_columns(1), 1);
        // A prime: some empty cells are unavoidable, but less than a row.
        let c = weight_grid_columns(97);
        assert!(97usize.div_ceil(c) * c - 97 < c, "97 -> {c} columns");
        // The picture's height follows the grid: 128 units (16 x 8) take far less than 200.
        assert!(weights_size(128).1 < weights_size(200).1 || weights_size(200).1 == WEIGHTS_SIZE.1);
        assert!(weights_size(512).1 <= WEIGHTS_SIZE.1);
    }

    #[test]
    fn confusion_counts_and_sample_choice() {
        let labels = [1, 2, 3, 3, 0];
        let preds = [1, 2, 5, 3, 9];
        let m = confusion_matrix(&labels, &preds);
        assert_eq!((m[3][5], m[3][3], m[0][9], m[1][1]), (1, 1, 1, 1));
        assert_eq!(m.iter().flatten().sum::<usize>(), 5);
        let (first, mistakes) = sample_indices(&labels, &preds);
        assert_eq!(first, vec![0, 1, 2, 3, 4]);
        assert_eq!(mistakes, vec![2, 4]);
    }
}
