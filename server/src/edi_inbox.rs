//! A small receive side of the EDI 2.0 message service: `POST /edi/messages` takes a
//! base64 MsgHead, `GET /edi/messages/{id}/status` gives the transport state and the
//! AppRec's status, `GET /edi/messages/{id}/apprec` the AppRec itself. Helsebro answers
//! every message it takes with an AppRec at once: OK when the MsgHead has the structure
//! the standard requires and is addressed to this tenant's HER-id, rejected (with the
//! errors) otherwise. A message is taken once per sender and MsgId.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use helsebro_mappings::dates::format_instant;
use serde_json::{json, Value};

use crate::auth::scopes::Permission;
use crate::delivery::edi::apprec::{self, AppRec, AppRecError, AppRecStatus, KnownError};
use crate::delivery::edi::msghead::Party;
use crate::delivery::edi::structure::{check_msghead, Inbound};
use crate::fhir::error::ApiError;
use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::{check_id, AppState, Ctx};
use crate::jft::{granted, require, MAX_DOCUMENT_BYTES};
use crate::store::crypto::sha256_hex;
use crate::store::now_micros;
use crate::store::received::{Contract, Received, ReceivedDocument};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/messages", post(receive))
        .route("/messages/{id}/status", get(status))
        .route("/messages/{id}/apprec", get(receipt))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::layer::log_request,
        ))
        .with_state(state)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

pub async fn receive(mut ctx: Ctx, body: Body) -> Rendered {
    ctx.note("create", "MsgHead");
    let result = take(&mut ctx, body).await;
    ctx.render(result)
}

async fn take(ctx: &mut Ctx, body: Body) -> Result<FhirResponse, ApiError> {
    require(ctx, Permission::Create, "sending a message")?;
    let bytes = ctx.body(body).await?;
    if bytes.len() > 2 * MAX_DOCUMENT_BYTES {
        return Err(ApiError::PayloadTooLarge(2 * MAX_DOCUMENT_BYTES));
    }
    let request: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("the request is not JSON: {e}")))?;
    if request["contentTransferEncoding"].as_str() != Some("base64") {
        return Err(bad("contentTransferEncoding must be base64"));
    }
    let xml = request["businessDocument"]
        .as_str()
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("businessDocument is not base64 UTF-8 XML"))?;
    let access = ctx.access()?;
    let (tenant, sender) = (access.tenant.id.clone(), access.client_id.clone());
    let store = ctx.state.store.clone();
    let us = store
        .sender_facts(&tenant)
        .await?
        .ok_or_else(|| ApiError::Internal("the tenant is gone".into()))?;
    let checked = check_msghead(&xml);
    // A message too broken to name itself is recognised by its content.
    let msg_id = match &checked {
        Ok(inbound) => inbound.msg_id.clone(),
        Err(_) => format!("sha256:{}", sha256_hex(xml.as_bytes())),
    };
    let id = match store
        .receive_document(Contract::Edi, &tenant, &sender, &msg_id, &xml)
        .await?
    {
        Received::New(id) => {
            let answer = answer(&checked, us.her_id.as_deref());
            let receipt = AppRec {
                id: uuid::Uuid::new_v4().to_string(),
                generated: format_instant(now_micros()),
                status: answer.0,
                errors: answer.1,
                original_msg_id: msg_id.clone(),
                original_msg_type: checked
                    .as_ref()
                    .map(|i| i.msg_type.clone())
                    .unwrap_or_default(),
                sender: Party {
                    org_name: us.name.clone(),
                    her_id: us.her_id.clone().unwrap_or_default(),
                    org_number: Some(us.org_number.clone()),
                },
                receiver: Party {
                    org_name: String::new(),
                    her_id: checked
                        .as_ref()
                        .map(|i| i.sender_her_id.clone())
                        .unwrap_or_default(),
                    org_number: None,
                },
            };
            let xml = apprec::write(&receipt).map_err(|e| ApiError::Internal(e.to_string()))?;
            store.set_apprec(&tenant, &id, &xml).await?;
            id
        }
        Received::Again(id) => id,
    };
    ctx.note("create", format!("MsgHead/{id}"));
    let location = format!("{}/edi/messages/{id}", ctx.state.config.origin());
    Ok(
        FhirResponse::new(StatusCode::CREATED, Some(json!({"id": id}).to_string()))
            .header(header::LOCATION, location)
            .header(header::CONTENT_TYPE, "application/json"),
    )
}

