//! FHIR Bulk Data Access 2.0 `$export` over HTTP: kick-off at system, patient and group
//! level (GET, or POST with a Parameters body), the status endpoint (poll, cancel) and the
//! files. Only backend services (tokens with `system/` scopes alone) export; a job, its
//! status and its files are found only with a token of the tenant and client that
//! kicked it off, and answer as unknown (404) to anyone else. Job and file ids are
//! random, so URLs carry no personal data.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use serde_json::json;

use crate::auth::access::Access;
use crate::auth::scopes::{Context, Permission};
use crate::export::request::{self, KickOff, Level};
use crate::export::{panel, EXPIRY};
use crate::fhir::bundle::url_with;
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, FhirResponse, Format, Rendered};
use crate::fhir::{check_id, Ctx};
use crate::store::exports::{JobStatus, NewJob};
use crate::store::now_micros;
use helsebro_mappings::dates::format_instant;

/// What a poll is told to wait, in seconds.
const RETRY_AFTER: &str = "2";

pub async fn system(ctx: Ctx) -> Rendered {
    let pairs = ctx.query.clone();
    kick_off(ctx, Level::System, None, Ok(pairs)).await
}

pub async fn system_post(ctx: Ctx, body: Body) -> Rendered {
    let pairs = posted(&ctx, body).await;
    kick_off(ctx, Level::System, None, pairs).await
}

pub async fn patient(ctx: Ctx) -> Rendered {
    let pairs = ctx.query.clone();
    kick_off(ctx, Level::Patient, None, Ok(pairs)).await
}

pub async fn patient_post(ctx: Ctx, body: Body) -> Rendered {
    let pairs = posted(&ctx, body).await;
    kick_off(ctx, Level::Patient, None, pairs).await
}

pub async fn group(ctx: Ctx, Path(id): Path<String>) -> Rendered {
    let pairs = ctx.query.clone();
    kick_off(ctx, Level::Group, Some(id), Ok(pairs)).await
}

pub async fn group_post(ctx: Ctx, Path(id): Path<String>, body: Body) -> Rendered {
    let pairs = posted(&ctx, body).await;
    kick_off(ctx, Level::Group, Some(id), pairs).await
}

/// `GET` on the status URL: `202` with `X-Progress` while the job runs, the manifest when
/// it is complete.
pub async fn status(ctx: Ctx, Path(job): Path<String>) -> Rendered {
    ctx.note("read", format!("$export/{job}"));
    let result = job_status(&ctx, &job).await;
    json_only(ctx.render(result))
}

/// `DELETE` on the status URL: the job and its files go; `202`.
pub async fn cancel(ctx: Ctx, Path(job): Path<String>) -> Rendered {
    ctx.note("delete", format!("$export/{job}"));
    let result = async {
        let access = backend_service(&ctx)?;
        check_id(&job)?;
        let store = &ctx.state.store;
        if !store
            .delete_export_job(&access.tenant.id, &access.client_id, &job)
            .await?
        {
            return Err(ApiError::NotFound("this export job".into()));
        }
        Ok(FhirResponse::new(StatusCode::ACCEPTED, None))
    }
    .await;
    json_only(ctx.render(result))
}

/// `GET` on a file URL: its NDJSON. The access log names every patient the file
/// carries.
pub async fn file(ctx: Ctx, Path((job, file)): Path<(String, String)>) -> Rendered {
    ctx.note("read", format!("$export/{job}/{file}"));
    let result = async {
        let access = backend_service(&ctx)?;
        check_id(&job)?;
        check_id(&file)?;
        let found = ctx
            .state
            .store
            .export_file(&access.tenant.id, &access.client_id, &job, &file)
            .await?
            .ok_or_else(|| ApiError::NotFound("this export file".into()))?;
        if access
            .reach(&found.resource_type, Permission::Read)
            .is_none()
        {
            return Err(ApiError::Forbidden(format!(
                "the access token grants no read on {}",
                found.resource_type
            )));
        }
        for p in found.patients {
            ctx.note_patient(Some(p));
        }
        Ok(FhirResponse::new(StatusCode::OK, Some(found.content))
            .header(header::CONTENT_TYPE, "application/fhir+ndjson"))
    }
    .await;
    json_only(ctx.render(result))
}

/// Export answers are JSON (OperationOutcomes, the manifest) or NDJSON, whatever the
/// `Accept` of a poll or a download says.
fn json_only(mut rendered: Rendered) -> Rendered {
    rendered.0 = Format::Json;
    rendered
}

/// A POST kick-off's parameters, from its Parameters body.
async fn posted(ctx: &Ctx, body: Body) -> Result<Vec<(String, String)>, ApiError> {
    let bytes = ctx.body(body).await?;
    let value = parse_resource(&bytes, Format::Json)?;
    let mut pairs = ctx.query.clone();
    pairs.extend(request::parameters_body(&value)?);
    Ok(pairs)
}

