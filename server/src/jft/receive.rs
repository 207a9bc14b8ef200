//! `POST /jft/v1/Bundle`: a document arrives. It must be a FHIR document Bundle (type
//! `document`, a Composition first, an identifier) of at most 1 MB. The answer is `202`
//! with the document's `Location`; a retry of the same document gets the same answer and
//! stores nothing new.

use axum::body::Body;
use axum::http::{header, StatusCode};
use serde_json::Value;

use super::{location, require, MAX_DOCUMENT_BYTES};
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::Ctx;
use crate::store::received::{Contract, Received};

pub async fn handle(mut ctx: Ctx, body: Body) -> Rendered {
    ctx.note("create", "Bundle");
    let result = receive(&mut ctx, body).await;
    ctx.render(result)
}

fn invalid(message: &str, expression: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid",
        message: message.into(),
        expression: Some(expression.into()),
    }
}

/// The document's identifier as `system|value`, once it is shown to be a document.
pub fn document_identifier(doc: &Value) -> Result<String, ApiError> {
    if doc["resourceType"] != "Bundle" {
        return Err(invalid(
            "the document must be a Bundle",
            "Bundle.resourceType",
        ));
    }
    if doc["type"] != "document" {
        return Err(invalid(
            "the Bundle must be of type document",
            "Bundle.type",
        ));
    }
    if doc["entry"][0]["resource"]["resourceType"] != "Composition" {
        return Err(invalid(
            "a document Bundle starts with its Composition",
            "Bundle.entry[0].resource",
        ));
    }
    let value = doc["identifier"]["value"].as_str().unwrap_or_default();
    if value.is_empty() {
        return Err(invalid(
            "a document needs an identifier, by which retries are recognised",
            "Bundle.identifier.value",
        ));
    }
    let system = doc["identifier"]["system"].as_str().unwrap_or_default();
    Ok(format!("{system}|{value}"))
}

async fn receive(ctx: &mut Ctx, body: Body) -> Result<FhirResponse, ApiError> {
    ctx.negotiated()?;
    require(ctx, Permission::Create, "sending a document")?;
    let bytes = ctx.body(body).await?;
    let (text, _, document_id) = read_document(&bytes)?;
    let id = keep(ctx, Contract::Jft, text, &document_id).await?;
    Ok(FhirResponse::new(StatusCode::ACCEPTED, None).header(header::LOCATION, location(ctx, &id)))
}

/// The document a request body carries: at most 1 MB of UTF-8 JSON that is a document
/// Bundle. Its text, its parsed form and its identifier.
pub fn read_document(bytes: &[u8]) -> Result<(&str, Value, String), ApiError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_DOCUMENT_BYTES));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| invalid("the document is not UTF-8 JSON", "Bundle"))?;
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| invalid(&format!("the document is not JSON: {e}"), "Bundle"))?;
    let document_id = document_identifier(&doc)?;
    Ok((text, doc, document_id))
}

/// Keeps a document of the token's tenant once per sender and identifier; returns its id
/// (the first receipt's, for a retry).
pub async fn keep(
    ctx: &mut Ctx,
    contract: Contract,
    text: &str,
    document_id: &str,
) -> Result<String, ApiError> {
    let access = ctx.access()?;
    let (tenant, sender) = (access.tenant.id.clone(), access.client_id.clone());
    let id = match ctx
        .state
        .store
        .receive_document(contract, &tenant, &sender, document_id, text)
        .await?
    {
        Received::New(id) | Received::Again(id) => id,
    };
    ctx.note("create", format!("Bundle/{id}"));
    Ok(id)
}
