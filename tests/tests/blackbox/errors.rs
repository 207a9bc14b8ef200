//! Failures: each is an OperationOutcome with the right status (and `expression` where it
//! applies), bad input never gets a 500, and a rejected write writes nothing.

use helsebro_blackbox::reqwest::{Method, RequestBuilder, Response};
use helsebro_blackbox::{json_with_status, on_both_backends, Options, TestServer};
use serde_json::{json, Value};

use crate::rest::{create_patient, header, history_total, patient, with, FNR_SYSTEM};

const DNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
const FHIR_JSON: &str = "application/fhir+json";
const FHIR_XML: &str = "application/fhir+xml";
/// A fødselsnummer with valid check digits (born 1969-11-13).
const VALID_FNR: &str = "13116900216";
/// A synthetic test number: month + 80.
const SYNTHETIC_FNR: &str = "02850097219";

// --- helpers ---------------------------------------------------------------------------

/// Asserts `body` is an OperationOutcome whose first issue is an error with a code and
/// diagnostics.
pub(crate) fn assert_error_outcome(body: &Value) {
    assert_eq!(
        body["resourceType"], "OperationOutcome",
        "not an OperationOutcome: {body}"
    );
    let issue = &body["issue"][0];
    assert_eq!(issue["severity"], "error", "{body}");
    assert!(
        issue["code"].as_str().is_some_and(|c| !c.is_empty()),
        "the issue has no code: {body}"
    );
    assert!(
        issue["diagnostics"].as_str().is_some_and(|d| !d.is_empty()),
        "the issue has no diagnostics: {body}"
    );
}

/// The JSON OperationOutcome of a failed request, after checking its status.
pub(crate) async fn outcome_with_status(r: Response, status: u16) -> Value {
    let content_type = header(&r, "content-type");
    let body = json_with_status(r, status).await;
    assert!(
        content_type.starts_with(FHIR_JSON),
        "Content-Type {content_type}"
    );
    assert_error_outcome(&body);
    body
}

fn issues(outcome: &Value) -> Vec<Value> {
    outcome["issue"].as_array().cloned().unwrap_or_default()
}