/// The AppRec's status and errors for a message as checked.
fn answer(
    checked: &Result<Inbound, Vec<crate::delivery::edi::structure::StructureError>>,
    our_her_id: Option<&str>,
) -> (AppRecStatus, Vec<AppRecError>) {
    match checked {
        Err(errors) => (
            AppRecStatus::Rejected,
            errors
                .iter()
                .map(|e| AppRecError {
                    // The structure the standard requires is what a schema checks (T02).
                    code: KnownError::NotValid.code().into(),
                    text: format!("{}: {}", e.path, e.message),
                })
                .collect(),
        ),
        Ok(inbound) if Some(inbound.receiver_her_id.as_str()) != our_her_id => (
            AppRecStatus::Rejected,
            vec![AppRecError {
                code: KnownError::UnknownReceiver.code().into(),
                text: format!("HER-id {} is not this receiver", inbound.receiver_her_id),
            }],
        ),
        Ok(_) => (AppRecStatus::Ok, Vec::new()),
    }
}

/// The sender's message, or the tenant's for a reader; another's is as unknown as none.
async fn message(ctx: &mut Ctx, id: &str) -> Result<ReceivedDocument, ApiError> {
    check_id(id)?;
    let access = ctx.access()?;
    let not_found = || ApiError::NotFound(format!("message {id}"));
    let doc = ctx
        .state
        .store
        .received_document(&access.tenant.id, id)
        .await?
        .filter(|d| d.contract == "edi")
        .ok_or_else(not_found)?;
    if doc.sender != access.client_id && !granted(ctx, Permission::Read)? {
        return Err(not_found());
    }
    Ok(doc)
}

pub async fn status(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("MsgHead/{id}/status"));
    let result = status_of(&mut ctx, &id).await;
    ctx.render(result)
}

async fn status_of(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    let doc = message(ctx, id).await?;
    let her = ctx
        .state
        .store
        .sender_facts(&ctx.tenant().id)
        .await?
        .and_then(|s| s.her_id);
    let apprec_status = doc
        .apprec
        .as_deref()
        .and_then(|x| apprec::parse(x).ok())
        .map(|a| match a.status {
            AppRecStatus::Ok => "OK",
            AppRecStatus::Rejected => "Rejected",
            AppRecStatus::OkWithErrors => "OkErrorInMessagePart",
        });
    let body = json!([{
        "receiverHerId": her.and_then(|h| h.parse::<u64>().ok()),
        "transportDeliveryState": "Acknowledged",
        "appRecStatus": apprec_status,
    }]);
    Ok(FhirResponse::new(StatusCode::OK, Some(body.to_string()))
        .header(header::CONTENT_TYPE, "application/json"))
}

pub async fn receipt(mut ctx: Ctx, Path(id): Path<String>) -> Rendered {
    ctx.note("read", format!("MsgHead/{id}/apprec"));
    let result = receipt_of(&mut ctx, &id).await;
    ctx.render(result)
}

async fn receipt_of(ctx: &mut Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    let doc = message(ctx, id).await?;
    let apprec = doc
        .apprec
        .ok_or_else(|| ApiError::NotFound(format!("the AppRec of message {id}")))?;
    let body = json!({
        "businessDocument": STANDARD.encode(apprec.as_bytes()),
        "contentType": "application/xml",
        "contentTransferEncoding": "base64",
    });
    Ok(FhirResponse::new(StatusCode::OK, Some(body.to_string()))
        .header(header::CONTENT_TYPE, "application/json"))
}
