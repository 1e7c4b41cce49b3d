//! `idnode template`: metadata templates from the command line, as the operator.

use std::path::PathBuf;

use anyhow::Context as _;
use idnode_template::Template;

use crate::{cli_operator, Config, Services};

/// `idnode template …`.
#[derive(Debug, clap::Subcommand)]
pub enum TemplateCommand {
    /// Defines a template version from a JSON file (the SNMS shape; `prefix` and `version`
    /// inside). Prints it as stored, item indexes filled in.
    Define {
        /// The definition.
        file: PathBuf,
    },
    /// Lists the versions of a prefix (version, used, items).
    List {
        /// The prefix.
        prefix: String,
    },
    /// Prints a version as JSON.
    Show {
        /// The prefix.
        prefix: String,
        /// The version.
        version: String,
    },
}

/// Runs an `idnode template` command.
pub async fn command(config: &Config, command: TemplateCommand) -> anyhow::Result<()> {
    let services = Services::open(config).await?;
    let (registry, op) = (&services.registry, cli_operator());
    match command {
        TemplateCommand::Define { file } => {
            let body =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let stored = registry
                .create_template(&op, Template::from_json(&body)?)
                .await?;
            println!("{}", serde_json::to_string_pretty(&stored)?);
        }
        TemplateCommand::List { prefix } => {
            for (t, used) in registry.templates(&op, &prefix).await? {
                let state = if used { "used" } else { "unused" };
                println!("{}\t{state}\t{} items", t.version, t.items.len());
            }
        }
        TemplateCommand::Show { prefix, version } => {
            let (t, _) = registry.template(&op, &prefix, &version).await?;
            println!("{}", serde_json::to_string_pretty(&t)?);
        }
    }
    Ok(())
}
