//! `host toy` and `host gradcheck`: the homework's toy model checks.

use crate::homework::toy;

/// `host toy`.
pub fn run_toy(json: bool) -> anyhow::Result<()> {
    let r = toy::run()?;
    println!("scores:");
    for (row, want) in r.scores.iter().zip(toy::CORRECT_SCORES) {
        println!("  {row:>12.8?}   homework {want:>12.8?}");
    }
    println!(
        "  sum |difference| = {:.3e}   (homework: 3.68e-08, must be < 1e-7)",
        r.scores_diff
    );
    println!(
        "loss (reg 0.1) = {:.14}   homework {}   |difference| = {:.3e} (must be < 1e-12)",
        r.loss,
        toy::CORRECT_LOSS,
        r.loss_diff
    );
    for (name, hw) in toy::HOMEWORK_GRAD_REL_ERROR {
        println!(
            "{name} max relative error: {:.6e}   homework {hw:.6e}   (must be < 1e-8)",
            r.grad_rel_error[name]
        );
    }
    println!(
        "final toy training loss: {:.6}   homework {:.6}   (must be < 0.05)",
        r.train_final_loss,
        toy::HOMEWORK_TRAIN_FINAL_LOSS
    );
    let ok = r.scores_diff < 1e-7
        && r.loss_diff < 1e-12
        && r.grad_rel_error.values().all(|&e| e < 1e-8)
        && r.train_final_loss < 0.05;
    println!(
        "{}",
        if ok {
            "all toy checks pass"
        } else {
            "TOY CHECKS FAIL"
        }
    );
    if json {
        println!("{}", serde_json::to_string(&r)?);
    }
    anyhow::ensure!(ok, "toy checks failed");
    Ok(())
}

/// `host gradcheck`.
pub fn run_gradcheck(reg: f64) -> anyhow::Result<()> {
    let (net, x, _) = toy::toy_setup();
    let errors = crate::train::gradcheck::check(&net, &x, &toy::LABELS, reg, 1e-5);
    for (name, err) in errors {
        println!("{name} max relative error: {err:e}");
    }
    anyhow::ensure!(
        errors.iter().all(|(_, e)| *e < 1e-8),
        "gradient check failed (> 1e-8)"
    );
    Ok(())
}
