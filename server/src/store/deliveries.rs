//! The outbox and register of EHR deliveries, and the routes that say where a tenant's
//! documents go. A delivery holds its sealed document only until it reaches a final state;
//! what stays afterwards is metadata: receiver, connector, document id and kind, patient,
//! hash and size, each status with its time, attempts, remote ids and error codes.

use sqlx::Row;

use super::audit::AuditRecord;
use super::crypto::sha256_hex;
use super::sql::Sql;
use super::write::WriteTx;
use super::{flag, now_micros, Backend, Store, StoreError};

/// Where a tenant's documents for patients of one municipality go, and how.
#[derive(Debug, Clone)]
pub struct DeliveryRoute {
    pub tenant_id: String,
    /// The patient's municipality number, or `*` for every other.
    pub municipality_code: String,
    /// `jft`, `vkp` or `edi`.
    pub connector: String,
    /// The receiving service's base URL.
    pub endpoint: String,
    pub receiver_org: String,
    pub receiver_her_id: Option<String>,
    pub receiver_name: String,
    pub token_url: String,
    pub client_id: String,
    /// PKCS#8 PEM of the client's private key (unsealed here).
    pub client_key: String,
    pub client_kid: String,
    pub scope: String,
    pub dpop: bool,
}

/// A delivery's state. `Queued` waits to be sent; `Sent`, `Registered` and `Read` wait
/// for the receiver's next status; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Queued,
    Sent,
    Registered,
    Read,
    /// JFT: the EHR journaled the document.
    Journaled,
    /// EDI: the receiver's AppRec said OK (or OK with errors).
    Acknowledged,
    /// VKP: accepted by the hub, which gives no later receipt.
    Accepted,
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 8] = [
        Self::Queued,
        Self::Sent,
        Self::Registered,
        Self::Read,
        Self::Journaled,
        Self::Acknowledged,
        Self::Accepted,
        Self::Failed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Registered => "registered",
            Self::Read => "read",
            Self::Journaled => "journaled",
            Self::Acknowledged => "acknowledged",
            Self::Accepted => "accepted",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.name() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Journaled | Self::Acknowledged | Self::Accepted | Self::Failed
        )
    }
}

/// A delivery to queue.
pub struct NewDelivery<'a> {
    pub tenant_id: &'a str,
    /// `journal-note`, `measurement-summary` or `closed-alert`.
    pub kind: &'a str,
    /// What the document was made from, e.g. `note-1/_history/2`; one delivery each.
    pub source_id: &'a str,
    pub patient_id: &'a str,
    pub document_id: &'a str,
    pub route: &'a DeliveryRoute,
    pub content: &'a str,
    /// When it was queued: also the document's timestamp, kept for rebuilding it.
    pub queued_at: i64,
}

/// The register's view of a delivery: metadata only.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub source_id: String,
    pub patient_id: String,
    pub document_id: String,
    pub connector: String,
    pub endpoint: String,
    pub receiver_org: String,
    pub receiver_her_id: Option<String>,
    pub municipality_code: String,
    pub sha256: String,
    pub size: i64,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub remote_id: Option<String>,
    pub remote_location: Option<String>,
    pub remote_status: Option<String>,
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    pub queued_at: i64,
    pub sent_at: Option<i64>,
    pub registered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub journaled_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub final_at: Option<i64>,
    /// Whether the sealed document is still held.
    pub holds_content: bool,
}

/// A delivery a worker holds the lease of, with its document.
pub struct LeasedDelivery {
    pub delivery: Delivery,
    /// `None` once final, or if it was removed by a retry that rebuilds it.
    pub content: Option<String>,
}

