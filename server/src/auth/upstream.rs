//! Sign-in through an upstream OpenID Connect provider (HelseID in production, any standard
//! provider by configuration), with the `openidconnect` crate: authorization code with PKCE
//! and a nonce, the id_token verified against the provider's published keys.
//!
//! The person is matched to a Practitioner of the app's tenant by the HelseID HPR-number
//! claim; nobody else can sign in this way. Ids of another system are never trusted.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};

use super::flow::{self, fields, load, one, server_failure, Flow};
use super::pages::error_page;
use super::sign_in::signed_in;
use crate::fhir::AppState;

pub const HPR_CLAIM: &str = "helseid://claims/hpr/hpr_number";

/// The upstream provider as configured: `--oidc-issuer`, `--oidc-client-id` and the
/// secret from `HELSEBRO_OIDC_CLIENT_SECRET`.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Scopes asked for besides `openid` (HelseID: `helseid://scopes/identity/hpr_number`).
    pub scopes: Vec<String>,
}

type Discovered = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub struct Upstream {
    /// Replaced when the provider signs with a key this copy does not know (rotation).
    client: std::sync::RwLock<std::sync::Arc<Discovered>>,
    http: openidconnect::reqwest::Client,
    config: UpstreamConfig,
    callback: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream OpenID provider: {0}")]
    Discovery(String),
}

fn discovery_error(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Discovery(e.to_string())
}

impl Upstream {
    /// Reads the provider's discovery document and keys; `callback` is this server's
    /// `/auth/callback`.
    pub async fn discover(config: &UpstreamConfig, callback: &str) -> Result<Self, UpstreamError> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let the provider's answers point us anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(discovery_error)?;
        let client = discovered(&http, config, callback).await?;
        Ok(Upstream {
            client: std::sync::RwLock::new(std::sync::Arc::new(client)),
            http,
            config: config.clone(),
            callback: callback.to_string(),
        })
    }

    fn client(&self) -> std::sync::Arc<Discovered> {
        self.client.read().expect("upstream lock").clone()
    }

    /// Reads the discovery document and keys again.
    async fn rediscover(&self) -> Result<std::sync::Arc<Discovered>, UpstreamError> {
        let fresh =
            std::sync::Arc::new(discovered(&self.http, &self.config, &self.callback).await?);
        *self.client.write().expect("upstream lock") = fresh.clone();
        Ok(fresh)
    }
}

async fn discovered(
    http: &openidconnect::reqwest::Client,
    config: &UpstreamConfig,
    callback: &str,
) -> Result<Discovered, UpstreamError> {
    let issuer = IssuerUrl::new(config.issuer.clone()).map_err(discovery_error)?;
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(discovery_error)?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(callback.to_string()).map_err(discovery_error)?))
}

/// Sends the browser to the provider, remembering state, nonce and PKCE verifier with the
/// authorization request.
pub async fn begin(state: &AppState, upstream: &Upstream, flow: &Flow) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = upstream.client();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &upstream.config.scopes {
        request = request.add_scope(Scope::new(s.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    if let Err(e) = state
        .store
        .begin_upstream_sign_in(
            &flow.authorization.id,
            csrf.secret(),
            nonce.secret(),
            verifier.secret(),
        )
        .await
    {
        return server_failure(e);
    }
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = url.as_str().parse() {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    r
}

/// `GET /auth/callback`: the provider sends the user back with a code.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(upstream) = state.upstream.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query = fields(query.unwrap_or_default().as_bytes());
    let refused = |nb: &str, en: &str| error_page(StatusCode::FORBIDDEN, nb, en);
    let pending = match state
        .store
        .upstream_sign_in(one(&query, "state").unwrap_or_default())
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            return refused(
                "Innloggingen er ukjent eller utløpt. Start på nytt fra appen.",
                "The sign-in is unknown or expired. Start again from the app.",
            )
        }
        Err(e) => return server_failure(e),
    };
    let flow = match load(&state, &headers, &pending.authorization_id).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    if one(&query, "error").is_some() {
        return refused(
            "Innloggingen ble avbrutt hos identitetstilbyderen.",
            "Sign-in was cancelled at the identity provider.",
        );
    }
    let Some(code) = one(&query, "code") else {
        return refused("Svaret mangler kode.", "The answer has no code.");
    };
    let claims = match verified_claims(&upstream, code, &pending.nonce, &pending.verifier).await {
        Ok(c) => c,
        Err(reason) => {
            tracing::info!(%reason, "upstream sign-in refused");
            return refused(
                "Identitetstilbyderens svar kunne ikke godtas.",
                "The identity provider's answer could not be accepted.",
            );
        }
    };
    let tenant = &flow.authorization.tenant_id;
    let practitioner = match practitioner_of(&state, tenant, &claims).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return refused(
                "Du er ikke registrert som helsepersonell hos denne virksomheten.",
                "You are not registered as health personnel with this organisation.",
            )
        }
        Err(e) => return server_failure(e),
    };
    match signed_in(&state, &flow, &format!("Practitioner/{practitioner}")).await {
        Ok(Ok(step)) => flow::go(step, &flow.authorization.id),
        Ok(Err(refusal)) => refusal,
        Err(e) => server_failure(e),
    }
}

/// The id_token's claims, once the crate has checked signature, issuer, audience, expiry
/// and nonce.
async fn verified_claims(
    upstream: &Upstream,
    code: &str,
    nonce: &str,
    verifier: &str,
) -> Result<serde_json::Value, String> {
    use openidconnect::TokenResponse;
    let client = upstream.client();
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&upstream.http)
        .await
        .map_err(|e| format!("token request: {e}"))?;
    let id_token = response.id_token().ok_or("no id_token")?;
    let nonce = Nonce::new(nonce.to_string());
    if id_token
        .claims(&client.id_token_verifier(), &nonce)
        .is_err()
    {
        // Perhaps signed with a key published after we last looked: look once more.
        let fresh = upstream.rediscover().await.map_err(|e| e.to_string())?;
        id_token
            .claims(&fresh.id_token_verifier(), &nonce)
            .map_err(|e| format!("id_token: {e}"))?;
    }
    // Verified above; the HelseID claims are not in the crate's standard set.
    super::tokens::unverified_claims(&id_token.to_string()).ok_or_else(|| "unreadable".into())
}

async fn practitioner_of(
    state: &AppState,
    tenant_id: &str,
    claims: &serde_json::Value,
) -> Result<Option<String>, crate::store::StoreError> {
    match claims[HPR_CLAIM].as_str() {
        Some(hpr) => state.store.practitioner_by_hpr(tenant_id, hpr).await,
        None => Ok(None),
    }
}
