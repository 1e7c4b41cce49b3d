//! `idnode-toplevel`: the stand-in for the national top-level node.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use idnode_toplevel::{Config, Namespaces, State};

#[derive(Parser)]
#[command(
    version,
    about = "Stand-in for the national top-level node (EPP, review queue)"
)]
struct Cli {
    /// Data directory (state database, TLS certificate).
    #[arg(long, default_value = "toplevel-data", global = true)]
    data: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the servers.
    Serve {
        /// EPP listen address.
        #[arg(long, default_value = "127.0.0.1:7000")]
        epp: SocketAddr,
        /// Handle protocol listen address (TCP and UDP), answering 0.NA/<prefix>.
        #[arg(long, default_value = "127.0.0.1:2640")]
        handle: SocketAddr,
        /// HTTPS listen address: escrow intake, report interface, IIIDAP bootstrap registry.
        #[arg(long, default_value = "127.0.0.1:7443")]
        https: SocketAddr,
        /// Approve prefix applications at once.
        #[arg(long)]
        auto_approve: bool,
    },
    /// Lets a secondary node log in (prints a generated password unless one is given).
    AddClient {
        /// EPP client id.
        #[arg(long)]
        id: String,
        /// The node's prefix, e.g. 88.118.
        #[arg(long)]
        prefix: String,
        /// Password (generated when absent).
        #[arg(long, env = "IDNODE_TOPLEVEL_PASSWORD")]
        password: Option<String>,
    },
    /// Approves a pending prefix application.
    Approve {
        /// The prefix.
        prefix: String,
    },
    /// Rejects a pending prefix application.
    Reject {
        /// The prefix.
        prefix: String,
        /// Why (sent to the node).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lists prefix applications.
    Applications,
    /// Lists the transform commands applied, with how often each was redelivered.
    Log,
    /// Registers a node's escrow signing key (the output of `idnode escrow public-key`).
    EscrowKey {
        /// EPP client id of the node.
        #[arg(long)]
        id: String,
        /// File holding the ASCII-armored OpenPGP public key.
        file: PathBuf,
    },
    /// Lists the deposits received from a node and their verification.
    Deposits {
        /// EPP client id of the node.
        #[arg(long)]
        id: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let open = || State::open(&cli.data, Namespaces::default(), false);
    match cli.command {
        Cmd::Serve {
            epp,
            handle,
            https,
            auto_approve,
        } => {
            let running = idnode_toplevel::start(&Config {
                data: cli.data.clone(),
                epp,
                handle,
                https,
                auto_approve,
                namespaces: Namespaces::default(),
            })
            .await?;
            println!(
                "EPP on {} (TLS; clients trust {})",
                running.epp_addr,
                running.cert.display()
            );
            tokio::signal::ctrl_c().await?;
            running.stop().await;
        }
        Cmd::AddClient {
            id,
            prefix,
            password,
        } => {
            let password = password.unwrap_or_else(idnode_toplevel::password::generate);
            open().await?.add_client(&id, &prefix, &password).await?;
            println!("client {id} for prefix {prefix}; password: {password}");
        }
        Cmd::Approve { prefix } => {
            open()
                .await?
                .review(&prefix, true, "")
                .await
                .context("approve")?;
            println!("{prefix} approved");
        }
        Cmd::Reject { prefix, note } => {
            open()
                .await?
                .review(&prefix, false, &note)
                .await
                .context("reject")?;
            println!("{prefix} rejected");
        }
        Cmd::Applications => {
            for a in open().await?.applications().await? {
                println!("{}\t{}\t{}\t{}", a.prefix, a.state, a.client, a.ent_id);
            }
        }
        Cmd::EscrowKey { id, file } => {
            let key = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            open().await?.set_escrow_key(&id, &key).await?;
            println!("escrow key of {id} registered");
        }
        Cmd::Deposits { id } => {
            for d in open().await?.deposits(&id).await? {
                println!(
                    "{}\tR{}\t{}\t{}\t{}\t{:?}",
                    d.id, d.resend, d.kind, d.status, d.detail, d.counts
                );
            }
        }
        Cmd::Log => {
            for a in open().await?.applied().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\treplayed {}",
                    a.client, a.cl_trid, a.command, a.object, a.code, a.replays
                );
            }
        }
    }
    Ok(())
}
