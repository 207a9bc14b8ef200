//! Any mix of creates, updates and deletes written in the caller's transaction, with an
//! access-log row each: a transaction Bundle commits them together, a single FHIR write is
//! a mix of one. The first refusal ends it, and the caller rolls everything back.

use std::collections::HashMap;

use serde_json::Value;

use super::{Change, DeleteOutcome, WriteError, WritePath, Written};
use crate::served::{Record, ServedType};
use crate::store::audit::AuditRecord;
use crate::store::resources::StoredVersion;
use crate::store::write::NewVersion;
use crate::store::{now_micros, StoreError, WriteTx};

/// One checked write.
pub enum AtomicWrite {
    /// A new resource under an id the caller chose (a fresh UUID).
    Create {
        served: ServedType,
        id: String,
        resource: Value,
        record: Record,
    },
    /// Update, or create under the client's id when none exists.
    Update {
        served: ServedType,
        id: String,
        resource: Value,
        record: Record,
        if_match: Option<i64>,
    },
    Delete {
        served: ServedType,
        id: String,
        if_match: Option<i64>,
    },
    /// A conditional create that found its match: nothing is written, but the access log
    /// names the version it answered with, as for a single conditional create.
    Found {
        served: ServedType,
        written: Written,
    },
}

impl AtomicWrite {
    fn target(&self) -> Option<(ServedType, &str)> {
        match self {
            AtomicWrite::Update { served, id, .. } | AtomicWrite::Delete { served, id, .. } => {
                Some((*served, id))
            }
            AtomicWrite::Create { .. } | AtomicWrite::Found { .. } => None,
        }
    }
}

impl AtomicWrite {
    /// A create or update as the change `write_batch` makes, with the target's current
    /// version (read and locked in this transaction) for an update.
    fn into_change(self, current: &mut HashMap<(ServedType, String), StoredVersion>) -> Change {
        let (served, id, resource, record, method) = match self {
            AtomicWrite::Create {
                served,
                id,
                resource,
                record,
            } => (served, id, resource, record, "POST"),
            AtomicWrite::Update {
                served,
                id,
                resource,
                record,
                ..
            } => (served, id, resource, record, "PUT"),
            AtomicWrite::Delete { .. } | AtomicWrite::Found { .. } => {
                unreachable!("deletes and found resources are not changes")
            }
        };
        let current = current.remove(&(served, id.clone()));
        Change {
            served,
            id,
            resource,
            record,
            current,
            method,
        }
    }
}

/// What one write did, in the order of the writes.
pub enum Applied {
    Written(Written),
    Deleted(DeleteOutcome),
}

#[derive(Debug)]
pub enum AtomicError {
    /// The write at this position was refused.
    Entry(usize, WriteError),
    /// The transaction failed as a whole.
    Store(StoreError),
}

impl From<StoreError> for AtomicError {
    fn from(e: StoreError) -> Self {
        AtomicError::Store(e)
    }
}

/// `If-Match` against the current version read in the writing transaction.
pub fn check_if_match(
    expected: Option<i64>,
    current: Option<&StoredVersion>,
) -> Result<(), WriteError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match current {
        Some(c) if !c.deleted && c.version == expected => Ok(()),
        _ => Err(WriteError::VersionMismatch {
            expected,
            current: match current {
                Some(c) if !c.deleted => c.version.to_string(),
                Some(_) => "deleted".into(),
                None => "none".into(),
            },
        }),
    }
}

