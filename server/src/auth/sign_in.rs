//! `GET|POST /auth/sign-in`: who is asking. In demo mode the synthetic practitioners and
//! patients of the app's tenant are listed to choose from; otherwise the user signs in with
//! the upstream OpenID Connect provider (HelseID in production).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::flow::{self, at_step, next_step, one, server_failure, Flow, Step};
use super::pages::{error_page, page, person_name};
use crate::fhir::AppState;

/// The demo lists at most this many people of each kind.
const DEMO_LIST_LIMIT: i64 = 100;

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let raw = query.unwrap_or_default();
    let (flow, _) = match at_step(&state, &headers, raw.as_bytes(), Some(Step::SignIn)).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if let Some(upstream) = state.upstream.as_ref() {
        return super::upstream::begin(&state, upstream, &flow).await;
    }
    if !state.config.demo {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Innlogging er ikke satt opp for denne tjenesten.",
            "Sign-in is not configured for this service.",
        );
    }
    match demo_page(&state, &flow).await {
        Ok(r) => r,
        Err(e) => server_failure(e),
    }
}

async fn demo_page(state: &AppState, flow: &Flow) -> Result<Response, crate::store::StoreError> {
    let tenant = &flow.authorization.tenant_id;
    let practitioners = state
        .store
        .list_current(tenant, "Practitioner", DEMO_LIST_LIMIT)
        .await?;
    let mut patients = state
        .store
        .list_current(tenant, "Patient", DEMO_LIST_LIMIT)
        .await?;
    // An EHR launch names the patient: only that patient may sign in as themselves.
    if let Some(launch_patient) = &flow.authorization.patient_id {
        patients.retain(|(id, _)| id == launch_patient);
    }
    let group = |legend_nb: &str, legend_en: &str, kind: &str, people: &[(String, String)]| {
        html! {
            fieldset {
                legend { (legend_nb) " " span.en lang="en" { "(" (legend_en) ")" } }
                @for (id, json) in people {
                    @let value = format!("{kind}/{id}");
                    @let input_id = format!("user-{kind}-{id}");
                    label for=(input_id) {
                        input type="radio" name="user" id=(input_id) value=(value) required;
                        " " (person_name(json))
                    }
                }
            }
        }
    };
    Ok(page(
        "Logg inn",
        "Sign in",
        html! {
            p {
                strong { (flow.client.name) }
                " ber om tilgang til opplysninger hos denne tjenesten. "
                span.en lang="en" { "is asking for access to records held by this service." }
            }
            p.notice {
                "Demo: velg en av de oppdiktede brukerne. "
                span.en lang="en" { "Demo: choose one of the synthetic users." }
            }
            form method="post" action="/auth/sign-in" {
                input type="hidden" name="request" value=(flow.authorization.id);
                (group("Helsepersonell", "Health personnel", "Practitioner", &practitioners))
                (group("Pasienter", "Patients", "Patient", &patients))
                button.primary type="submit" { "Logg inn " span lang="en" { "(Sign in)" } }
            }
        },
    ))
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (flow, form) = match at_step(&state, &headers, &body, Some(Step::SignIn)).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let request_id = flow.authorization.id.clone();
    // The built-in sign-in is for synthetic demo users only.
    if !state.config.demo || state.upstream.is_some() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Denne innloggingen er bare for demo.",
            "This sign-in is for the demo only.",
        );
    }
    let user = one(&form, "user").unwrap_or_default();
    match signed_in(&state, &flow, user).await {
        Ok(Ok(step)) => flow::go(step, &request_id),
        Ok(Err(refusal)) => refusal,
        Err(e) => server_failure(e),
    }
}

/// Records that `user` (`Practitioner/ID` or `Patient/ID`) signed in for `flow`, after
/// checking they exist in the app's tenant and may see the launch patient. Gives the next
/// step, or the page that refuses.
pub async fn signed_in(
    state: &AppState,
    flow: &Flow,
    user: &str,
) -> Result<Result<Step, Response>, crate::store::StoreError> {
    let a = &flow.authorization;
    let refuse = |nb: &str, en: &str| Ok(Err(error_page(StatusCode::FORBIDDEN, nb, en)));
    let (kind, id) = match user.split_once('/') {
        Some((kind @ ("Practitioner" | "Patient"), id)) if !id.is_empty() => (kind, id),
        _ => {
            return Ok(Err(error_page(
                StatusCode::BAD_REQUEST,
                "Velg en bruker.",
                "Choose a user.",
            )))
        }
    };
    let exists = state
        .store
        .read_current(&a.tenant_id, kind, id)
        .await?
        .is_some_and(|c| !c.deleted);
    if !exists {
        return refuse("Brukeren finnes ikke.", "The user does not exist.");
    }
    let patient = match (kind, &a.patient_id) {
        ("Patient", Some(launch)) if launch != id => {
            return refuse(
                "Du kan bare logge inn som pasienten appen ble åpnet for.",
                "You can only sign in as the patient the app was opened for.",
            )
        }
        ("Patient", _) => Some(id),
        (_, Some(launch)) => {
            let care = state.store.care_patients(&a.tenant_id, id).await?;
            if !care.iter().any(|p| p == launch) {
                return refuse(
                    "Du har ikke et behandlingsforhold til pasienten appen ble åpnet for.",
                    "You have no care relationship with the patient the app was opened for.",
                );
            }
            None
        }
        _ => None,
    };
    state
        .store
        .sign_in_authorization(&a.id, user, patient)
        .await?;
    let mut updated = a.clone();
    updated.fhir_user = Some(user.to_string());
    updated.patient_id = updated.patient_id.clone().or(patient.map(str::to_string));
    let step = next_step(&Flow {
        authorization: updated,
        client: flow.client.clone(),
        scopes: flow.scopes.clone(),
    });
    Ok(Ok(step))
}
