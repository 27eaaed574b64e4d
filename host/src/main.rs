use clap::Parser;

fn main() -> anyhow::Result<()> {
    // Parallel work is done by rayon, so matrixmultiply's own thread pool stays at one thread
    // (a second one makes the training step slower; see BENCHMARKS.md). An explicit
    // MATMUL_NUM_THREADS still wins.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
    host::cli::run(host::cli::Cli::parse())
}
