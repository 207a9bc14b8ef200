use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};

use super::{check_body_type, resource_response, with_prefer_return};
use crate::auth::access::Reach;
use crate::auth::scopes::Permission;
use crate::fhir::authorize::body_within;
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::search::{compile, params};
use crate::fhir::{served_type, Ctx};
use crate::served::ServedType;
use crate::write_path::{Condition, WritePath};

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
    check_body_type(&resource, rtype)?;
    let reach = ctx.authorize(served, Permission::Create)?;
    body_within(served, &resource, &reach)?;
    let hasher = ctx.search_hasher().await?;
    let condition = if_none_exist(ctx, served, &reach, &hasher)?;
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
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!(
        "{}/{rtype}/{}/_history/{}",
        ctx.base(),
        written.id,
        written.version
    );
    let response = resource_response(status, written.version, written.last_updated, written.json)
        .header(header::LOCATION, location);
    let what = if written.created {
        "created"
    } else {
        "a resource matching If-None-Exist already exists; nothing was created"
    };
    Ok(with_prefer_return(ctx, response, what))
}

/// `If-None-Exist: identifier=…` becomes a strict search in the write transaction:
/// an ignored unknown parameter would match everything.
///
/// Only resources within the token's reach can match, so that a conditional create does
/// not hand back a resource the token may not read.
fn if_none_exist(
    ctx: &Ctx,
    served: ServedType,
    reach: &Reach,
    hasher: &crate::store::crypto::SearchHasher,
) -> Result<Option<Condition>, ApiError> {
    let Some(query) = ctx.header(header::HeaderName::from_static("if-none-exist")) else {
        return Ok(None);
    };
    let query = query.trim_start_matches('?');
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut search = params::parse(served.def(), &pairs, true)?;
    if search.clauses.is_empty() {
        return Err(ApiError::bad_request(
            "If-None-Exist has no search criteria this server understands",
        ));
    }
    search
        .clauses
        .extend(params::parse(served.def(), &reach.only, true)?.clauses);
    search.count = 1;
    search.cursor = None;
    let scope = compile::Scope {
        tenant_id: &ctx.tenant().id,
        resource_type: served.name(),
        base_url: ctx.base(),
        hasher,
    };
    Ok(Some(Condition {
        key: format!("{}|{}|{query}", ctx.tenant().id, served.name()),
        sql: compile::page(&scope, &search),
    }))
}
