//! Authorization requests of the code flow, refresh tokens and EHR launch contexts.

use sqlx::Row;

use super::{flag, now_micros, Store, StoreError};

fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

/// One authorization request and what the user has decided so far.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub id: String,
    pub browser_hash: String,
    pub tenant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// `Practitioner/ID` or `Patient/ID`, once signed in.
    pub fhir_user: Option<String>,
    /// The launch patient: from an EHR launch, the patient who signed in, or the picker.
    pub patient_id: Option<String>,
    pub signed_in_at: Option<i64>,
    pub expires_at: i64,
}

/// What presenting a code or refresh token found.
pub enum Redeemed<T> {
    /// Valid and now used up.
    Fresh(T),
    /// Used before: a sign that it leaked. The caller revokes what it granted.
    Replayed {
        authorization_id: String,
    },
    Unknown,
}

/// A sign-in waiting for the upstream provider's answer.
pub struct UpstreamPending {
    pub authorization_id: String,
    pub nonce: String,
    pub verifier: String,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub token_hash: String,
    pub authorization_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub subject: String,
    pub scope: String,
    pub patient_id: Option<String>,
    pub fhir_user: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct LaunchContext {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub patient_id: String,
    pub expires_at: i64,
}

const AUTHORIZATION_COLUMNS: &str = "id, browser_hash, tenant_id, client_id, redirect_uri, \
     scope, state, nonce, code_challenge, fhir_user, patient_id, signed_in_at, expires_at";

fn authorization_from(r: &sqlx::any::AnyRow) -> Authorization {
    Authorization {
        id: r.get(0),
        browser_hash: r.get(1),
        tenant_id: r.get(2),
        client_id: r.get(3),
        redirect_uri: r.get(4),
        scope: r.get(5),
        state: r.get(6),
        nonce: r.get(7),
        code_challenge: r.get(8),
        fhir_user: r.get(9),
        patient_id: r.get(10),
        signed_in_at: r.get(11),
        expires_at: r.get(12),
    }
}

impl Store {
    pub async fn add_authorization(&self, a: &Authorization) -> Result<(), StoreError> {
        // Requests nobody finished are useless once expired.
        sqlx::query("DELETE FROM authorizations WHERE expires_at < $1")
            .bind(now_secs() - 3600)
            .execute(self.pool())
            .await?;
        sqlx::query(&format!(
            "INSERT INTO authorizations ({AUTHORIZATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&a.id)
        .bind(&a.browser_hash)
        .bind(&a.tenant_id)
        .bind(&a.client_id)
        .bind(&a.redirect_uri)
        .bind(&a.scope)
        .bind(a.state.as_deref())
        .bind(a.nonce.as_deref())
        .bind(&a.code_challenge)
        .bind(a.fhir_user.as_deref())
        .bind(a.patient_id.as_deref())
        .bind(a.signed_in_at)
        .bind(a.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A pending request (no code issued yet) that has not expired.
    pub async fn pending_authorization(
        &self,
        id: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations \
             WHERE id = $1 AND code_hash IS NULL AND expires_at > $2"
        ))
        .bind(id)
        .bind(now_secs())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(authorization_from))
    }

    /// Records who signed in, and the patient when that is already known.
    pub async fn sign_in_authorization(
        &self,
        id: &str,
        fhir_user: &str,
        patient_id: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE authorizations SET fhir_user = $2, \
             patient_id = COALESCE(patient_id, $3), signed_in_at = $4 \
             WHERE id = $1 AND code_hash IS NULL",
        )
        .bind(id)
        .bind(fhir_user)
        .bind(patient_id)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn begin_upstream_sign_in(
        &self,
        id: &str,
        upstream_state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE authorizations SET upstream_state = $2, upstream_nonce = $3, \
             upstream_verifier = $4 WHERE id = $1 AND code_hash IS NULL",
        )
        .bind(id)
        .bind(upstream_state)
        .bind(nonce)
        .bind(verifier)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The pending request that sent the user upstream with `upstream_state`.
    pub async fn upstream_sign_in(
        &self,
        upstream_state: &str,
    ) -> Result<Option<UpstreamPending>, StoreError> {
        if upstream_state.is_empty() {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT id, upstream_nonce, upstream_verifier FROM authorizations \
             WHERE upstream_state = $1 AND code_hash IS NULL AND fhir_user IS NULL \
             AND expires_at > $2",
        )
        .bind(upstream_state)
        .bind(now_secs())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| UpstreamPending {
            authorization_id: r.get(0),
            nonce: r.get(1),
            verifier: r.get(2),
        }))
    }

