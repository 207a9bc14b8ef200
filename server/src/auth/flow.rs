//! The steps of the authorization code flow between `/auth/authorize` and the code: which
//! comes next, the cookie that ties them to the browser that began the flow, and the way
//! back to the app.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::pages::error_page;
use super::scopes::{Context, Scopes};
use super::secrets::{hash, same};
use crate::fhir::AppState;
use crate::store::authorizations::Authorization;
use crate::store::clients::Client;

/// How long a user has from the app's request to the consent.
pub const FLOW_LIFETIME_SECS: i64 = 600;

/// A page request's fields and flow (named by its `request` field), if `step` (when given)
/// is the one due; otherwise the response that sends the browser where it belongs, or an
/// error page.
pub async fn at_step(
    state: &AppState,
    headers: &HeaderMap,
    raw: &[u8],
    step: Option<Step>,
) -> Result<(Flow, HashMap<String, Vec<String>>), Response> {
    let fields = fields(raw);
    let request_id = one(&fields, "request").unwrap_or_default();
    let flow = load(state, headers, request_id).await?;
    match step {
        Some(step) if next_step(&flow) != step => Err(go(next_step(&flow), request_id)),
        _ => Ok((flow, fields)),
    }
}

/// A pending request, checked against the browser's cookie, with its client and scopes.
pub struct Flow {
    pub authorization: Authorization,
    pub client: Client,
    pub scopes: Scopes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SignIn,
    PickPatient,
    Consent,
}

impl Step {
    fn path(self) -> &'static str {
        match self {
            Step::SignIn => "/auth/sign-in",
            Step::PickPatient => "/auth/patient",
            Step::Consent => "/auth/consent",
        }
    }
}

/// The cookie of one flow. Named per request, so flows in two tabs do not collide.
pub fn cookie_name(request_id: &str) -> String {
    format!("helsebro_authz_{}", &request_id[..request_id.len().min(16)])
}

/// `Set-Cookie` for a new flow: HttpOnly, SameSite=Lax (sent on the top-level navigations
/// of the flow), limited to `/auth` and to the flow's lifetime; Secure over https.
pub fn set_cookie(request_id: &str, secret: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{}={secret}; Path=/auth; Max-Age={FLOW_LIFETIME_SECS}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(request_id)
    );
    HeaderValue::from_str(&value).expect("cookie of base64url characters")
}

/// The pending request `request_id`, if this browser began it.
pub async fn load(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<Flow, Response> {
    let gone = || {
        error_page(
            StatusCode::BAD_REQUEST,
            "Forespørselen er ukjent, allerede avgjort eller utløpt. Start på nytt fra appen.",
            "The request is unknown, already decided or expired. Start again from the app.",
        )
    };
    let authorization = state
        .store
        .pending_authorization(request_id)
        .await
        .map_err(server_failure)?
        .ok_or_else(gone)?;
    let name = cookie_name(request_id);
    let presented = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string());
    if !presented.is_some_and(|secret| same(&hash(&secret), &authorization.browser_hash)) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "Denne innloggingen ble startet i en annen nettleser. Start på nytt fra appen.",
            "This sign-in was started in another browser. Start again from the app.",
        ));
    }
    let client = state
        .store
        .client(&authorization.client_id)
        .await
        .map_err(server_failure)?
        .ok_or_else(gone)?;
    let scopes = Scopes::parse(&authorization.scope).unwrap_or_default();
    Ok(Flow {
        authorization,
        client,
        scopes,
    })
}

/// A patient must be chosen when the app asks for the launch patient or for patient/
/// scopes, which mean nothing without one.
pub fn needs_patient(scopes: &Scopes) -> bool {
    scopes.launch_patient || scopes.contexts().contains(&Context::Patient)
}

pub fn next_step(flow: &Flow) -> Step {
    let a = &flow.authorization;
    if a.fhir_user.is_none() {
        Step::SignIn
    } else if needs_patient(&flow.scopes) && a.patient_id.is_none() {
        Step::PickPatient
    } else {
        Step::Consent
    }
}

/// Sends the browser to `step` of the flow.
pub fn go(step: Step, request_id: &str) -> Response {
    see_other(&format!("{}?request={request_id}", step.path()))
}

/// Sends the browser back to the app with `params` and the app's `state`.
pub fn back_to_app(redirect_uri: &str, state: Option<&str>, params: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    if let Some(s) = state {
        query.append_pair("state", s);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    see_other(&format!("{redirect_uri}{sep}{}", query.finish()))
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn server_failure(detail: impl std::fmt::Display) -> Response {
    tracing::error!(%detail, "authorization flow failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Noe gikk galt hos oss. Prøv igjen senere.",
        "Something went wrong on our side. Try again later.",
    )
}

/// The fields of a page's form or query; a field given several times keeps every value.
pub fn fields(raw: &[u8]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw).into_owned() {
        out.entry(k).or_default().push(v);
    }
    out
}

/// The single value of a form field.
pub fn one<'a>(fields: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    match fields.get(name).map(Vec::as_slice) {
        Some([one]) => Some(one.as_str()),
        _ => None,
    }
}
