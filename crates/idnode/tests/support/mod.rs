//! Shared by the binary's integration tests: the `idnode` command and a node it serves.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A served node, killed when dropped (a failing test must not leave one running).
pub struct Node {
    pub child: Child,
    /// `http://ADDR`.
    pub base: String,
    /// What it printed before its address (credentials of a demo node, …).
    pub printed: Vec<String>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The standard output of a command that must have succeeded (else both its outputs in
/// the failure).
pub fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// `idnode` with `config` (when given) and a clean environment.
pub fn idnode(config: Option<&Path>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idnode"));
    c.current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("IDNODE_CONFIG")
        .env_remove("IDNODE_DATABASE_URL")
        .env_remove("IDNODE_HTTP_ADDR")
        .env_remove("IDNODE_HANDLE_ADDR")
        .env("IDNODE_LOG", "warn");
    if let Some(config) = config {
        c.arg("--config").arg(config);
    }
    c
}

/// `serve --demo` with HTTP and Handle on free ports.
pub const SERVE_DEMO: [&str; 6] = [
    "serve",
    "--demo",
    "--http",
    "127.0.0.1:0",
    "--handle",
    "127.0.0.1:0",
];

/// Creates the demo's enterprise, Gearbox Co, with prefix 88.118.8.
pub const CREATE_GEARBOX: [&str; 6] = [
    "enterprise",
    "create",
    "--name",
    "Gearbox Co",
    "--prefix",
    "88.118.8",
];

/// Runs `cmd` (a `serve`) until it prints its HTTP address.
pub fn serve(mut cmd: Command) -> Node {
    let child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut node = Node {
        child,
        base: String::new(),
        printed: Vec::new(),
    };
    let mut lines = BufReader::new(node.child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.split("http://").nth(1) {
            node.base = format!("http://{}", rest.trim());
            // Keep draining stdout so the node never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return node;
        }
        node.printed.push(line);
    }
    panic!("the node printed no address: {:?}", node.printed);
}

/// `serve` on the database at `db`, HTTP and Handle on free ports.
pub fn serve_database(db: &str) -> Node {
    let mut cmd = idnode(None);
    cmd.env("IDNODE_DATABASE_URL", db).args([
        "serve",
        "--http",
        "127.0.0.1:0",
        "--handle",
        "127.0.0.1:0",
    ]);
    serve(cmd)
}
