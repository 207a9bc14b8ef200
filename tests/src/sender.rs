//! The `helsebro` binary as a separate process: a sending server that a test can kill
//! outright (SIGKILL, mid-request) and start again, and the CLI commands that configure it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::master_key_for;

/// `target/debug/helsebro`. `cargo test --workspace` builds it with the server's own
/// tests; a run of only this package builds it here when it is missing (run `cargo build`
/// first when it may be stale).
pub fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test binary path");
            // target/debug/deps/blackbox-… → target/debug/helsebro
            let dir = exe
                .parent()
                .and_then(|d| d.parent())
                .expect("target directory");
            let bin = dir.join("helsebro");
            if bin.exists() {
                return bin;
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "-q", "-p", "helsebro", "--bin", "helsebro"])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .expect("run cargo build");
            assert!(status.success(), "building the helsebro binary failed");
            bin
        })
        .clone()
}

/// The environment every command on `database_url` runs with: its master key.
fn master_key_env(database_url: &str) -> String {
    STANDARD.encode(master_key_for(database_url).0)
}

/// Runs a `helsebro` command on the database; its stdout, or a panic with its stderr.
pub fn cli(database_url: &str, args: &[&str]) -> String {
    cli_output(database_url, args).0
}

/// Runs a `helsebro` command on the database; its stdout and stderr, or a panic.
pub fn cli_output(database_url: &str, args: &[&str]) -> (String, String) {
    let output = std::process::Command::new(binary())
        .args(args)
        .env("HELSEBRO_DATABASE_URL", database_url)
        .env("HELSEBRO_MASTER_KEY", master_key_env(database_url))
        .env("HELSEBRO_LOG", "warn")
        .output()
        .expect("run helsebro");
    assert!(
        output.status.success(),
        "helsebro {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A running `helsebro serve`.
pub struct ServerProcess {
    child: tokio::process::Child,
    pub root: String,
}

impl ServerProcess {
    /// Starts `helsebro serve` on the database with `args` added, and waits until ready.
    pub async fn start(database_url: &str, args: &[&str]) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("port").port()
        };
        let listen = format!("127.0.0.1:{port}");
        let log = crate::log_dir().join(format!("server-{}-{port}.log", std::process::id()));
        let _ = std::fs::create_dir_all(crate::log_dir());
        let log = std::fs::File::create(log).expect("server log file");
        let child = tokio::process::Command::new(binary())
            .args(["serve", "--listen", &listen, "--database", database_url])
            .args(args)
            .env("HELSEBRO_MASTER_KEY", master_key_env(database_url))
            .env("HELSEBRO_LOG", "info,helsebro=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start helsebro serve");
        let root = format!("http://{listen}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{root}/healthz")).send().await {
                if r.status().is_success() {
                    return Self { child, root };
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("helsebro serve did not become ready on {listen}");
    }

    /// SIGKILL: no shutdown, no flushing; whatever was in flight is cut off.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
