//! The FHIR REST interactions on Patient: create, read, vread, update, conditional create,
//! delete, the three levels of history, and the `Prefer` / `If-*` headers.

use helsebro_blackbox::reqwest::{Method, Response};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::errors::{municipality_district, outcome_with_status};

pub(crate) const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
const LOCAL_SYSTEM: &str = "http://example.org/fhir/local-patient-id";
const NO_BASIS_PATIENT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";

// --- helpers ---------------------------------------------------------------------------

/// A small, valid Patient.
pub(crate) fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "active": true,
        "name": [{"use": "official", "family": "Nordmann", "given": ["Kari"]}],
        "gender": "female",
        "birthDate": "1980-02-29"
    })
}

/// `value` with `key` set (`patient()` with a change, an id, …).
pub(crate) fn with(mut value: Value, key: &str, field: Value) -> Value {
    value[key] = field;
    value
}

fn with_local_identifier(value: &str) -> Value {
    with(
        patient(),
        "identifier",
        json!([{"system": LOCAL_SYSTEM, "value": value}]),
    )
}

/// A response header's value; panics naming the header when it is missing.
pub(crate) fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header; headers: {:?}", r.headers()))
        .to_str()
        .expect("header is text")
        .to_string()
}

/// Sends `body` (JSON unless a `Content-Type` is among `headers`) with extra headers.
pub(crate) async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Response {
    let mut req = s.request(method, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("Content-Type", "application/fhir+json");
        }
        req = req.body(body);
    }
    req.send().await.expect("request")
}

/// `Bundle.total` of a history (`Patient/_history`, `_history`, `Patient/x/_history`).
pub(crate) async fn history_total(s: &TestServer, path: &str) -> i64 {
    let bundle = json_with_status(s.get(path).await, 200).await;
    bundle["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("history {path} has no total: {bundle}"))
}

/// Creates `patient()` and returns its id.
pub(crate) async fn create_patient(s: &TestServer) -> String {
    id_of(&s.create(&patient()).await)
}

pub(crate) fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {resource}"))
        .to_string()
}

/// PUTs `patient()` as `id`, with the official family name `family`.
async fn put_patient(s: &TestServer, id: &str, headers: &[(&str, &str)], family: &str) -> Response {
    let body = with(
        with(patient(), "id", json!(id)),
        "name",
        json!([{"use": "official", "family": family, "given": ["Kari"]}]),
    );
    send(
        s,
        Method::PUT,
        &format!("Patient/{id}"),
        headers,
        Some(body.to_string()),
    )
    .await
}

async fn delete_ok(s: &TestServer, path: &str) {
    let r = s.delete(path).await;
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_eq!(status, 204, "DELETE {path}: {text}");
    assert_eq!(text, "", "a 204 has no body");
}

fn family(resource: &Value) -> &Value {
    &resource["name"][0]["family"]
}

/// `resource` without `meta` (and without `id`, which the client did not send).
fn without_meta(resource: &Value) -> Value {
    let mut r = resource.clone();
    let obj = r.as_object_mut().expect("a resource is an object");
    obj.remove("meta");
    obj.remove("id");
    r
}

/// Checks an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`) and returns it as
/// `1994-11-06T08:49:37`, to compare with `meta.lastUpdated`.
fn http_date_as_instant(date: &str) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = date.split(' ').collect();
    let ok = parts.len() == 6
        && DAYS.iter().any(|d| parts[0] == format!("{d},"))
        && parts[1].len() == 2
        && MONTHS.contains(&parts[2])
        && parts[3].len() == 4
        && parts[4].len() == 8
        && parts[5] == "GMT";
    assert!(ok, "not an HTTP-date: {date}");
    let month = MONTHS.iter().position(|m| *m == parts[2]).expect("month") + 1;
    format!("{}-{month:02}-{}T{}", parts[3], parts[1], parts[4])
}

/// A response's `ETag` and `Last-Modified`.
fn versioning(r: &Response) -> (String, String) {
    (header(r, "etag"), header(r, "last-modified"))
}

