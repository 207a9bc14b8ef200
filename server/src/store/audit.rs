//! The access log: appending chained rows, searching them, and reading a chain back for
//! verification.

use super::crypto::sha256_hex;
use sqlx::Row;

use super::sql::{Arg, Sql};
use super::write::{id_list, Insert, WriteTx};
use super::{Backend, Store, StoreError};

/// One access-log row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditRecord {
    pub id: String,
    pub tenant_id: String,
    /// Microseconds since the epoch.
    pub recorded: i64,
    /// `rest` for FHIR interactions, `login` for token grants.
    pub type_code: String,
    /// The interaction (`read`, `search-type`, `create`, …) or grant type.
    pub subtype: String,
    /// C, R, U, D or E.
    pub action: String,
    /// 0 success, 4 refused or failed on the caller's side, 8 failed on ours.
    pub outcome: String,
    pub outcome_desc: Option<String>,
    /// `Practitioner/ID` or `Patient/ID`.
    pub agent_user: Option<String>,
    pub agent_client: Option<String>,
    pub source: Option<String>,
    pub purpose: Option<String>,
    /// `Type/id/_history/v`, or a search as `Type?param,param` (names, never values).
    pub entity: Option<String>,
    /// The patients whose data the request touched.
    pub patients: Vec<String>,
}

