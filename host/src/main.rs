use clap::Parser;

fn main() -> std::process::ExitCode {
    // Parallel work is done by rayon, so matrixmultiply's own thread pool stays at one thread
    // (a second one makes the training step slower; see BENCHMARKS.md). An explicit
    // MATMUL_NUM_THREADS still wins.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
    match host::cli::run(host::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, the causes after the message (`{:#}`), never the stack backtrace that
            // returning the error from `main` prints whenever RUST_BACKTRACE is set: a user
            // error is not a crash.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