/// What a worker learnt from one attempt or status poll.
#[derive(Debug, Clone, Default)]
pub struct DeliveryUpdate {
    pub state: Option<DeliveryState>,
    /// Count this as a send attempt.
    pub attempted: bool,
    pub next_attempt_at: i64,
    pub remote_id: Option<String>,
    pub remote_location: Option<String>,
    pub remote_status: Option<String>,
    /// `Some` sets the error, `None` leaves it; an empty code clears it.
    pub error: Option<(String, String)>,
    /// Receiver-reported times, microseconds.
    pub registered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub journaled_at: Option<i64>,
}

/// A filter for the register.
#[derive(Debug, Default, Clone)]
pub struct DeliveryQuery {
    pub tenant_id: String,
    pub state: Option<DeliveryState>,
    pub patient_id: Option<String>,
    pub limit: i64,
}

const COLUMNS: &str = "id, tenant_id, kind, source_id, patient_id, document_id, connector, \
     endpoint, receiver_org, receiver_her_id, municipality_code, sha256, size, state, attempts, \
     next_attempt_at, remote_id, remote_location, remote_status, error_code, error_text, \
     queued_at, sent_at, registered_at, read_at, journaled_at, failed_at, final_at, \
     content IS NOT NULL";

fn delivery_from(r: &sqlx::any::AnyRow) -> Delivery {
    let state: String = r.get(13);
    Delivery {
        id: r.get(0),
        tenant_id: r.get(1),
        kind: r.get(2),
        source_id: r.get(3),
        patient_id: r.get(4),
        document_id: r.get(5),
        connector: r.get(6),
        endpoint: r.get(7),
        receiver_org: r.get(8),
        receiver_her_id: r.get(9),
        municipality_code: r.get(10),
        sha256: r.get(11),
        size: r.get(12),
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Failed),
        attempts: r.get(14),
        next_attempt_at: r.get(15),
        remote_id: r.get(16),
        remote_location: r.get(17),
        remote_status: r.get(18),
        error_code: r.get(19),
        error_text: r.get(20),
        queued_at: r.get(21),
        sent_at: r.get(22),
        registered_at: r.get(23),
        read_at: r.get(24),
        journaled_at: r.get(25),
        failed_at: r.get(26),
        final_at: r.get(27),
        holds_content: flag(r, 28),
    }
}

fn route_key_label(tenant_id: &str, municipality: &str) -> String {
    format!("delivery-route:{tenant_id}:{municipality}")
}

