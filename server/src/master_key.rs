//! Where the master key comes from, so that every process of a deployment (the server and
//! the operator commands) uses the same one, and it never lives in the database:
//! `HELSEBRO_MASTER_KEY` (base64 of 32 bytes); else the file `HELSEBRO_MASTER_KEY_FILE`
//! names; else a key file beside the SQLite database (`PATH.key`) or, for PostgreSQL,
//! `helsebro-master.key` in the working directory, made on first start (mode 0600).
//! Production keeps it in a secret store and passes it in the environment.

use std::path::PathBuf;

use crate::config::Config;
use crate::store::crypto::MasterKey;

pub fn resolve(config: &Config) -> Result<MasterKey, String> {
    if let Some(key) = &config.master_key {
        return Ok(key.clone());
    }
    if let Ok(text) = std::env::var("HELSEBRO_MASTER_KEY") {
        return MasterKey::from_base64(&text)
            .ok_or_else(|| "HELSEBRO_MASTER_KEY is not the base64 of 32 bytes".to_string());
    }
    let (path, may_create) = match std::env::var("HELSEBRO_MASTER_KEY_FILE") {
        Ok(p) => (PathBuf::from(p), false),
        Err(_) => (default_path(&config.database_url), true),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::from_base64(&text)
            .ok_or_else(|| format!("{}: not the base64 of 32 bytes", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => create(&path),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn default_path(database_url: &str) -> PathBuf {
    match database_url.strip_prefix("sqlite://") {
        Some(rest) => {
            let file = rest.split('?').next().unwrap_or(rest);
            PathBuf::from(format!("{file}.key"))
        }
        None => PathBuf::from("helsebro-master.key"),
    }
}

fn create(path: &PathBuf) -> Result<MasterKey, String> {
    use std::io::Write;
    let key = MasterKey::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(path)
        .and_then(|mut f| f.write_all(key.to_base64().as_bytes()));
    match written {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "made a new master key file; back it up and keep it apart from the database");
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .ok()
            .and_then(|t| MasterKey::from_base64(&t))
            .ok_or_else(|| format!("{}: unreadable", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