/// Asserts `ETag` and `Last-Modified` describe `version` of `resource`.
fn assert_versioning(headers: &(String, String), version: u32, resource: &Value) {
    assert_eq!(headers.0, format!("W/\"{version}\""));
    let last_modified = http_date_as_instant(&headers.1);
    let last_updated = resource["meta"]["lastUpdated"]
        .as_str()
        .unwrap_or_else(|| panic!("no meta.lastUpdated: {resource}"));
    assert!(
        last_updated.starts_with(&last_modified),
        "Last-Modified {last_modified} is not meta.lastUpdated {last_updated}"
    );
    assert_eq!(resource["meta"]["versionId"], json!(version.to_string()));
}

async fn history(s: &TestServer, path: &str) -> Value {
    let bundle = json_with_status(s.get(path).await, 200).await;
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "history", "{bundle}");
    bundle
}

pub(crate) fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

fn etags(bundle: &Value) -> Vec<String> {
    entries(bundle)
        .iter()
        .map(|e| e["response"]["etag"].as_str().unwrap_or("").to_string())
        .collect()
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .map(str::to_string)
}

// --- create ----------------------------------------------------------------------------

async fn create_assigns_a_uuid_and_versioning_headers(s: TestServer) {
    let r = s.post_json("Patient", &patient()).await;
    let location = header(&r, "location");
    let content_type = header(&r, "content-type");
    let versioning = versioning(&r);
    let body = json_with_status(r, 201).await;
    let id = id_of(&body);
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "the id {id} is not a UUID"
    );
    assert_eq!(location, format!("{}/Patient/{id}/_history/1", s.base));
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}"
    );
    assert_versioning(&versioning, 1, &body);
    assert_eq!(body["resourceType"], "Patient");
    assert_eq!(family(&body), "Nordmann");
}

async fn create_ids_are_not_derived_from_content(s: TestServer) {
    let first = create_patient(&s).await;
    let second = create_patient(&s).await;
    assert_ne!(first, second, "the same content got the same id");
    assert_eq!(history_total(&s, "Patient/_history").await, 2);
}

async fn create_ignores_a_client_sent_id(s: TestServer) {
    let created = s
        .create(&with(patient(), "id", json!("chosen-by-client")))
        .await;
    let id = id_of(&created);
    assert_ne!(id, "chosen-by-client");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    outcome_with_status(s.get("Patient/chosen-by-client").await, 404).await;
    json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
}

async fn written_record_reads_back_unchanged_apart_from_meta(s: TestServer) {
    let sent = json!({
        "resourceType": "Patient",
        "meta": {"profile": [NO_BASIS_PATIENT]},
        "extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
            "valueAddress": {"city": "Bergen", "country": "NO"}
        }],
        "identifier": [
            {"use": "official", "system": FNR_SYSTEM, "value": "13116900216"},
            {"system": LOCAL_SYSTEM, "value": "local-42"}
        ],
        "active": true,
        "name": [
            {
                "use": "official",
                "family": "Nordmann",
                "given": ["Kari", "Anne"],
                "extension": [{
                    "url": "http://hl7.no/fhir/StructureDefinition/no-basis-middlename",
                    "valueString": "Fjell"
                }]
            },
            {"use": "nickname", "given": ["Kaja"]}
        ],
        "telecom": [
            {"system": "phone", "value": "+4791234567", "use": "mobile"},
            {"system": "email", "value": "kari@example.no"}
        ],
        "gender": "female",
        "birthDate": "1969-11-13",
        "deceasedBoolean": false,
        "address": [{
            "use": "home",
            "line": ["Storgata 1", "Leilighet H0203"],
            "postalCode": "5003",
            "city": "Bergen",
            "district": "Bergen",
            "_district": municipality_district("4601"),
            "country": "NO"
        }],
        "maritalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
            "code": "M"
        }]},
        "multipleBirthBoolean": false,
        "contact": [{
            "relationship": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                "code": "N"
            }]}],
            "name": {"family": "Nordmann", "given": ["Ola"]},
            "telecom": [{"system": "phone", "value": "+4799999999"}],
            "gender": "male"
        }],
        "communication": [{
            "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "nb"}]},
            "preferred": true
        }],
        "generalPractitioner": [{"display": "Dr. Lege"}]
    });
    let created = s.create(&sent).await;
    assert_eq!(without_meta(&created), without_meta(&sent));
    let read = json_with_status(s.get(&format!("Patient/{}", id_of(&created))).await, 200).await;
    assert_eq!(without_meta(&read), without_meta(&sent));
}

