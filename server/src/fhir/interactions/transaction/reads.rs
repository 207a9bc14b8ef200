//! GET entries, run by the read, vread and search interactions themselves on a context of
//! the entry's own: the request's token, the entry's query and `ifNoneMatch`, and an
//! access-log note per entry.

use axum::http::{header, HeaderMap, HeaderValue, Method};

use super::entry::{Request, Target};
use crate::audit::AuditNote;
use crate::auth::scopes::Permission;
use crate::fhir::error::ApiError;
use crate::fhir::format::FhirResponse;
use crate::fhir::interactions::{read, search, vread};
use crate::fhir::Ctx;

impl Ctx {
    /// A context for one Bundle entry, with an access-log note of its own.
    fn for_entry(&self, headers: HeaderMap, query: Vec<(String, String)>) -> Ctx {
        Ctx {
            state: self.state.clone(),
            headers,
            method: Method::GET,
            query,
            format: self.format,
            format_error: None,
            access: self.access().cloned(),
            source: self.source.clone(),
            audit: Default::default(),
        }
    }

    /// What the handler noted, with who asked.
    fn taken_note(&self) -> AuditNote {
        let mut note = self.audit.lock().expect("audit note lock").clone();
        note.agent = self.agent();
        note
    }

    /// Marks what this request touched: the Bundle's own interaction.
    pub(super) fn note_interaction(&self, subtype: &'static str) {
        self.audit.lock().expect("audit note lock").subtype = Some(subtype);
    }
}

/// The permission a GET entry needs, checked before a transaction writes anything.
pub fn permission(req: &Request) -> Permission {
    match req.target {
        Target::Type | Target::Query(_) => Permission::Search,
        Target::Instance(_) | Target::Version(..) => Permission::Read,
    }
}

/// Runs a GET entry as `GET [base]/[url]` would run; the note is the entry's log row.
pub async fn run(ctx: &Ctx, req: &Request) -> (Result<FhirResponse, ApiError>, AuditNote) {
    let mut headers = HeaderMap::new();
    if let Some(etag) = req.if_none_match.as_deref() {
        if let Ok(v) = HeaderValue::from_str(etag) {
            headers.insert(header::IF_NONE_MATCH, v);
        }
    }
    let query = match &req.target {
        Target::Query(q) => form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        _ => Vec::new(),
    };
    let mut child = ctx.for_entry(headers, query);
    let rtype = req.served.name();
    let result = match &req.target {
        Target::Type | Target::Query(_) => search::search_type(&mut child, rtype).await,
        Target::Instance(id) => read::read(&mut child, rtype, id).await,
        Target::Version(id, vid) => vread::vread(&mut child, rtype, id, vid).await,
    };
    (result, child.taken_note())
}
