//! `GET|POST /auth/authorize`: an app asks for access (SMART App Launch, authorization code
//! with PKCE S256). The request is checked, kept, and the browser is sent on to sign in.
//!
//! Until the client and its redirect URI are known good, errors are shown as a page: sending
//! them to an unchecked redirect URI would make this server an open redirector.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use super::flow::{self, back_to_app, fields, one, server_failure, Step};
use super::pages::error_page;
use super::scopes::{Context, Scopes};
use super::secrets::{hash, random_token};
use crate::fhir::AppState;
use crate::store::authorizations::Authorization;
use crate::store::now_micros;

pub async fn get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    start(&state, query.unwrap_or_default().as_bytes()).await
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Forespørselen må sendes som et skjema (application/x-www-form-urlencoded).",
            "The request must be sent as a form (application/x-www-form-urlencoded).",
        );
    }
    start(&state, &body).await
}

async fn start(state: &AppState, raw: &[u8]) -> Response {
    let fields = fields(raw);
    if let Some((name, _)) = fields.iter().find(|(_, v)| v.len() > 1) {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("Parameteren {name} er gitt flere ganger."),
            &format!("The parameter {name} is given more than once."),
        );
    }
    let get = |name: &str| one(&fields, name);
    let Some(client_id) = get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Appen oppga ikke hvem den er (client_id mangler).",
            "The app did not say who it is (client_id is missing).",
        );
    };
    let client = match state.store.client(client_id).await {
        Ok(Some(c)) if !c.redirect_uris.is_empty() => c,
        Ok(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Appen er ikke registrert for innlogging hos denne tjenesten.",
                "The app is not registered for sign-in with this service.",
            )
        }
        Err(e) => return server_failure(e),
    };
    let redirect_uri = match (get("redirect_uri"), client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => uri.to_string(),
        (None, [only]) => only.clone(),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Appens adresse for svar (redirect_uri) er ikke registrert.",
                "The app's redirect_uri is not registered.",
            )
        }
    };
    let app_state = get("state");
    let refuse = |error: &str, description: &str| {
        back_to_app(
            &redirect_uri,
            app_state,
            &[("error", error), ("error_description", description)],
        )
    };
    if get("response_type") != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if get("code_challenge_method") != Some("S256") {
        return refuse(
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required (plain is refused)",
        );
    }
    let challenge = get("code_challenge").unwrap_or_default();
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return refuse(
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)",
        );
    }
    let Some(scope) = get("scope") else {
        return refuse("invalid_scope", "scope is missing");
    };
    let requested = match Scopes::parse(scope) {
        Ok(s) => s,
        Err(e) => return refuse("invalid_scope", &e.to_string()),
    };
    let registered = Scopes::parse(&client.scope).unwrap_or_default();
    let mut scopes = requested.restrict_to(&registered);
    // system/ scopes belong to backend services, never to a user's sign-in.
    scopes.clinical.retain(|c| c.context != Context::System);
    if scopes.clinical.is_empty() && !scopes.openid {
        return refuse(
            "invalid_scope",
            "none of the requested scopes is registered for this app",
        );
    }
    // SMART apps name the FHIR server they want tokens for, so a token cannot be steered
    // to another server. A pure OpenID sign-in (another server using this one as its
    // identity provider) asks for no FHIR access, and standard OpenID clients send no aud.
    let base = state.config.base_url.trim_end_matches('/');
    let aud = get("aud").map(|a| a.trim_end_matches('/'));
    let aud_needed = !scopes.clinical.is_empty() || aud.is_some();
    if aud_needed && aud != Some(base) {
        return refuse("invalid_request", "aud must be this server's FHIR base URL");
    }
    let mut patient_id = None;
    match (get("launch"), scopes.launch) {
        (Some(launch), _) => match state.store.launch_context(launch, &client.client_id).await {
            Ok(Some(l)) if l.tenant_id == client.tenant_id => patient_id = Some(l.patient_id),
            Ok(_) => return refuse("invalid_request", "the launch is unknown or has expired"),
            Err(e) => return server_failure(e),
        },
        (None, true) => {
            return refuse(
                "invalid_request",
                "the launch scope needs the launch parameter the EHR gave the app",
            )
        }
        (None, false) => {}
    }
    let browser_secret = random_token();
    let authorization = Authorization {
        id: random_token(),
        browser_hash: hash(&browser_secret),
        tenant_id: client.tenant_id.clone(),
        client_id: client.client_id.clone(),
        redirect_uri,
        scope: scopes.to_scope_string(),
        state: app_state.map(str::to_string),
        nonce: get("nonce").map(str::to_string),
        code_challenge: challenge.to_string(),
        fhir_user: None,
        patient_id,
        signed_in_at: None,
        expires_at: now_micros() / 1_000_000 + flow::FLOW_LIFETIME_SECS,
    };
    if let Err(e) = state.store.add_authorization(&authorization).await {
        return server_failure(e);
    }
    let mut r = flow::go(Step::SignIn, &authorization.id);
    let secure = state.config.base_url.starts_with("https:");
    r.headers_mut().insert(
        header::SET_COOKIE,
        flow::set_cookie(&authorization.id, &browser_secret, secure),
    );
    r
}
