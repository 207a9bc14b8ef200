//! Registered OAuth clients and the client assertions they have used.

use sqlx::Row;

use super::{now_micros, Store, StoreError};

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    /// The client's public keys, as a JWK Set document.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// The most this client may be granted.
    pub scope: String,
    /// SHA-256 (hex) of the client secret of a confidential symmetric client.
    pub secret_hash: Option<String>,
    /// Where the authorization code flow may send the user back to; empty for backend
    /// services.
    pub redirect_uris: Vec<String>,
    /// The app's launch URL, for EHR launches.
    pub launch_uri: Option<String>,
}

/// How a client proves who it is at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// A public app (in a browser or on a phone): it holds no secret; PKCE protects its code.
    None,
    ClientSecretBasic,
    PrivateKeyJwt,
}

impl Client {
    pub fn authentication(&self) -> ClientAuthentication {
        if self.secret_hash.is_some() {
            ClientAuthentication::ClientSecretBasic
        } else if self.jwks.is_some() || self.jwks_uri.is_some() {
            ClientAuthentication::PrivateKeyJwt
        } else {
            ClientAuthentication::None
        }
    }
}

impl Store {
    pub async fn add_client(&self, c: &Client) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (client_id, tenant_id, name, jwks, jwks_uri, scope, created_at, \
             secret_hash, redirect_uris, launch_uri) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&c.client_id)
        .bind(&c.tenant_id)
        .bind(&c.name)
        .bind(c.jwks.as_deref())
        .bind(c.jwks_uri.as_deref())
        .bind(&c.scope)
        .bind(now_micros())
        .bind(c.secret_hash.as_deref())
        .bind(c.redirect_uris.join(" "))
        .bind(c.launch_uri.as_deref())
        .execute(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, tenant_id, name, jwks, jwks_uri, scope, secret_hash, redirect_uris, \
             launch_uri FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| Client {
            client_id: r.get(0),
            tenant_id: r.get(1),
            name: r.get(2),
            jwks: r.get(3),
            jwks_uri: r.get(4),
            scope: r.get(5),
            secret_hash: r.get(6),
            redirect_uris: r
                .get::<String, _>(7)
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            launch_uri: r.get(8),
        }))
    }

    /// Records a client assertion's `jti`; `false` when it was used before (a replay).
    /// Expired entries are dropped on the way, as they can no longer be replayed.
    pub async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let now = now_micros() / 1_000_000;
        sqlx::query("DELETE FROM client_assertions WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        let done = sqlx::query(
            "INSERT INTO client_assertions (jti, client_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(jti)
        .bind(client_id)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
