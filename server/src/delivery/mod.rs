//! Document delivery to the municipalities' EHRs. A triggering event (a finished journal
//! note, a measurement summary asked for, a closed alert) queues a document in the outbox
//! in its own transaction; workers lease due deliveries, send them over the tenant's
//! connector (JFT, VKP or the EDI 2.0 message service), follow their status, and once a
//! delivery is final only its metadata stays.

pub mod admin;
pub mod alerts;
pub mod backoff;
pub mod connector;
pub mod documents;
pub mod edi;
pub mod edi_sender;
pub mod helseid;
pub mod jft_sender;
pub mod journal_notes;
pub mod transmit_log;
pub mod vkp_sender;
pub mod worker;

use std::time::Duration;

/// How the workers pace themselves. The defaults suit production; tests shorten them.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Whether this instance runs a worker at all.
    pub enabled: bool,
    /// How long the worker sleeps when nothing is due.
    pub idle: Duration,
    /// How long a leased delivery is this worker's; after that another may take it over
    /// (the holder crashed). Longer than any one request can take.
    pub lease: Duration,
    /// The timeout of each request to a receiver.
    pub request_timeout: Duration,
    /// Send attempts before a delivery is marked failed.
    pub max_attempts: i64,
    /// The first retry's delay; each further retry doubles it, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How often a sent document's status is asked for.
    pub poll: Duration,
    /// How long after sending a delivery may wait for its final status (the EHR never
    /// journals it) before it is marked failed for an operator to look into.
    pub give_up: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            idle: Duration::from_secs(2),
            lease: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            max_attempts: 12,
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(6 * 3600),
            poll: Duration::from_secs(300),
            give_up: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What a document is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    JournalNote,
    MeasurementSummary,
    ClosedAlert,
}

impl DocumentKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::JournalNote => "journal-note",
            Self::MeasurementSummary => "measurement-summary",
            Self::ClosedAlert => "closed-alert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::JournalNote,
            Self::MeasurementSummary,
            Self::ClosedAlert,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }

    /// The Norwegian name, for the access log the patient reads.
    pub fn display(self) -> &'static str {
        match self {
            Self::JournalNote => "journalnotat",
            Self::MeasurementSummary => "oppsummering av målinger",
            Self::ClosedAlert => "lukket varsel",
        }
    }
}

/// Why a document could not be made or queued.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// What the document is made from is missing or unfit (no national identity number,
    /// the note gone, no HER-id for EDI).
    #[error("{0}")]
    Source(String),
    /// The tenant has no route for the patient's municipality.
    #[error("no delivery route for municipality {0}")]
    NoRoute(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