async fn client_meta_is_kept_but_versioning_is_the_servers(s: TestServer) {
    let tag = json!({"system": "http://example.org/tags", "code": "pilot"});
    let sent = with(
        patient(),
        "meta",
        json!({
            "versionId": "99",
            "lastUpdated": "2001-01-01T00:00:00.000Z",
            "profile": [NO_BASIS_PATIENT],
            "tag": [tag]
        }),
    );
    let created = s.create(&sent).await;
    let read = json_with_status(s.get(&format!("Patient/{}", id_of(&created))).await, 200).await;
    for resource in [&created, &read] {
        let meta = &resource["meta"];
        assert_eq!(meta["versionId"], "1", "{resource}");
        assert_ne!(
            meta["lastUpdated"], "2001-01-01T00:00:00.000Z",
            "{resource}"
        );
        assert!(meta["lastUpdated"].as_str().is_some(), "{resource}");
        assert_eq!(meta["profile"], json!([NO_BASIS_PATIENT]), "{resource}");
        assert_eq!(meta["tag"], json!([tag]), "{resource}");
    }
}

// --- read and vread --------------------------------------------------------------------

async fn read_returns_the_current_version_with_headers(s: TestServer) {
    let created = s.create(&patient()).await;
    let r = s.get(&format!("Patient/{}", id_of(&created))).await;
    let content_type = header(&r, "content-type");
    let versioning = versioning(&r);
    let read = json_with_status(r, 200).await;
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}"
    );
    assert_eq!(read, created);
    assert_versioning(&versioning, 1, &read);
}

async fn read_of_an_unknown_id_is_404(s: TestServer) {
    create_patient(&s).await;
    let outcome = outcome_with_status(s.get("Patient/no-such-patient").await, 404).await;
    assert_eq!(outcome["issue"][0]["code"], "not-found");
}

async fn read_after_delete_is_410(s: TestServer) {
    let id = create_patient(&s).await;
    delete_ok(&s, &format!("Patient/{id}")).await;
    let outcome = outcome_with_status(s.get(&format!("Patient/{id}")).await, 410).await;
    assert_eq!(outcome["issue"][0]["code"], "deleted");
}

async fn vread_returns_each_versions_content(s: TestServer) {
    let id = create_patient(&s).await;
    json_with_status(put_patient(&s, &id, &[], "Hansen").await, 200).await;
    for (version, name) in [(1, "Nordmann"), (2, "Hansen")] {
        let r = s.get(&format!("Patient/{id}/_history/{version}")).await;
        let versioning = versioning(&r);
        let body = json_with_status(r, 200).await;
        assert_versioning(&versioning, version, &body);
        assert_eq!(family(&body), name, "version {version}: {body}");
        assert_eq!(body["id"], json!(id));
    }
}

async fn vread_of_an_unknown_version_is_404(s: TestServer) {
    let id = create_patient(&s).await;
    for path in [
        format!("Patient/{id}/_history/2"),
        format!("Patient/{id}/_history/99"),
        "Patient/no-such-patient/_history/1".to_string(),
    ] {
        outcome_with_status(s.get(&path).await, 404).await;
    }
}

async fn vread_of_the_deleted_version_is_410(s: TestServer) {
    let id = create_patient(&s).await;
    delete_ok(&s, &format!("Patient/{id}")).await;
    outcome_with_status(s.get(&format!("Patient/{id}/_history/2")).await, 410).await;
    let first = json_with_status(s.get(&format!("Patient/{id}/_history/1")).await, 200).await;
    assert_eq!(family(&first), "Nordmann");
}