fn expressions(outcome: &Value) -> Vec<String> {
    issues(outcome)
        .iter()
        .flat_map(|i| i["expression"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

fn assert_expression(outcome: &Value, expression: &str) {
    assert!(
        expressions(outcome).iter().any(|e| e == expression),
        "no issue with expression {expression}: {outcome}"
    );
}

fn diagnostics(outcome: &Value) -> String {
    issues(outcome)
        .iter()
        .filter_map(|i| i["diagnostics"].as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Sends a write that must fail with `status`, and checks that nothing was written.
async fn rejected_request(s: &TestServer, request: RequestBuilder, status: u16) -> Value {
    let before = history_total(s, "Patient/_history").await;
    let r = request.send().await.expect("request");
    let what = format!("{} {}", r.status(), r.url());
    let outcome = outcome_with_status(r, status).await;
    let after = history_total(s, "Patient/_history").await;
    assert_eq!(after, before, "the rejected write ({what}) wrote a version");
    outcome
}

async fn rejected(
    s: &TestServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: String,
    status: u16,
) -> Value {
    let request = s
        .request(method, path)
        .header("Content-Type", content_type)
        .body(body);
    rejected_request(s, request, status).await
}

async fn rejected_create(s: &TestServer, body: &str, status: u16) -> Value {
    rejected(
        s,
        Method::POST,
        "Patient",
        FHIR_JSON,
        body.to_string(),
        status,
    )
    .await
}

/// A Patient with one identifier.
fn identified(system: &str, value: &str) -> Value {
    with(
        patient(),
        "identifier",
        json!([{"system": system, "value": value}]),
    )
}

/// A no-basis `_district` carrying the municipality number `code`.
pub(crate) fn municipality_district(code: &str) -> Value {
    json!({"extension": [{
        "url": "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode",
        "valueCoding": {
            "system": "https://register.geonorge.no/subregister/sosi-kodelister/kartverket/kommunenummer-alle",
            "code": code
        }
    }]})
}

fn with_municipality(code: &str) -> Value {
    let address =
        json!({"use": "home", "district": "Bergen", "_district": municipality_district(code)});
    with(patient(), "address", json!([address]))
}

fn production_tenant() -> Options {
    Options {
        test_tenant: false,
        ..Options::default()
    }
}

fn small_body_limit() -> Options {
    Options {
        max_body_bytes: Some(1000),
        ..Options::default()
    }
}

/// Like `on_both_backends!`, with the servers started with `$options()`.
macro_rules! with_options {
    ($name:ident, $options:ident) => {
        mod $name {
            use helsebro_blackbox::{start_with, Backend};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(start_with(Backend::Sqlite, super::$options()).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(start_with(Backend::Postgres, super::$options()).await).await
            }
        }
    };
}

// --- bodies that are not a resource --------------------------------------------------------

async fn malformed_json_is_400(s: TestServer) {
    let outcome = rejected_create(&s, r#"{"resourceType": "Patient", "active": tru"#, 400).await;
    assert_eq!(outcome["issue"][0]["code"], "structure");
}

async fn malformed_xml_is_400(s: TestServer) {
    for xml in [
        "not xml at all",
        r#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patent>"#,
        r#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient><x/>"#,
        r#"<Patient xmlns="http://hl7.org/fhir"><active value="true/></Patient>"#,
    ] {
        rejected(&s, Method::POST, "Patient", FHIR_XML, xml.into(), 400).await;
    }
}

async fn truncated_xml_is_400(s: TestServer) {
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><active value="true">"#;
    rejected(&s, Method::POST, "Patient", FHIR_XML, xml.into(), 400).await;
}

async fn xml_that_is_not_fhir_is_400(s: TestServer) {
    for xml in [
        r#"<Patient><active value="true"/></Patient>"#,
        r#"<Patient xmlns="http://example.org"><active value="true"/></Patient>"#,
        r#"{"resourceType": "Patient"}"#,
    ] {
        rejected(&s, Method::POST, "Patient", FHIR_XML, xml.into(), 400).await;
    }
}

async fn xml_structure_errors_name_the_element(s: TestServer) {
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><birthDate value="1970-13-01"/></Patient>"#;
    let outcome = rejected(&s, Method::POST, "Patient", FHIR_XML, xml.into(), 400).await;
    assert_expression(&outcome, "Patient.birthDate");
    // A value fhirbolt's typed XML reader cannot parse at all (a boolean "yes") is refused
    // before the structure check runs, so its outcome has no element path yet.
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>"#;
    let outcome = rejected(&s, Method::POST, "Patient", FHIR_XML, xml.into(), 400).await;
    assert!(!diagnostics(&outcome).is_empty(), "{outcome}");
}

async fn xml_with_an_unknown_element_is_400(s: TestServer) {
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><foo value="1"/></Patient>"#;
    let outcome = rejected(&s, Method::POST, "Patient", FHIR_XML, xml.into(), 400).await;
    assert!(diagnostics(&outcome).contains("foo"), "{outcome}");
}

async fn json_that_is_not_an_object_is_400(s: TestServer) {
    for body in [
        r#"[{"resourceType": "Patient"}]"#,
        "[]",
        r#""Patient""#,
        "42",
        "null",
    ] {
        rejected_create(&s, body, 400).await;
    }
}

async fn an_empty_body_is_400(s: TestServer) {
    rejected_create(&s, "", 400).await;
    rejected_create(&s, "{}", 400).await;
}

// --- structure: 400 naming the element ----------------------------------------------------

async fn an_unknown_element_is_400_naming_it(s: TestServer) {
    let outcome = rejected_create(&s, r#"{"resourceType": "Patient", "foo": 1}"#, 400).await;
    assert_expression(&outcome, "Patient.foo");
}

async fn a_wrongly_typed_value_is_400_naming_it(s: TestServer) {
    let body = with(patient(), "active", json!("yes")).to_string();
    let outcome = rejected_create(&s, &body, 400).await;
    assert_expression(&outcome, "Patient.active");
}

async fn an_impossible_date_is_400_naming_it(s: TestServer) {
    let body = with(patient(), "birthDate", json!("1970-13-01")).to_string();
    let outcome = rejected_create(&s, &body, 400).await;
    assert_expression(&outcome, "Patient.birthDate");
}

// --- Norwegian rules: 422 ------------------------------------------------------------------

async fn an_fnr_with_a_wrong_check_digit_is_422(s: TestServer) {
    let body = identified(FNR_SYSTEM, "13057444850").to_string();
    let outcome = rejected_create(&s, &body, 422).await;
    assert_expression(&outcome, "Patient.identifier[0].value");
    assert!(diagnostics(&outcome).contains("fødselsnummer"), "{outcome}");
}

async fn a_valid_fnr_is_accepted(s: TestServer) {
    let created = s.create(&identified(FNR_SYSTEM, VALID_FNR)).await;
    assert_eq!(created["identifier"][0]["value"], VALID_FNR);
}

async fn a_synthetic_fnr_is_accepted_on_a_test_tenant(s: TestServer) {
    let created = s.create(&identified(FNR_SYSTEM, SYNTHETIC_FNR)).await;
    assert_eq!(created["identifier"][0]["value"], SYNTHETIC_FNR);
}

async fn a_synthetic_fnr_is_422_on_a_production_tenant(s: TestServer) {
    let body = identified(FNR_SYSTEM, SYNTHETIC_FNR).to_string();
    let outcome = rejected_create(&s, &body, 422).await;
    assert_expression(&outcome, "Patient.identifier[0].value");
    // A real number is still fine there.
    s.create(&identified(FNR_SYSTEM, VALID_FNR)).await;
}

async fn a_dnr_system_with_an_fnr_value_is_422(s: TestServer) {
    let body = identified(DNR_SYSTEM, VALID_FNR).to_string();
    let outcome = rejected_create(&s, &body, 422).await;
    assert_expression(&outcome, "Patient.identifier[0].value");
    assert!(diagnostics(&outcome).contains("D-nummer"), "{outcome}");
}

async fn an_unknown_gender_code_is_422(s: TestServer) {
    let body = with(patient(), "gender", json!("f")).to_string();
    let outcome = rejected_create(&s, &body, 422).await;
    assert_expression(&outcome, "Patient.gender");
}

async fn a_municipality_code_not_of_four_digits_is_422(s: TestServer) {
    for code in ["460", "46011", "46a1"] {
        let outcome = rejected_create(&s, &with_municipality(code).to_string(), 422).await;
        assert!(
            expressions(&outcome)
                .iter()
                .any(|e| e.starts_with("Patient.address[0]")),
            "{code}: {outcome}"
        );
    }
    s.create(&with_municipality("4601")).await;
}

async fn an_invalid_update_is_rejected_and_keeps_the_current_version(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    let body = with(with(patient(), "id", json!(id)), "gender", json!("f"));
    rejected(&s, Method::PUT, &path, FHIR_JSON, body.to_string(), 422).await;
    let read = json_with_status(s.get(&path).await, 200).await;
    assert_eq!(read["meta"]["versionId"], "1");
    assert_eq!(read["gender"], "female");
}

// --- bad headers and parameters -------------------------------------------------------------

async fn an_if_match_that_is_no_etag_is_400(s: TestServer) {
    let id = create_patient(&s).await;
    let request = s
        .request(Method::PUT, &format!("Patient/{id}"))
        .header("Content-Type", FHIR_JSON)
        .header("If-Match", "version one")
        .body(with(patient(), "id", json!(id)).to_string());
    rejected_request(&s, request, 400).await;
}

async fn an_if_none_exist_with_an_unknown_parameter_is_400(s: TestServer) {
    create_patient(&s).await;
    let request = s
        .request(Method::POST, "Patient")
        .header("Content-Type", FHIR_JSON)
        .header("If-None-Exist", "no-such-param=1")
        .body(patient().to_string());
    let outcome = rejected_request(&s, request, 400).await;
    assert!(diagnostics(&outcome).contains("no-such-param"), "{outcome}");
}

async fn history_with_a_bad_count_or_since_is_400(s: TestServer) {
    let id = create_patient(&s).await;
    for query in [
        "_count=abc",
        "_count=-1",
        "_since=yesterday",
        "_since=2020-13-01",
    ] {
        for path in [
            format!("Patient/{id}/_history"),
            "Patient/_history".into(),
            "_history".into(),
        ] {
            let outcome = outcome_with_status(s.get(&format!("{path}?{query}")).await, 400).await;
            let name = query.split('=').next().unwrap();
            assert!(
                diagnostics(&outcome).contains(name),
                "{path}?{query}: {outcome}"
            );
        }
    }
}

async fn a_body_that_is_not_utf8_is_400(s: TestServer) {
    let mut body = br#"{"resourceType": "Patient", "name": [{"family": ""#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#""}]}"#);
    let request = s
        .request(Method::POST, "Patient")
        .header("Content-Type", FHIR_JSON)
        .body(body);
    rejected_request(&s, request, 400).await;
}

// --- requests that do not fit the interaction ----------------------------------------------

async fn an_unsupported_content_type_is_415(s: TestServer) {
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/fhir+json; fhirVersion=3.0",
    ] {
        let body = patient().to_string();
        let outcome = rejected(&s, Method::POST, "Patient", content_type, body, 415).await;
        assert_eq!(
            outcome["issue"][0]["code"], "not-supported",
            "{content_type}"
        );
    }
}

async fn put_with_a_different_body_id_is_400(s: TestServer) {
    let id = create_patient(&s).await;
    let body = with(patient(), "id", json!("someone-else")).to_string();
    let path = format!("Patient/{id}");
    let outcome = rejected(&s, Method::PUT, &path, FHIR_JSON, body, 400).await;
    assert_expression(&outcome, "Patient.id");
    outcome_with_status(s.get("Patient/someone-else").await, 404).await;
}

async fn put_without_a_body_id_is_400(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    let outcome = rejected(
        &s,
        Method::PUT,
        &path,
        FHIR_JSON,
        patient().to_string(),
        400,
    )
    .await;
    assert_expression(&outcome, "Patient.id");
}

async fn a_body_of_another_type_than_the_url_is_400(s: TestServer) {
    let id = create_patient(&s).await;
    let observation = json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"text": "weight"}
    });
    let path = format!("Patient/{id}");
    for (method, path) in [(Method::POST, "Patient"), (Method::PUT, path.as_str())] {
        rejected(&s, method, path, FHIR_JSON, observation.to_string(), 400).await;
    }
}

async fn a_body_over_the_limit_is_413(s: TestServer) {
    let big = with(patient(), "name", json!([{"family": "x".repeat(5000)}])).to_string();
    assert!(big.len() > 5000);
    let outcome = rejected_create(&s, &big, 413).await;
    assert_eq!(outcome["issue"][0]["code"], "too-long");
    let put = with(
        with(patient(), "id", json!("big")),
        "name",
        json!([{"family": "x".repeat(5000)}]),
    );
    rejected(
        &s,
        Method::PUT,
        "Patient/big",
        FHIR_JSON,
        put.to_string(),
        413,
    )
    .await;
    // A small body is still fine.
    create_patient(&s).await;
}

async fn unknown_and_unserved_types_are_404(s: TestServer) {
    let encounter = json!({"resourceType": "Encounter", "id": "1", "status": "finished"});
    for (method, path) in [
        (Method::GET, "Foo"),
        (Method::GET, "Foo/1"),
        (Method::GET, "Encounter/1"),
        (Method::GET, "Encounter"),
        (Method::GET, "Encounter/_history"),
        (Method::DELETE, "Encounter/1"),
    ] {
        let r = s.request(method.clone(), path).send().await.unwrap();
        let outcome = outcome_with_status(r, 404).await;
        assert!(
            diagnostics(&outcome).contains(path.split('/').next().unwrap()),
            "{method} {path}: {outcome}"
        );
    }
    rejected(
        &s,
        Method::POST,
        "Encounter",
        FHIR_JSON,
        encounter.to_string(),
        404,
    )
    .await;
    rejected(
        &s,
        Method::PUT,
        "Encounter/1",
        FHIR_JSON,
        encounter.to_string(),
        404,
    )
    .await;
}

async fn invalid_id_characters_are_400(s: TestServer) {
    let long = "a".repeat(65);
    for path in [
        "Patient/a$b",
        "Patient/a$b/_history",
        "Patient/a$b/_history/1",
        &format!("Patient/{long}"),
    ] {
        outcome_with_status(s.get(path).await, 400).await;
    }
    outcome_with_status(s.delete("Patient/a$b").await, 400).await;
    let body = with(patient(), "id", json!("a$b")).to_string();
    rejected(&s, Method::PUT, "Patient/a$b", FHIR_JSON, body, 400).await;
}

/// Requests with methods a path does not serve.
async fn refused_methods(s: &TestServer) -> Vec<(Method, String)> {
    let instance = format!("Patient/{}", create_patient(s).await);
    vec![
        (Method::PATCH, instance.clone()),
        (Method::POST, instance),
        (Method::PUT, "Patient".into()),
        (Method::DELETE, "metadata".into()),
    ]
}

async fn send_refused(s: &TestServer, method: &Method, path: &str) -> Response {
    let body = with(patient(), "id", json!(path.rsplit('/').next()));
    s.request(method.clone(), path)
        .header("Content-Type", FHIR_JSON)
        .body(body.to_string())
        .send()
        .await
        .expect("request")
}

async fn unsupported_methods_are_405(s: TestServer) {
    for (method, path) in refused_methods(&s).await {
        let r = send_refused(&s, &method, &path).await;
        let outcome = outcome_with_status(r, 405).await;
        assert!(diagnostics(&outcome).contains(method.as_str()), "{outcome}");
        assert_eq!(
            history_total(&s, "Patient/_history").await,
            1,
            "{method} {path} wrote"
        );
    }
}

async fn a_405_allows_only_the_served_methods(s: TestServer) {
    let mut wrong = Vec::new();
    for (method, path) in refused_methods(&s).await {
        let r = send_refused(&s, &method, &path).await;
        assert_eq!(r.status(), 405, "{method} {path}");
        let allow = header(&r, "allow");
        if allow.split(',').any(|m| m.trim() == method.as_str()) {
            wrong.push(format!("{method} {path} refused, but Allow: {allow}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "Allow lists the refused method: {wrong:#?}"
    );
}

async fn unknown_paths_are_404(s: TestServer) {
    let id = create_patient(&s).await;
    for path in [
        format!("Patient/{id}/_history/1/extra"),
        format!("Patient/{id}/nothing/here"),
        "a/b/c/d/e".to_string(),
    ] {
        let outcome = outcome_with_status(s.get(&path).await, 404).await;
        assert_eq!(outcome["issue"][0]["code"], "not-found", "{path}");
    }
    let r = s
        .client
        .get(format!("{}/nothing-here", s.root))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "outside /fhir");
}

on_both_backends!(
    malformed_json_is_400,
    malformed_xml_is_400,
    truncated_xml_is_400,
    xml_that_is_not_fhir_is_400,
    xml_structure_errors_name_the_element,
    xml_with_an_unknown_element_is_400,
    json_that_is_not_an_object_is_400,
    an_empty_body_is_400,
    an_unknown_element_is_400_naming_it,
    a_wrongly_typed_value_is_400_naming_it,
    an_impossible_date_is_400_naming_it,
    an_fnr_with_a_wrong_check_digit_is_422,
    a_valid_fnr_is_accepted,
    a_synthetic_fnr_is_accepted_on_a_test_tenant,
    a_dnr_system_with_an_fnr_value_is_422,
    an_unknown_gender_code_is_422,
    a_municipality_code_not_of_four_digits_is_422,
    an_invalid_update_is_rejected_and_keeps_the_current_version,
    an_if_match_that_is_no_etag_is_400,
    an_if_none_exist_with_an_unknown_parameter_is_400,
    history_with_a_bad_count_or_since_is_400,
    a_body_that_is_not_utf8_is_400,
    an_unsupported_content_type_is_415,
    put_with_a_different_body_id_is_400,
    put_without_a_body_id_is_400,
    a_body_of_another_type_than_the_url_is_400,
    unknown_and_unserved_types_are_404,
    invalid_id_characters_are_400,
    unsupported_methods_are_405,
    a_405_allows_only_the_served_methods,
    unknown_paths_are_404,
);

with_options!(
    a_synthetic_fnr_is_422_on_a_production_tenant,
    production_tenant
);
with_options!(a_body_over_the_limit_is_413, small_body_limit);
