//! `GET|POST /auth/consent`: the user sees what the app asks for, in plain words, may untick
//! any of it, and allows or denies. Allowing ends the flow with a code for the app.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::flow::{self, at_step, back_to_app, next_step, one, server_failure, Flow, Step};
use super::pages::{describe_scope, error_page, page, person_name};
use super::scopes::{Context, Scopes};
use super::secrets::{hash, random_token};
use crate::fhir::AppState;
use crate::store::now_micros;

/// A code is exchanged at once by the app; a minute is plenty.
const CODE_LIFETIME_SECS: i64 = 60;

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let raw = query.unwrap_or_default();
    let (flow, _) = match at_step(&state, &headers, raw.as_bytes(), Some(Step::Consent)).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let a = &flow.authorization;
    let name_of = |kind: &str, id: String| {
        let state = state.clone();
        let tenant = a.tenant_id.clone();
        let kind = kind.to_string();
        async move {
            state
                .store
                .read_current(&tenant, &kind, &id)
                .await
                .ok()
                .flatten()
                .and_then(|c| c.json)
                .map(|json| person_name(&json))
        }
    };
    let user_name = match a.fhir_user.as_deref().and_then(|u| u.split_once('/')) {
        Some((kind, id)) => name_of(kind, id.to_string()).await,
        None => None,
    };
    let patient_name = match &a.patient_id {
        Some(id) => name_of("Patient", id.clone()).await,
        None => None,
    };
    let scopes = offered(&flow);
    page(
        "Gi tilgang",
        "Grant access",
        html! {
            p {
                strong { (flow.client.name) } " ber om tilgang. "
                span.en lang="en" { "is asking for access." }
            }
            dl {
                @if let Some(n) = &user_name {
                    dt { "Innlogget som " span.en lang="en" { "(Signed in as)" } }
                    dd { (n) }
                }
                @if let Some(n) = &patient_name {
                    dt { "Pasient " span.en lang="en" { "(Patient)" } }
                    dd { (n) }
                }
            }
            form method="post" action="/auth/consent" {
                input type="hidden" name="request" value=(a.id);
                fieldset {
                    legend { "Appen får lov til å " span.en lang="en" { "(The app may)" } }
                    @for (i, scope) in scopes.iter().enumerate() {
                        @let (nb, en) = describe_scope(scope);
                        @let input_id = format!("scope-{i}");
                        label for=(input_id) {
                            input type="checkbox" name="scope" id=(input_id) value=(scope) checked;
                            " " (nb) " " span.en lang="en" { "(" (en) ")" }
                        }
                    }
                }
                p {
                    "Du kan fjerne haken for det du ikke vil gi appen. "
                    span.en lang="en" { "Untick what you do not want to give the app." }
                }
                button.primary type="submit" name="decision" value="approve" {
                    "Tillat " span lang="en" { "(Allow)" }
                }
                button.secondary type="submit" name="decision" value="deny" {
                    "Avslå " span lang="en" { "(Deny)" }
                }
            }
        },
    )
}

/// The scopes the user is asked about: those requested, less what cannot apply to them
/// (user/ scopes reach a practitioner's patients; a patient has none).
fn offered(flow: &Flow) -> Vec<String> {
    let is_patient = flow
        .authorization
        .fhir_user
        .as_deref()
        .is_some_and(|u| u.starts_with("Patient/"));
    let mut scopes = flow.scopes.clone();
    if is_patient {
        scopes.clinical.retain(|c| c.context != Context::User);
    }
    scopes
        .to_scope_string()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // Deny is honoured at any step (the picker offers it too); allow only at consent.
    let (flow, form) = match at_step(&state, &headers, &body, None).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let request_id = flow.authorization.id.clone();
    let a = &flow.authorization;
    let deny = || async {
        if let Err(e) = state.store.delete_authorization(&a.id).await {
            return server_failure(e);
        }
        back_to_app(
            &a.redirect_uri,
            a.state.as_deref(),
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied access"),
            ],
        )
    };
    match one(&form, "decision") {
        Some("deny") => return deny().await,
        Some("approve") => {}
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Velg Tillat eller Avslå.",
                "Choose Allow or Deny.",
            )
        }
    }
    if next_step(&flow) != Step::Consent {
        return flow::go(next_step(&flow), &request_id);
    }
    let ticked: Vec<&String> = form
        .get("scope")
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let allowed: Vec<String> = offered(&flow)
        .into_iter()
        .filter(|s| ticked.contains(&s))
        .collect();
    let granted = Scopes::parse(&allowed.join(" ")).unwrap_or_default();
    if granted.clinical.is_empty() && !granted.openid {
        return deny().await;
    }
    let code = random_token();
    let expires = now_micros() / 1_000_000 + CODE_LIFETIME_SECS;
    match state
        .store
        .issue_authorization_code(&a.id, &granted.to_scope_string(), &hash(&code), expires)
        .await
    {
        Ok(true) => back_to_app(&a.redirect_uri, a.state.as_deref(), &[("code", &code)]),
        Ok(false) => error_page(
            StatusCode::CONFLICT,
            "Forespørselen er allerede avgjort.",
            "The request has already been decided.",
        ),
        Err(e) => server_failure(e),
    }
}