async fn if_none_match_with_the_current_etag_is_304(s: TestServer) {
    let id = create_patient(&s).await;
    let path = format!("Patient/{id}");
    let r = send(
        &s,
        Method::GET,
        &path,
        &[("If-None-Match", "W/\"1\"")],
        None,
    )
    .await;
    assert_eq!(r.status(), 304);
    assert_eq!(header(&r, "etag"), "W/\"1\"");
    assert_eq!(r.text().await.unwrap(), "");
    json_with_status(put_patient(&s, &id, &[], "Hansen").await, 200).await;
    let r = send(
        &s,
        Method::GET,
        &path,
        &[("If-None-Match", "W/\"1\"")],
        None,
    )
    .await;
    let body = json_with_status(r, 200).await;
    assert_eq!(family(&body), "Hansen");
}

// --- update ----------------------------------------------------------------------------

async fn update_increments_the_version(s: TestServer) {
    let id = create_patient(&s).await;
    let r = put_patient(&s, &id, &[], "Hansen").await;
    let versioning = versioning(&r);
    let body = json_with_status(r, 200).await;
    assert_versioning(&versioning, 2, &body);
    assert_eq!(family(&body), "Hansen");
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read, body);
    assert_eq!(
        history_total(&s, &format!("Patient/{id}/_history")).await,
        2
    );
}

async fn update_to_a_new_client_id_creates_it(s: TestServer) {
    let r = put_patient(&s, "client-chosen-1", &[], "Nordmann").await;
    let location = header(&r, "location");
    let etag = header(&r, "etag");
    let body = json_with_status(r, 201).await;
    assert_eq!(
        location,
        format!("{}/Patient/client-chosen-1/_history/1", s.base)
    );
    assert_eq!(etag, "W/\"1\"");
    assert_eq!(body["id"], "client-chosen-1");
    assert_eq!(body["meta"]["versionId"], "1");
    let r = put_patient(&s, "client-chosen-1", &[], "Hansen").await;
    assert_eq!(header(&r, "etag"), "W/\"2\"");
    let body = json_with_status(r, 200).await;
    assert_eq!(family(&body), "Hansen");
}

async fn update_with_a_stale_if_match_is_412(s: TestServer) {
    let id = create_patient(&s).await;
    json_with_status(put_patient(&s, &id, &[], "Hansen").await, 200).await;
    let r = put_patient(&s, &id, &[("If-Match", "W/\"1\"")], "Olsen").await;
    outcome_with_status(r, 412).await;
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(
        read["meta"]["versionId"], "2",
        "a failed If-Match wrote: {read}"
    );
    assert_eq!(family(&read), "Hansen");
}

async fn update_with_a_matching_if_match_succeeds(s: TestServer) {
    let id = create_patient(&s).await;
    let r = put_patient(&s, &id, &[("If-Match", "W/\"1\"")], "Hansen").await;
    assert_eq!(header(&r, "etag"), "W/\"2\"");
    let body = json_with_status(r, 200).await;
    assert_eq!(family(&body), "Hansen");
}

async fn update_with_if_match_on_an_unknown_id_is_412(s: TestServer) {
    let r = put_patient(&s, "not-there", &[("If-Match", "W/\"1\"")], "Hansen").await;
    outcome_with_status(r, 412).await;
    outcome_with_status(s.get("Patient/not-there").await, 404).await;
}

/// Creates, deletes and re-creates (by PUT) a patient; returns its id.
async fn deleted_and_recreated(s: &TestServer) -> (String, Response) {
    let id = create_patient(s).await;
    delete_ok(s, &format!("Patient/{id}")).await;
    let r = put_patient(s, &id, &[], "Hansen").await;
    (id, r)
}

async fn update_after_delete_recreates_it(s: TestServer) {
    let (id, r) = deleted_and_recreated(&s).await;
    let location = header(&r, "location");
    let versioning = versioning(&r);
    let body = json_with_status(r, 201).await;
    assert_versioning(&versioning, 3, &body);
    assert_eq!(location, format!("{}/Patient/{id}/_history/3", s.base));
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(family(&read), "Hansen");
}

