//! The engine against a canned server (`test_server`): every assert type and operator,
//! holding and failing, the operations, variables, fixtures and the script flow.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::test_server::{self, patient, TestServer, TOKEN};
use super::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let i = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("helsebro-ts-{}-{n}-{i}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn op(code: &str, extra: Value) -> Value {
    let mut operation = json!({"type": {"code": code}});
    if let (Some(o), Some(e)) = (operation.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    json!({ "operation": operation })
}

fn a(fields: Value) -> Value {
    json!({ "assert": fields })
}

/// A script with the standard fixtures: `p1` (the server's Patient/p1), `other` (a
/// patient with another birth date), `min`/`min-more` (for minimumId).
fn script(setup: Vec<Value>, tests: Vec<Vec<Value>>, teardown: Vec<Value>) -> Value {
    let mut other = patient();
    other["id"] = json!("other");
    other["birthDate"] = json!("1980-01-01");
    let mut s = json!({
        "resourceType": "TestScript",
        "id": "engine-test",
        "name": "engine test",
        "status": "draft",
        "contained": [
            patient(),
            other,
            {"resourceType": "Patient", "id": "min", "name": [{"given": ["James", "Peter"]}]},
            {"resourceType": "Patient", "id": "min-more", "gender": "male"},
            {"resourceType": "Patient", "id": "min-twice", "name": [{"family": "Chalmers"}, {"family": "Chalmers"}]},
        ],
        "fixture": [
            {"id": "p1", "autocreate": false, "autodelete": false, "resource": {"reference": "#p1"}},
            {"id": "other", "autocreate": false, "autodelete": false, "resource": {"reference": "#other"}},
            {"id": "min", "autocreate": false, "autodelete": false, "resource": {"reference": "#min"}},
            {"id": "min-more", "autocreate": false, "autodelete": false, "resource": {"reference": "#min-more"}},
            {"id": "min-twice", "autocreate": false, "autodelete": false, "resource": {"reference": "#min-twice"}}
        ],
        "profile": [
            {"id": "patient-profile", "reference": "http://hl7.org/fhir/StructureDefinition/Patient"},
            {"id": "bundle-profile", "reference": "http://hl7.org/fhir/StructureDefinition/Bundle"}
        ],
        "test": tests.into_iter().enumerate().map(|(i, actions)| json!({"name": format!("t{i}"), "action": actions})).collect::<Vec<_>>(),
    });
    if !setup.is_empty() {
        s["setup"] = json!({ "action": setup });
    }
    if !teardown.is_empty() {
        s["teardown"] = json!({ "action": teardown });
    }
    s
}

async fn run_in(
    dir: &TempDir,
    server: &TestServer,
    script: &Value,
    vars: &[(&str, &str)],
) -> ScriptResult {
    let path = dir.0.join("script.json");
    std::fs::write(&path, script.to_string()).expect("write script");
    let options = RunOptions {
        base: server.base.clone(),
        token: Some(TOKEN.into()),
        variables: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        report_dir: Some(dir.0.join("reports")),
    };
    let mut results = run_paths(&[path], &options).await.expect("the script runs");
    results.remove(0)
}

/// (result, message) of every assert of test `index` in the report.
fn asserts_of(result: &ScriptResult, index: usize) -> Vec<(String, String)> {
    result.report["test"][index]["action"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|action| {
            let a = action.get("assert")?;
            Some((
                a["result"].as_str().unwrap_or("").to_string(),
                a["message"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// Runs one test: `operation` then `asserts`; returns each assert's (result, message).
async fn check(operation: Value, asserts: Vec<Value>) -> Vec<(String, String)> {
    let server = test_server::start().await;
    let dir = TempDir::new();
    let mut actions = vec![operation];
    actions.extend(asserts);
    let result = run_in(&dir, &server, &script(vec![], vec![actions], vec![]), &[]).await;
    asserts_of(&result, 0)
}

fn results(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(r, _)| r.as_str()).collect()
}

fn read_p1() -> Value {
    op("read", json!({"resource": "Patient", "targetId": "p1"}))
}

#[tokio::test]
async fn response_and_response_code() {
    let found = check(
        read_p1(),
        vec![
            a(json!({"response": "okay"})),
            a(json!({"response": "notFound"})),
            a(json!({"responseCode": "200"})),
            a(json!({"responseCode": "201"})),
            a(json!({"responseCode": "200,204", "operator": "in"})),
            a(json!({"responseCode": "200,204", "operator": "notIn"})),
            a(json!({"responseCode": "500", "operator": "notEquals"})),
            a(json!({"responseCode": "199", "operator": "greaterThan"})),
            a(json!({"responseCode": "200", "operator": "lessThan"})),
            a(json!({"response": "teapot"})),
        ],
    )
    .await;
    assert_eq!(
        results(&found),
        ["pass", "fail", "pass", "fail", "pass", "fail", "pass", "pass", "fail", "error"],
        "{found:?}"
    );
    assert_eq!(found[3].1, "expected response code '201', got '200'");
    assert!(found[1].1.contains("'404'"), "{}", found[1].1);
    assert!(found[9].1.contains("teapot"));
}

#[tokio::test]
async fn header_fields_of_response_and_request() {
    let found = check(
        read_p1(),
        vec![
            a(json!({"headerField": "Last-Modified", "operator": "notEmpty"})),
            a(json!({"headerField": "X-Absent", "operator": "notEmpty"})),
            a(json!({"headerField": "etag", "value": "W/\"1\""})),
            a(json!({"headerField": "ETag", "value": "W/\"2\""})),
            a(json!({"headerField": "X-Absent", "operator": "empty"})),
            a(json!({"headerField": "ETag", "operator": "empty"})),
            a(json!({"direction": "request", "headerField": "Accept", "operator": "contains", "value": "json"})),
            a(json!({"direction": "request", "headerField": "Accept", "operator": "notContains", "value": "json"})),
            a(json!({"headerField": "ETag", "operator": "contains"})),
        ],
    )
    .await;
    assert_eq!(
        results(&found),
        ["pass", "fail", "pass", "fail", "pass", "fail", "pass", "fail", "error"],
        "{found:?}"
    );
    assert!(found[1].1.contains("X-Absent"), "{}", found[1].1);
}

#[tokio::test]
async fn content_type_resource_request_method_and_url() {
    let found = check(
        read_p1(),
        vec![
            a(json!({"contentType": "json"})),
            a(json!({"contentType": "xml"})),
            a(json!({"contentType": "application/fhir+json"})),
            a(json!({"contentType": "xml", "operator": "notContains"})),
            a(json!({"resource": "Patient"})),
            a(json!({"resource": "Bundle"})),
            a(json!({"resource": "Bundle", "operator": "notEquals"})),
            a(json!({"requestMethod": "get"})),
            a(json!({"requestMethod": "post"})),
            a(json!({"requestURL": "Patient/p1", "operator": "contains"})),
            a(json!({"requestURL": "http://elsewhere/Patient/p1"})),
        ],
    )
    .await;
    assert_eq!(
        results(&found),
        ["pass", "fail", "pass", "pass", "pass", "fail", "pass", "pass", "fail", "pass", "fail"],
        "{found:?}"
    );
    assert!(
        found[1].1.contains("application/fhir+xml"),
        "{}",
        found[1].1
    );
}

#[tokio::test]
async fn expressions_with_every_operator() {
    let e = |expression: &str, operator: Option<&str>, value: Option<&str>| {
        let mut f = json!({"expression": expression});
        if let Some(o) = operator {
            f["operator"] = json!(o);
        }
        if let Some(v) = value {
            f["value"] = json!(v);
        }
        a(f)
    };
    let family = "Patient.name.first().family";
    let found = check(
        read_p1(),
        vec![
            e("Patient.name.first().family = 'Chalmers'", None, None),
            e("Patient.active = false", None, None),
            e(family, None, Some("Chalmers")),
            e(family, Some("equals"), Some("Smith")),
            e(family, Some("notEquals"), Some("Smith")),
            e(family, Some("notEquals"), Some("Chalmers")),
            e("Patient.name.family", Some("in"), Some("Chalmers,Windsor")),
            e("Patient.name.family", Some("in"), Some("Chalmers")),
            e("Patient.name.family", Some("notIn"), Some("Smith,Jones")),
            e("Patient.name.family", Some("notIn"), Some("Windsor")),
            e("Patient.birthDate", Some("greaterThan"), Some("1970-01-01")),
            e("Patient.birthDate", Some("lessThan"), Some("1970-01-01")),
            e("Patient.name.count()", Some("lessThan"), Some("10")),
            e("Patient.name.count()", Some("greaterThan"), Some("10")),
            e("Patient.deceased", Some("empty"), None),
            e("Patient.name", Some("empty"), None),
            e("Patient.name", Some("notEmpty"), None),
            e("Patient.deceased", Some("notEmpty"), None),
            e(family, Some("contains"), Some("halm")),
            e(family, Some("contains"), Some("xyz")),
            e(family, Some("notContains"), Some("xyz")),
            e(family, Some("notContains"), Some("halm")),
            e("Patient.active", Some("eval"), None),
            e("Patient.active.not()", Some("eval"), None),
            e("Patient.name.(", None, None),
            e(family, Some("equals"), None),
        ],
    )
    .await;
    let mut expected = Vec::new();
    for _ in 0..12 {
        expected.extend(["pass", "fail"]);
    }
    expected.extend(["error", "error"]);
    assert_eq!(results(&found), expected, "{found:?}");
    assert!(
        found[3].1.contains("'Smith'") && found[3].1.contains("'Chalmers'"),
        "{}",
        found[3].1
    );
}

#[tokio::test]
async fn paths_on_json_and_xml() {
    let p = |path: &str, value: &str| a(json!({"path": path, "value": value}));
    let json_found = check(
        read_p1(),
        vec![
            p(".name[0].family", "Chalmers"),
            p("$.name[1].family", "Chalmers"),
            p("fhir:Patient/fhir:name/fhir:given/@value", "Peter"),
            p("fhir:Patient/fhir:name[2]/fhir:family/@value", "Chalmers"),
            p("Patient.birthDate", "1974-12-25"),
            p("fhir:Bundle/fhir:type/@value", "searchset"),
            a(json!({"path": "fhir:Patient/fhir:telecom/@value", "operator": "empty"})),
            p("//family", "x"),
        ],
    )
    .await;
    assert_eq!(
        results(&json_found),
        ["pass", "fail", "pass", "fail", "pass", "fail", "pass", "error"],
        "{json_found:?}"
    );
    let xml_found = check(
        op(
            "read",
            json!({"resource": "Patient", "params": "/p1", "accept": "xml"}),
        ),
        vec![
            a(json!({"contentType": "xml"})),
            p("fhir:Patient/fhir:name[2]/fhir:family/@value", "Windsor"),
            p("fhir:Patient/fhir:name/fhir:family/@value", "Windsor"),
            // XML is also read as JSON, so FHIRPath works on it too.
            a(json!({"expression": "Patient.name.given.count() = 2"})),
            a(json!({"resource": "Patient"})),
        ],
    )
    .await;
    assert_eq!(
        results(&xml_found),
        ["pass", "pass", "fail", "pass", "pass"],
        "{xml_found:?}"
    );
}

#[tokio::test]
async fn compare_to_source() {
    let found = check(
        read_p1(),
        vec![
            a(json!({"compareToSourceId": "p1", "compareToSourceExpression": "Patient.name.first().family"})),
            a(json!({"compareToSourceId": "other", "compareToSourceExpression": "Patient.birthDate"})),
            a(json!({"compareToSourceId": "other", "compareToSourceExpression": "Patient.birthDate", "expression": "Patient.birthDate", "operator": "greaterThan"})),
            a(json!({"compareToSourceId": "other", "compareToSourcePath": "fhir:Patient/fhir:name/fhir:family/@value", "path": "fhir:Patient/fhir:name/fhir:family/@value"})),
            a(json!({"compareToSourceId": "other", "compareToSourcePath": ".birthDate", "path": ".birthDate"})),
            a(json!({"compareToSourceId": "other", "compareToSourcePath": ".birthDate", "operator": "notEquals"})),
            a(json!({"compareToSourceId": "nothing", "compareToSourcePath": ".birthDate"})),
        ],
    )
    .await;
    assert_eq!(
        results(&found),
        ["pass", "fail", "fail", "pass", "fail", "pass", "error"],
        "{found:?}"
    );
}

#[tokio::test]
async fn minimum_id_validate_profile_and_warning_only() {
    let server = test_server::start().await;
    let dir = TempDir::new();
    let actions = vec![
        read_p1(),
        a(json!({"minimumId": "min"})),
        a(json!({"minimumId": "min-more"})),
        a(json!({"minimumId": "min-twice"})),
        a(json!({"minimumId": "min-more", "warningOnly": true})),
        a(json!({"validateProfileId": "patient-profile"})),
        a(json!({"validateProfileId": "bundle-profile"})),
        a(json!({"validateProfileId": "no-such-profile"})),
    ];
    let result = run_in(&dir, &server, &script(vec![], vec![actions], vec![]), &[]).await;
    let found = asserts_of(&result, 0);
    assert_eq!(
        results(&found),
        ["pass", "fail", "fail", "warning", "pass", "fail", "error"],
        "{found:?}"
    );
    assert!(found[1].1.contains("Patient.gender"), "{}", found[1].1);
    assert!(found[5].1.contains("not a Bundle"), "{}", found[5].1);
    // The warning is reported but does not count as a failure.
    assert_eq!((result.passed, result.failed), (2, 4));
    assert_eq!(result.warnings.len(), 1, "{:?}", result.warnings);
    assert_eq!(result.report["result"], "fail");
}

#[tokio::test]
async fn navigation_links() {
    let found = check(
        op(
            "search",
            json!({"resource": "Patient", "params": "?name=x"}),
        ),
        vec![a(json!({"navigationLinks": true}))],
    )
    .await;
    assert_eq!(results(&found), ["pass"], "{found:?}");
    assert!(found[0].1.contains("self, next"), "{}", found[0].1);
    let found = check(
        op(
            "search",
            json!({"resource": "Patient", "params": "?broken=1"}),
        ),
        vec![a(json!({"navigationLinks": true}))],
    )
    .await;
    assert_eq!(results(&found), ["fail"], "{found:?}");
    assert!(
        found[0].1.contains("no self link") && found[0].1.contains("not an absolute URL"),
        "{}",
        found[0].1
    );
    let found = check(read_p1(), vec![a(json!({"navigationLinks": true}))]).await;
    assert_eq!(results(&found), ["fail"], "{found:?}");
}

#[tokio::test]
async fn source_id_reads_an_earlier_response_and_request() {
    let found = check(
        op("read", json!({"resource": "Patient", "params": "/p1", "responseId": "first", "requestId": "first-request"})),
        vec![
            op("read", json!({"resource": "Patient", "params": "/gone"})),
            a(json!({"response": "notFound"})),
            a(json!({"response": "okay", "sourceId": "first"})),
            a(json!({"resource": "Patient", "sourceId": "first"})),
            a(json!({"expression": "Patient.id = 'p1'", "sourceId": "first"})),
            a(json!({"requestURL": "/Patient/p1", "operator": "contains", "sourceId": "first-request"})),
            a(json!({"response": "okay", "sourceId": "never"})),
        ],
    )
    .await;
    assert_eq!(
        results(&found),
        ["pass", "pass", "pass", "pass", "pass", "error"],
        "{found:?}"
    );
}

#[tokio::test]
async fn operations_variables_fixture_files_and_autocreate() {
    let server = test_server::start().await;
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.0.join("fixtures")).expect("dir");
    std::fs::write(
        dir.0.join("fixtures/new-patient.json"),
        json!({"resourceType": "Patient", "name": [{"family": "${family}"}]}).to_string(),
    )
    .expect("fixture");
    let mut s = script(
        vec![
            op("capabilities", json!({})),
            a(json!({"resource": "CapabilityStatement"})),
        ],
        vec![
            vec![
                op(
                    "create",
                    json!({"resource": "Patient", "sourceId": "new", "responseId": "created"}),
                ),
                a(json!({"response": "created"})),
                a(
                    json!({"expression": "Patient.name.family", "value": "Doe", "sourceId": "created"}),
                ),
                op("read", json!({"url": "${createdLocation}"})),
                a(json!({"requestURL": "${createdId}", "operator": "contains"})),
                op(
                    "read",
                    json!({"resource": "Patient", "params": "/${knownId}"}),
                ),
                a(json!({"response": "okay"})),
            ],
            vec![
                // The fixture p1 put as Patient/fresh goes with the id `fresh`.
                op(
                    "update",
                    json!({"resource": "Patient", "params": "/fresh", "sourceId": "p1"}),
                ),
                a(json!({"responseCode": "201"})),
                op("updateCreate", json!({"sourceId": "fresh"})),
                a(json!({"response": "created"})),
                op(
                    "search",
                    json!({"resource": "Patient", "params": "?name=${family}"}),
                ),
                a(json!({"expression": "Bundle.total.toInteger() >= entry.count()"})),
                op(
                    "search",
                    json!({"resource": "Patient", "method": "post", "params": "?name=x"}),
                ),
                a(json!({"response": "okay"})),
                a(
                    json!({"direction": "request", "headerField": "Content-Type", "value": "application/x-www-form-urlencoded"}),
                ),
                op("history", json!({"targetId": "p1"})),
                a(json!({"path": "fhir:Bundle/fhir:type/@value", "value": "history"})),
                op("vread", json!({"targetId": "p1"})),
                a(json!({"response": "okay"})),
                op("validate", json!({"resource": "Patient", "sourceId": "p1"})),
                a(json!({"resource": "OperationOutcome"})),
                op("patch", json!({"targetId": "p1", "sourceId": "patch"})),
                a(json!({"response": "okay"})),
                a(
                    json!({"direction": "request", "headerField": "Content-Type", "value": "application/json-patch+json"}),
                ),
                op("batch", json!({"sourceId": "batch"})),
                a(json!({"expression": "Bundle.type = 'batch-response'"})),
                op(
                    "deleteCondSingle",
                    json!({"resource": "Patient", "params": "?name=x"}),
                ),
                a(json!({"response": "noContent"})),
                op(
                    "read",
                    json!({"resource": "Patient", "params": "/p1", "requestHeader": [{"field": "X-Family", "value": "${family}"}], "accept": "xml"}),
                ),
                a(json!({"direction": "request", "headerField": "X-Family", "value": "Doe"})),
                a(
                    json!({"direction": "request", "headerField": "Accept", "value": "application/fhir+xml"}),
                ),
            ],
        ],
        vec![op("delete", json!({"targetId": "p1"}))],
    );
    let contained = s["contained"].as_array_mut().expect("contained");
    contained.push(json!({"resourceType": "Patient", "id": "fresh"}));
    contained.push(json!({"resourceType": "Bundle", "id": "batch", "type": "batch"}));
    contained.push(json!({"resourceType": "Patient", "id": "auto", "active": true}));
    let fixtures = s["fixture"].as_array_mut().expect("fixtures");
    fixtures.push(json!({"id": "new", "autocreate": false, "autodelete": false, "resource": {"reference": "fixtures/new-patient.json"}}));
    fixtures.push(json!({"id": "fresh", "autocreate": false, "autodelete": false, "resource": {"reference": "#fresh"}}));
    fixtures.push(json!({"id": "batch", "autocreate": false, "autodelete": false, "resource": {"reference": "#batch"}}));
    fixtures.push(json!({"id": "auto", "autocreate": true, "autodelete": true, "resource": {"reference": "#auto"}}));
    // A JSON Patch document (an array) from a file is sent as application/json-patch+json.
    std::fs::write(
        dir.0.join("fixtures/patch.json"),
        json!([{"op": "replace", "path": "/active", "value": false}]).to_string(),
    )
    .expect("patch fixture");
    s["fixture"].as_array_mut().expect("fixtures").push(json!({"id": "patch", "autocreate": false, "autodelete": false, "resource": {"reference": "fixtures/patch.json"}}));
    s["variable"] = json!([
        {"name": "family", "defaultValue": "Nobody"},
        {"name": "createdLocation", "headerField": "Location", "sourceId": "created"},
        {"name": "createdId", "expression": "Patient.id", "sourceId": "created"},
        {"name": "knownId", "path": "Patient/id", "sourceId": "p1"}
    ]);
    let result = run_in(&dir, &server, &s, &[("family", "Doe")]).await;
    assert!(result.ok(), "{:#?}", result.failures);
    assert_eq!(result.report["result"], "pass");
    let report = dir.0.join("reports/engine-test.TestReport.json");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("report written"))
            .expect("json");
    assert_eq!(written["resourceType"], "TestReport");
    assert_eq!(written["status"], "completed");
    let requests = server.requests();
    for expected in [
        "GET /metadata",
        "POST /Patient",
        "GET /Patient/new1/_history/1",
        "PUT /Patient/fresh",
        "GET /Patient?name=Doe",
        "POST /Patient/_search",
        "GET /Patient/p1/_history",
        "GET /Patient/p1/_history/1",
        "POST /Patient/$validate",
        "PATCH /Patient/p1",
        "POST ",
        "DELETE /Patient?name=x",
        "DELETE /Patient/p1",
        "DELETE /Patient/new1",
    ] {
        assert!(
            requests.iter().any(|r| r == expected),
            "no {expected} in {requests:#?}"
        );
    }
    // autocreate runs before the setup, autodelete after the teardown.
    assert_eq!(requests[0], "POST /Patient");
    assert_eq!(
        requests.last().map(String::as_str),
        Some("DELETE /Patient/new1")
    );
}

#[tokio::test]
async fn a_failed_setup_skips_the_tests_and_teardown_still_runs() {
    let server = test_server::start().await;
    let dir = TempDir::new();
    let s = script(
        vec![
            op("read", json!({"resource": "Patient", "params": "/gone"})),
            a(json!({"response": "okay"})),
        ],
        vec![vec![read_p1(), a(json!({"response": "okay"}))]],
        vec![op("delete", json!({"targetId": "p1"}))],
    );
    let result = run_in(&dir, &server, &s, &[]).await;
    assert_eq!(result.failed, 1);
    assert_eq!(
        result.failures,
        ["setup action 2: expected response code (okay) '200', got '404'"]
    );
    assert_eq!(results(&asserts_of(&result, 0)), ["skip"]);
    assert!(server
        .requests()
        .contains(&"DELETE /Patient/p1".to_string()));
    assert!(!server.requests().contains(&"GET /Patient/p1".to_string()));
}

#[tokio::test]
async fn a_variable_without_value_is_an_error_naming_it() {
    let server = test_server::start().await;
    let dir = TempDir::new();
    let mut s = script(
        vec![],
        vec![vec![
            op(
                "search",
                json!({"resource": "Patient", "params": "?family=${FamilyName}"}),
            ),
            a(json!({"response": "okay"})),
        ]],
        vec![],
    );
    s["variable"] = json!([{"name": "FamilyName", "hint": "[Family name]"}]);
    let result = run_in(&dir, &server, &s, &[]).await;
    assert_eq!(result.failed, 2, "{:?}", result.failures);
    assert!(
        result.failures[0].contains("--var FamilyName=VALUE"),
        "{:?}",
        result.failures
    );
    assert!(
        result.failures[1].contains("no response"),
        "{:?}",
        result.failures
    );
    // With the value given, the same script passes.
    let result = run_in(&dir, &server, &s, &[("FamilyName", "Chalmers")]).await;
    assert!(result.ok(), "{:?}", result.failures);
    assert!(server
        .requests()
        .contains(&"GET /Patient?family=Chalmers".to_string()));
}

#[tokio::test]
async fn the_token_is_sent() {
    let server = test_server::start().await;
    let dir = TempDir::new();
    let s = script(
        vec![],
        vec![vec![read_p1(), a(json!({"response": "okay"}))]],
        vec![],
    );
    let path = dir.0.join("script.json");
    std::fs::write(&path, s.to_string()).expect("write");
    let without = RunOptions {
        base: server.base.clone(),
        ..Default::default()
    };
    let results = run_paths(&[path], &without).await.expect("runs");
    assert_eq!(
        results[0].failures,
        ["test 't0' action 2: expected response code (okay) '200', got '401'"]
    );
}

#[tokio::test]
async fn malformed_scripts_are_errors_and_folders_skip_other_json() {
    let dir = TempDir::new();
    let write = |name: &str, v: Value| {
        let p = dir.0.join(name);
        std::fs::write(&p, v.to_string()).expect("write");
        p
    };
    let options = RunOptions {
        base: "http://127.0.0.1:9/fhir".into(),
        ..Default::default()
    };
    let both = write(
        "both.json",
        json!({"resourceType": "TestScript", "test": [{"action": [{"operation": {"type": {"code": "read"}}, "assert": {"response": "okay"}}]}]}),
    );
    let err = run_paths(&[both], &options)
        .await
        .expect_err("both in one action");
    assert!(matches!(err, EngineError::InvalidScript { .. }), "{err}");
    let wrong_type = write(
        "wrong.json",
        json!({"resourceType": "TestScript", "test": {"action": 3}}),
    );
    let err = run_paths(&[wrong_type], &options)
        .await
        .expect_err("wrong types");
    assert!(matches!(err, EngineError::InvalidScript { .. }), "{err}");
    let fixture = write("fixture.json", json!({"resourceType": "Patient"}));
    let err = run_paths(&[fixture], &options)
        .await
        .expect_err("not a script");
    assert!(matches!(err, EngineError::NotTestScript { .. }), "{err}");
    let sub = dir.0.join("folder");
    std::fs::create_dir_all(&sub).expect("dir");
    std::fs::write(
        sub.join("Patient-x.json"),
        json!({"resourceType": "Patient"}).to_string(),
    )
    .expect("write");
    let err = run_paths(std::slice::from_ref(&sub), &options)
        .await
        .expect_err("no scripts");
    assert!(matches!(err, EngineError::NoScripts(_)), "{err}");
    std::fs::write(sub.join("broken.json"), "{").expect("write");
    let err = run_paths(&[sub], &options).await.expect_err("not JSON");
    assert!(matches!(err, EngineError::Json { .. }), "{err}");
    // A server that is not there: every operation is an error, not a crash.
    let script = write(
        "offline.json",
        json!({"resourceType": "TestScript", "id": "offline", "test": [{"action": [{"operation": {"type": {"code": "read"}, "resource": "Patient", "params": "/1"}}, {"assert": {"response": "okay"}}]}]}),
    );
    let results = run_paths(&[script], &options).await.expect("runs");
    assert_eq!(results[0].failed, 2, "{:?}", results[0].failures);
}

#[test]
fn operators_hold_and_fail() {
    use super::operators::{holds, Operator};
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases: &[(Operator, &[&str], &[&str], bool)] = &[
        (Operator::Equals, &["a"], &["a"], true),
        (Operator::Equals, &["a"], &["b"], false),
        (Operator::NotEquals, &["a"], &["b"], true),
        (Operator::NotEquals, &["a"], &["a"], false),
        (Operator::In, &["204"], &["200,204"], true),
        (Operator::In, &["404"], &["200,204"], false),
        (Operator::In, &[], &["200"], false),
        (Operator::NotIn, &["404"], &["200,204"], true),
        (Operator::NotIn, &["200"], &["200,204"], false),
        (Operator::GreaterThan, &["10"], &["9"], true),
        (Operator::GreaterThan, &["9"], &["10"], false),
        (
            Operator::GreaterThan,
            &["2026-01-02"],
            &["2026-01-01"],
            true,
        ),
        (Operator::LessThan, &["9"], &["10"], true),
        (Operator::LessThan, &["10"], &["9"], false),
        (Operator::LessThan, &[], &["9"], false),
        (Operator::Empty, &[], &[], true),
        (Operator::Empty, &["x"], &[], false),
        (Operator::NotEmpty, &["x"], &[], true),
        (Operator::NotEmpty, &[""], &[], false),
        (
            Operator::Contains,
            &["application/fhir+xml"],
            &["xml"],
            true,
        ),
        (
            Operator::Contains,
            &["application/fhir+json"],
            &["xml"],
            false,
        ),
        (
            Operator::NotContains,
            &["application/fhir+json"],
            &["xml"],
            true,
        ),
        (
            Operator::NotContains,
            &["application/fhir+xml"],
            &["xml"],
            false,
        ),
    ];
    for (op, actual, expected, result) in cases {
        assert_eq!(
            holds(*op, &v(actual), &v(expected)),
            Ok(*result),
            "{op:?} {actual:?} {expected:?}"
        );
    }
    assert!(holds(Operator::Eval, &v(&["true"]), &[]).is_err());
    assert!(holds(Operator::GreaterThan, &v(&["1", "2"]), &v(&["0"])).is_err());
    assert!(Operator::parse(Some("bigger")).is_err());
    assert_eq!(Operator::parse(None), Ok(Operator::Equals));
}

#[test]
fn minimum_id_ignores_order_id_and_meta_and_counts_duplicates() {
    use super::minimum_id::missing;
    let actual = json!({"resourceType": "Patient", "id": "a", "meta": {"versionId": "3"},
        "name": [{"family": "B", "given": ["y", "x"]}, {"family": "A"}], "active": true});
    let min = json!({"resourceType": "Patient", "id": "other", "meta": {"versionId": "1"},
        "active": true, "name": [{"family": "A"}, {"given": ["x", "y"], "family": "B"}]});
    assert!(
        missing(&min, &actual).is_empty(),
        "{:?}",
        missing(&min, &actual)
    );
    let twice = json!({"resourceType": "Patient", "name": [{"family": "A"}, {"family": "A"}]});
    assert_eq!(missing(&twice, &actual).len(), 1);
    let other_value = json!({"resourceType": "Patient", "active": false});
    assert_eq!(
        missing(&other_value, &actual),
        ["Patient.active (false ≠ true)"]
    );
    // A general item must not take the only item a specific one fits.
    let general_first = json!({"resourceType": "Patient", "name": [{}, {"given": ["x"]}]});
    let one_fits = json!({"resourceType": "Patient", "name": [{"given": ["x"]}, {"family": "A"}]});
    assert!(missing(&general_first, &one_fits).is_empty());
}