impl Store {
    /// Adds or replaces a route.
    pub async fn set_delivery_route(&self, r: &DeliveryRoute) -> Result<(), StoreError> {
        let key = self.seal_secret(
            &route_key_label(&r.tenant_id, &r.municipality_code),
            &r.client_key,
        )?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM delivery_routes WHERE tenant_id = $1 AND municipality_code = $2")
            .bind(&r.tenant_id)
            .bind(&r.municipality_code)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query(
            "INSERT INTO delivery_routes (tenant_id, municipality_code, connector, endpoint, \
             receiver_org, receiver_her_id, receiver_name, token_url, client_id, client_key, \
             client_kid, scope, dpop) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&r.tenant_id)
        .bind(&r.municipality_code)
        .bind(&r.connector)
        .bind(&r.endpoint)
        .bind(&r.receiver_org)
        .bind(&r.receiver_her_id)
        .bind(&r.receiver_name)
        .bind(&r.token_url)
        .bind(&r.client_id)
        .bind(key)
        .bind(&r.client_kid)
        .bind(&r.scope)
        .bind(i32::from(r.dpop))
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// The route for a patient of `municipality`: its own, else the tenant's `*` route.
    pub async fn delivery_route(
        &self,
        tenant_id: &str,
        municipality: Option<&str>,
    ) -> Result<Option<DeliveryRoute>, StoreError> {
        let rows = sqlx::query(
            "SELECT municipality_code, connector, endpoint, receiver_org, receiver_her_id, \
             receiver_name, token_url, client_id, client_key, client_kid, scope, dpop \
             FROM delivery_routes WHERE tenant_id = $1 AND municipality_code IN ($2, '*')",
        )
        .bind(tenant_id)
        .bind(municipality.unwrap_or("*"))
        .fetch_all(self.pool())
        .await?;
        let Some(r) = rows
            .iter()
            .find(|r| r.get::<String, _>(0) != "*")
            .or_else(|| rows.first())
        else {
            return Ok(None);
        };
        let code: String = r.get(0);
        Ok(Some(DeliveryRoute {
            client_key: self.unseal_secret(&route_key_label(tenant_id, &code), r.get(8))?,
            tenant_id: tenant_id.to_string(),
            municipality_code: code,
            connector: r.get(1),
            endpoint: r.get(2),
            receiver_org: r.get(3),
            receiver_her_id: r.get(4),
            receiver_name: r.get(5),
            token_url: r.get(6),
            client_id: r.get(7),
            client_kid: r.get(9),
            scope: r.get(10),
            dpop: flag(r, 11),
        }))
    }

    /// One delivery of the tenant.
    pub async fn delivery(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(delivery_from))
    }

    /// The register, newest first.
    pub async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE tenant_id = "
        ));
        sql.text(q.tenant_id.clone());
        if let Some(state) = q.state {
            sql.push(" AND state = ").text(state.name());
        }
        if let Some(patient) = &q.patient_id {
            sql.push(" AND patient_id = ").text(patient.clone());
        }
        sql.push(" ORDER BY queued_at DESC, id LIMIT ").int(q.limit);
        let rows = sql.query().fetch_all(self.pool()).await?;
        Ok(rows.iter().map(delivery_from).collect())
    }

    /// Leases up to `limit` deliveries that are due (to send, or to ask for their status)
    /// to `owner` until `lease_until`. On PostgreSQL the rows other instances are leasing
    /// are skipped rather than waited for; on SQLite one writer runs at a time anyway.
    pub async fn lease_deliveries(
        &self,
        owner: &str,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<LeasedDelivery>, StoreError> {
        let now = now_micros();
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (\
             SELECT id FROM deliveries WHERE final_at IS NULL AND next_attempt_at <= $3 \
             AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at \
             LIMIT $4{lock}) RETURNING {COLUMNS}, content"
        ))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let delivery = delivery_from(r);
            let content = self.unseal_opt(&delivery.tenant_id, r.get(29)).await?;
            out.push(LeasedDelivery { delivery, content });
        }
        Ok(out)
    }

    /// Records what an attempt or poll learnt, if `owner` still holds the lease (a
    /// worker whose lease ran out must not overwrite what another learnt since). A final
    /// state removes the document. `transmitted` is the access-log row to append in the
    /// same transaction when the document first left. Returns whether it was recorded.
    pub async fn record_delivery(
        &self,
        id: &str,
        owner: &str,
        u: &DeliveryUpdate,
        transmitted: Option<&AuditRecord>,
    ) -> Result<bool, StoreError> {
        let now = now_micros();
        let state = u.state.map(DeliveryState::name);
        let is_final = u.state.is_some_and(DeliveryState::is_final);
        let failed = u.state == Some(DeliveryState::Failed);
        let mut tx = self.begin_write().await?;
        // An empty code clears the error; no error leaves it as it was.
        let error = u.error.as_ref().filter(|(code, _)| !code.is_empty());
        let changed = sqlx::query(
            "UPDATE deliveries SET \
             state = COALESCE($3, state), \
             attempts = attempts + $4, \
             next_attempt_at = $5, \
             lease_owner = NULL, lease_until = NULL, \
             remote_id = COALESCE($6, remote_id), \
             remote_location = COALESCE($7, remote_location), \
             remote_status = COALESCE($8, remote_status), \
             error_code = CASE WHEN $9 = 1 THEN $10 ELSE error_code END, \
             error_text = CASE WHEN $9 = 1 THEN $11 ELSE error_text END, \
             sent_at = CASE WHEN $3 IN ('sent', 'accepted') AND sent_at IS NULL THEN $12 \
                       ELSE sent_at END, \
             registered_at = COALESCE(registered_at, $13), \
             read_at = COALESCE(read_at, $14), \
             journaled_at = COALESCE(journaled_at, $15), \
             failed_at = CASE WHEN $16 = 1 THEN $12 ELSE failed_at END, \
             final_at = CASE WHEN $17 = 1 THEN $12 ELSE final_at END, \
             content = CASE WHEN $17 = 1 THEN NULL ELSE content END \
             WHERE id = $1 AND lease_owner = $2 AND final_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(state)
        .bind(i64::from(u.attempted))
        .bind(u.next_attempt_at)
        .bind(&u.remote_id)
        .bind(&u.remote_location)
        .bind(&u.remote_status)
        .bind(i32::from(u.error.is_some()))
        .bind(error.map(|(code, _)| code.as_str()))
        .bind(error.map(|(_, text)| text.as_str()))
        .bind(now)
        .bind(u.registered_at)
        .bind(u.read_at)
        .bind(u.journaled_at)
        .bind(i32::from(failed))
        .bind(i32::from(is_final))
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        if let Some(record) = transmitted {
            tx.append_audit(std::slice::from_ref(record)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a failed delivery back in the queue with a freshly built document (its
    /// content was removed when it failed); the document keeps its identifier, so a
    /// receiver that got it after all recognises it. Attempts count afresh; the last
    /// error stays until the delivery succeeds.
    /// The route may have been mended since: the delivery goes where it now says.
    pub async fn requeue_delivery(
        &self,
        tenant_id: &str,
        id: &str,
        route: &DeliveryRoute,
        content: &str,
    ) -> Result<bool, StoreError> {
        let sealed = self.seal(tenant_id, content).await?;
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE deliveries SET state = 'queued', content = $3, sha256 = $4, size = $5, \
             next_attempt_at = $6, attempts = 0, failed_at = NULL, endpoint = $7, \
             receiver_org = $8, receiver_her_id = $9, final_at = NULL, lease_owner = NULL, lease_until = NULL \
             WHERE tenant_id = $1 AND id = $2 AND state = 'failed'",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(sealed)
        .bind(sha256_hex(content.as_bytes()))
        .bind(content.len() as i64)
        .bind(now_micros())
        .bind(&route.endpoint)
        .bind(&route.receiver_org)
        .bind(&route.receiver_her_id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(changed > 0)
    }

    /// Removes the metadata of deliveries that ended before `before` (retention).
    pub async fn remove_old_deliveries(
        &self,
        tenant_id: &str,
        before: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "DELETE FROM deliveries WHERE tenant_id = $1 AND final_at IS NOT NULL \
             AND final_at < $2",
        )
        .bind(tenant_id)
        .bind(before)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

impl WriteTx {
    /// Queues a delivery in this transaction; `false` if one was queued for the same
    /// source before.
    pub async fn enqueue_delivery(&mut self, d: &NewDelivery<'_>) -> Result<bool, StoreError> {
        let sealed = self.store.seal(d.tenant_id, d.content).await?;
        let now = d.queued_at;
        let inserted = sqlx::query(
            "INSERT INTO deliveries (id, tenant_id, kind, source_id, patient_id, document_id, \
             connector, endpoint, receiver_org, receiver_her_id, municipality_code, content, \
             sha256, size, state, next_attempt_at, queued_at) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, 'queued', $15, $15) \
             ON CONFLICT (tenant_id, kind, source_id) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(d.tenant_id)
        .bind(d.kind)
        .bind(d.source_id)
        .bind(d.patient_id)
        .bind(d.document_id)
        .bind(&d.route.connector)
        .bind(&d.route.endpoint)
        .bind(&d.route.receiver_org)
        .bind(&d.route.receiver_her_id)
        .bind(&d.route.municipality_code)
        .bind(sealed)
        .bind(sha256_hex(d.content.as_bytes()))
        .bind(d.content.len() as i64)
        .bind(now)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(inserted > 0)
    }
}