async fn history_reports_a_recreating_update_as_created(s: TestServer) {
    let (id, r) = deleted_and_recreated(&s).await;
    assert_eq!(r.status(), 201);
    let bundle = history(&s, &format!("Patient/{id}/_history")).await;
    let statuses: Vec<Value> = entries(&bundle)
        .iter()
        .map(|e| e["response"]["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        ["201 Created", "204 No Content", "201 Created"],
        "the history does not say what the requests answered: {bundle}"
    );
}

// --- conditional create ----------------------------------------------------------------

async fn conditional_create(s: &TestServer, value: &str) -> Response {
    let condition = format!("identifier={LOCAL_SYSTEM}|{value}");
    let body = with_local_identifier(value).to_string();
    send(
        s,
        Method::POST,
        "Patient",
        &[("If-None-Exist", &condition)],
        Some(body),
    )
    .await
}

async fn conditional_create_without_a_match_creates(s: TestServer) {
    s.create(&with_local_identifier("other")).await;
    let r = conditional_create(&s, "abc").await;
    let location = header(&r, "location");
    let body = json_with_status(r, 201).await;
    assert_eq!(
        location,
        format!("{}/Patient/{}/_history/1", s.base, id_of(&body))
    );
    assert_eq!(history_total(&s, "Patient/_history").await, 2);
}

async fn conditional_create_with_one_match_returns_it(s: TestServer) {
    let existing = s.create(&with_local_identifier("abc")).await;
    let r = conditional_create(&s, "abc").await;
    assert_eq!(header(&r, "etag"), "W/\"1\"");
    let body = json_with_status(r, 200).await;
    assert_eq!(body, existing);
    assert_eq!(
        history_total(&s, "Patient/_history").await,
        1,
        "something was created"
    );
}

async fn conditional_create_with_two_matches_is_412(s: TestServer) {
    s.create(&with_local_identifier("abc")).await;
    s.create(&with_local_identifier("abc")).await;
    outcome_with_status(conditional_create(&s, "abc").await, 412).await;
    assert_eq!(
        history_total(&s, "Patient/_history").await,
        2,
        "something was created"
    );
}

// --- delete ----------------------------------------------------------------------------

async fn delete_is_204_and_the_resource_is_gone(s: TestServer) {
    let id = create_patient(&s).await;
    delete_ok(&s, &format!("Patient/{id}")).await;
    outcome_with_status(s.get(&format!("Patient/{id}")).await, 410).await;
    let search = json_with_status(s.get(&format!("Patient?_id={id}")).await, 200).await;
    assert!(
        entries(&search).is_empty(),
        "a deleted patient is found: {search}"
    );
}

async fn delete_of_an_unknown_id_is_204(s: TestServer) {
    delete_ok(&s, "Patient/no-such-patient").await;
    assert_eq!(history_total(&s, "Patient/_history").await, 0);
}

async fn delete_twice_is_204_both_times(s: TestServer) {
    let id = create_patient(&s).await;
    delete_ok(&s, &format!("Patient/{id}")).await;
    delete_ok(&s, &format!("Patient/{id}")).await;
    assert_eq!(
        history_total(&s, &format!("Patient/{id}/_history")).await,
        2
    );
}

// --- history ---------------------------------------------------------------------------

async fn instance_history_lists_versions_newest_first(s: TestServer) {
    let id = create_patient(&s).await;
    create_patient(&s).await;
    json_with_status(put_patient(&s, &id, &[], "Hansen").await, 200).await;
    delete_ok(&s, &format!("Patient/{id}")).await;
    let bundle = history(&s, &format!("Patient/{id}/_history")).await;
    assert_eq!(bundle["total"], 3, "{bundle}");
    let list = entries(&bundle);
    let methods: Vec<&str> = list
        .iter()
        .map(|e| e["request"]["method"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(methods, ["DELETE", "PUT", "POST"], "{bundle}");
    assert_eq!(etags(&bundle), ["W/\"3\"", "W/\"2\"", "W/\"1\""]);
    assert!(
        list[0].get("resource").is_none(),
        "the deleted version has a resource"
    );
    assert_eq!(family(&list[1]["resource"]), "Hansen");
    assert_eq!(list[2]["resource"]["meta"]["versionId"], "1");
    assert!(list
        .iter()
        .all(|e| e["resource"].is_null() || e["resource"]["id"] == json!(id)));
}

async fn instance_history_of_an_unknown_id_is_404(s: TestServer) {
    outcome_with_status(s.get("Patient/no-such-patient/_history").await, 404).await;
}

/// Two patients, one updated: three versions, the update newest.
async fn three_versions(s: &TestServer) -> String {
    let id = create_patient(s).await;
    create_patient(s).await;
    json_with_status(put_patient(s, &id, &[], "Hansen").await, 200).await;
    id
}

async fn type_history_lists_every_patient_version(s: TestServer) {
    let id = three_versions(&s).await;
    let bundle = history(&s, "Patient/_history").await;
    assert_eq!(bundle["total"], 3, "{bundle}");
    let list = entries(&bundle);
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["request"]["method"], "PUT");
    assert_eq!(list[0]["resource"]["id"], json!(id));
    assert!(list
        .iter()
        .all(|e| e["resource"]["resourceType"] == "Patient"));
}

async fn system_history_lists_every_version(s: TestServer) {
    let id = three_versions(&s).await;
    let bundle = history(&s, "_history").await;
    assert_eq!(bundle["total"], 3, "{bundle}");
    let list = entries(&bundle);
    assert_eq!(etags(&bundle), ["W/\"2\"", "W/\"1\"", "W/\"1\""]);
    assert_eq!(list[0]["resource"]["id"], json!(id));
}

/// Follows `next` links from `first`, returning each page's entries.
async fn all_pages(s: &TestServer, first: &str, total: i64) -> Vec<Vec<Value>> {
    let mut url = first.to_string();
    let mut pages = Vec::new();
    loop {
        let bundle = history(s, &url).await;
        assert_eq!(bundle["total"], total, "{url}: {bundle}");
        pages.push(entries(&bundle));
        match next_link(&bundle) {
            Some(next) => url = next,
            None => return pages,
        }
        assert!(pages.len() <= total as usize, "paging does not end");
    }
}

async fn history_pages_with_count_and_next_links(s: TestServer) {
    let id = create_patient(&s).await;
    for family in ["A", "B", "C", "D"] {
        json_with_status(put_patient(&s, &id, &[], family).await, 200).await;
    }
    let pages = all_pages(&s, &format!("Patient/{id}/_history?_count=2"), 5).await;
    let etags: Vec<Vec<String>> = pages
        .iter()
        .map(|page| etags(&json!({"entry": page})))
        .collect();
    let expected: Vec<Vec<String>> = [vec![5, 4], vec![3, 2], vec![1]]
        .iter()
        .map(|p| p.iter().map(|v| format!("W/\"{v}\"")).collect())
        .collect();
    assert_eq!(etags, expected);
}

async fn type_and_system_history_page_through_every_version(s: TestServer) {
    let id = three_versions(&s).await;
    create_patient(&s).await;
    for first in ["Patient/_history?_count=3", "_history?_count=3"] {
        let pages = all_pages(&s, first, 4).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 1], "{first}");
        let mut seen: Vec<(String, String)> = pages
            .iter()
            .flatten()
            .map(|e| {
                (
                    e["resource"]["id"].to_string(),
                    e["response"]["etag"].to_string(),
                )
            })
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            4,
            "{first}: a version is missing or repeated: {seen:?}"
        );
        assert!(seen.contains(&(json!(id).to_string(), json!("W/\"2\"").to_string())));
    }
}

