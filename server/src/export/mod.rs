//! FHIR Bulk Data Access 2.0 `$export`: what a job exports (the plan, fixed at kick-off),
//! the worker that writes its files, and the care-panel Groups that group-level export
//! names. The HTTP side is `fhir/interactions/export.rs`; the tables `store/exports.rs`.

pub mod panel;
pub mod request;
pub mod worker;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a job and its files are kept after kick-off.
pub const EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// How this instance's export worker runs.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// Resources per NDJSON file; a type with more is split.
    pub file_resources: usize,
    /// Rows read per query: what the worker holds besides the file being written.
    pub page: usize,
    /// How long a lease lasts; renewed with every file written.
    pub lease: Duration,
    /// How long the worker waits when no job is due.
    pub idle: Duration,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            file_resources: 10_000,
            page: 500,
            lease: Duration::from_secs(120),
            idle: Duration::from_secs(2),
        }
    }
}

/// What a job exports, in order: one step per type. Computed at kick-off from the
/// parameters, the token's reach and the group's members, so the worker needs no token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub resource_type: String,
    /// Searches whose matches are exported, ORed; each is search pairs ANDed (a type
    /// filter with the token's reach and the compartment). One empty search exports the
    /// whole type.
    pub any_of: Vec<Vec<(String, String)>>,
}
