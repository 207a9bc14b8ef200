//! Documents received through the JFT contract, and their journaling status.

use super::crypto::sha256_hex;
use sqlx::Row;

use super::{now_micros, Store, StoreError};

#[derive(Debug, Clone)]
pub struct ReceivedDocument {
    pub id: String,
    pub sender: String,
    pub document_id: String,
    /// The document as received (unsealed).
    pub content: String,
    pub registered_at: i64,
    pub read_at: Option<i64>,
    pub journaled_at: Option<i64>,
    /// `jft`, `vkp` or `edi`.
    pub contract: String,
    /// The AppRec sent back for an EDI message (unsealed).
    pub apprec: Option<String>,
}

/// The contract a document came in by. JFT and VKP carry FHIR document Bundles, which
/// the EHR reads through the JFT read API; EDI carries MsgHead XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    Jft,
    Vkp,
    Edi,
}

impl Contract {
    pub fn name(self) -> &'static str {
        match self {
            Contract::Jft => "jft",
            Contract::Vkp => "vkp",
            Contract::Edi => "edi",
        }
    }
}

/// What receiving a document did.
pub enum Received {
    New(String),
    /// The sender sent this document before: its first receipt's id.
    Again(String),
}

const COLUMNS: &str =
    "id, sender, document_id, content, registered_at, read_at, journaled_at, contract, apprec";

impl Store {
    /// Receives a document once per sender and document identifier.
    pub async fn receive_document(
        &self,
        contract: Contract,
        tenant_id: &str,
        sender: &str,
        document_id: &str,
        content: &str,
    ) -> Result<Received, StoreError> {
        if let Some(id) = self.received_id(tenant_id, sender, document_id).await? {
            return Ok(Received::Again(id));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let sha = sha256_hex(content.as_bytes());
        let sealed = self.seal(tenant_id, content).await?;
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO received_documents (id, tenant_id, sender, document_id, content, sha256, \
             size, registered_at, contract) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, sender, document_id) DO NOTHING",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(sender)
        .bind(document_id)
        .bind(sealed)
        .bind(sha)
        .bind(content.len() as i64)
        .bind(now_micros())
        .bind(contract.name())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if inserted == 0 {
            // A concurrent retry won the race.
            let first = self.received_id(tenant_id, sender, document_id).await?;
            return Ok(Received::Again(first.unwrap_or(id)));
        }
        Ok(Received::New(id))
    }

    async fn received_id(
        &self,
        tenant_id: &str,
        sender: &str,
        document_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM received_documents WHERE tenant_id = $1 AND sender = $2 \
             AND document_id = $3",
        )
        .bind(tenant_id)
        .bind(sender)
        .bind(document_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// One received document of the tenant.
    pub async fn received_document(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ReceivedDocument>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM received_documents WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.received_from(tenant_id, &r).await?)),
            None => Ok(None),
        }
    }

    /// The tenant's documents registered at or after `since`, oldest first.
    pub async fn received_documents(
        &self,
        tenant_id: &str,
        since: i64,
        limit: i64,
    ) -> Result<Vec<ReceivedDocument>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM received_documents WHERE tenant_id = $1 \
             AND registered_at >= $2 AND contract <> 'edi' ORDER BY registered_at, id LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(since)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.received_from(tenant_id, r).await?);
        }
        Ok(out)
    }

    async fn received_from(
        &self,
        tenant_id: &str,
        r: &sqlx::any::AnyRow,
    ) -> Result<ReceivedDocument, StoreError> {
        Ok(ReceivedDocument {
            id: r.get(0),
            sender: r.get(1),
            document_id: r.get(2),
            content: self.unseal(tenant_id, r.get(3)).await?,
            registered_at: r.get(4),
            read_at: r.get(5),
            journaled_at: r.get(6),
            contract: r.get(7),
            apprec: self.unseal_opt(tenant_id, r.get(8)).await?,
        })
    }

    /// Marks documents read by the EHR (the first read counts).
    pub async fn mark_received_read(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> Result<(), StoreError> {
        for id in ids {
            sqlx::query(
                "UPDATE received_documents SET read_at = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND read_at IS NULL",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(now_micros())
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// The EHR has journaled the document; `false` when there is no such document.
    pub async fn acknowledge_journaling(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE received_documents SET journaled_at = COALESCE(journaled_at, $3), \
             read_at = COALESCE(read_at, $3) WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores the AppRec answering a received EDI message.
    pub async fn set_apprec(
        &self,
        tenant_id: &str,
        id: &str,
        apprec: &str,
    ) -> Result<(), StoreError> {
        let sealed = self.seal(tenant_id, apprec).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE received_documents SET apprec = $3, read_at = COALESCE(read_at, $4) \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(sealed)
        .bind(now_micros())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }
}
