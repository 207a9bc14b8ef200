//! A canned FHIR server for the engine's own tests: a few fixed answers on an ephemeral
//! port, and a log of the requests it got.

use std::sync::{Arc, Mutex};

use axum::body::Body as AxumBody;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{json, Value};

pub const TOKEN: &str = "t0k";

#[derive(Clone)]
struct Shared {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

pub struct TestServer {
    pub base: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    /// The requests so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

pub async fn start() -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}/fhir");
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Shared {
        base: base.clone(),
        log: log.clone(),
    };
    let app = axum::Router::new().fallback(handle).with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer { base, log }
}

pub fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"versionId": "1", "lastUpdated": "2026-01-01T00:00:00Z"},
        "active": true,
        "name": [{"family": "Chalmers", "given": ["Peter", "James"]}, {"family": "Windsor"}],
        "birthDate": "1974-12-25"
    })
}

const PATIENT_XML: &str = r#"<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><active value="true"/><name><family value="Chalmers"/><given value="Peter"/><given value="James"/></name><name><family value="Windsor"/></name><birthDate value="1974-12-25"/></Patient>"#;

fn bundle(base: &str, kind: &str, next: bool) -> Value {
    let mut links = vec![json!({"relation": "self", "url": format!("{base}/Patient?name=x")})];
    if next {
        links.push(json!({"relation": "next", "url": format!("{base}/Patient?page=2")}));
    }
    json!({
        "resourceType": "Bundle",
        "type": kind,
        "total": 1,
        "link": links,
        "entry": [{"fullUrl": format!("{base}/Patient/p1"), "resource": patient()}]
    })
}

fn answer(
    status: u16,
    content_type: &str,
    body: String,
    extra: &[(&str, String)],
) -> Response<AxumBody> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type);
    for (k, v) in extra {
        builder = builder.header(*k, v.as_str());
    }
    builder
        .body(AxumBody::from(body))
        .unwrap_or_else(|_| Response::new(AxumBody::empty()))
}

fn json_answer(status: u16, body: &Value, extra: &[(&str, String)]) -> Response<AxumBody> {
    answer(
        status,
        "application/fhir+json; charset=utf-8",
        body.to_string(),
        extra,
    )
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response<AxumBody> {
    let path = uri.path().trim_start_matches("/fhir").to_string();
    let query = uri.query().unwrap_or("").to_string();
    if let Ok(mut log) = shared.log.lock() {
        log.push(format!(
            "{method} {}{}",
            path,
            if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            }
        ));
    }
    let base = shared.base.as_str();
    let outcome = |code: &str| json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code}]});
    if path == "/metadata" {
        return json_answer(
            200,
            &json!({"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1"}),
            &[],
        );
    }
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return json_answer(401, &outcome("login"), &[]);
    }
    let xml = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("xml"));
    let modified = ("last-modified", "Thu, 01 Jan 2026 00:00:00 GMT".to_string());
    let etag = ("etag", "W/\"1\"".to_string());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["Patient", "p1"]) | ("GET", ["Patient", "p1", "_history", "1"]) => {
            if xml {
                answer(
                    200,
                    "application/fhir+xml",
                    PATIENT_XML.into(),
                    &[modified, etag],
                )
            } else {
                json_answer(200, &patient(), &[modified, etag])
            }
        }
        ("GET", ["Patient", "p1", "_history"]) => {
            json_answer(200, &bundle(base, "history", false), &[])
        }
        ("GET", ["Patient"]) if query.contains("page=2") => {
            json_answer(200, &bundle(base, "searchset", false), &[])
        }
        ("GET", ["Patient"]) if query.contains("broken") => {
            let mut b = bundle(base, "searchset", false);
            b["link"] = json!([{"relation": "next", "url": "Patient?page=3"}]);
            json_answer(200, &b, &[])
        }
        ("GET", ["Patient"]) | ("POST", ["Patient", "_search"]) => {
            json_answer(200, &bundle(base, "searchset", true), &[])
        }
        ("POST", ["Patient", "$validate"]) => json_answer(
            200,
            &json!({"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}),
            &[],
        ),
        ("POST", ["Patient"]) => {
            let mut created: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if !created.is_object() {
                return json_answer(400, &outcome("invalid"), &[]);
            }
            created["id"] = json!("new1");
            created["meta"] = json!({"versionId": "1"});
            json_answer(
                201,
                &created,
                &[
                    ("location", format!("{base}/Patient/new1/_history/1")),
                    modified,
                ],
            )
        }
        ("PUT", ["Patient", id]) => {
            let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if parsed.get("id").and_then(Value::as_str) != Some(id) {
                return json_answer(400, &outcome("invalid"), &[]);
            }
            let status = if *id == "fresh" { 201 } else { 200 };
            json_answer(status, &parsed, &[modified])
        }
        ("PATCH", ["Patient", "p1"]) => json_answer(200, &patient(), &[]),
        ("DELETE", ["Patient", _]) => answer(204, "application/fhir+json", String::new(), &[]),
        ("DELETE", ["Patient"]) if !query.is_empty() => {
            answer(204, "application/fhir+json", String::new(), &[])
        }
        ("POST", [""]) => json_answer(
            200,
            &json!({"resourceType": "Bundle", "type": "batch-response", "entry": []}),
            &[],
        ),
        ("GET", ["Patient", _]) => json_answer(404, &outcome("not-found"), &[]),
        _ => json_answer(400, &outcome("not-supported"), &[]),
    }
}
