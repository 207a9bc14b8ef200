//! The FHIR R4 REST API under `/fhir`: one module per interaction.

pub mod authorize;
pub mod bundle;
pub mod error;
pub mod format;
pub mod interactions;
pub mod search;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::access::Access;
use crate::auth::bearer;
use crate::auth::external::IssuerKeys;
use crate::auth::keys::KeyRing;
use crate::config::Config;
use crate::served::ServedType;
use crate::store::Store;
use crate::tenant::Tenant;
use error::ApiError;
use format::{Format, Rendered};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub keys: Arc<KeyRing>,
    /// Cached keys of trusted external issuers.
    pub issuer_keys: Arc<IssuerKeys>,
    /// The OpenID provider practitioners sign in with, when configured.
    pub upstream: Option<Arc<crate::auth::upstream::Upstream>>,
    /// The access log's writer.
    pub audit: crate::audit::writer::AuditLog,
    pub tenant: Arc<Tenant>,
    pub config: Arc<Config>,
    /// When this instance started (FHIR dateTime), for the CapabilityStatement.
    pub started: Arc<str>,
}

/// What every FHIR handler needs from the request, negotiated once.
pub struct Ctx {
    pub state: AppState,
    pub headers: HeaderMap,
    pub method: Method,
    /// Decoded query pairs in request order.
    pub query: Vec<(String, String)>,
    pub format: Format,
    format_error: Option<ApiError>,
    /// What the bearer token grants, or why there is none (see `authorize`).
    access: Result<Access, ApiError>,
    /// The peer's address, for the access log.
    source: Option<String>,
    /// What this request touched, for the access log.
    audit: std::sync::Mutex<crate::audit::AuditNote>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let format_param = query
            .iter()
            .find(|(k, _)| k == "_format")
            .map(|(_, v)| v.as_str());
        let (format, format_error) = match format::response_format(&parts.headers, format_param) {
            Ok(f) => (f, None),
            Err(e) => (Format::Json, Some(e)),
        };
        let access = bearer::authorize_request(state, parts)
            .await
            .map_err(ApiError::from);
        let source = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(Ctx {
            source,
            audit: Default::default(),
            state: state.clone(),
            headers: parts.headers.clone(),
            method: parts.method.clone(),
            query,
            format,
            format_error,
            access,
        })
    }
}

impl Ctx {
    /// Who is asking, for the access log.
    pub fn agent(&self) -> crate::audit::Agent {
        match &self.access {
            Ok(access) => crate::audit::Agent::of(access, self.source.clone()),
            Err(_) => crate::audit::Agent {
                source: self.source.clone(),
                ..Default::default()
            },
        }
    }

    /// Names the interaction and what it is about, for the access log.
    pub fn note(&self, subtype: &'static str, entity: impl Into<String>) {
        let mut note = self.audit.lock().expect("audit note lock");
        note.subtype = Some(subtype);
        note.entity = Some(entity.into());
    }

    /// Adds a patient whose data this request touched.
    pub fn note_patient(&self, patient: Option<String>) {
        if let Some(p) = patient {
            self.audit
                .lock()
                .expect("audit note lock")
                .patients
                .insert(p);
        }
    }

    /// The access log row of a write, to be appended in the write's transaction; the
    /// logging layer then leaves it alone.
    pub fn audit_in_write(
        &self,
        subtype: &'static str,
        entity: String,
        patient: Option<String>,
    ) -> crate::store::audit::AuditRecord {
        let mut note = self.audit.lock().expect("audit note lock");
        note.subtype = Some(subtype);
        note.entity = Some(entity.clone());
        note.patients.extend(patient.clone());
        crate::audit::record(
            &self.agent(),
            "rest",
            subtype,
            "0",
            None,
            Some(entity),
            patient,
        )
    }

    /// Marks the note as written with the write.
    pub fn audited_in_write(&self) {
        self.audit.lock().expect("audit note lock").recorded = true;
    }

    /// The handler's result with its access-log note.
    pub fn render(&self, result: Result<format::FhirResponse, ApiError>) -> Rendered {
        let mut note = self.audit.lock().expect("audit note lock").clone();
        note.agent = self.agent();
        Rendered(self.format, result, Some(note))
    }

