//! The frontier as text: a Markdown table (`frontier.md`, the table BENCHMARKS.md quotes) and
//! one progress line per row.

use super::Row;

/// `12,925`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn instructions(x: Option<f64>) -> String {
    x.map_or_else(
        || "does not fit".to_owned(),
        |v| thousands(v.round() as u64),
    )
}

/// One line per row while the frontier runs: its table row and the parity count.
pub fn row_line(r: &Row) -> String {
    format!(
        "{}  identical {}/{}",
        markdown_row(r),
        r.identical_m4,
        r.images
    )
}

/// The Markdown table, one row per preset.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| preset | net | int8 on the chip | float | int8 gap | model file | firmware flash (M4) | M4 instr/inference | M0 instr/inference | training |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&markdown_row(r));
        s.push('\n');
    }
    s
}

fn markdown_row(r: &Row) -> String {
    format!(
        "| `{}` | 784-{}-10 | {:.2} % | {:.2} % | {:+.2} pp | {} B | {} B | {} | {} | {:.0} s |",
        r.preset,
        r.hidden,
        r.chip_test_pct,
        r.float_test_pct,
        r.int8_gap_pp(),
        thousands(r.model_bytes),
        thousands(r.flash_bytes),
        instructions(Some(r.m4_instructions)),
        instructions(r.m0_instructions),
        r.train_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12_925), "12,925");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_model_too_big_for_the_m0_says_so() {
        let r = Row {
            preset: "best".into(),
            hidden: 512,
            epochs: 80.0,
            train_seconds: 300.0,
            float_test_pct: 99.2,
            int8_test_pct: 99.25,
            chip_test_pct: 99.25,
            images: 10_000,
            identical_m4: 10_000,
            m4_instructions: 180_000.4,
            m0_instructions: None,
            identical_m0: None,
            model_bytes: 406_000,
            flash_bytes: 450_000,
            ram_bytes: 9_000,
        };
        let md = markdown(std::slice::from_ref(&r));
        assert!(md.contains("| `best` | 784-512-10 | 99.25 % | 99.20 % | +0.05 pp | 406,000 B"));
        assert!(md.contains("| 180,000 | does not fit |"));
    }
}
