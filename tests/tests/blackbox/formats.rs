//! Formats: JSON and XML for requests and responses, negotiated by `Accept` or `_format`,
//! with decimals kept as written.

use helsebro_blackbox::reqwest::{Method, Response};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::Value;

use crate::errors::outcome_with_status;
use crate::rest::{create_patient, header, history_total, id_of, send};

const FHIR_XML: &str = "application/fhir+xml";
const FHIR_NS: &str = r#"xmlns="http://hl7.org/fhir""#;
const SCORE_EXT: &str = "http://example.org/fhir/StructureDefinition/score";

// --- helpers ---------------------------------------------------------------------------

/// Asserts that the document's root element is `name` in the FHIR namespace.
pub(crate) fn assert_xml_root(xml: &str, name: &str) {
    let mut rest = xml.trim_start();
    if rest.starts_with("<?xml") {
        let end = rest.find("?>").expect("the XML declaration ends");
        rest = rest[end + 2..].trim_start();
    }
    let tag = &rest[..rest
        .find('>')
        .unwrap_or_else(|| panic!("no start tag: {xml}"))
        + 1];
    let named = tag.starts_with(&format!("<{name} ")) || tag.starts_with(&format!("<{name}>"));
    assert!(named, "the root is not <{name}>: {xml}");
    assert!(
        tag.contains(FHIR_NS),
        "the root is not in the FHIR namespace: {xml}"
    );
}

/// The XML text of a response, after checking its status, `Content-Type` and root element.
pub(crate) async fn xml_with_status(r: Response, status: u16, root: &str) -> String {
    let content_type = header(&r, "content-type");
    let actual = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    assert!(
        content_type.starts_with(FHIR_XML),
        "Content-Type {content_type}: {text}"
    );
    assert_xml_root(&text, root);
    text
}

async fn get_with(s: &TestServer, path: &str, accept: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
    send(s, Method::GET, path, &headers, None).await
}

/// Asserts a JSON Patient response with `id`.
async fn assert_json_patient(r: Response, id: &str, how: &str) {
    let content_type = header(&r, "content-type");
    let body = json_with_status(r, 200).await;
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{how}: Content-Type {content_type}"
    );
    assert_eq!(body["resourceType"], "Patient", "{how}");
    assert_eq!(body["id"], id, "{how}");
}

