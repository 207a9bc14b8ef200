//! Registering OAuth clients (the `helsebro client add` command): backend services with
//! keys, and apps with redirect URIs that are public, hold a secret, or hold keys.

use super::scopes::Scopes;
use super::secrets::{hash, random_token};
use crate::store::clients::Client;
use crate::store::Store;
use crate::tenant::Tenant;

pub struct NewClient<'a> {
    pub tenant: &'a Tenant,
    pub name: &'a str,
    pub scope: &'a str,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// Generate a secret: the client authenticates with client_secret_basic.
    pub with_secret: bool,
    pub redirect_uris: &'a [String],
    pub launch_uri: Option<&'a str>,
}

pub struct Registered {
    pub client_id: String,
    /// Shown once; only its hash is kept.
    pub secret: Option<String>,
}

pub async fn register(
    store: &Store,
    c: &NewClient<'_>,
) -> Result<Registered, Box<dyn std::error::Error + Send + Sync>> {
    Scopes::parse(c.scope)?;
    let has_keys = c.jwks.is_some() || c.jwks_uri.is_some();
    if has_keys && c.with_secret {
        return Err("a client authenticates with keys or with a secret, not both".into());
    }
    if !has_keys && c.redirect_uris.is_empty() {
        return Err(
            "give --jwks or --jwks-url (a backend service), or --redirect-uri (an app)".into(),
        );
    }
    for uri in c
        .redirect_uris
        .iter()
        .map(String::as_str)
        .chain(c.launch_uri)
    {
        check_app_url(uri)?;
    }
    if let Some(jwks) = &c.jwks {
        serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(jwks)
            .map_err(|e| format!("not a JWK Set: {e}"))?;
    }
    let secret = c.with_secret.then(random_token);
    let client_id = uuid::Uuid::new_v4().simple().to_string();
    store
        .add_client(&Client {
            client_id: client_id.clone(),
            tenant_id: c.tenant.id.clone(),
            name: c.name.to_string(),
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            scope: c.scope.to_string(),
            secret_hash: secret.as_deref().map(hash),
            redirect_uris: c.redirect_uris.to_vec(),
            launch_uri: c.launch_uri.map(str::to_string),
        })
        .await?;
    Ok(Registered { client_id, secret })
}

/// Redirect and launch URLs are absolute, have no fragment (RFC 6749 §3.1.2), and use
/// https, except on the loopback interface where apps under development run.
fn check_app_url(uri: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{uri}: {why}"));
    if uri.contains('#') {
        return bad("must not have a fragment");
    }
    if uri.contains(char::is_whitespace) {
        return bad("must not contain spaces");
    }
    if uri.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = uri.strip_prefix("http://") else {
        return bad("must be an absolute https URL");
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        Ok(())
    } else {
        bad("must use https (http only on the loopback interface)")
    }
}

#[cfg(test)]
mod tests {
    use super::check_app_url;

    #[test]
    fn app_urls_need_https_except_on_loopback() {
        assert!(check_app_url("https://app.example.no/cb").is_ok());
        assert!(check_app_url("http://127.0.0.1:3000/index.html").is_ok());
        assert!(check_app_url("http://localhost/cb").is_ok());
        assert!(check_app_url("http://app.example.no/cb").is_err());
        assert!(check_app_url("https://app.example.no/cb#x").is_err());
        assert!(check_app_url("app.example.no/cb").is_err());
    }
}
