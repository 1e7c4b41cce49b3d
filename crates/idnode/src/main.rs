//! The `idnode` command.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    idnode::cli::run(idnode::cli::Cli::parse()).await
}
