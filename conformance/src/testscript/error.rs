//! The one error type of the engine: what stops a run before or outside a script's own
//! asserts. A failed assert or a refused request is not an error: it is reported in the
//! script's result and TestReport.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a TestScript (resourceType is {found:?})")]
    NotTestScript { path: PathBuf, found: String },
    #[error("{path}: {reason}")]
    InvalidScript { path: PathBuf, reason: String },
    #[error("no TestScript found in {0:?}")]
    NoScripts(Vec<PathBuf>),
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
    #[error("cannot write the TestReport {path}: {source}")]
    WriteReport {
        path: PathBuf,
        source: std::io::Error,
    },
}
