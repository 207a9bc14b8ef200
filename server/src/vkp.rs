//! The receive side of VKP's R4 write API (Velferdsteknologisk knutepunkt):
//! `POST /vkp/{orgnr}/Bundle` takes a document Bundle for the municipality named in the
//! path. Refusals are `400` with an OperationOutcome carrying VKP's own codes (2.1 invalid
//! person identifier, 2.2 invalid system identifier, 2.4 invalid format), as senders map
//! them to failure reasons. Accepted documents join those received over JFT, and the EHR
//! reads them the same way.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::Router;
use helsebro_profiles::identifiers::{check_national_identifier, DNR_SYSTEM, FNR_SYSTEM};
use serde_json::Value;

use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{AppState, Ctx};
use crate::jft::receive::{keep, read_document};
use crate::jft::{location, require};
use crate::store::received::Contract;

const OUTCOME_SYSTEM: &str = "http://ehelse.no/fhir/CodeSystem/vkp-operation-outcome-v090";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/{orgnr}/Bundle", post(handle))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::layer::log_request,
        ))
        .with_state(state)
}

fn refusal(code: &'static str, display: &'static str, message: String) -> ApiError {
    ApiError::Coded {
        code: "invalid",
        details: (OUTCOME_SYSTEM, code, display),
        message,
        expression: None,
    }
}

pub async fn handle(mut ctx: Ctx, Path(orgnr): Path<String>, body: Body) -> Rendered {
    ctx.note("create", "Bundle");
    let result = receive(&mut ctx, &orgnr, body).await;
    ctx.render(result)
}

async fn receive(ctx: &mut Ctx, orgnr: &str, body: Body) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    require(ctx, Permission::Create, "sending a document")?;
    let access = ctx.access()?;
    if access.tenant.org_number != orgnr {
        return Err(refusal(
            "2.2",
            "ugyldig systemidentifikator",
            format!("{orgnr} is not the receiving municipality of this token"),
        ));
    }
    let is_test = access.tenant.is_test;
    let bytes = ctx.body(body).await?;
    let (text, doc, document_id) = read_document(&bytes).map_err(|e| match e {
        ApiError::PayloadTooLarge(limit) => ApiError::PayloadTooLarge(limit),
        other => refusal("2.4", "ugyldig format", other.to_string()),
    })?;
    check_subject(&doc, is_test)?;
    let id = keep(ctx, Contract::Vkp, text, &document_id).await?;
    Ok(FhirResponse::new(StatusCode::CREATED, None).header(header::LOCATION, location(ctx, &id)))
}

/// VKP references the patient logically, by fødselsnummer or D-nummer with valid check
/// digits; anything else is refused with 2.1.
fn check_subject(doc: &Value, allow_synthetic: bool) -> Result<(), ApiError> {
    let identifier = &doc["entry"][0]["resource"]["subject"]["identifier"];
    let system = identifier["system"].as_str().unwrap_or_default();
    let value = identifier["value"].as_str().unwrap_or_default();
    let invalid = |why: &str| {
        refusal(
            "2.1",
            "ugyldig personidentifikator",
            format!("Composition.subject.identifier: {why}"),
        )
    };
    if system != FNR_SYSTEM && system != DNR_SYSTEM {
        return Err(invalid("the system must be FNR or DNR"));
    }
    match check_national_identifier(system, value, allow_synthetic) {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(invalid(&e.to_string())),
        None => Err(invalid("the system must be FNR or DNR")),
    }
}
