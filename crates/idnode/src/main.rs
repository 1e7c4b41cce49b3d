//! The `idnode` command.

use clap::Parser as _;

/// mimalloc: the request and batch paths allocate many small short-lived objects, which
/// glibc malloc handled visibly slower in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    idnode::cli::run(idnode::cli::Cli::parse()).await
}