async fn kick_off(
    ctx: Ctx,
    level: Level,
    group: Option<String>,
    pairs: Result<Vec<(String, String)>, ApiError>,
) -> Rendered {
    let path = match &group {
        Some(id) => format!("Group/{id}/$export"),
        None if level == Level::Patient => "Patient/$export".to_string(),
        None => "$export".to_string(),
    };
    ctx.note("operation", path.clone());
    let result = async {
        let access = backend_service(&ctx)?;
        check_headers(&ctx)?;
        let pairs = pairs?;
        let lenient = ctx.prefer("handling").as_deref() == Some("lenient");
        let kick = request::parse(&pairs, level, lenient)?;
        let patients = match &group {
            Some(id) => Some(group_members(&ctx, access, id, &kick).await?),
            None => kick.patients.clone(),
        };
        let plan = request::plan(&kick, level, access, patients.as_deref())?;
        let job = uuid::Uuid::new_v4().simple().to_string();
        let base = ctx.base();
        // A POST's parameters are in its body, not in the request the manifest names.
        let request_url = if ctx.method == axum::http::Method::POST {
            format!("{base}/{path}")
        } else {
            url_with(&format!("{base}/{path}"), &pairs)
        };
        let now = now_micros();
        ctx.state
            .store
            .create_export_job(&NewJob {
                id: &job,
                tenant_id: &access.tenant.id,
                client_id: &access.client_id,
                request_url: &request_url,
                base_url: base,
                level: level.name(),
                plan: &serde_json::to_string(&plan).expect("plans serialize"),
                since: kick.since,
                transaction_time: now,
                expires_at: now + i64::try_from(EXPIRY.as_micros()).unwrap_or(i64::MAX),
            })
            .await?;
        ctx.note("operation", format!("{path}/{job}"));
        Ok(FhirResponse::new(StatusCode::ACCEPTED, None).header(
            header::CONTENT_LOCATION,
            format!("{base}/$export-status/{job}"),
        ))
    }
    .await;
    json_only(ctx.render(result))
}

/// The members of the care panel `id` (see `export::panel`), narrowed to the `patient`
/// parameter's when given. Reading a panel takes a `system/` scope on Group.
async fn group_members(
    ctx: &Ctx,
    access: &Access,
    id: &str,
    kick: &KickOff,
) -> Result<Vec<String>, ApiError> {
    check_id(id)?;
    super::group::panel_access(access, Permission::Read)?;
    let mut members = panel::members(&ctx.state.store, &access.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Group/{id}")))?;
    if let Some(asked) = &kick.patients {
        members.retain(|m| asked.contains(m));
    }
    Ok(members)
}

/// The token, if it is a backend service's: `system/` scopes only, no user, no patient.
fn backend_service(ctx: &Ctx) -> Result<&Access, ApiError> {
    let access = ctx.access()?;
    let contexts = access.scopes.contexts();
    let system_only = !contexts.is_empty() && contexts.iter().all(|c| *c == Context::System);
    if !system_only || access.patient.is_some() || access.fhir_user.is_some() {
        return Err(ApiError::Forbidden(
            "bulk export is for backend services: a token with system/ scopes only".into(),
        ));
    }
    Ok(access)
}

/// `Prefer: respond-async` is required; `Accept` may only ask for FHIR JSON (the
/// format of an OperationOutcome about the kick-off), and means that when left out.
fn check_headers(ctx: &Ctx) -> Result<(), ApiError> {
    let prefers_async = ctx.headers.get_all("prefer").iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split([',', ';'])
                .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
        })
    });
    if !prefers_async {
        return Err(ApiError::bad_request(
            "$export runs asynchronously: send Prefer: respond-async",
        ));
    }
    if let Some(accept) = ctx.header(header::ACCEPT) {
        let json = accept.split(',').any(|r| {
            let mime = r.split(';').next().unwrap_or_default().trim();
            matches!(mime, "application/fhir+json" | "application/json" | "*/*")
        });
        if !json {
            return Err(ApiError::bad_request(format!(
                "Accept '{accept}' is not supported for $export: send application/fhir+json"
            )));
        }
    }
    Ok(())
}

async fn job_status(ctx: &Ctx, id: &str) -> Result<FhirResponse, ApiError> {
    let access = backend_service(ctx)?;
    check_id(id)?;
    let store = &ctx.state.store;
    let job = store
        .export_job(&access.tenant.id, &access.client_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this export job".into()))?;
    match job.status {
        JobStatus::Queued | JobStatus::Running => {
            let progress = match job.status {
                JobStatus::Queued => "queued".to_string(),
                _ => format!("{} resources written", job.written),
            };
            Ok(FhirResponse::new(StatusCode::ACCEPTED, None)
                .header(header::HeaderName::from_static("x-progress"), progress)
                .header(header::RETRY_AFTER, RETRY_AFTER))
        }
        JobStatus::Failed => Err(ApiError::Internal(format!(
            "export job {id} failed: {}",
            job.error.unwrap_or_default()
        ))),
        JobStatus::Complete => {
            let base = ctx.base();
            let output: Vec<_> = store
                .export_files(&job.id)
                .await?
                .into_iter()
                .map(|f| {
                    json!({
                        "type": f.resource_type,
                        "url": format!("{base}/$export-file/{}/{}", job.id, f.id),
                        "count": f.count,
                    })
                })
                .collect();
            let manifest = json!({
                "transactionTime": format_instant(job.transaction_time),
                "request": job.request_url,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            });
            Ok(
                FhirResponse::new(StatusCode::OK, Some(manifest.to_string()))
                    .header(header::CONTENT_TYPE, "application/json"),
            )
        }
    }
}
