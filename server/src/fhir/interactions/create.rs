use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use serde_json::Value;

use super::{check_body_type, resource_response, write_answer};
use crate::auth::access::Reach;
use crate::auth::scopes::Permission;
use crate::fhir::authorize::body_within;
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::search::{compile, params};
use crate::fhir::{served_type, Ctx};
use crate::served::ServedType;
use crate::write_path::{Condition, WritePath, Written};

pub async fn handle(mut ctx: Ctx, Path(rtype): Path<String>, body: Body) -> Rendered {
    let result = create(&mut ctx, &rtype, body).await;
    ctx.render(result)
}

async fn create(ctx: &mut Ctx, rtype: &str, body: Body) -> Result<FhirResponse, ApiError> {
    ctx.note("create", rtype);
    ctx.negotiated()?;
    let served = served_type(rtype)?;
    let bytes = ctx.body(body).await?;
    let resource = parse_resource(&bytes, request_format(&ctx.headers, &bytes)?)?;
    let reach = check_create(ctx, served, &resource)?;
    let condition = match ctx.header(header::HeaderName::from_static("if-none-exist")) {
        Some(query) => Some(conditional_search(ctx, served, &reach, query, "If-None-Exist").await?),
        None => None,
    };
    let audit = ctx.audit_in_write("create", rtype.to_string(), None);
    let written = WritePath {
        store: &ctx.state.store,
        tenant: ctx.tenant(),
        base_url: ctx.base(),
        audit: Some(&audit),
    }
    .create(served, resource, condition)
    .await?;
    if written.created {
        ctx.audited_in_write();
    } else {
        // A conditional create that matched wrote nothing: it read the match.
        ctx.note(
            "create",
            format!("{rtype}/{}/_history/{}", written.id, written.version),
        );
        ctx.note_patient(crate::audit::patients::patient_of_json(
            served,
            &written.json,
        ));
    }
    let created = written.created;
    let response = created_response(ctx.base(), served, written);
    Ok(write_answer(
        ctx,
        response,
        created,
        "a resource matching If-None-Exist already exists; nothing was created",
    ))
}

/// What a create checks of its body before anything is written: the type, the token's
/// permission, and that the resource stays within the token's reach. Returns the reach.
pub fn check_create(ctx: &Ctx, served: ServedType, resource: &Value) -> Result<Reach, ApiError> {
    check_body_type(resource, served.name())?;
    let reach = ctx.authorize(served, Permission::Create)?;
    body_within(served, resource, &reach)?;
    Ok(reach)
}

/// `201` with the new version, or `200` with the match of a conditional create.
pub fn created_response(base: &str, served: ServedType, written: Written) -> FhirResponse {
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!(
        "{base}/{}/{}/_history/{}",
        served.name(),
        written.id,
        written.version
    );
    resource_response(status, written.version, written.last_updated, written.json)
        .header(header::LOCATION, location)
}

/// The search of a conditional write (`If-None-Exist: identifier=…`, a conditional update
/// or delete URL, a conditional reference), run strictly in the write transaction: an
/// ignored unknown parameter would match everything. `what` names the query's source.
///
/// Only resources within `reach` can match, so that a conditional write does not hand
/// back or change a resource the token may not reach.
pub async fn conditional_search(
    ctx: &Ctx,
    served: ServedType,
    reach: &Reach,
    query: &str,
    what: &str,
) -> Result<Condition, ApiError> {
    let query = query.trim_start_matches('?');
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut search = params::parse(served.def(), &pairs, true)?;
    if search.clauses.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{what} has no search criteria this server understands"
        )));
    }
    search
        .clauses
        .extend(params::parse(served.def(), &reach.only, true)?.clauses);
    search.count = 1;
    search.cursor = None;
    let hasher = ctx.search_hasher().await?;
    let scope = compile::Scope {
        tenant_id: &ctx.tenant().id,
        resource_type: served.name(),
        base_url: ctx.base(),
        hasher: &hasher,
    };
    Ok(Condition {
        key: format!("{}|{}|{query}", ctx.tenant().id, served.name()),
        sql: compile::page(&scope, &search),
    })
}
