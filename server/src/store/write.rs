//! One write transaction: the record change, the new resource version and its search
//! index rows commit together or not at all.

use std::collections::{HashMap, HashSet};

use helsebro_conformance::registry::ContainedIndex;
use helsebro_mappings::index::{IndexEntry, IndexValue};
use sqlx::{Any, AnyConnection, Row, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::resources::{current_from_row, StoredVersion};
use super::sql::{Arg, Sql};
use super::{Backend, Store, StoreError};

pub struct WriteTx {
    pub(super) tx: Transaction<'static, Any>,
    pub(super) backend: Backend,
    /// For the tenant keys that seal what is written.
    pub(super) store: Store,
    // SQLite: held until commit so that only one write transaction runs at a time.
    _sqlite_writer: Option<OwnedMutexGuard<()>>,
}

/// The version a write produces.
pub struct NewVersion<'a> {
    pub tenant_id: &'a str,
    pub resource_type: &'a str,
    pub id: &'a str,
    pub version: i64,
    pub last_updated: i64,
    /// `POST`, `PUT` or `DELETE`, as history reports it.
    pub method: &'a str,
    /// `None` for a deletion.
    pub json: Option<&'a str>,
    /// The version brings the resource into existence.
    pub created: bool,
    pub index: &'a [IndexEntry],
    /// Its contained resources of served types, indexed apart (`_contained` searches).
    pub contained: &'a [ContainedIndex],
}