/// A stored row with its place in the chain.
#[derive(Debug, Clone)]
pub struct ChainedRecord {
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash that links a row to the one before it: SHA-256 over the previous hash and every
/// field, as a JSON array so that no field can bleed into the next.
pub fn chain_hash(prev_hash: &str, r: &AuditRecord) -> String {
    let fields = serde_json::json!([
        prev_hash,
        r.id,
        r.tenant_id,
        r.recorded,
        r.type_code,
        r.subtype,
        r.action,
        r.outcome,
        r.outcome_desc,
        r.agent_user,
        r.agent_client,
        r.source,
        r.purpose,
        r.entity,
        r.patients.join(" "),
    ]);
    sha256_hex(fields.to_string().as_bytes())
}

const COLUMNS: &str = "seq, id, tenant_id, recorded, type_code, subtype, action, outcome, \
     outcome_desc, agent_user, agent_client, source, purpose, entity, patients, prev_hash, hash";

fn chained_from(r: &sqlx::any::AnyRow) -> ChainedRecord {
    let patients: String = r.get(14);
    ChainedRecord {
        seq: r.get(0),
        record: AuditRecord {
            id: r.get(1),
            tenant_id: r.get(2),
            recorded: r.get(3),
            type_code: r.get(4),
            subtype: r.get(5),
            action: r.get(6),
            outcome: r.get(7),
            outcome_desc: r.get(8),
            agent_user: r.get(9),
            agent_client: r.get(10),
            source: r.get(11),
            purpose: r.get(12),
            entity: r.get(13),
            patients: patients.split_whitespace().map(str::to_string).collect(),
        },
        prev_hash: r.get(15),
        hash: r.get(16),
    }
}

impl WriteTx {
    /// Appends `records` to their tenants' chains, in this transaction: with a write, the
    /// log row and the change commit or roll back together. A few statements per tenant
    /// however many rows: the group-commit writer appends many at once.
    pub async fn append_audit(&mut self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let mut tenants: Vec<&str> = records.iter().map(|r| r.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        for tenant in tenants {
            let rows: Vec<&AuditRecord> =
                records.iter().filter(|r| r.tenant_id == tenant).collect();
            self.append_chain(tenant, &rows).await?;
        }
        Ok(())
    }

    async fn append_chain(
        &mut self,
        tenant: &str,
        rows: &[&AuditRecord],
    ) -> Result<(), StoreError> {
        // One statement makes sure the head exists, locks it until commit (PostgreSQL:
        // the upsert's row lock; SQLite runs one write transaction at a time) and reads it.
        let head = sqlx::query(
            "INSERT INTO audit_heads (tenant_id, last_id, hash) VALUES ($1, '', '') \
             ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = excluded.tenant_id \
             RETURNING hash",
        )
        .bind(tenant)
        .fetch_one(&mut *self.tx)
        .await?;
        let mut prev: String = head.get(0);
        let mut events = Insert::new(
            "audit_events (id, tenant_id, recorded, type_code, subtype, action, outcome, \
             outcome_desc, agent_user, agent_client, source, purpose, entity, patients, \
             prev_hash, hash)",
        );
        let mut patients = Insert::new("audit_patients (tenant_id, patient_id, audit_id)");
        let text = |v: &str| Arg::Text(v.to_string());
        let opt = |v: &Option<String>| v.as_deref().map_or(Arg::Null, text);
        for r in rows {
            let hash = chain_hash(&prev, r);
            events.row([
                text(&r.id),
                text(tenant),
                Arg::Int(r.recorded),
                text(&r.type_code),
                text(&r.subtype),
                text(&r.action),
                text(&r.outcome),
                opt(&r.outcome_desc),
                opt(&r.agent_user),
                opt(&r.agent_client),
                opt(&r.source),
                opt(&r.purpose),
                opt(&r.entity),
                text(&r.patients.join(" ")),
                text(&prev),
                text(&hash),
            ]);
            for p in &r.patients {
                patients.row([text(tenant), text(p), text(&r.id)]);
            }
            prev = hash;
        }
        let last = rows.last().map(|r| r.id.as_str()).unwrap_or_default();
        let mut head_update = Sql::new("UPDATE audit_heads SET last_id = ");
        head_update
            .text(last)
            .push(", hash = ")
            .text(prev)
            .push(" WHERE tenant_id = ")
            .text(tenant);
        let inserts: Vec<(Sql, bool)> = events
            .finish_sized()
            .into_iter()
            .chain(patients.finish_sized())
            .collect();
        match self.backend {
            // One round trip for the lot: the inserts are data-modifying CTEs of the head's
            // update. A small batch's text recurs (a single read's above all) and is worth
            // preparing once.
            Backend::Postgres => {
                let mut sql = Sql::new("WITH ");
                for (i, (insert, _)) in inserts.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.push(&format!("w{i} AS (")).append(insert).push(")");
                }
                sql.push(" ").append(&head_update);
                sql.query()
                    .persistent(rows.len() <= 4)
                    .execute(&mut *self.tx)
                    .await?;
            }
            // In-process calls: nothing to save.
            Backend::Sqlite => {
                for (sql, full) in inserts {
                    sql.query().persistent(full).execute(&mut *self.tx).await?;
                }
                head_update.query().execute(&mut *self.tx).await?;
            }
        }
        Ok(())
    }
}

/// What an AuditEvent search asks for; every field narrows.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub tenant_id: String,
    pub patients: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
    pub actions: Option<Vec<String>>,
    /// `recorded >= since` and `recorded < until`, in microseconds.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub id: Option<String>,
    /// Rows before this `seq` (newest first paging).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// Matching rows, newest first.
    pub async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<ChainedRecord>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM audit_events e WHERE "));
        sql.append(&audit_where(q, true))
            .push(" ORDER BY e.seq DESC LIMIT ")
            .int(q.limit.max(0));
        let rows = sql.query().fetch_all(self.pool()).await?;
        Ok(rows.iter().map(chained_from).collect())
    }

    /// How many rows match, all pages together.
    pub async fn count_audit(&self, q: &AuditQuery) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM audit_events e WHERE ");
        sql.append(&audit_where(q, false));
        Ok(sql.query().fetch_one(self.pool()).await?.get(0))
    }

    /// A tenant's chain in order, `batch` rows from `after_seq` on.
    pub async fn audit_chain(
        &self,
        tenant_id: &str,
        after_seq: i64,
        batch: i64,
    ) -> Result<Vec<ChainedRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(after_seq)
        .bind(batch)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(chained_from).collect())
    }

    /// The end of a tenant's chain: the last row's id and hash.
    pub async fn audit_head(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT last_id, hash FROM audit_heads WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Every tenant id that has a chain (the empty one included).
    pub async fn audit_tenants(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT tenant_id FROM audit_heads ORDER BY tenant_id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// The conditions of `q`; `paged` adds its cursor.
fn audit_where(q: &AuditQuery, paged: bool) -> Sql {
    let mut sql = Sql::new("e.tenant_id = ");
    sql.text(q.tenant_id.as_str());
    let list = |values: &[String]| id_list(values.iter().map(String::as_str));
    if let Some(patients) = q.patients.as_ref().filter(|v| !v.is_empty()) {
        sql.push(" AND e.id IN (SELECT audit_id FROM audit_patients WHERE tenant_id = ")
            .text(q.tenant_id.as_str())
            .push(" AND patient_id IN (")
            .append(&list(patients))
            .push("))");
    }
    for (column, values) in [("e.agent_user", &q.agents), ("e.action", &q.actions)] {
        if let Some(values) = values.as_ref().filter(|v| !v.is_empty()) {
            sql.push(&format!(" AND {column} IN ("))
                .append(&list(values))
                .push(")");
        }
    }
    if let Some(id) = &q.id {
        sql.push(" AND e.id = ").text(id.as_str());
    }
    if let Some(since) = q.since {
        sql.push(" AND e.recorded >= ").int(since);
    }
    if let Some(until) = q.until {
        sql.push(" AND e.recorded < ").int(until);
    }
    if let (true, Some(seq)) = (paged, q.before_seq) {
        sql.push(" AND e.seq < ").int(seq);
    }
    // An empty list matches nothing.
    let empty = [&q.patients, &q.agents, &q.actions]
        .iter()
        .any(|l| l.as_ref().is_some_and(Vec::is_empty));
    if empty {
        sql.push(" AND 1 = 0");
    }
    sql
}