impl WritePath<'_> {
    /// Applies `writes` in `tx` in their order: deletes as they come, then every create and
    /// update together (one statement per table), whose references may name any resource
    /// the writes create; then one access-log row per write. The targets must be distinct.
    /// Nothing is committed: on `Err` the caller drops `tx`, which rolls back.
    pub async fn write_all(
        &self,
        tx: &mut WriteTx,
        writes: Vec<AtomicWrite>,
    ) -> Result<Vec<Applied>, AtomicError> {
        let mut current = self.current_of(tx, &writes).await?;
        for (at, write) in writes.iter().enumerate() {
            if let AtomicWrite::Update {
                served,
                id,
                if_match,
                ..
            }
            | AtomicWrite::Delete {
                served,
                id,
                if_match,
            } = write
            {
                check_if_match(*if_match, current.get(&(*served, id.clone())))
                    .map_err(|e| AtomicError::Entry(at, e))?;
            }
        }

        let mut applied: Vec<Option<Applied>> = writes.iter().map(|_| None).collect();
        let mut audit_rows = Vec::new();
        let mut deletions = Vec::new();
        let mut changes = Vec::new();
        let mut change_at = Vec::new();
        for (at, write) in writes.into_iter().enumerate() {
            match write {
                AtomicWrite::Delete { served, id, .. } => {
                    let live = current.remove(&(served, id.clone())).filter(|c| !c.deleted);
                    let Some(live) = live else {
                        applied[at] = Some(Applied::Deleted(DeleteOutcome::Nothing));
                        continue;
                    };
                    tx.delete_record(served, &self.tenant.id, &id).await?;
                    let version = live.version + 1;
                    let patient = live
                        .json
                        .as_deref()
                        .and_then(|j| crate::audit::patients::patient_of_json(served, j));
                    audit_rows.extend(self.audit_row("delete", served, &id, version, patient));
                    applied[at] = Some(Applied::Deleted(DeleteOutcome::Deleted { version }));
                    deletions.push((served, id, version));
                }
                AtomicWrite::Found { served, written } => {
                    let patient = crate::audit::patients::patient_of_json(served, &written.json);
                    audit_rows.extend(self.audit_row(
                        "create",
                        served,
                        &written.id,
                        written.version,
                        patient,
                    ));
                    applied[at] = Some(Applied::Written(written));
                }
                write => {
                    change_at.push(at);
                    changes.push(write.into_change(&mut current));
                }
            }
        }
        self.save_deletions(tx, &deletions).await?;

        let kinds: Vec<(ServedType, &'static str)> = changes
            .iter()
            .map(|c| {
                (
                    c.served,
                    if c.method == "POST" {
                        "create"
                    } else {
                        "update"
                    },
                )
            })
            .collect();
        let results = self.write_changes(tx, changes, true).await?;
        for ((at, result), (served, subtype)) in change_at.into_iter().zip(results).zip(kinds) {
            let written = result.map_err(|e| AtomicError::Entry(at, e))?;
            audit_rows.extend(self.audit_row(
                subtype,
                served,
                &written.id,
                written.version,
                written.patient.clone(),
            ));
            applied[at] = Some(Applied::Written(written));
        }
        if !audit_rows.is_empty() {
            tx.append_audit(&audit_rows).await?;
        }
        Ok(applied
            .into_iter()
            .map(|a| a.expect("every write has an outcome"))
            .collect())
    }

    /// The current versions of the writes' targets, locked until commit.
    async fn current_of(
        &self,
        tx: &mut WriteTx,
        writes: &[AtomicWrite],
    ) -> Result<HashMap<(ServedType, String), StoredVersion>, StoreError> {
        let mut by_type: HashMap<ServedType, Vec<&str>> = HashMap::new();
        for (served, id) in writes.iter().filter_map(AtomicWrite::target) {
            by_type.entry(served).or_default().push(id);
        }
        let mut found = HashMap::new();
        for (served, ids) in by_type {
            // A single target keeps the prepared statement single writes have always used.
            if let [id] = ids.as_slice() {
                if let Some(v) = tx.current(&self.tenant.id, served.name(), id).await? {
                    found.insert((served, v.id.clone()), v);
                }
                continue;
            }
            for (id, v) in tx
                .current_many(&self.tenant.id, served.name(), &ids)
                .await?
            {
                found.insert((served, id), v);
            }
        }
        Ok(found)
    }

    async fn save_deletions(
        &self,
        tx: &mut WriteTx,
        deletions: &[(ServedType, String, i64)],
    ) -> Result<(), StoreError> {
        if deletions.is_empty() {
            return Ok(());
        }
        let last_updated = now_micros();
        let versions: Vec<NewVersion> = deletions
            .iter()
            .map(|(served, id, version)| NewVersion {
                tenant_id: &self.tenant.id,
                resource_type: served.name(),
                id,
                version: *version,
                last_updated,
                method: "DELETE",
                json: None,
                created: false,
                index: &[],
                contained: &[],
            })
            .collect();
        tx.save_versions(&versions).await?;
        Ok(())
    }

    /// The access-log row of one write, naming the version and its patient; none for
    /// writes that are not accesses by a user (import, demo data).
    fn audit_row(
        &self,
        subtype: &'static str,
        served: ServedType,
        id: &str,
        version: i64,
        patient: Option<String>,
    ) -> Option<AuditRecord> {
        let mut row = self.audit?.clone();
        // Each write is an event of its own, with an id of its own.
        row.id = uuid::Uuid::new_v4().to_string();
        row.subtype = subtype.to_string();
        row.action = crate::audit::action_of(subtype).to_string();
        row.entity = Some(format!("{}/{id}/_history/{version}", served.name()));
        row.patients = patient.into_iter().collect();
        Some(row)
    }
}