    /// Fails with the negotiation error, if any: handlers call this first.
    pub fn negotiated(&mut self) -> Result<(), ApiError> {
        match self.format_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The token's tenant. Handlers reach it only after `authorize` succeeded; before, it
    /// is a tenant that owns nothing.
    pub fn tenant(&self) -> &Tenant {
        match &self.access {
            Ok(access) => &access.tenant,
            Err(_) => &NO_TENANT,
        }
    }

    /// The tenant's keyed hash for national identity numbers in searches.
    pub async fn search_hasher(&self) -> Result<crate::store::crypto::SearchHasher, ApiError> {
        Ok(self.state.store.search_hasher(&self.tenant().id).await?)
    }

    pub fn base(&self) -> &str {
        &self.state.config.base_url
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The values of `Prefer` by key, e.g. `return` or `handling`.
    pub fn prefer(&self, key: &str) -> Option<String> {
        self.headers.get_all("prefer").iter().find_map(|v| {
            v.to_str().ok()?.split([',', ';']).find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        })
    }

    pub fn strict_handling(&self) -> bool {
        self.prefer("handling").as_deref() == Some("strict")
    }

    /// Reads the body, refusing more than the configured limit with `413`.
    pub async fn body(&self, body: Body) -> Result<Bytes, ApiError> {
        let limit = self.state.config.max_body_bytes;
        let declared = self
            .header(header::CONTENT_LENGTH)
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(limit))
    }
}

static NO_TENANT: std::sync::LazyLock<Tenant> = std::sync::LazyLock::new(|| Tenant {
    id: String::new(),
    org_number: String::new(),
    name: String::new(),
    municipality_number: None,
    is_test: false,
    write_validation: crate::tenant::ValidationLevel::Core,
});

pub fn served_type(name: &str) -> Result<ServedType, ApiError> {
    ServedType::from_name(name).ok_or_else(|| ApiError::UnknownType(name.to_string()))
}

/// FHIR ids: 1–64 of `A-Z a-z 0-9 - .`.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest {
            code: "value",
            message: format!("'{id}' is not a valid FHIR id (1–64 of A-Z, a-z, 0-9, '-', '.')"),
            expression: None,
        })
    }
}

pub fn router(state: AppState) -> Router {
    use interactions::*;
    Router::new()
        .route("/", post(transaction::handle))
        .route("/metadata", get(capabilities::handle))
        .route(
            "/.well-known/smart-configuration",
            get(crate::auth::discovery::smart_configuration),
        )
        .route("/", get(search::system))
        .route("/_history", get(history::system))
        .route("/$export", get(export::system).post(export::system_post))
        .route(
            "/$export-status/{job}",
            get(export::status).delete(export::cancel),
        )
        .route("/$export-file/{job}/{file}", get(export::file))
        .route(
            "/Patient/$export",
            get(export::patient).post(export::patient_post),
        )
        .route("/Group", get(group::search))
        .route("/Group/{id}", get(group::read))
        .route(
            "/Group/{id}/$export",
            get(export::group).post(export::group_post),
        )
        .route("/Patient/{id}/$everything", get(everything::handle))
        .route("/Patient/{id}/$erase", post(erase::handle))
        .route("/AuditEvent", get(audit_event::search))
        .route("/AuditEvent/{id}", get(audit_event::read))
        .route("/{type}", get(search::get).post(create::handle))
        .route("/{type}/_search", post(search::post).get(search::get))
        .route("/{type}/_history", get(history::type_level))
        .route("/{type}/$validate", post(validate::handle))
        .route(
            "/{type}/{id}",
            get(read::handle).put(update::handle).delete(delete::handle),
        )
        .route("/{type}/{id}/_history", get(history::instance))
        .route("/{type}/{id}/{compartment}", get(search::compartment))
        .route("/{type}/{id}/$validate", post(validate::instance))
        .route("/{type}/{id}/_history/{vid}", get(vread::handle))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::layer::log_request,
        ))
        .with_state(state)
}

async fn not_found(mut ctx: Ctx) -> Rendered {
    let r = ctx
        .negotiated()
        .and_then(|_| Err(ApiError::NotFound("this path".into())));
    ctx.render(r)
}

async fn method_not_allowed(ctx: Ctx, uri: axum::http::Uri) -> Rendered {
    let method = ctx.method.clone();
    ctx.render(Err(ApiError::MethodNotAllowed {
        message: format!("{method} is not allowed on this path"),
        allow: allowed_methods(uri.path()),
    }))
}

/// The methods the router serves on `path` (relative to the FHIR base), mirroring `router`.
fn allowed_methods(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        // The access log is append-only, and only the server appends.
        ["AuditEvent", ..] => "GET",
        // Care panels are computed from care relationships, never written.
        ["Group"] | ["Group", _] => "GET",
        ["$export"] | ["Patient", "$export"] | ["Group", _, "$export"] => "GET, POST",
        ["$export-status", _] => "GET, DELETE",
        ["metadata"] | ["_history"] | [_, "_history"] | [_, _, "_history", ..] => "GET",
        // The base takes batch and transaction Bundles.
        [""] => "POST",
        [_, "_search"] | [_] => "GET, POST",
        [_, _] => "GET, PUT, DELETE",
        _ => "GET",
    }
}
