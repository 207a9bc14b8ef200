//! Retention: each tenant (the data controller) chooses how long its access log and its
//! delivery metadata are kept, never below the legal floors here; a job applies the
//! settings daily.
//!
//! The floors, and why (the controller's own legal assessment may call for longer):
//! - Access log: 10 years. Patients have the right to see who accessed their record
//!   (pasientjournalloven § 22 and Normen factsheet 15), and a record is kept at least
//!   10 years after its last entry (pasientjournalforskriften); the log of its accesses is
//!   kept at least as long. Unverified against the current text of the regulations.
//! - Delivery metadata: 1 year: the record that a document was sent is the platform's
//!   documentation of the sending; the document itself is in the receiving EHR.

use std::time::Duration;

use crate::store::retention::RetentionDays;
use crate::store::{now_micros, Store, StoreError};

pub const MINIMUM: RetentionDays = RetentionDays {
    audit: 3653,
    delivery: 365,
};

/// How often the job runs.
pub const INTERVAL: Duration = Duration::from_secs(24 * 3600);

const DAY_MICROS: i64 = 24 * 3600 * 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("{what} retention of {days} days is below the legal minimum of {minimum} days")]
    BelowMinimum {
        what: &'static str,
        days: i64,
        minimum: i64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sets a tenant's retention, refusing anything below the floors.
pub async fn set(
    store: &Store,
    tenant_id: &str,
    days: RetentionDays,
) -> Result<(), RetentionError> {
    for (what, days, minimum) in [
        ("access log", days.audit, MINIMUM.audit),
        ("delivery metadata", days.delivery, MINIMUM.delivery),
    ] {
        if days < minimum {
            return Err(RetentionError::BelowMinimum {
                what,
                days,
                minimum,
            });
        }
    }
    Ok(store.set_retention(tenant_id, days).await?)
}

/// Applies every tenant's retention as of `now` (microseconds); returns the access-log
/// rows removed. Delivery metadata has no rows yet to expire (deliveries are issue 6's).
pub async fn apply(store: &Store, now: i64) -> Result<u64, StoreError> {
    let mut removed = 0;
    for tenant in store.tenant_ids().await? {
        let days = store.retention(&tenant).await?.unwrap_or(MINIMUM);
        // A setting stored below the floor (by hand, in the database) still keeps the floor.
        let audit_days = days.audit.max(MINIMUM.audit);
        removed += store
            .expire_audit(&tenant, now - audit_days * DAY_MICROS)
            .await?;
        let delivery_days = days.delivery.max(MINIMUM.delivery);
        removed += store
            .remove_old_deliveries(&tenant, now - delivery_days * DAY_MICROS)
            .await?;
    }
    Ok(removed)
}

/// Runs `apply` now and then every `INTERVAL`, for the life of the server.
pub fn schedule(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tick.tick().await;
            match apply(&store, now_micros()).await {
                Ok(removed) => tracing::info!(
                    removed,
                    "retention applied to the access log and delivery register"
                ),
                Err(e) => tracing::error!(error = %e, "retention could not be applied"),
            }
        }
    });
}