async fn history_since_leaves_out_older_versions(s: TestServer) {
    let id = create_patient(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let updated = json_with_status(put_patient(&s, &id, &[], "Hansen").await, 200).await;
    let other = create_patient(&s).await;
    let since = updated["meta"]["lastUpdated"]
        .as_str()
        .expect("lastUpdated");
    for (path, expected) in [
        (format!("Patient/{id}/_history"), 1),
        ("Patient/_history".to_string(), 2),
        ("_history".to_string(), 2),
    ] {
        let r = s
            .request(Method::GET, &path)
            .query(&[("_since", since)])
            .send()
            .await
            .unwrap();
        let bundle = json_with_status(r, 200).await;
        assert_eq!(bundle["total"], expected, "{path} since {since}: {bundle}");
        let list = entries(&bundle);
        assert_eq!(list.len(), expected as usize);
        assert_eq!(family(&list.last().unwrap()["resource"]), "Hansen");
        if expected == 2 {
            assert_eq!(list[0]["resource"]["id"], json!(other));
        }
    }
}

// --- Prefer: return --------------------------------------------------------------------

async fn prefer_return_minimal_gives_an_empty_body_with_headers(s: TestServer) {
    let prefer = [("Prefer", "return=minimal")];
    let r = send(
        &s,
        Method::POST,
        "Patient",
        &prefer,
        Some(patient().to_string()),
    )
    .await;
    assert_eq!(r.status(), 201);
    let location = header(&r, "location");
    assert_eq!(header(&r, "etag"), "W/\"1\"");
    http_date_as_instant(&header(&r, "last-modified"));
    assert_eq!(r.text().await.unwrap(), "");
    let id = location
        .strip_prefix(&format!("{}/Patient/", s.base))
        .and_then(|rest| rest.strip_suffix("/_history/1"))
        .unwrap_or_else(|| panic!("Location {location}"));
    let r = put_patient(&s, id, &prefer, "Hansen").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "etag"), "W/\"2\"");
    assert_eq!(r.text().await.unwrap(), "");
}

