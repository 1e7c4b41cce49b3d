//! A pg_auto_failover formation of one test (Debian's `postgresql-15-auto-failover`): a
//! monitor and two PostgreSQL nodes, a primary and its synchronous standby, on loopback
//! ports, each run by its `pg_autoctl` keeper; the monitor is tuned to fail over within
//! seconds. Dropping it stops everything; a watchdog removes it if the test process dies
//! first. Blocking.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{bin, chown_postgres, free_port, is_root};

/// A monitor and two nodes.
pub struct Formation {
    dir: PathBuf,
    monitor: u16,
    nodes: [u16; 2],
    root: bool,
    /// Process groups of the keepers of node1 and node2 (each keeper, its children and
    /// the server they start).
    groups: Vec<u32>,
}

impl Formation {
    /// Creates and starts the monitor, then the primary, then the standby, and waits until
    /// the standby replicates synchronously.
    pub fn start() -> Self {
        let root = is_root();
        let dir =
            std::env::temp_dir().join(format!("idnode-paf-{}-{}", std::process::id(), free_port()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if root {
            chown_postgres(&dir);
        }
        spawn_watchdog(&dir);
        let mut f = Self {
            monitor: free_port(),
            nodes: [free_port(), free_port()],
            dir,
            root,
            groups: Vec::new(),
        };
        let out = f
            .autoctl(&["create", "monitor", "--pgdata"])
            .arg(f.dir.join("monitor"))
            .args(["--pgport", &f.monitor.to_string()])
            .args(["--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"])
            .output()
            .expect("pg_autoctl runs (Debian: postgresql-15-auto-failover)");
        assert!(
            out.status.success(),
            "monitor: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        f.keep(&["run", "--pgdata"], &f.dir.join("monitor"), "monitor");
        f.wait("the monitor", || f.sql(f.monitor, "SELECT 1").is_some());
        for setting in [
            "health_check_period = 1000",
            "health_check_max_retries = 1",
            "health_check_retry_delay = 500",
            "health_check_timeout = 1000",
            "node_considered_unhealthy_timeout = 3000",
            // How long a promoted standby waits for the lost primary to report itself
            // demoted before it takes writes alone (30 s by default); the keepers below
            // demote a primary cut off from the others for as long (network_partition).
            "primary_demote_timeout = 5000",
        ] {
            f.sql(
                f.monitor,
                &format!("ALTER SYSTEM SET pgautofailover.{setting}"),
            )
            .expect("monitor setting");
        }
        f.sql(f.monitor, "SELECT pg_reload_conf()").expect("reload");
        for (i, port) in f.nodes.iter().enumerate() {
            let name = format!("node{}", i + 1);
            let monitor = format!(
                "postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable",
                f.monitor
            );
            let data = f.dir.join(&name);
            let mut c = f.autoctl(&["create", "postgres", "--pgdata"]);
            c.arg(&data)
                .args(["--pgport", &port.to_string(), "--hostname", "127.0.0.1"])
                .args(["--pgctl", &bin("pg_ctl").display().to_string()])
                .args(["--monitor", &monitor, "--auth", "trust", "--no-ssl"])
                .args(["--name", &name]);
            f.ok(c, &format!("create {name}"));
            let mut c = f.autoctl(&["config", "set", "--pgdata"]);
            c.arg(&data)
                .args(["timeout.network_partition_timeout", "4"]);
            f.ok(c, &format!("configure {name}"));
            let mut c = f.autoctl(&["run", "--pgdata"]);
            c.arg(&data);
            let group = f.spawn(c, &name);
            f.groups.push(group);
            let want = if i == 0 {
                "single"
            } else {
                "primary,secondary"
            };
            f.wait(&format!("{name} to join"), || {
                f.states().as_deref() == Some(want)
            });
        }
        f
    }

    /// The formation's multi-host URL, as `pg_autoctl show uri` gives it.
    pub fn uri(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&sslmode=disable",
            self.nodes[0], self.nodes[1]
        )
    }

    /// The reported states of the nodes, in order (`primary,secondary`).
    pub fn states(&self) -> Option<String> {
        self.sql(
            self.monitor,
            "SELECT string_agg(reportedstate::text, ',' ORDER BY nodeid) FROM pgautofailover.node",
        )
    }

    /// The port of the node that takes writes now, if any.
    pub fn primary(&self) -> Option<u16> {
        self.nodes
            .iter()
            .copied()
            .find(|p| self.sql(*p, "SELECT NOT pg_is_in_recovery()").as_deref() == Some("t"))
    }

    /// Kills (SIGKILL) the primary's keeper and PostgreSQL server, as a machine failing
    /// would stop them; returns its port.
    pub fn kill_primary(&self) -> u16 {
        let port = self.primary().expect("a primary");
        let i = self.nodes.iter().position(|p| *p == port).expect("a node");
        let data = self.dir.join(format!("node{}", i + 1));
        let _ = Command::new("kill")
            .args(["-9", "--", &format!("-{}", self.groups[i])])
            .status();
        if let Ok(pid) = std::fs::read_to_string(data.join("postmaster.pid")) {
            if let Some(pid) = pid.lines().next() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        port
    }

    /// Runs `sql` on the server at `port` (as `postgres`); its one-line answer.
    pub fn sql(&self, port: u16, sql: &str) -> Option<String> {
        let db = if port == self.monitor {
            "pg_auto_failover"
        } else {
            "postgres"
        };
        let out = Command::new(bin("psql"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-d", db, "-Atqc", sql])
            .env("PGCONNECT_TIMEOUT", "2")
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn autoctl(&self, args: &[&str]) -> Command {
        let env = [
            format!("XDG_CONFIG_HOME={}", self.dir.join("config").display()),
            format!("XDG_DATA_HOME={}", self.dir.join("data").display()),
            format!(
                "PATH={}:{}",
                bin("pg_ctl").parent().unwrap_or(Path::new("/")).display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ];
        let mut c = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "env"]);
            c.args(&env);
            c.arg("pg_autoctl");
            c
        } else {
            let mut c = Command::new("env");
            c.args(&env).arg("pg_autoctl");
            c
        };
        c.args(args).stdin(Stdio::null());
        c
    }

    /// Runs `c` to its end, which must be a success.
    fn ok(&self, mut c: Command, what: &str) {
        let out = c.output().expect("pg_autoctl runs");
        assert!(
            out.status.success(),
            "pg_autoctl: {what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn keep(&self, args: &[&str], data: &Path, log: &str) {
        let mut c = self.autoctl(args);
        c.arg(data);
        self.spawn(c, log);
    }

    /// Starts a keeper in the background in a process group of its own, its output in
    /// `<log>.log`; returns the group.
    // Keepers run until the formation is dropped, which kills them.
    #[allow(clippy::zombie_processes)]
    fn spawn(&self, mut c: Command, log: &str) -> u32 {
        use std::os::unix::process::CommandExt as _;
        let file = std::fs::File::create(self.dir.join(format!("{log}.log"))).expect("log");
        c.stdout(file.try_clone().expect("log")).stderr(file);
        c.process_group(0);
        c.spawn().expect("pg_autoctl starts").id()
    }

    fn wait(&self, what: &str, done: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(90);
        while !done() {
            assert!(
                Instant::now() < until,
                "pg_auto_failover: timed out waiting for {what} (logs in {})",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Formation {
    fn drop(&mut self) {
        for g in &self.groups {
            let _ = Command::new("kill")
                .args(["-9", "--", &format!("-{g}")])
                .status();
        }
        stop_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kill_matching(pattern: &str) {
    let _ = Command::new("pkill").args(["-9", "-f", pattern]).status();
}

/// Kills the keepers first (so that none restarts a server), then the servers.
fn stop_all(dir: &Path) {
    let d = dir.display();
    for _ in 0..2 {
        kill_matching(&format!("pg_autoctl .*{d}/(monitor|node1|node2)"));
        kill_matching(&format!("postgres -D {d}/(monitor|node1|node2)"));
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Stops the formation and deletes its directory once this process has exited.
fn spawn_watchdog(dir: &Path) {
    let d = dir.display();
    crate::after_exit(&format!(
        "for i in 1 2; do pkill -9 -f 'pg_autoctl .*{d}/(monitor|node1|node2)'; \
         pkill -9 -f 'postgres -D {d}/(monitor|node1|node2)'; sleep 0.3; done; rm -rf {d}"
    ));
}
