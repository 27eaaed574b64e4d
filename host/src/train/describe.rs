//! One human line for a run's settings: the training header and the pictures' subtitles
//! print it, so an AdamW run is never described with SGD's momentum and decay.

use crate::train::optimizer::{Optimizer, Schedule};
use crate::train::trainer::{Extras, TrainConfig};

/// Shortest readable form of a hyper-parameter: `0.3`, `0.015`, `5e-6`.
pub fn fmt_g(x: f64) -> String {
    if x == 0.0 || (1e-3..1e4).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// `784-200-10, SGD lr 0.3 momentum 0.9, decay 0.95/epoch, reg 1e-4, batch 200` or
/// `784-512-10, AdamW lr 0.001 weight decay 0.01, cosine (warm-up 430 it), dropout hidden 0.3,
/// affine ±10° ±10 % ±2 px, batch 128`.
pub fn settings_line(hidden: usize, t: &TrainConfig, x: &Extras) -> String {
    let mut parts = vec![format!("784-{hidden}-10")];
    parts.push(match x.optimizer {
        Optimizer::Sgd => format!("SGD lr {} momentum {}", fmt_g(t.learning_rate), t.momentum),
        Optimizer::AdamW { weight_decay, .. } => format!(
            "AdamW lr {} weight decay {}",
            fmt_g(t.learning_rate),
            fmt_g(weight_decay)
        ),
    });
    match x.schedule {
        Schedule::StepPerEpoch if t.learning_rate_decay != 1.0 => {
            parts.push(format!("decay {}/epoch", t.learning_rate_decay))
        }
        Schedule::StepPerEpoch => parts.push("fixed rate".into()),
        Schedule::Cosine { warmup_iters, .. } if warmup_iters > 0 => {
            parts.push(format!("cosine (warm-up {warmup_iters} it)"))
        }
        Schedule::Cosine { .. } => parts.push("cosine".into()),
    }
    if t.reg > 0.0 {
        parts.push(format!("reg {}", fmt_g(t.reg)));
    }
    for (name, p) in [("input", x.dropout_input), ("hidden", x.dropout_hidden)] {
        if p > 0.0 {
            parts.push(format!("dropout {name} {p}"));
        }
    }
    if let Some(a) = x.augment {
        parts.push(format!(
            "affine ±{}° ±{} % ±{} px",
            a.max_rotation_deg,
            fmt_g(100.0 * a.max_scale),
            a.max_shift_px
        ));
    }
    if let Some(e) = x.elastic {
        parts.push(format!("elastic α {} σ {}", e.alpha, e.sigma));
    }
    if x.label_smoothing > 0.0 {
        parts.push(format!("label smoothing {}", x.label_smoothing));
    }
    if let Some(d) = x.ema {
        parts.push(format!("weight EMA {d}"));
    }
    parts.push(format!("batch {}", t.batch_size));
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::presets::Preset;

    #[test]
    fn each_optimiser_is_described_with_its_own_settings() {
        let d = Preset::Default.settings();
        assert_eq!(
            settings_line(d.hidden, &d.train, &d.extras),
            "784-200-10, SGD lr 0.3 momentum 0.9, decay 0.95/epoch, reg 1e-4, batch 200"
        );
        let b = Preset::Best.settings();
        let line = settings_line(b.hidden, &b.train, &b.extras);
        assert_eq!(
            line,
            "784-512-10, AdamW lr 0.001 weight decay 0.01, cosine (warm-up 430 it), \
             dropout hidden 0.3, affine ±10° ±10 % ±2 px, label smoothing 0.1, batch 128"
        );
        assert!(!line.contains("momentum"), "{line}");
        let mut x = b.extras.clone();
        x.ema = Some(0.999);
        assert!(settings_line(b.hidden, &b.train, &x)
            .ends_with("label smoothing 0.1, weight EMA 0.999, batch 128"));
    }
}