async fn prefer_return_representation_gives_the_resource(s: TestServer) {
    let prefer = [("Prefer", "return=representation")];
    let r = send(
        &s,
        Method::POST,
        "Patient",
        &prefer,
        Some(patient().to_string()),
    )
    .await;
    let body = json_with_status(r, 201).await;
    assert_eq!(body["resourceType"], "Patient");
    let id = id_of(&body);
    let r = put_patient(&s, &id, &prefer, "Hansen").await;
    let body = json_with_status(r, 200).await;
    assert_eq!(family(&body), "Hansen");
    assert_eq!(body["meta"]["versionId"], "2");
}

async fn prefer_return_operation_outcome_gives_an_outcome(s: TestServer) {
    let prefer = [("Prefer", "return=OperationOutcome")];
    let r = send(
        &s,
        Method::POST,
        "Patient",
        &prefer,
        Some(patient().to_string()),
    )
    .await;
    let location = header(&r, "location");
    assert_eq!(header(&r, "etag"), "W/\"1\"");
    let body = json_with_status(r, 201).await;
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert!(body["issue"][0]["severity"].as_str().is_some(), "{body}");
    assert_ne!(body["issue"][0]["severity"], "error", "{body}");
    let read = json_with_status(s.get(&location).await, 200).await;
    assert_eq!(family(&read), "Nordmann");
}

on_both_backends!(
    create_assigns_a_uuid_and_versioning_headers,
    create_ids_are_not_derived_from_content,
    create_ignores_a_client_sent_id,
    written_record_reads_back_unchanged_apart_from_meta,
    client_meta_is_kept_but_versioning_is_the_servers,
    read_returns_the_current_version_with_headers,
    read_of_an_unknown_id_is_404,
    read_after_delete_is_410,
    vread_returns_each_versions_content,
    vread_of_an_unknown_version_is_404,
    vread_of_the_deleted_version_is_410,
    if_none_match_with_the_current_etag_is_304,
    update_increments_the_version,
    update_to_a_new_client_id_creates_it,
    update_with_a_stale_if_match_is_412,
    update_with_a_matching_if_match_succeeds,
    update_with_if_match_on_an_unknown_id_is_412,
    update_after_delete_recreates_it,
    history_reports_a_recreating_update_as_created,
    conditional_create_without_a_match_creates,
    conditional_create_with_one_match_returns_it,
    conditional_create_with_two_matches_is_412,
    delete_is_204_and_the_resource_is_gone,
    delete_of_an_unknown_id_is_204,
    delete_twice_is_204_both_times,
    instance_history_lists_versions_newest_first,
    instance_history_of_an_unknown_id_is_404,
    type_history_lists_every_patient_version,
    system_history_lists_every_version,
    history_pages_with_count_and_next_links,
    type_and_system_history_page_through_every_version,
    history_since_leaves_out_older_versions,
    prefer_return_minimal_gives_an_empty_body_with_headers,
    prefer_return_representation_gives_the_resource,
    prefer_return_operation_outcome_gives_an_outcome,
);