/// Asserts an XML Patient response with `id`.
async fn assert_xml_patient(r: Response, id: &str, how: &str) {
    let xml = xml_with_status(r, 200, "Patient").await;
    assert!(
        xml.contains(&format!(r#"<id value="{id}"/>"#)),
        "{how}: {xml}"
    );
    assert!(
        xml.contains(r#"<family value="Nordmann"/>"#),
        "{how}: {xml}"
    );
    assert!(xml.contains(r#"<active value="true"/>"#), "{how}: {xml}");
}

/// A Patient in XML; `id` first when given (FHIR XML keeps the element order).
fn xml_patient(id: Option<&str>, family: &str) -> String {
    let id = id
        .map(|i| format!(r#"<id value="{i}"/>"#))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  {id}
  <extension url="{SCORE_EXT}"><valueDecimal value="1.50"/></extension>
  <active value="true"/>
  <name><use value="official"/><family value="{family}"/><given value="Per"/></name>
  <gender value="male"/>
  <birthDate value="1975-05-17"/>
</Patient>"#
    )
}

fn xml_write(xml: String, accept: &str) -> (Vec<(&str, &str)>, Option<String>) {
    (
        vec![("Content-Type", FHIR_XML), ("Accept", accept)],
        Some(xml),
    )
}

/// The decimal's text as the server wrote it (`serde_json` keeps number text as is).
fn score_text(patient: &Value) -> String {
    let ext = patient["extension"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["url"] == SCORE_EXT))
        .unwrap_or_else(|| panic!("no score extension: {patient}"));
    ext["valueDecimal"].to_string()
}

// --- negotiation -----------------------------------------------------------------------

async fn accept_fhir_xml_gives_xml(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    for accept in [FHIR_XML, "text/html, application/fhir+xml;q=0.9"] {
        assert_xml_patient(get_with(&s, &path, Some(accept)).await, &id, accept).await;
    }
}

async fn format_parameter_xml_gives_xml(s: TestServer) {
    let id = create_patient(&s).await;
    for format in ["xml", "application/fhir+xml"] {
        let r = s
            .request(Method::GET, &format!("Patient/{id}"))
            .query(&[("_format", format)])
            .send()
            .await
            .unwrap();
        assert_xml_patient(r, &id, format).await;
    }
}

async fn json_is_the_default_and_on_request(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    for accept in [
        None,
        Some("application/fhir+json"),
        Some("application/json"),
        Some("*/*"),
        Some("application/fhir+json; fhirVersion=4.0"),
    ] {
        let how = accept.unwrap_or("no Accept");
        assert_json_patient(get_with(&s, &path, accept).await, &id, how).await;
    }
    for format in ["json", "application/fhir+json"] {
        let url = format!("{path}?_format={}", format.replace('+', "%2B"));
        assert_json_patient(s.get(&url).await, &id, format).await;
    }
}

async fn format_parameter_overrides_accept(s: TestServer) {
    let id = create_patient(&s).await;
    let json_path = format!("Patient/{id}?_format=json");
    let r = get_with(&s, &json_path, Some(FHIR_XML)).await;
    assert_json_patient(r, &id, "_format=json with Accept XML").await;
    let xml_path = format!("Patient/{id}?_format=xml");
    let r = get_with(&s, &xml_path, Some("application/fhir+json")).await;
    assert_xml_patient(r, &id, "_format=xml with Accept JSON").await;
}

async fn an_unsupported_accept_is_406(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    for accept in ["text/html", "text/html, application/pdf"] {
        let outcome = outcome_with_status(get_with(&s, &path, Some(accept)).await, 406).await;
        assert_eq!(outcome["issue"][0]["code"], "not-supported", "{accept}");
    }
    outcome_with_status(s.get(&format!("{path}?_format=html")).await, 406).await;
}

async fn another_fhir_version_is_406(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    for accept in [
        "application/fhir+json; fhirVersion=3.0",
        "application/fhir+xml; fhirVersion=3.0",
    ] {
        outcome_with_status(get_with(&s, &path, Some(accept)).await, 406).await;
    }
    let write = s
        .request(Method::POST, "Patient")
        .header("Content-Type", "application/fhir+json")
        .header("Accept", "application/fhir+json; fhirVersion=3.0")
        .body(crate::rest::patient().to_string())
        .send()
        .await
        .unwrap();
    outcome_with_status(write, 406).await;
    assert_eq!(history_total(&s, "Patient/_history").await, 1);
}

// --- XML requests ----------------------------------------------------------------------

async fn a_patient_created_from_xml_reads_back_as_json(s: TestServer) {
    let (headers, body) = xml_write(xml_patient(None, "Hansen"), "application/fhir+json");
    let r = send(&s, Method::POST, "Patient", &headers, body).await;
    let location = header(&r, "location");
    let created = json_with_status(r, 201).await;
    let id = id_of(&created);
    assert_eq!(location, format!("{}/Patient/{id}/_history/1", s.base));
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read["name"][0]["family"], "Hansen");
    assert_eq!(read["name"][0]["given"][0], "Per");
    assert_eq!(read["gender"], "male");
    assert_eq!(read["birthDate"], "1975-05-17");
    assert_eq!(read["active"], true);
    assert_eq!(score_text(&read), "1.50");
}

async fn xml_writes_answer_in_xml_when_asked(s: TestServer) {
    let (headers, body) = xml_write(xml_patient(None, "Hansen"), FHIR_XML);
    let r = send(&s, Method::POST, "Patient", &headers, body).await;
    let xml = xml_with_status(r, 201, "Patient").await;
    assert!(xml.contains(r#"<family value="Hansen"/>"#), "{xml}");
    let id = create_patient(&s).await;
    let (headers, body) = xml_write(xml_patient(Some(&id), "Berg"), FHIR_XML);
    let r = send(&s, Method::PUT, &format!("Patient/{id}"), &headers, body).await;
    assert_eq!(header(&r, "etag"), "W/\"2\"");
    let xml = xml_with_status(r, 200, "Patient").await;
    assert!(xml.contains(r#"<versionId value="2"/>"#), "{xml}");
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read["name"][0]["family"], "Berg");
}

async fn decimals_keep_their_precision(s: TestServer) {
    let json = format!(
        r#"{{"resourceType":"Patient","extension":[{{"url":"{SCORE_EXT}","valueDecimal":1.50}}],"active":true}}"#
    );
    let r = send(&s, Method::POST, "Patient", &[], Some(json)).await;
    let created = json_with_status(r, 201).await;
    assert_eq!(score_text(&created), "1.50");
    let path = format!("Patient/{}", id_of(&created));
    let read = json_with_status(s.get(&path).await, 200).await;
    assert_eq!(score_text(&read), "1.50");
    let history = json_with_status(s.get(&format!("{path}/_history")).await, 200).await;
    assert_eq!(score_text(&history["entry"][0]["resource"]), "1.50");
    let xml = xml_with_status(get_with(&s, &path, Some(FHIR_XML)).await, 200, "Patient").await;
    assert!(xml.contains(r#"<valueDecimal value="1.50"/>"#), "{xml}");
}

// --- XML beyond single resources -----------------------------------------------------------

async fn bundles_come_in_xml(s: TestServer) {
    let id = create_patient(&s).await;
    for path in [
        format!("Patient/{id}/_history"),
        "Patient/_history".to_string(),
        "_history".to_string(),
        format!("Patient?_id={id}"),
    ] {
        let xml = xml_with_status(get_with(&s, &path, Some(FHIR_XML)).await, 200, "Bundle").await;
        assert!(
            xml.contains(&format!(r#"<id value="{id}"/>"#)),
            "{path}: {xml}"
        );
    }
}

async fn errors_come_in_the_requested_format(s: TestServer) {
    let r = get_with(&s, "Patient/no-such-patient", Some(FHIR_XML)).await;
    let xml = xml_with_status(r, 404, "OperationOutcome").await;
    assert!(xml.contains(r#"<severity value="error"/>"#), "{xml}");
    assert!(xml.contains("<diagnostics value="), "{xml}");
    let bad =
        xml_patient(None, "Hansen").replace(r#"<gender value="male"/>"#, r#"<gender value="f"/>"#);
    let (headers, body) = xml_write(bad, FHIR_XML);
    let r = send(&s, Method::POST, "Patient", &headers, body).await;
    let xml = xml_with_status(r, 422, "OperationOutcome").await;
    assert!(xml.contains("Patient.gender"), "{xml}");
    assert_eq!(history_total(&s, "Patient/_history").await, 0);
}

on_both_backends!(
    accept_fhir_xml_gives_xml,
    format_parameter_xml_gives_xml,
    json_is_the_default_and_on_request,
    format_parameter_overrides_accept,
    an_unsupported_accept_is_406,
    another_fhir_version_is_406,
    a_patient_created_from_xml_reads_back_as_json,
    xml_writes_answer_in_xml_when_asked,
    decimals_keep_their_precision,
    bundles_come_in_xml,
    errors_come_in_the_requested_format,
);