    pub async fn choose_authorization_patient(
        &self,
        id: &str,
        patient_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE authorizations SET patient_id = $2 WHERE id = $1 AND code_hash IS NULL",
        )
        .bind(id)
        .bind(patient_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends the consent step: the scopes the user allowed, and the code (by its hash) that
    /// the client may exchange until `expires_at`. `false` when the request was already
    /// decided, e.g. by a second click.
    pub async fn issue_authorization_code(
        &self,
        id: &str,
        scope: &str,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE authorizations SET scope = $2, code_hash = $3, expires_at = $4 \
             WHERE id = $1 AND code_hash IS NULL",
        )
        .bind(id)
        .bind(scope)
        .bind(code_hash)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A denied or abandoned request is removed.
    pub async fn delete_authorization(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM authorizations WHERE id = $1 AND code_hash IS NULL")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Uses up a code. The update is the check, so two concurrent exchanges cannot both win.
    pub async fn redeem_authorization_code(
        &self,
        code_hash: &str,
    ) -> Result<Redeemed<Authorization>, StoreError> {
        let won = sqlx::query(
            "UPDATE authorizations SET code_used = TRUE \
             WHERE code_hash = $1 AND code_used = FALSE AND expires_at > $2",
        )
        .bind(code_hash)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {AUTHORIZATION_COLUMNS}, code_used FROM authorizations WHERE code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(match (won.rows_affected(), row) {
            (1, Some(r)) => Redeemed::Fresh(authorization_from(&r)),
            // Expired but never used is not a replay.
            (_, Some(r)) if flag(&r, 13) => Redeemed::Replayed {
                authorization_id: r.get(0),
            },
            _ => Redeemed::Unknown,
        })
    }

    pub async fn add_refresh_token(&self, t: &RefreshToken) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
            .bind(now_secs())
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, authorization_id, tenant_id, client_id, \
             subject, scope, patient_id, fhir_user, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&t.token_hash)
        .bind(&t.authorization_id)
        .bind(&t.tenant_id)
        .bind(&t.client_id)
        .bind(&t.subject)
        .bind(&t.scope)
        .bind(t.patient_id.as_deref())
        .bind(t.fhir_user.as_deref())
        .bind(t.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Uses up a refresh token (it is replaced on every use).
    pub async fn redeem_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Redeemed<RefreshToken>, StoreError> {
        let won = sqlx::query(
            "UPDATE refresh_tokens SET used = TRUE \
             WHERE token_hash = $1 AND used = FALSE AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        let row = sqlx::query(
            "SELECT token_hash, authorization_id, tenant_id, client_id, subject, scope, \
             patient_id, fhir_user, expires_at, used FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(match (won.rows_affected(), row) {
            (1, Some(r)) => Redeemed::Fresh(RefreshToken {
                token_hash: r.get(0),
                authorization_id: r.get(1),
                tenant_id: r.get(2),
                client_id: r.get(3),
                subject: r.get(4),
                scope: r.get(5),
                patient_id: r.get(6),
                fhir_user: r.get(7),
                expires_at: r.get(8),
            }),
            // Expired but never used is not a replay.
            (_, Some(r)) if flag(&r, 9) => Redeemed::Replayed {
                authorization_id: r.get(1),
            },
            _ => Redeemed::Unknown,
        })
    }

    /// Makes a refresh token usable again, when the request that used it was refused.
    pub async fn restore_refresh_token(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE refresh_tokens SET used = FALSE WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes every access and refresh token one authorization led to.
    pub async fn revoke_authorization(&self, authorization_id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE access_grants SET revoked = TRUE WHERE authorization_id = $1")
            .bind(authorization_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET used = TRUE WHERE authorization_id = $1")
            .bind(authorization_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes the refresh token with this hash if `client_id` holds it; `false` otherwise.
    pub async fn revoke_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT authorization_id FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2",
        )
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let authorization_id: String = row.get(0);
        self.revoke_authorization(&authorization_id).await?;
        Ok(Some(authorization_id))
    }

    pub async fn add_launch_context(&self, l: &LaunchContext) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM launch_contexts WHERE expires_at < $1")
            .bind(now_secs())
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO launch_contexts (id, tenant_id, client_id, patient_id, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&l.id)
        .bind(&l.tenant_id)
        .bind(&l.client_id)
        .bind(&l.patient_id)
        .bind(l.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A launch context of this client that has not expired.
    pub async fn launch_context(
        &self,
        id: &str,
        client_id: &str,
    ) -> Result<Option<LaunchContext>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, client_id, patient_id, expires_at \
             FROM launch_contexts WHERE id = $1 AND client_id = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(client_id)
        .bind(now_secs())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| LaunchContext {
            id: r.get(0),
            tenant_id: r.get(1),
            client_id: r.get(2),
            patient_id: r.get(3),
            expires_at: r.get(4),
        }))
    }
}
