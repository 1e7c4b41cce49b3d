//! The `idnode` command.

use anyhow::Context as _;
use clap::Parser as _;

/// mimalloc: the request and batch paths allocate many small short-lived objects, which
/// glibc malloc handled visibly slower in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = idnode::cli::Cli::parse();
    // One worker per usable core (`IDNODE_WORKER_THREADS` overrides); with a single core
    // the current-thread scheduler avoids cross-thread wake-ups.
    let workers = match std::env::var("IDNODE_WORKER_THREADS") {
        Ok(v) => v
            .parse()
            .context("IDNODE_WORKER_THREADS must be a number")?,
        Err(_) => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let runtime = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    runtime.block_on(idnode::cli::run(cli))
}