impl Store {
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = match self.backend {
            // Take the write lock up front: a deferred transaction that read first and then
            // finds another process (an import, a second instance) writing fails at once
            // instead of waiting its turn.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            backend: self.backend,
            store: self.clone(),
            _sqlite_writer: guard,
        })
    }
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The current version, locked against concurrent writers until commit.
    pub async fn current(
        &mut self,
        tenant_id: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT seq, resource_type, id, version, last_updated, deleted, json FROM resources \
             WHERE tenant_id = $1 AND resource_type = $2 AND id = $3{lock}"
        );
        let row = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(resource_type)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        self.store
            .unsealed(tenant_id, row.as_ref().map(current_from_row))
            .await
    }

    /// The current versions of `ids` (of one type), locked like `current`.
    pub async fn current_many(
        &mut self,
        tenant_id: &str,
        resource_type: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, StoredVersion>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(
                "SELECT seq, resource_type, id, version, last_updated, deleted, json FROM resources \
                 WHERE tenant_id = ",
            );
            sql.text(tenant_id)
                .push(" AND resource_type = ")
                .text(resource_type)
                .push(" AND id IN (")
                .append(&id_list(chunk.iter().copied()))
                .push(")");
            if self.backend == Backend::Postgres {
                sql.push(" FOR UPDATE");
            }
            for row in sql
                .query()
                .persistent(false)
                .fetch_all(&mut *self.tx)
                .await?
            {
                let mut v = current_from_row(&row);
                v.json = self.store.unseal_opt(tenant_id, v.json).await?;
                found.insert(v.id.clone(), v);
            }
        }
        Ok(found)
    }

    /// Which of `targets` (`(type, id)`, sorted) exist, not deleted, in the tenant.
    pub async fn existing(
        &mut self,
        tenant_id: &str,
        targets: &[(String, String)],
    ) -> Result<HashSet<(String, String)>, StoreError> {
        let mut found = HashSet::with_capacity(targets.len());
        // One `id IN (...)` per type: SQLite scans the table for a row-value IN.
        for same_type in targets.chunk_by(|a, b| a.0 == b.0) {
            for chunk in same_type.chunks(ROWS_PER_STATEMENT) {
                let mut sql = Sql::new("SELECT id FROM resources WHERE tenant_id = ");
                sql.text(tenant_id)
                    .push(" AND resource_type = ")
                    .text(chunk[0].0.as_str())
                    .push(" AND deleted = FALSE AND id IN (")
                    .append(&id_list(chunk.iter().map(|(_, id)| id.as_str())))
                    .push(")");
                for row in sql
                    .query()
                    .persistent(chunk.len() == 1)
                    .fetch_all(&mut *self.tx)
                    .await?
                {
                    found.insert((chunk[0].0.clone(), row.get(0)));
                }
            }
        }
        Ok(found)
    }

    /// Serializes writers that decide on the same key (a conditional create's query) until
    /// commit, so that two of them cannot both see "no match" and both create.
    pub async fn lock_key(&mut self, key: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)")
                .bind(key)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Writes each of `versions` (distinct resources) as the current version, appends it
    /// to the history and replaces its index rows, with a few statements per table however
    /// many versions there are. Returns each resource's `seq`, in order.
    pub async fn save_versions(
        &mut self,
        versions: &[NewVersion<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        let mut seqs = HashMap::with_capacity(versions.len());
        for chunk in versions.chunks(ROWS_PER_STATEMENT) {
            let mut current = Insert::new(
                "resources (tenant_id, resource_type, id, version, last_updated, deleted, json)",
            );
            let mut history = Insert::new(
                "resource_versions (tenant_id, resource_type, id, version, last_updated, method, created, json)",
            );
            for v in chunk {
                let json = match v.json {
                    Some(j) => Arg::Text(self.store.seal(v.tenant_id, j).await?),
                    None => Arg::Null,
                };
                current.row([
                    Arg::Text(v.tenant_id.to_string()),
                    Arg::Text(v.resource_type.to_string()),
                    Arg::Text(v.id.to_string()),
                    Arg::Int(v.version),
                    Arg::Int(v.last_updated),
                    Arg::Bool(v.json.is_none()),
                    json.clone(),
                ]);
                history.row([
                    Arg::Text(v.tenant_id.to_string()),
                    Arg::Text(v.resource_type.to_string()),
                    Arg::Text(v.id.to_string()),
                    Arg::Int(v.version),
                    Arg::Int(v.last_updated),
                    Arg::Text(v.method.to_string()),
                    Arg::Bool(v.created),
                    json,
                ]);
            }
            // One row, or a full chunk: the same text again and again, worth preparing once
            // (PostgreSQL parses a statement of hundreds of parameters in earnest).
            let repeats = chunk.len() == 1 || chunk.len() == ROWS_PER_STATEMENT;
            for mut sql in current.finish() {
                sql.push(
                    " ON CONFLICT (tenant_id, resource_type, id) DO UPDATE SET \
                     version = excluded.version, last_updated = excluded.last_updated, \
                     deleted = excluded.deleted, json = excluded.json \
                     RETURNING resource_type, id, seq",
                );
                let rows = sql
                    .query()
                    .persistent(repeats)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(StoreError::from_write)?;
                for row in rows {
                    let key: (String, String) = (row.get(0), row.get(1));
                    seqs.insert(key, row.get::<i64, _>(2));
                }
            }
            for sql in history.finish() {
                sql.query()
                    .persistent(repeats)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(StoreError::from_write)?;
            }
        }
        let seqs: Vec<i64> = versions
            .iter()
            .map(|v| seqs[&(v.resource_type.to_string(), v.id.to_string())])
            .collect();
        let rows: Vec<IndexRows> = versions
            .iter()
            .zip(&seqs)
            .map(|(v, seq)| IndexRows {
                seq: *seq,
                tenant_id: v.tenant_id,
                resource_type: v.resource_type,
                index: v.index,
                contained: v.contained,
                // A first version has no index rows yet: six round trips saved on every create.
                replace: v.version > 1,
            })
            .collect();
        self.replace_index(&rows).await?;
        Ok(seqs)
    }

    pub async fn save_version(&mut self, v: &NewVersion<'_>) -> Result<i64, StoreError> {
        Ok(self.save_versions(std::slice::from_ref(v)).await?[0])
    }

    /// Removes the index rows of the resources at `seqs`, and their contained resources
    /// with the index rows of those.
    pub(super) async fn delete_index_rows(&mut self, seqs: &[i64]) -> Result<(), StoreError> {
        for chunk in seqs.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new("SELECT id FROM contained_resources WHERE container_seq IN (");
            sql.append(&int_list(chunk)).push(")");
            let contained: Vec<i64> = sql
                .query()
                .persistent(chunk.len() == 1)
                .fetch_all(&mut *self.tx)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut owners = chunk.to_vec();
            if !contained.is_empty() {
                owners.extend(contained.iter().map(|id| -id));
                let mut sql = Sql::new("DELETE FROM contained_resources WHERE container_seq IN (");
                sql.append(&int_list(chunk)).push(")");
                sql.query().persistent(false).execute(&mut *self.tx).await?;
            }
            for table in INDEX_TABLES {
                let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE resource_seq IN ("));
                sql.append(&int_list(&owners)).push(")");
                sql.query()
                    .persistent(owners.len() == 1)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Writes the index rows of resources, first removing their old rows where `replace`.
    /// A contained resource gets a `contained_resources` row and index rows under the
    /// negative of its id.
    pub async fn replace_index(&mut self, rows: &[IndexRows<'_>]) -> Result<(), StoreError> {
        let replaced: Vec<i64> = rows.iter().filter(|r| r.replace).map(|r| r.seq).collect();
        self.delete_index_rows(&replaced).await?;
        let mut owners: Vec<(i64, &str, &str, &[IndexEntry])> = rows
            .iter()
            .map(|v| (v.seq, v.tenant_id, v.resource_type, v.index))
            .collect();
        for v in rows {
            // Rare, so one statement each: the id each gets is what its rows are keyed by.
            for c in v.contained {
                let id: i64 = sqlx::query(
                    "INSERT INTO contained_resources \
                     (tenant_id, container_seq, resource_type, contained_id) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(v.tenant_id)
                .bind(v.seq)
                .bind(c.resource_type)
                .bind(&c.id)
                .fetch_one(&mut *self.tx)
                .await?
                .get(0);
                owners.push((-id, v.tenant_id, c.resource_type, &c.index));
            }
        }
        let mut tokens = Insert::new(
            "search_token (resource_seq, tenant_id, resource_type, param, system, code)",
        );
        let mut strings = Insert::new(
            "search_string (resource_seq, tenant_id, resource_type, param, normalized, exact)",
        );
        let mut dates =
            Insert::new("search_date (resource_seq, tenant_id, resource_type, param, low, high)");
        let mut references = Insert::new(
            "search_reference (resource_seq, tenant_id, resource_type, param, target_type, target_id, url)",
        );
        let mut quantities = Insert::new(
            "search_quantity (resource_seq, tenant_id, resource_type, param, value, system, code, unit)",
        );
        let mut token_quantities = Insert::new(
            "search_token_quantity (resource_seq, tenant_id, resource_type, param, system, code, value, unit_system, unit_code, unit)",
        );
        for &(seq, tenant_id, resource_type, index) in &owners {
            // National identity numbers are indexed by keyed hash, never as written.
            let hasher = self.store.search_hasher(tenant_id).await?;
            for entry in index {
                let common = [
                    Arg::Int(seq),
                    Arg::Text(tenant_id.to_string()),
                    Arg::Text(resource_type.to_string()),
                    Arg::Text(entry.param.to_string()),
                ];
                match &entry.value {
                    IndexValue::Token { system, code } => {
                        let code = match system.as_deref() {
                            Some(sys) if super::crypto::is_national_id_system(sys) => {
                                hasher.hash(code)
                            }
                            // An `:of-type` row (`type-system|type-code`) names no identifier
                            // system: a value shaped like a national number is one.
                            Some(sys)
                                if sys.contains('|')
                                    && helsebro_profiles::identifiers::check_person_number(
                                        code, true,
                                    )
                                    .is_ok() =>
                            {
                                hasher.hash(code)
                            }
                            _ => code.clone(),
                        };
                        tokens.row(with(common, [opt(system), Arg::Text(code)]))
                    }
                    IndexValue::String { normalized, exact } => strings.row(with(
                        common,
                        [Arg::Text(normalized.clone()), Arg::Text(exact.clone())],
                    )),
                    IndexValue::Date(range) => {
                        dates.row(with(common, [Arg::Int(range.low), Arg::Int(range.high)]))
                    }
                    IndexValue::Reference {
                        target_type,
                        target_id,
                        url,
                    } => references.row(with(common, [opt(target_type), opt(target_id), opt(url)])),
                    IndexValue::Quantity(q) => quantities.row(with(
                        common,
                        [
                            Arg::Float(q.value),
                            opt(&q.system),
                            opt(&q.code),
                            opt(&q.unit),
                        ],
                    )),
                    IndexValue::TokenQuantity {
                        system,
                        code,
                        quantity: q,
                    } => token_quantities.row(with(
                        common,
                        [
                            opt(system),
                            Arg::Text(code.clone()),
                            Arg::Float(q.value),
                            opt(&q.system),
                            opt(&q.code),
                            opt(&q.unit),
                        ],
                    )),
                }
            }
        }
        let mut series = Insert::new(
            "search_observation_series (resource_seq, tenant_id, patient_id, system, code, low, high)",
        );
        for &(seq, tenant_id, resource_type, index) in &owners {
            if resource_type == "Observation" {
                for row in observation_series(index) {
                    series.row(
                        [Arg::Int(seq), Arg::Text(tenant_id.to_string())]
                            .into_iter()
                            .chain(row),
                    );
                }
            }
        }
        // A single resource's index statements repeat in shape and are worth preparing once,
        // and so do a batch's full chunks; the rest are one-off.
        let persistent = rows.len() == 1;
        for insert in [
            tokens,
            strings,
            dates,
            references,
            quantities,
            token_quantities,
            series,
        ] {
            for (sql, full) in insert.finish_sized() {
                sql.query()
                    .persistent(persistent || full)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(StoreError::from_write)
    }
}

/// Every table whose rows are derived from a resource's current version.
pub const INDEX_TABLES: [&str; 7] = [
    "search_token",
    "search_string",
    "search_date",
    "search_reference",
    "search_quantity",
    "search_token_quantity",
    "search_observation_series",
];

/// The index rows of one stored resource (its `resources.seq`).
pub struct IndexRows<'a> {
    pub seq: i64,
    pub tenant_id: &'a str,
    pub resource_type: &'a str,
    pub index: &'a [IndexEntry],
    pub contained: &'a [ContainedIndex],
    /// Remove the rows it has first (an update, a reindex).
    pub replace: bool,
}

/// An Observation's (patient, code, effective range) rows, from its index entries: every
/// Patient subject × every coding of `code` × every `date` range.
fn observation_series(index: &[IndexEntry]) -> Vec<[Arg; 5]> {
    let of = |param: &'static str| index.iter().filter(move |e| e.param == param);
    let patients: Vec<&String> = of("patient")
        .filter_map(|e| match &e.value {
            IndexValue::Reference {
                target_type: Some(t),
                target_id: Some(id),
                ..
            } if t == "Patient" => Some(id),
            _ => None,
        })
        .collect();
    let mut rows = Vec::new();
    for patient in patients {
        for code in of("code") {
            let IndexValue::Token { system, code } = &code.value else {
                continue;
            };
            for date in of("date") {
                if let IndexValue::Date(range) = &date.value {
                    rows.push([
                        Arg::Text(patient.clone()),
                        opt(system),
                        Arg::Text(code.clone()),
                        Arg::Int(range.low),
                        Arg::Int(range.high),
                    ]);
                }
            }
        }
    }
    rows
}

/// `1, 2, …`: positions for an `IN (…)`.
pub(super) fn int_list(seqs: &[i64]) -> Sql {
    let mut sql = Sql::default();
    for (i, seq) in seqs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.int(*seq);
    }
    sql
}

/// `$1, $2, …` bound to `ids`, for an `IN (…)`.
pub(super) fn id_list<'a>(ids: impl Iterator<Item = &'a str>) -> Sql {
    let mut sql = Sql::default();
    for (i, id) in ids.enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(id);
    }
    sql
}

fn opt(s: &Option<String>) -> Arg {
    s.clone().map_or(Arg::Null, Arg::Text)
}

/// Rows per multi-row statement. SQLite binding looks each parameter up by name (through
/// sqlx), which costs the square of a statement's parameters: at 1000 rows a batch import
/// spent 80% of its time there; at 100 rows it is negligible, and PostgreSQL still needs
/// only a few round trips per table for a 500-line batch.
pub(super) const ROWS_PER_STATEMENT: usize = 100;

/// An index row: the columns every index table has, then the table's own.
fn with<const N: usize>(common: [Arg; 4], rest: [Arg; N]) -> impl Iterator<Item = Arg> {
    common.into_iter().chain(rest)
}

/// Multi-row INSERTs, so that many rows cost one round trip per `ROWS_PER_STATEMENT`.
pub(super) struct Insert {
    target: String,
    done: Vec<Sql>,
    sql: Sql,
    rows: usize,
}

impl Insert {
    pub(super) fn new(target: &str) -> Self {
        Self {
            target: target.to_string(),
            done: Vec::new(),
            sql: Self::start(target),
            rows: 0,
        }
    }

    fn start(target: &str) -> Sql {
        Sql::new(&format!("INSERT INTO {target} VALUES "))
    }

    pub(super) fn row(&mut self, values: impl IntoIterator<Item = Arg>) {
        if self.rows == ROWS_PER_STATEMENT {
            let full = std::mem::replace(&mut self.sql, Self::start(&self.target));
            self.done.push(full);
            self.rows = 0;
        }
        if self.rows > 0 {
            self.sql.push(", ");
        }
        self.sql.push("(");
        for (i, arg) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push(", ");
            }
            self.sql.bind(arg);
        }
        self.sql.push(")");
        self.rows += 1;
    }

    pub(super) fn finish(self) -> Vec<Sql> {
        self.finish_sized()
            .into_iter()
            .map(|(sql, _)| sql)
            .collect()
    }

    /// The statements, each with whether it holds a full chunk of rows (whose text every
    /// full chunk of this shape repeats).
    pub(super) fn finish_sized(self) -> Vec<(Sql, bool)> {
        let mut out: Vec<(Sql, bool)> = self.done.into_iter().map(|sql| (sql, true)).collect();
        if self.rows > 0 {
            out.push((self.sql, self.rows == ROWS_PER_STATEMENT));
        }
        out
    }
}

impl WriteTx {
    /// Runs a search inside the transaction (for conditional writes): `(seq, json)` rows.
    pub async fn search_in_tx(
        &mut self,
        tenant_id: &str,
        sql: &Sql,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sql.search_query().fetch_all(&mut *self.tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((r.get(0), self.store.unseal(tenant_id, r.get(1)).await?));
        }
        Ok(out)
    }
}
