//! `frontier.png`: int8 test accuracy on the chip against the firmware's flash bytes (log
//! scale), one point per preset, with common microcontroller flash sizes marked, so the best
//! net that fits a given chip can be read off.

use std::path::Path;

use plotters::prelude::*;

use super::table::thousands;
use super::Row;
use crate::report::pictures::{draw_legend, draw_png, title_area, Area, DrawResult, FONT};

pub const SIZE: (u32, u32) = (1000, 640);

/// Flash sizes of common parts, KiB (32 KiB: STM32F031; 512 KiB: the NUCLEO-F411RE).
const CHIP_FLASH_KIB: [u64; 5] = [32, 64, 128, 256, 512];

const CHIP: RGBColor = RGBColor(150, 150, 150);
const INT8: RGBColor = RGBColor(140, 60, 170);
const FLOAT: RGBColor = RGBColor(0, 150, 70);

pub fn write(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    anyhow::ensure!(!rows.is_empty(), "no frontier rows to draw");
    draw_png(path, SIZE, |root| draw(root, rows))?;
    Ok(())
}

fn draw(root: &Area<'_>, rows: &[Row]) -> DrawResult {
    let images = rows.iter().map(|r| r.images).min().unwrap_or(0);
    let body = title_area(
        root,
        "Accuracy for each flash budget: 784-H-10, int8, on the chip",
        &format!(
            "test accuracy of the firmware in QEMU ({} test images, bit-identical to the host) \
             against the firmware image's flash bytes",
            thousands(images as u64)
        ),
    )?;
    let kib = |b: u64| b as f64 / 1024.0;
    let x_lo = rows
        .iter()
        .map(|r| kib(r.flash_bytes))
        .fold(f64::MAX, f64::min)
        * 0.6;
    let x_hi = rows.iter().map(|r| kib(r.flash_bytes)).fold(0.0, f64::max) * 1.6;
    let x_lo = x_lo.min(28.0);
    let accs = rows
        .iter()
        .flat_map(|r| [r.chip_test_pct, r.float_test_pct]);
    let lo = accs.clone().fold(100.0, f64::min);
    let hi = accs.fold(0.0, f64::max);
    let y = (lo - 0.5).floor()..(hi + 0.1 * (hi - lo) + 0.3).min(100.0);

    let mut chart = ChartBuilder::on(&body)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), y.clone())?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc("Firmware flash (KiB, log scale): code + int8 model")
        .y_desc("Test accuracy (%)")
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()?;

    for k in CHIP_FLASH_KIB {
        let x = k as f64;
        if !(x_lo..x_hi).contains(&x) {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(
            [(x, y.start), (x, y.end)],
            6,
            4,
            CHIP.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{k} KiB chip"),
            (x * 1.02, y.end - 0.03 * (y.end - y.start)),
            (FONT, 14).into_font().color(&CHIP),
        )))?;
    }

    let pts = |f: fn(&Row) -> f64| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (kib(r.flash_bytes), f(r))).collect()
    };
    let float = pts(|r| r.float_test_pct);
    chart
        .draw_series(LineSeries::new(
            float.clone(),
            FLOAT.mix(0.5).stroke_width(1),
        ))?
        .label("float model (host)")
        .legend(|(x, y)| Circle::new((x, y), 4, FLOAT.stroke_width(2)));
    chart.draw_series(
        float
            .iter()
            .map(|&p| Circle::new(p, 4, FLOAT.stroke_width(2))),
    )?;
    let chip = pts(|r| r.chip_test_pct);
    chart
        .draw_series(LineSeries::new(chip.clone(), INT8.stroke_width(2)))?
        .label("int8 model on the chip (= host int8)")
        .legend(|(x, y)| Circle::new((x, y), 5, INT8.filled()));
    chart.draw_series(chip.iter().map(|&p| Circle::new(p, 5, INT8.filled())))?;
    // Below and right of each point, clear of the line that rises to the next one; the
    // bytes are in the table.
    for r in rows {
        chart.draw_series(std::iter::once(Text::new(
            format!("H={}: {:.2} %", r.hidden, r.chip_test_pct),
            (
                kib(r.flash_bytes) * 1.04,
                r.chip_test_pct - 0.02 * (y.end - y.start),
            ),
            (FONT, 15).into_font().color(&BLACK),
        )))?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}
