//! Test support shared by the backend and end-to-end tests.
//!
//! [`pg_database`] hands every caller a fresh, empty PostgreSQL database:
//! - in the server named by `IDNODE_TEST_DATABASE_URL` when it is set (the test script sets it
//!   to one throwaway cluster for the whole run);
//! - otherwise in a throwaway cluster started here once per test process with `initdb` and
//!   `pg_ctl` in a temporary directory. A watchdog stops the cluster and removes the directory
//!   when the test process exits.
//!
//! If PostgreSQL cannot be found or started this panics: a missing database is a failure,
//! never a silent skip.

mod disk;
mod failover;
mod npm;
mod python;

pub use disk::SmallDisk;
pub use failover::Formation;
pub use npm::npm_package;
pub use python::python_venv;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

static SERVER: OnceLock<String> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database. Blocking; call it once per test.
pub fn pg_database() -> String {
    create_database(server(), None)
}

/// A new, empty database whose tables all live in a new tablespace at `location` (an
/// empty directory; on a small filesystem, to see what a full disk does). Dropping it drops
/// the database (ending its sessions) and the tablespace. Blocking.
pub struct TablespaceDatabase {
    /// The database's URL.
    pub url: String,
    name: String,
    space: String,
}

impl TablespaceDatabase {
    /// Creates the tablespace and the database.
    pub fn create(location: &Path) -> Self {
        if is_root() {
            chown_postgres(location);
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let space = format!("idnode_s{}_{n}", std::process::id());
        psql(
            server(),
            &format!(
                "CREATE TABLESPACE {space} LOCATION '{}'",
                location.display()
            ),
        );
        let url = create_database(server(), Some(&space));
        let name = url
            .rsplit('/')
            .next()
            .and_then(|n| n.split('?').next())
            .unwrap_or_default()
            .to_owned();
        Self { url, name, space }
    }
}

impl Drop for TablespaceDatabase {
    fn drop(&mut self) {
        psql(
            server(),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        psql(
            server(),
            &format!("DROP TABLESPACE IF EXISTS {}", self.space),
        );
    }
}

fn server() -> &'static str {
    SERVER.get_or_init(|| match std::env::var("IDNODE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_cluster(),
    })
}

fn psql(server: &str, sql: &str) {
    let out = Command::new(bin("psql"))
        .arg(server)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{sql} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn create_database(server: &str, tablespace: Option<&str>) -> String {
    let name = format!(
        "idnode_t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let sql = match tablespace {
        Some(t) => format!("CREATE DATABASE {name} TABLESPACE {t}"),
        None => format!("CREATE DATABASE {name}"),
    };
    psql(server, &sql);
    with_database(server, &name)
}

/// Replaces the database name in a `postgres://` URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn pg_bindir() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn bin(name: &str) -> PathBuf {
    pg_bindir().map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn pg_command(tool: &str, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin(tool));
        c
    } else {
        Command::new(bin(tool))
    }
}

/// A TCP port on 127.0.0.1 free when asked (another process may take it before it is used).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_cluster() -> String {
    let cluster = Cluster::start();
    let url = cluster.url();
    // The shared cluster lives as long as the test process; its watchdog removes it.
    std::mem::forget(cluster);
    url
}

/// A throwaway PostgreSQL cluster of one test, which it may stop and start again (to see
/// what a node does while its database is down). Dropping it stops the cluster; a watchdog
/// removes it if the test process dies first.
pub struct Cluster {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    root: bool,
}

impl Cluster {
    /// Creates and starts a cluster in a new temporary directory. Blocking.
    pub fn start() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "idnode-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if root {
            chown_postgres(&dir);
        }
        let data = dir.join("data");
        let out = pg_command("initdb", root)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "initdb not runnable ({e}); install PostgreSQL or set IDNODE_TEST_DATABASE_URL"
                )
            });
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        spawn_watchdog(&dir, &data, root);
        let cluster = Self {
            dir,
            data,
            port: free_port(),
            root,
        };
        cluster.resume();
        cluster
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new, empty database in this cluster (`psql` must reach it).
    pub fn database(&self) -> String {
        create_database(&self.url(), None)
    }

    /// `pg_ctl -D <data> args…`, its output.
    fn pg_ctl<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> std::process::Output {
        pg_command("pg_ctl", self.root)
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .stdout(Stdio::null())
            .output()
            .expect("pg_ctl runs")
    }

    /// `pg_ctl -w -D <data> args…`, which must succeed.
    fn pg_ctl_ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) {
        let mut all = vec![std::ffi::OsString::from("-w")];
        all.extend(args.iter().map(|a| a.as_ref().to_owned()));
        let out = self.pg_ctl(&all);
        assert!(
            out.status.success(),
            "pg_ctl {:?} failed: {}",
            args.last().map(AsRef::as_ref),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the (stopped) cluster again on the same port. Blocking.
    pub fn resume(&self) {
        let opts = format!(
            "-p {} -k {} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        self.pg_ctl_ok(&[
            std::ffi::OsStr::new("-o"),
            opts.as_ref(),
            "-l".as_ref(),
            log.as_os_str(),
            "start".as_ref(),
        ]);
    }

    /// Stops the cluster (fast shutdown: sessions are ended at once). Blocking.
    pub fn stop(&self) {
        self.pg_ctl_ok(&["-m", "fast", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn chown_postgres(path: &Path) {
    let ok = Command::new("chown")
        .args(["-R", "postgres"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "chown of {} to postgres failed", path.display());
}

/// Stops the cluster and deletes its directory once this process has exited.
fn spawn_watchdog(dir: &Path, data: &Path, root: bool) {
    let pg_ctl = bin("pg_ctl");
    let stop = if root {
        format!(
            "runuser -u postgres -- {} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        )
    };
    after_exit(&format!(
        "{stop} >/dev/null 2>&1; rm -rf {dir}",
        dir = dir.display()
    ));
}

/// Runs the shell `script` once this process has exited (a detached watchdog).
// The watchdog must outlive us, so it is deliberately never waited for.
#[allow(clippy::zombie_processes)]
fn after_exit(script: &str) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; {script}",
        pid = std::process::id()
    );
    Command::new("setsid")
        .args(["bash", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog starts");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database_name() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/postgres?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
