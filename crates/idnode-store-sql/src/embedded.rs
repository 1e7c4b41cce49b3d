//! Migrations compiled into the binary, read as `sqlx::migrate!` reads a directory (same
//! versions, descriptions, checksums and `-- no-transaction` opt-out), without sqlx's
//! procedural macros: those built sqlx's database drivers a second time, for the compiler,
//! in every build. [`embed_migrations!`](crate::embed_migrations) names the files; a test
//! beside each use compares the names with the directory ([`Embedded::differences`]).

use std::borrow::Cow;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// The migrations of one directory: each file's name and text.
#[derive(Debug)]
pub struct Embedded(pub &'static [(&'static str, &'static str)]);

/// The files of a migrations directory compiled in, as an [`Embedded`]: the directory
/// relative to the calling crate's manifest, then every file name.
#[macro_export]
macro_rules! embed_migrations {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        $crate::Embedded(&[$(
            ($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $file))),
        )+])
    };
}

/// The node's migrations from `$dir` (`migrations/sqlite` or `migrations/postgres`: the two
/// folders hold the same file names, one schema per backend), as an [`Embedded`]. A new
/// migration is named here; each backend's test compares the list with its folder.
#[macro_export]
macro_rules! node_migrations {
    ($dir:literal) => {
        $crate::embed_migrations!($dir:
            "0001_init.sql",
            "0002_sealed_secrets.sql",
            "0003_upstream.sql",
            "0004_escrow.sql",
            "0005_usage.sql",
            "0006_space_probe.sql",
            "0007_templates.sql",
            "0008_tokens.sql",
            "0009_prefix_policy.sql",
            "0010_unique_values_key.sql",
            "0011_epcis.sql",
            "0012_epcis_capture.sql",
            "0013_epcis_covering.sql",
            "0014_epcis_queries.sql",
            "0015_epcis_subscriptions.sql",
            "0016_epcis_lean_indexes.sql",
            "0017_epcis_hash_digest.sql",
            "0018_epcis_event_keys.sql",
            "0019_epcis_lean_events.sql",
            "0020_epcis_record_btree.sql",
            "0021_audit_log.sql",
            "0022_console_sessions.sql",
            "0023_stats.sql",
            "0024_instances.sql",
            "0025_packed_records.sql",
            "0026_value_types.sql",
        )
    };
}

impl Embedded {
    /// A migrator running these migrations.
    pub async fn migrator(&'static self) -> Result<Migrator, MigrateError> {
        Migrator::new(self).await
    }

    /// The migrations, in version order; a name sqlx would not take is an error.
    fn migrations(&self) -> Result<Vec<Migration>, String> {
        let mut all = self
            .0
            .iter()
            .map(|(name, sql)| migration(name, sql))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|m| m.version);
        Ok(all)
    }

    /// The file names in `dir` and not compiled in, or compiled in and not in `dir`.
    pub fn differences(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        let mut on_disk = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<Vec<_>>>()?;
        on_disk.sort();
        let mut embedded: Vec<String> = self.0.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        let mut differ: Vec<String> = on_disk
            .iter()
            .filter(|n| !embedded.contains(n))
            .map(|n| format!("{n} is not embedded"))
            .collect();
        differ.extend(
            embedded
                .iter()
                .filter(|n| !on_disk.contains(n))
                .map(|n| format!("{n} is not in {}", dir.display())),
        );
        Ok(differ)
    }
}

/// One migration from its file name (`<version>_<description>.sql`) and text.
fn migration(name: &str, sql: &'static str) -> Result<Migration, String> {
    let (version, rest) = name
        .split_once('_')
        .filter(|(_, rest)| rest.ends_with(".sql"))
        .ok_or_else(|| format!("{name}: not <version>_<description>.sql"))?;
    let version: i64 = version
        .parse()
        .map_err(|_| format!("{name}: the version is not an integer"))?;
    let kind = MigrationType::from_filename(rest);
    let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
    let no_tx = sql.starts_with("-- no-transaction");
    Ok(Migration::new(
        version,
        Cow::Owned(description),
        kind,
        Cow::Borrowed(sql),
        no_tx,
    ))
}

impl MigrationSource<'static> for &'static Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { self.migrations().map_err(BoxDynError::from) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TWO: Embedded = Embedded(&[
        ("0002_second_step.sql", "-- no-transaction\nSELECT 2;"),
        ("0001_init.sql", "SELECT 1;"),
    ]);

    #[test]
    fn migrations_are_read_as_sqlx_reads_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        for (name, sql) in TWO.0 {
            std::fs::write(dir.path().join(name), sql).unwrap();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let from_dir = rt.block_on(Migrator::new(dir.path())).unwrap();
        let embedded = rt.block_on(TWO.migrator()).unwrap();
        let fields = |m: &Migrator| {
            m.iter()
                .map(|m| {
                    let (v, d, s, c, n) = (m.version, &m.description, &m.sql, &m.checksum, m.no_tx);
                    (v, d.to_string(), s.to_string(), c.to_vec(), n)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&embedded), fields(&from_dir));
        assert_eq!(fields(&embedded)[1].1, "second step");
        assert!(fields(&embedded)[1].4);
        assert!(TWO.differences(dir.path()).unwrap().is_empty());
        std::fs::write(dir.path().join("0003_new.sql"), "").unwrap();
        assert_eq!(
            TWO.differences(dir.path()).unwrap(),
            ["0003_new.sql is not embedded"]
        );
    }

    #[test]
    fn a_name_sqlx_would_not_take_is_refused() {
        for name in ["init.sql", "x_init.sql", "0001_init.txt"] {
            assert!(migration(name, "").is_err(), "{name}");
        }
    }
}
