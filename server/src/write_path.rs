//! The one path by which records change. In a single transaction it checks the resource,
//! maps it to the platform record, saves the record, writes the new resource version with
//! its search index, and commits — or changes nothing.

use helsebro_conformance::registry::contained_index;
use helsebro_mappings::dates::format_instant;
use std::collections::HashSet;

use helsebro_mappings::references::{literal_references, FoundReference};
use helsebro_mappings::{MappingError, MappingIssue};
use helsebro_profiles::structure::{self, Severity, StructureIssue};
use helsebro_profiles::validate::{Issue, Severity as IssueSeverity};
use serde_json::{json, Map, Value};

use crate::served::ServedType;
use crate::store::audit::AuditRecord;
use crate::store::resources::StoredVersion;
use crate::store::sql::Sql;
use crate::store::write::NewVersion;
use crate::store::{now_micros, Store, StoreError, WriteTx};
use crate::tenant::{Tenant, ValidationLevel};

pub mod atomic;
pub mod profile_check;

pub use atomic::{Applied, AtomicError, AtomicWrite};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the resource is not valid FHIR R4")]
    Structure(Vec<StructureIssue>),
    #[error("the resource breaks a platform or profile rule: {0}")]
    Unprocessable(#[from] MappingError),
    /// The tenant's validation level refused it: every issue found (warnings too), with
    /// the platform's own rules' findings when they fail as well.
    #[error("the resource does not conform to the profile the tenant requires: {}", first_error(.0))]
    Invalid(Vec<Issue>),
    #[error("version {expected} was expected but the current version is {current}")]
    VersionMismatch { expected: i64, current: String },
    #[error("the conditional create matched {0} resources")]
    AmbiguousCondition(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The first error of a refusal, for logs and messages that name one reason.
fn first_error(issues: &[Issue]) -> String {
    issues
        .iter()
        .find(|i| i.severity == IssueSeverity::Error)
        .map(|i| format!("{}: {}", i.expression, i.message))
        .unwrap_or_default()
}

/// A version the write path produced (or, for a matched conditional create, found).
#[derive(Debug, Clone)]
pub struct Written {
    pub id: String,
    pub version: i64,
    pub last_updated: i64,
    pub json: String,
    /// True when the resource did not exist (or was deleted) before this write.
    pub created: bool,
    /// Whose data it is (the access log's patient), from the index the write extracted;
    /// `None` for a resource a conditional create found.
    pub patient: Option<String>,
}

impl Written {
    /// A stored version a conditional create found instead of writing.
    pub fn found(json: &str) -> Written {
        let existing: Value = serde_json::from_str(json).unwrap_or(Value::Null);
        Written {
            id: existing["id"].as_str().unwrap_or_default().to_string(),
            version: existing["meta"]["versionId"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
            last_updated: existing["meta"]["lastUpdated"]
                .as_str()
                .and_then(helsebro_mappings::dates::parse_range)
                .map_or(0, |r| r.low),
            json: json.to_string(),
            created: false,
            patient: None,
        }
    }
}

pub enum DeleteOutcome {
    Deleted {
        version: i64,
    },
    /// Nothing to delete: unknown or already deleted. Not an error.
    Nothing,
}

/// A conditional create's query, compiled by the search layer.
pub struct Condition {
    /// Writers deciding on the same key are serialized.
    pub key: String,
    /// Selects `seq, json` of up to two matches.
    pub sql: Sql,
}

pub struct WritePath<'a> {
    pub store: &'a Store,
    pub tenant: &'a Tenant,
    /// This server's FHIR base: absolute references under it are local references.
    pub base_url: &'a str,
    /// The access-log row of a single write (agent and interaction), completed with the
    /// version written and appended in the same transaction. `None` for import and demo
    /// loading, which are not accesses by a user.
    pub audit: Option<&'a AuditRecord>,
}

impl WritePath<'_> {
    pub async fn create(
        &self,
        served: ServedType,
        resource: Value,
        condition: Option<Condition>,
    ) -> Result<Written, WriteError> {
        let record = self.check_at(served, &resource, self.incoming_level())?;
        let mut tx = self.store.begin_write().await?;
        if let Some(cond) = condition {
            match self.find_matches(&mut tx, &cond).await?.as_slice() {
                [] => {}
                [json] => return Ok(Written::found(json)),
                many => return Err(WriteError::AmbiguousCondition(many.len())),
            }
        }
        let write = AtomicWrite::Create {
            served,
            id: uuid::Uuid::new_v4().to_string(),
            resource,
            record,
        };
        let written = self.write_one(&mut tx, write).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// The current JSON of the resources matching a conditional write's query, after
    /// taking the query's lock: the same lock for a single conditional create and for a
    /// conditional entry of a transaction, on every instance sharing the database.
    pub async fn find_matches(
        &self,
        tx: &mut WriteTx,
        condition: &Condition,
    ) -> Result<Vec<String>, StoreError> {
        tx.lock_key(&condition.key).await?;
        let found = tx.search_in_tx(&self.tenant.id, &condition.sql).await?;
        Ok(found.into_iter().map(|(_, json)| json).collect())
    }

    /// One write of the atomic path in `tx` (not committed).
    async fn apply_one(&self, tx: &mut WriteTx, write: AtomicWrite) -> Result<Applied, WriteError> {
        match self.write_all(tx, vec![write]).await {
            Ok(mut done) => Ok(done.pop().expect("one outcome per write")),
            Err(AtomicError::Entry(_, e)) => Err(e),
            Err(AtomicError::Store(e)) => Err(e.into()),
        }
    }

    async fn write_one(&self, tx: &mut WriteTx, write: AtomicWrite) -> Result<Written, WriteError> {
        match self.apply_one(tx, write).await? {
            Applied::Written(w) => Ok(w),
            Applied::Deleted(_) => unreachable!("a create or update writes a version"),
        }
    }

    /// Update, or create with the client's id when none exists. `if_match` is the version
    /// the client last saw.
    pub async fn update(
        &self,
        served: ServedType,
        id: &str,
        resource: Value,
        if_match: Option<i64>,
    ) -> Result<Written, WriteError> {
        let record = self.check_at(served, &resource, self.incoming_level())?;
        let mut tx = self.store.begin_write().await?;
        let write = AtomicWrite::Update {
            served,
            id: id.to_string(),
            resource,
            record,
            if_match,
        };
        let written = self.write_one(&mut tx, write).await?;
        tx.commit().await?;
        Ok(written)
    }

    pub async fn delete(&self, served: ServedType, id: &str) -> Result<DeleteOutcome, WriteError> {
        let mut tx = self.store.begin_write().await?;
        let write = AtomicWrite::Delete {
            served,
            id: id.to_string(),
            if_match: None,
        };
        let outcome = match self.apply_one(&mut tx, write).await? {
            Applied::Deleted(outcome) => outcome,
            Applied::Written(_) => unreachable!("a delete writes no version"),
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Checks a resource against R4 and its mapping, giving the platform record it maps to.
    /// For records the platform itself exports (import), which the tenant's validation
    /// level does not judge: a client's writes go through [`Self::check_at`].
    pub fn check(
        &self,
        served: ServedType,
        resource: &Value,
    ) -> Result<crate::served::Record, WriteError> {
        self.check_at(served, resource, None)
    }

    /// The level a write is validated at: the tenant's, for a resource a client sent (a
    /// write with an access-log row). Resources built from the platform's own records
    /// (import, demo data: no access-log row) are not judged by it.
    fn incoming_level(&self) -> Option<ValidationLevel> {
        self.audit.map(|_| self.tenant.write_validation)
    }

    /// [`Self::check_at`] at the level of this write's origin, as `create` and `update`
    /// check: for writes whose checks run apart from the write (a transaction's entries).
    pub fn check_incoming(
        &self,
        served: ServedType,
        resource: &Value,
    ) -> Result<crate::served::Record, WriteError> {
        self.check_at(served, resource, self.incoming_level())
    }

    /// Checks a resource against R4 (400 when it is not R4), then against its mapping, then
    /// against `level`'s profile (both 422), giving the platform record it maps to. The
    /// platform's rules go first: where both find the same fault, theirs names the element
    /// and the rule in the platform's words.
    pub fn check_at(
        &self,
        served: ServedType,
        resource: &Value,
        level: Option<ValidationLevel>,
    ) -> Result<crate::served::Record, WriteError> {
        let errors: Vec<_> = structure::check_resource(resource)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(WriteError::Structure(errors));
        }
        let record = served.to_record(resource, self.tenant)?;
        if let Some(level) = level {
            profile_check::check(level, resource).map_err(WriteError::Invalid)?;
        }
        Ok(record)
    }

    /// Writes checked changes (to distinct resources) in the caller's transaction, with a
    /// few statements per table however many there are. Each change's result is its own:
    /// a refused change writes nothing and the others go on. References to served types
    /// must resolve within the tenant, to resources that exist or that an earlier change of
    /// the batch writes. `Err` means the transaction failed and must be rolled back.
    pub async fn write_batch(
        &self,
        tx: &mut WriteTx,
        changes: Vec<Change>,
    ) -> Result<Vec<Result<Written, WriteError>>, StoreError> {
        self.write_changes(tx, changes, false).await
    }

    /// `write_batch`, where with `all_visible` a reference may also name a resource that a
    /// later change writes: for changes that commit together or not at all, so that a
    /// refused one never leaves another pointing at nothing.
    pub(crate) async fn write_changes(
        &self,
        tx: &mut WriteTx,
        changes: Vec<Change>,
        all_visible: bool,
    ) -> Result<Vec<Result<Written, WriteError>>, StoreError> {
        let references: Vec<Vec<FoundReference>> = changes
            .iter()
            .map(|c| {
                literal_references(&c.resource, self.base_url)
                    .into_iter()
                    .filter(|r| ServedType::from_name(&r.target_type).is_some())
                    .collect()
            })
            .collect();
        let mut targets: Vec<(String, String)> = references
            .iter()
            .flatten()
            .map(|r| (r.target_type.clone(), r.target_id.clone()))
            .collect();
        targets.sort();
        targets.dedup();
        let existing = tx.existing(&self.tenant.id, &targets).await?;

        let mut written_here: HashSet<(String, String)> = HashSet::new();
        if all_visible {
            written_here.extend(
                changes
                    .iter()
                    .map(|c| (c.served.name().to_string(), c.id.clone())),
            );
        }
        let mut results = Vec::with_capacity(changes.len());
        let mut staged = Vec::new();
        for (change, references) in changes.into_iter().zip(references) {
            let issues: Vec<MappingIssue> = references
                .into_iter()
                .filter(|r| {
                    let key = (r.target_type.clone(), r.target_id.clone());
                    !existing.contains(&key) && !written_here.contains(&key)
                })
                .map(|r| MappingIssue {
                    message: format!(
                        "{}/{} does not exist on this server (references to {} must resolve)",
                        r.target_type, r.target_id, r.target_type
                    ),
                    expression: r.expression,
                })
                .collect();
            if !issues.is_empty() {
                results.push(Err(WriteError::Unprocessable(MappingError { issues })));
                continue;
            }
            written_here.insert((change.served.name().to_string(), change.id.clone()));
            let (version, created) = match &change.current {
                Some(c) => (c.version + 1, c.deleted),
                None => (1, true),
            };
            let last_updated = now_micros();
            let resource = with_server_meta(change.resource, &change.id, version, last_updated);
            let json = serde_json::to_string(&resource).expect("JSON values always serialize");
            let index = change.served.def().index(&resource);
            let contained = contained_index(&resource);
            let patient = match change.served {
                ServedType::Patient => Some(change.id.clone()),
                _ => crate::audit::patients::patient_in_index(&index),
            };
            staged.push((
                results.len(),
                change.served,
                change.id,
                change.record,
                change.method,
                index,
                contained,
            ));
            results.push(Ok(Written {
                id: String::new(),
                version,
                last_updated,
                json,
                created,
                patient,
            }));
        }

        let records: Vec<(&str, &crate::served::Record)> = staged
            .iter()
            .map(|(_, _, id, record, _, _, _)| (id.as_str(), record))
            .collect();
        tx.save_records(&self.tenant.id, &records).await?;
        let versions: Vec<NewVersion> = staged
            .iter()
            .map(|(at, served, id, _, method, index, contained)| {
                let w = results[*at].as_ref().expect("staged changes are accepted");
                NewVersion {
                    tenant_id: &self.tenant.id,
                    resource_type: served.name(),
                    id,
                    version: w.version,
                    last_updated: w.last_updated,
                    method,
                    json: Some(&w.json),
                    created: w.created,
                    index,
                    contained,
                }
            })
            .collect();
        tx.save_versions(&versions).await?;
        drop(versions);
        for (at, _, id, _, _, _, _) in staged {
            if let Ok(w) = &mut results[at] {
                w.id = id;
            }
        }
        Ok(results)
    }
}

/// A checked resource on its way into the store.
pub struct Change {
    pub served: ServedType,
    pub id: String,
    pub resource: Value,
    pub record: crate::served::Record,
    /// The resource's current version, read in the writing transaction.
    pub current: Option<StoredVersion>,
    /// `POST` or `PUT`, as history reports it.
    pub method: &'static str,
}

/// Sets `id`, `meta.versionId` and `meta.lastUpdated` (the server owns them) and puts
/// `resourceType`, `id` and `meta` first, keeping the rest as the client wrote it.
fn with_server_meta(resource: Value, id: &str, version: i64, last_updated: i64) -> Value {
    let Value::Object(mut fields) = resource else {
        return resource;
    };
    let mut meta = match fields.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.shift_remove("versionId");
    meta.shift_remove("lastUpdated");
    let mut ordered_meta = Map::new();
    ordered_meta.insert("versionId".into(), json!(version.to_string()));
    ordered_meta.insert("lastUpdated".into(), json!(format_instant(last_updated)));
    ordered_meta.extend(meta);
    let mut out = Map::new();
    out.insert(
        "resourceType".into(),
        fields.shift_remove("resourceType").unwrap_or(Value::Null),
    );
    fields.shift_remove("id");
    out.insert("id".into(), json!(id));
    out.insert("meta".into(), Value::Object(ordered_meta));
    out.extend(fields);
    Value::Object(out)
}
