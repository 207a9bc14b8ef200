//! What a delivered document is made from: the patient's national identity and
//! municipality, the sender's identity, journal notes and their authors, measurements.
//! Journal notes are written here too, as they only ever leave the platform as documents.

use sqlx::Row;

use super::write::WriteTx;
use super::{now_micros, Store, StoreError};

/// The patient as the receivers need them: by national identity number.
#[derive(Debug, Clone)]
pub struct PatientFacts {
    pub national_id: Option<String>,
    /// `FNR`, `DNR`, …
    pub national_id_kind: Option<String>,
    pub family_name: Option<String>,
    pub given_names: Option<String>,
    pub municipality_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SenderFacts {
    pub org_number: String,
    pub name: String,
    pub her_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NoteFacts {
    pub id: String,
    pub version: i64,
    pub patient_id: String,
    pub author_id: Option<String>,
    pub title: String,
    pub text: String,
    pub status: String,
    /// Microseconds.
    pub written_at: i64,
}

/// An alert: raised by remote follow-up, closed by a clinician.
#[derive(Debug, Clone)]
pub struct AlertFacts {
    pub id: String,
    pub patient_id: String,
    /// A code of `vkp-alert-code-v090`.
    pub code: String,
    pub detail: String,
    /// The measurements that raised it.
    pub evidence: Vec<String>,
    /// Microseconds.
    pub identified_at: i64,
    pub closed_at: Option<i64>,
    /// The Practitioner id of who closed it.
    pub closed_by: Option<String>,
}

/// A journal note version to write.
pub struct NewNote<'a> {
    pub tenant_id: &'a str,
    pub id: &'a str,
    pub patient_id: &'a str,
    pub author_id: Option<&'a str>,
    pub title: &'a str,
    pub text: &'a str,
    pub status: &'a str,
    pub written_at: i64,
}

impl Store {
    pub async fn patient_facts(
        &self,
        tenant_id: &str,
        patient_id: &str,
    ) -> Result<Option<PatientFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT national_id, national_id_kind, family_name, given_names, municipality_code \
             FROM patients WHERE tenant_id = $1 AND id = $2 AND deleted = FALSE",
        )
        .bind(tenant_id)
        .bind(patient_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(PatientFacts {
            national_id: self.unseal_opt(tenant_id, r.get(0)).await?,
            national_id_kind: r.get(1),
            family_name: r.get(2),
            given_names: r.get(3),
            municipality_code: r.get(4),
        }))
    }

    pub async fn sender_facts(&self, tenant_id: &str) -> Result<Option<SenderFacts>, StoreError> {
        let row = sqlx::query("SELECT org_number, name, her_id FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| SenderFacts {
            org_number: r.get(0),
            name: r.get(1),
            her_id: r.get(2),
        }))
    }

    /// The practitioner's HPR number and name.
    pub async fn author_facts(
        &self,
        tenant_id: &str,
        practitioner_id: &str,
    ) -> Result<Option<(Option<String>, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT hpr_number, given_names, family_name FROM practitioners \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(practitioner_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| {
            let name = [r.get::<Option<String>, _>(1), r.get::<Option<String>, _>(2)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (r.get(0), Some(name).filter(|n| !n.is_empty()))
        }))
    }

    /// One version of a journal note, opened.
    pub async fn journal_note(
        &self,
        tenant_id: &str,
        id: &str,
        version: i64,
    ) -> Result<Option<NoteFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT id, version, patient_id, author_id, title, text, status, written_at \
             FROM journal_notes WHERE tenant_id = $1 AND id = $2 AND version = $3",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(NoteFacts {
            id: r.get(0),
            version: r.get(1),
            patient_id: r.get(2),
            author_id: r.get(3),
            title: self.unseal(tenant_id, r.get(4)).await?,
            text: self.unseal(tenant_id, r.get(5)).await?,
            status: r.get(6),
            written_at: r.get(7),
        }))
    }

    pub async fn alert(&self, tenant_id: &str, id: &str) -> Result<Option<AlertFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT id, patient_id, code, detail, evidence, identified_at, closed_at, closed_by \
             FROM alerts WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let evidence: String = r.get(4);
        Ok(Some(AlertFacts {
            id: r.get(0),
            patient_id: r.get(1),
            code: r.get(2),
            detail: self.unseal(tenant_id, r.get(3)).await?,
            evidence: serde_json::from_str(&evidence).unwrap_or_default(),
            identified_at: r.get(5),
            closed_at: r.get(6),
            closed_by: r.get(7),
        }))
    }

    /// The ids of the patient's current Observations measured in `[from, to)`.
    pub async fn observations_between(
        &self,
        tenant_id: &str,
        patient_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM measurements WHERE tenant_id = $1 AND patient_id = $2 \
             AND deleted = FALSE AND effective_start >= $3 AND effective_start < $4 \
             ORDER BY effective_start, id",
        )
        .bind(tenant_id)
        .bind(patient_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl WriteTx {
    /// Writes the next version of a journal note (every version is kept); returns it.
    pub async fn add_journal_note(&mut self, n: &NewNote<'_>) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0), MIN(patient_id) FROM journal_notes \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(n.tenant_id)
        .bind(n.id)
        .fetch_one(&mut *self.tx)
        .await?;
        let version: i64 = row.get::<i64, _>(0) + 1;
        if let Some(owner) = row.get::<Option<String>, _>(1) {
            // A note stays with its patient; a correction cannot move it to another.
            if owner != n.patient_id {
                return Err(StoreError::Conflict);
            }
        }
        let title = self.store.seal(n.tenant_id, n.title).await?;
        let text = self.store.seal(n.tenant_id, n.text).await?;
        sqlx::query(
            "INSERT INTO journal_notes (tenant_id, id, version, patient_id, author_id, title, \
             text, status, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(n.tenant_id)
        .bind(n.id)
        .bind(version)
        .bind(n.patient_id)
        .bind(n.author_id)
        .bind(title)
        .bind(text)
        .bind(n.status)
        .bind(if n.written_at > 0 {
            n.written_at
        } else {
            now_micros()
        })
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::from_write)?;
        Ok(version)
    }

    /// Writes an alert as it now stands; `true` if it was closed before this write (so
    /// its closing was already delivered).
    pub async fn put_alert(&mut self, tenant_id: &str, a: &AlertFacts) -> Result<bool, StoreError> {
        let before = sqlx::query(
            "SELECT patient_id, closed_at FROM alerts WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(&a.id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let was_closed = match &before {
            Some(r) => {
                // An alert stays with its patient.
                if r.get::<String, _>(0) != a.patient_id {
                    return Err(StoreError::Conflict);
                }
                r.get::<Option<i64>, _>(1).is_some()
            }
            None => false,
        };
        let detail = self.store.seal(tenant_id, &a.detail).await?;
        let evidence = serde_json::to_string(&a.evidence).unwrap_or_else(|_| "[]".into());
        sqlx::query("DELETE FROM alerts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(&a.id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO alerts (tenant_id, id, patient_id, code, detail, evidence, \
             identified_at, closed_at, closed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant_id)
        .bind(&a.id)
        .bind(&a.patient_id)
        .bind(&a.code)
        .bind(detail)
        .bind(evidence)
        .bind(a.identified_at)
        .bind(a.closed_at)
        .bind(&a.closed_by)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::from_write)?;
        Ok(was_closed)
    }
}
