//! `GET|POST /auth/patient`: a practitioner chooses the patient for a standalone launch,
//! among the patients they have a care relationship with.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::flow::{self, at_step, one, server_failure, Flow, Step};
use super::pages::{error_page, page, person_name};
use crate::fhir::AppState;
use crate::store::StoreError;

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let raw = query.unwrap_or_default();
    let (flow, _) = match at_step(&state, &headers, raw.as_bytes(), Some(Step::PickPatient)).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    match picker(&state, &flow).await {
        Ok(r) => r,
        Err(e) => server_failure(e),
    }
}

/// The patients of the signed-in practitioner, with their names, by name.
async fn care_patients(state: &AppState, flow: &Flow) -> Result<Vec<(String, String)>, StoreError> {
    let a = &flow.authorization;
    let practitioner = a
        .fhir_user
        .as_deref()
        .and_then(|u| u.strip_prefix("Practitioner/"))
        .unwrap_or_default();
    let mut out = Vec::new();
    for id in state
        .store
        .care_patients(&a.tenant_id, practitioner)
        .await?
    {
        if let Some(current) = state
            .store
            .read_current(&a.tenant_id, "Patient", &id)
            .await?
        {
            if let (false, Some(json)) = (current.deleted, current.json.as_deref()) {
                out.push((id, person_name(json)));
            }
        }
    }
    out.sort_by(|x, y| x.1.cmp(&y.1));
    Ok(out)
}

async fn picker(state: &AppState, flow: &Flow) -> Result<Response, StoreError> {
    let patients = care_patients(state, flow).await?;
    let request_id = &flow.authorization.id;
    Ok(page(
        "Velg pasient",
        "Choose patient",
        html! {
            p {
                strong { (flow.client.name) } " trenger en pasient å arbeide med. "
                span.en lang="en" { "needs a patient to work with." }
            }
            @if patients.is_empty() {
                p role="status" {
                    "Du har ingen pasienter i din omsorg her. "
                    span.en lang="en" { "You have no patients in your care here." }
                }
                form method="post" action="/auth/consent" {
                    input type="hidden" name="request" value=(request_id);
                    button.secondary type="submit" name="decision" value="deny" {
                        "Avbryt " span lang="en" { "(Cancel)" }
                    }
                }
            } @else {
                form method="post" action="/auth/patient" {
                    input type="hidden" name="request" value=(request_id);
                    fieldset {
                        legend { "Dine pasienter " span.en lang="en" { "(Your patients)" } }
                        @for (id, name) in &patients {
                            @let input_id = format!("patient-{id}");
                            label for=(input_id) {
                                input type="radio" name="patient" id=(input_id) value=(id) required;
                                " " (name)
                            }
                        }
                    }
                    button.primary type="submit" { "Velg pasient " span lang="en" { "(Choose patient)" } }
                }
            }
        },
    ))
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (flow, form) = match at_step(&state, &headers, &body, Some(Step::PickPatient)).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let request_id = flow.authorization.id.clone();
    let chosen = one(&form, "patient").unwrap_or_default();
    let allowed = match care_patients(&state, &flow).await {
        Ok(p) => p,
        Err(e) => return server_failure(e),
    };
    // Only a patient in the practitioner's care; any other id gets the same answer, so the
    // page does not tell which patients exist.
    if !allowed.iter().any(|(id, _)| id == chosen) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Velg en av dine pasienter.",
            "Choose one of your patients.",
        );
    }
    match state
        .store
        .choose_authorization_patient(&request_id, chosen)
        .await
    {
        Ok(()) => flow::go(Step::Consent, &request_id),
        Err(e) => server_failure(e),
    }
}
