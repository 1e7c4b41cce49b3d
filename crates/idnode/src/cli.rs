//! Command-line interface (clap). Every command and flag has `--help`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use idnode_store::EnterpriseStatus;

use crate::config::{Config, DEFAULT_CONFIG};
use crate::transfer::Format;
use crate::{cli_operator, demo, node_prefix, open_store, start, Services};

/// idnode: an industrial-internet identifier resolution secondary node (Handle-based).
#[derive(Debug, Parser)]
#[command(name = "idnode", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (see `idnode config default`).
    #[arg(long, global = true, env = "IDNODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://user:pass@host/db.
    #[arg(long, global = true, env = "IDNODE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the node prefix and the operator identity 300:0.NA/<prefix>.
    Init {
        /// The node prefix, e.g. 88.118.
        #[arg(long)]
        node_prefix: String,
        /// Write the operator secret to this new file (mode 0600) instead of printing it.
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// Succeed without doing anything when the node is initialised already with this
        /// prefix (for init containers and one-shot services).
        #[arg(long)]
        if_needed: bool,
    },
    /// Copy the SQLite database to a new file while the node runs.
    Backup {
        /// The copy (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// GET a URL and succeed on 2xx (a health check for images without curl).
    Probe {
        /// The URL.
        #[arg(default_value = "http://127.0.0.1:8000/healthz")]
        url: String,
    },
    /// Run the node.
    Serve {
        /// HTTP listen address (default 127.0.0.1:8000).
        #[arg(long, env = "IDNODE_HTTP_ADDR")]
        http: Option<SocketAddr>,
        /// Handle protocol (TCP and UDP) listen address (default 127.0.0.1:2641).
        #[arg(long, env = "IDNODE_HANDLE_ADDR")]
        handle: Option<SocketAddr>,
        /// DNS (UDP and TCP) listen address; the DNS front end is off without it (or
        /// `[dns] listen`).
        #[arg(long, env = "IDNODE_DNS_ADDR")]
        dns: Option<SocketAddr>,
        /// The DNS zone identifiers are published under (default `id.example.`).
        #[arg(long)]
        dns_zone: Option<String>,
        /// On an empty database: initialise node 88.118 and load demo enterprises and
        /// identifiers, printing their credentials.
        #[arg(long)]
        demo: bool,
    },
    /// Manage enterprises.
    Enterprise {
        /// Enterprise command.
        #[command(subcommand)]
        command: EnterpriseCommand,
    },
    /// Import identifiers from CSV or JSON Lines (batch-atomic, idempotent).
    Import {
        /// The file (.csv is read as CSV, anything else as JSON Lines).
        file: PathBuf,
        /// Override the format guessed from the extension.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Handles per transaction (at most 10000).
        #[arg(long, default_value_t = 5_000)]
        batch_size: usize,
    },
    /// Export identifiers (secrets excluded) as JSON Lines or CSV.
    Export {
        /// Only the handles directly under this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The audit log: verify its hash chain, export it.
    Audit {
        /// Audit command.
        #[command(subcommand)]
        command: crate::audit::AuditCommand,
    },
    /// Metadata templates (define, list, show).
    Template {
        /// Template command.
        #[command(subcommand)]
        command: crate::templates::TemplateCommand,
    },
    /// Data escrow deposits.
    Escrow {
        /// Escrow command.
        #[command(subcommand)]
        command: crate::escrow::EscrowCommand,
    },
    /// Statistics reports to the top-level node.
    Report {
        /// Report command.
        #[command(subcommand)]
        command: crate::reports::ReportCommand,
    },
    /// The connection to the top-level node: its queue of upstream actions.
    Upstream {
        /// Upstream command.
        #[command(subcommand)]
        command: crate::upstream::UpstreamCommand,
    },
    /// Configuration helpers.
    Config {
        /// Config command.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The Handle server key (published in HS_SITE; signs certified answers).
    ServerKey {
        /// Server key command.
        #[command(subcommand)]
        command: ServerKeyCommand,
    },
}

/// Server key commands.
#[derive(Debug, Subcommand)]
pub enum ServerKeyCommand {
    /// Print the public key as HS_PUBKEY data (base64), creating the key if it is missing.
    Show,
    /// Replace the key with a new one; restart the node (and tell the top-level node the new
    /// HS_SITE) for it to take effect.
    Rotate,
}

/// Enterprise commands.
#[derive(Debug, Subcommand)]
pub enum EnterpriseCommand {
    /// Onboard an enterprise with its first prefix; prints its identity and secret once.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Prefix below the node prefix, e.g. 88.118.8.
        #[arg(long)]
        prefix: String,
        /// Registration material for the top-level node: a JSON file with the fields of
        /// `EnterpriseProfile` (`credit_code`, `contact`, `legal_person`, …).
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// List enterprises and their prefixes.
    List,
    /// Refuse the enterprise's writes (its identifiers still resolve).
    Suspend {
        /// Enterprise id.
        id: i64,
    },
    /// Allow the enterprise's writes again.
    Activate {
        /// Enterprise id.
        id: i64,
    },
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the documented default configuration.
    Default,
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut f = crate::files::create_private(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(secret.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config {
        command: ConfigCommand::Default,
    } = cli.command
    {
        print!("{DEFAULT_CONFIG}");
        return Ok(());
    }
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        config.database.url = url;
    }
    init_logging(&config.log.filter);
    match cli.command {
        Command::Config { .. } => unreachable!("handled above"),
        Command::Init {
            node_prefix: prefix,
            secret_file,
            if_needed,
        } => {
            let store = open_store(&config.database).await?;
            match node_prefix(&store).await? {
                Some(p) if if_needed && p == idnode_core::normalize_prefix(&prefix)? => {
                    println!("node prefix: {p} (initialised already)");
                }
                _ => init(&config, &prefix, secret_file.as_deref()).await?,
            }
        }
        Command::Backup { to } => crate::maintenance::backup(&config, &to).await?,
        Command::Probe { url } => crate::maintenance::probe(&url).await?,
        Command::Serve {
            http,
            handle,
            dns,
            dns_zone,
            demo,
        } => {
            if dns.is_some() {
                config.dns.listen = dns;
            }
            if let Some(z) = dns_zone {
                config.dns.zone = z;
            }
            if let Some(addr) = http {
                config.http.listen = addr;
            }
            if let Some(addr) = handle {
                config.handle.listen = addr;
            }
            serve(&config, demo).await?;
        }
        Command::Enterprise { command } => enterprise(&config, command).await?,
        Command::ServerKey { command } => {
            let path = config.server_key_path();
            let key = match command {
                ServerKeyCommand::Show => crate::load_server_key(&path)?,
                ServerKeyCommand::Rotate => {
                    let store = open_store(&config.database).await?;
                    crate::keys::rotate_server_key_of(&store, &path).await?
                }
            };
            use base64::Engine as _;
            println!("{}", path.display());
            println!(
                "{}",
                base64::engine::general_purpose::STANDARD.encode(key.public_key().encode())
            );
        }
        Command::Upstream { command } => crate::upstream::command(&config, command).await?,
        Command::Escrow { command } => crate::escrow::command(&config, command).await?,
        Command::Template { command } => crate::templates::command(&config, command).await?,
        Command::Audit { command } => crate::audit::command(&config, command).await?,
        Command::Report { command } => crate::reports::command(&config, command).await?,
        Command::Import {
            file,
            format,
            batch_size,
        } => {
            let services = Services::open(&config).await?;
            let r = crate::import::import(&services, &file, format, batch_size).await?;
            println!(
                "imported {}: {} created, {} updated, {} unchanged",
                file.display(),
                r.created,
                r.updated,
                r.unchanged
            );
        }
        Command::Export {
            prefix,
            format,
            output,
        } => export(&config, prefix, format, output.as_deref()).await?,
    }
    Ok(())
}

/// `idnode init`: the node's prefix, operator identity and server key.
async fn init(
    config: &Config,
    node_prefix: &str,
    secret_file: Option<&Path>,
) -> anyhow::Result<()> {
    let prefix = idnode_core::normalize_prefix(node_prefix)?;
    let store = open_store(&config.database).await?;
    let services = Services::new(store, &prefix, config).await?;
    let secret = idnode_registry::generate_secret();
    if let Some(path) = &secret_file {
        // Create the file first so a failure leaves no identity without its secret.
        write_secret_file(path, &secret)?;
    }
    let creds = match services.registry.init_node(Some(secret)).await {
        Ok(c) => c,
        Err(e) => {
            if let Some(path) = &secret_file {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    let key_path = config.server_key_path();
    crate::keys::server_key(&services.store, &key_path).await?;
    println!("node prefix: {prefix}");
    println!("Handle server key: {}", key_path.display());
    println!("operator identity: {}", creds.identity);
    match &secret_file {
        Some(path) => println!("operator secret written to {}", path.display()),
        None => {
            println!("operator secret: {}", creds.secret);
            println!("(shown once: store it now)");
        }
    }
    Ok(())
}

/// `idnode export`: every handle (or a prefix's) as JSONL or CSV, to a file or stdout.
async fn export(
    config: &Config,
    prefix: Option<String>,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let store = open_store(&config.database).await?;
    let prefix = prefix.map(|p| p.to_ascii_uppercase());
    let n = match &output {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            crate::transfer::export(store.as_ref(), prefix.as_deref(), format, &mut f).await?
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            crate::transfer::export(store.as_ref(), prefix.as_deref(), format, &mut lock).await?
        }
    };
    eprintln!("exported {n} handle(s)");
    Ok(())
}

async fn enterprise(config: &Config, command: EnterpriseCommand) -> anyhow::Result<()> {
    let s = Services::open(config).await?;
    let op = cli_operator();
    match command {
        EnterpriseCommand::Create {
            name,
            prefix,
            profile,
        } => {
            let profile = match profile {
                None => idnode_core::EnterpriseProfile::default(),
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a profile", path.display()))?
                }
            };
            let (e, c) = s
                .registry
                .create_enterprise(&op, &name, &prefix, profile)
                .await?;
            println!("enterprise id: {}", e.id);
            println!("name: {}", e.name);
            println!("prefix: {}", prefix.to_ascii_uppercase());
            println!("identity: {}", c.identity);
            println!("secret: {}", c.secret);
            println!("(shown once: hand it to the enterprise now)");
        }
        EnterpriseCommand::List => {
            for e in s.registry.enterprises(&op).await? {
                let prefixes: Vec<String> = s
                    .registry
                    .prefixes(&op, Some(e.id))
                    .await?
                    .into_iter()
                    .map(|p| p.prefix)
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    e.id,
                    e.status.as_str(),
                    e.name,
                    prefixes.join(",")
                );
            }
        }
        EnterpriseCommand::Suspend { id } | EnterpriseCommand::Activate { id } => {
            let status = if matches!(command, EnterpriseCommand::Suspend { .. }) {
                EnterpriseStatus::Suspended
            } else {
                EnterpriseStatus::Active
            };
            let e = s.registry.set_enterprise_status(&op, id, status).await?;
            println!("enterprise {} is {}", e.id, e.status.as_str());
        }
    }
    Ok(())
}

async fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    // With a cache snapshot, a database that does not answer is not waited for: the node
    // serves the snapshot and takes the database up when it answers.
    let snapshot = crate::snapshot::load(config);
    let store = match &snapshot {
        Some(_) => crate::open_store_later(&config.database).await?,
        None => open_store(&config.database).await?,
    };
    let prefix = match node_prefix(&store).await {
        Ok(Some(p)) => p,
        Ok(None) if demo => {
            let s = Services::new(store.clone(), demo::DEMO_NODE_PREFIX, config).await?;
            let creds = s.registry.init_node(None).await?;
            println!("demo node {} initialised", demo::DEMO_NODE_PREFIX);
            println!(
                "operator identity {} secret {}",
                creds.identity, creds.secret
            );
            for line in demo::seed(&s).await? {
                println!("{line}");
            }
            demo::DEMO_NODE_PREFIX.to_owned()
        }
        Ok(None) => bail!(
            "the node is not initialised: run `idnode init --node-prefix 88.xxx` first, \
             or `idnode serve --demo` for a demo node"
        ),
        Err(e) => match &snapshot {
            Some(s) if crate::is_unavailable(&e) => {
                tracing::warn!(
                    error = %e,
                    "the database does not answer: serving the cache snapshot until it does"
                );
                s.header.node_prefix.clone()
            }
            _ => return Err(e),
        },
    };
    let services = std::sync::Arc::new(Services::new(store, &prefix, config).await?);
    if let Some(s) = &snapshot {
        crate::snapshot::restore(&services.resolver, &prefix, s);
    }
    let node = start(config, services).await?;
    tracing::info!(
        http = %node.http_addr,
        handle = %node.handle_addr,
        node_prefix = %prefix,
        database = %crate::config::redact_url(&config.database.url),
        "idnode serving"
    );
    println!("Handle protocol (TCP and UDP) on {}", node.handle_addr);
    if let Some(dns) = node.dns_addr {
        println!("DNS (UDP and TCP) on {dns}, zone {}", config.dns.zone);
    }
    println!("idnode serving node {prefix}: http://{}", node.http_addr);
    if let Some(addr) = node.https_addr {
        println!("idnode serving node {prefix}: https://{addr}");
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    node.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
