//! One write transaction: the record change, the new resource version and its search
//! index rows commit together or not at all.

use helsebro_mappings::index::{IndexEntry, IndexValue};
use sqlx::{Any, AnyConnection, Row, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::resources::{current_from_row, StoredVersion};
use super::sql::{Arg, Sql};
use super::{Backend, Store, StoreError};

pub struct WriteTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
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
}

impl Store {
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            backend: self.backend,
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
        Ok(row.as_ref().map(current_from_row))
    }

    /// Whether a resource exists (and is not deleted) in the tenant.
    pub async fn exists(
        &mut self,
        tenant_id: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM resources WHERE tenant_id = $1 AND resource_type = $2 AND id = $3 AND deleted = FALSE",
        )
        .bind(tenant_id)
        .bind(resource_type)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.is_some())
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

    /// Writes `v` as the current version, appends it to the history and replaces the
    /// resource's index rows. Returns the resource's `seq`.
    pub async fn save_version(&mut self, v: &NewVersion<'_>) -> Result<i64, StoreError> {
        let deleted = v.json.is_none();
        let seq: i64 = sqlx::query(
            "INSERT INTO resources (tenant_id, resource_type, id, version, last_updated, deleted, json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, resource_type, id) DO UPDATE SET \
             version = excluded.version, last_updated = excluded.last_updated, \
             deleted = excluded.deleted, json = excluded.json RETURNING seq",
        )
        .bind(v.tenant_id)
        .bind(v.resource_type)
        .bind(v.id)
        .bind(v.version)
        .bind(v.last_updated)
        .bind(deleted)
        .bind(v.json)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(StoreError::from_write)?
        .get(0);
        sqlx::query(
            "INSERT INTO resource_versions (tenant_id, resource_type, id, version, last_updated, method, created, json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(v.tenant_id)
        .bind(v.resource_type)
        .bind(v.id)
        .bind(v.version)
        .bind(v.last_updated)
        .bind(v.method)
        .bind(v.created)
        .bind(v.json)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::from_write)?;
        self.replace_index(seq, v).await?;
        Ok(seq)
    }

    async fn replace_index(&mut self, seq: i64, v: &NewVersion<'_>) -> Result<(), StoreError> {
        // A first version has no index rows yet: six round trips saved on every create.
        let tables: &[&str] = if v.version == 1 { &[] } else { &INDEX_TABLES };
        for table in tables {
            sqlx::query(&format!("DELETE FROM {table} WHERE resource_seq = $1"))
                .bind(seq)
                .execute(&mut *self.tx)
                .await?;
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
        for entry in v.index {
            let common = [
                Arg::Int(seq),
                Arg::Text(v.tenant_id.to_string()),
                Arg::Text(v.resource_type.to_string()),
                Arg::Text(entry.param.to_string()),
            ];
            match &entry.value {
                IndexValue::Token { system, code } => {
                    tokens.row(common, [opt(system), Arg::Text(code.clone())])
                }
                IndexValue::String { normalized, exact } => strings.row(
                    common,
                    [Arg::Text(normalized.clone()), Arg::Text(exact.clone())],
                ),
                IndexValue::Date(range) => {
                    dates.row(common, [Arg::Int(range.low), Arg::Int(range.high)])
                }
                IndexValue::Reference {
                    target_type,
                    target_id,
                    url,
                } => references.row(common, [opt(target_type), opt(target_id), opt(url)]),
                IndexValue::Quantity(q) => quantities.row(
                    common,
                    [
                        Arg::Float(q.value),
                        opt(&q.system),
                        opt(&q.code),
                        opt(&q.unit),
                    ],
                ),
                IndexValue::TokenQuantity {
                    system,
                    code,
                    quantity: q,
                } => token_quantities.row(
                    common,
                    [
                        opt(system),
                        Arg::Text(code.clone()),
                        Arg::Float(q.value),
                        opt(&q.system),
                        opt(&q.code),
                        opt(&q.unit),
                    ],
                ),
            }
        }
        for insert in [
            tokens,
            strings,
            dates,
            references,
            quantities,
            token_quantities,
        ] {
            if let Some(sql) = insert.finish() {
                sql.query().execute(&mut *self.tx).await?;
            }
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(StoreError::from_write)
    }
}

/// Every table whose rows are derived from a resource's current version.
pub const INDEX_TABLES: [&str; 6] = [
    "search_token",
    "search_string",
    "search_date",
    "search_reference",
    "search_quantity",
    "search_token_quantity",
];

fn opt(s: &Option<String>) -> Arg {
    s.clone().map_or(Arg::Null, Arg::Text)
}

/// A multi-row INSERT, so a resource's index rows cost one round trip per table.
struct Insert {
    sql: Sql,
    rows: usize,
}

impl Insert {
    fn new(target: &str) -> Self {
        Self {
            sql: Sql::new(&format!("INSERT INTO {target} VALUES ")),
            rows: 0,
        }
    }

    fn row<const N: usize>(&mut self, common: [Arg; 4], rest: [Arg; N]) {
        if self.rows > 0 {
            self.sql.push(", ");
        }
        self.sql.push("(");
        for (i, arg) in common.into_iter().chain(rest).enumerate() {
            if i > 0 {
                self.sql.push(", ");
            }
            self.sql.bind(arg);
        }
        self.sql.push(")");
        self.rows += 1;
    }

    fn finish(self) -> Option<Sql> {
        (self.rows > 0).then_some(self.sql)
    }
}

impl WriteTx {
    /// Runs a search inside the transaction (for conditional writes): `(seq, json)` rows.
    pub async fn search_in_tx(&mut self, sql: &Sql) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
