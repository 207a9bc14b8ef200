//! Batch and transaction Bundles at the base: references between entries, conditional
//! references and writes, atomicity, processing order, per-entry statuses, reads,
//! authorization per entry, XML, and the refusals (wrong type, PATCH, too many entries).

use helsebro::store::audit::AuditQuery;
use helsebro::tenant::ValidationLevel;
use helsebro_blackbox::reqwest::{Client, Response};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::errors::outcome_with_status;
use crate::rest::{entries, history_total, id_of, patient, with};

const LOCAL: &str = "http://example.org/fhir/local-patient-id";

// --- helpers ---------------------------------------------------------------------------

/// POSTs `bundle` to the base with `client` and extra `headers`.
async fn post_headers(
    s: &TestServer,
    client: &Client,
    headers: &[(&str, &str)],
    bundle: &Value,
) -> Response {
    let mut request = client
        .post(&s.base)
        .header("Content-Type", "application/fhir+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(bundle.to_string())
        .send()
        .await
        .expect("request")
}

async fn post_with(s: &TestServer, client: &Client, bundle: &Value) -> Response {
    post_headers(s, client, &[], bundle).await
}

async fn post(s: &TestServer, bundle: &Value) -> Response {
    post_with(s, &s.client, bundle).await
}

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn post_entry(full_url: &str, resource: Value) -> Value {
    let t = resource["resourceType"].as_str().expect("type").to_string();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": t}})
}

/// A POST entry of a Patient with `value` as identifier, created only if none has it.
fn conditional_post(full_url: &str, value: &str) -> Value {
    let mut entry = post_entry(full_url, identified(value));
    entry["request"]["ifNoneExist"] = json!(format!("identifier={LOCAL}|{value}"));
    entry
}

fn put_entry(url: &str, resource: Value) -> Value {
    json!({"resource": resource, "request": {"method": "PUT", "url": url}})
}

fn request_entry(method: &str, url: &str) -> Value {
    json!({"request": {"method": method, "url": url}})
}

fn identified(value: &str) -> Value {
    with(
        patient(),
        "identifier",
        json!([{"system": LOCAL, "value": value}]),
    )
}

fn heart_rate(subject: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-03-01T08:00:00Z",
        "valueQuantity": {"value": 61, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

fn statuses(bundle: &Value) -> Vec<String> {
    entries(bundle)
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The id in an entry's `response.location` (`Type/id/_history/vid`).
fn located_id(entry: &Value) -> String {
    let location = entry["response"]["location"]
        .as_str()
        .unwrap_or_else(|| panic!("no location: {entry}"));
    location.split('/').nth(1).expect("Type/id").to_string()
}

/// `Bundle.total` of a search.
async fn count(s: &TestServer, query: &str) -> i64 {
    let b = json_with_status(s.get(query).await, 200).await;
    b["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("no total: {b}"))
}

/// A refused Bundle's outcome: the status, and the first issue naming `entry`.
async fn refused(r: Response, status: u16, entry: usize) -> Value {
    let outcome = outcome_with_status(r, status).await;
    let at = format!("Bundle.entry[{entry}]");
    let issue = &outcome["issue"][0];
    assert!(
        issue["diagnostics"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&at),
        "the outcome does not name {at}: {outcome}"
    );
    assert!(
        issue["expression"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with(&at),
        "the expression is not within {at}: {outcome}"
    );
    outcome
}

async fn history_everything(s: &TestServer) -> i64 {
    history_total(s, "_history").await
}

// --- references ---------------------------------------------------------------------------

async fn urn_uuid_references_become_the_assigned_ids(s: TestServer) {
    let p = "urn:uuid:9d0b3a3c-0e36-4b8a-9f3e-5a1c2d3e4f50";
    let mut contained = heart_rate(p);
    contained["contained"] = json!([{"resourceType": "Provenance",
        "target": [{"reference": p}], "recorded": "2026-03-01T08:00:00Z",
        "agent": [{"who": {"display": "pasient"}}]}]);
    let b = bundle(
        "transaction",
        vec![
            // The Observations come first: references resolve whatever the order.
            post_entry(
                "urn:uuid:00000000-0000-4000-8000-000000000001",
                heart_rate(p),
            ),
            post_entry("urn:uuid:00000000-0000-4000-8000-000000000002", contained),
            post_entry(p, identified("urn-1")),
        ],
    );
    let response = json_with_status(post(&s, &b).await, 200).await;
    assert_eq!(response["type"], "transaction-response", "{response}");
    assert_eq!(statuses(&response), vec!["201 Created"; 3]);
    let all = entries(&response);
    let patient_id = located_id(&all[2]);
    for e in &all {
        let location = e["response"]["location"].as_str().unwrap();
        assert!(location.ends_with("/_history/1"), "{location}");
        assert_eq!(e["response"]["etag"], "W/\"1\"");
        assert!(e["response"]["lastModified"].as_str().is_some(), "{e}");
    }
    for e in &all[..2] {
        let stored =
            json_with_status(s.get(&format!("Observation/{}", located_id(e))).await, 200).await;
        assert_eq!(
            stored["subject"]["reference"],
            format!("Patient/{patient_id}")
        );
        // The answer carries what was stored (return=representation by default).
        assert_eq!(e["resource"], stored);
    }
    let second = json_with_status(
        s.get(&format!("Observation/{}", located_id(&all[1]))).await,
        200,
    )
    .await;
    assert_eq!(
        second["contained"][0]["target"][0]["reference"],
        format!("Patient/{patient_id}")
    );
    assert_eq!(
        count(&s, &format!("Observation?patient={patient_id}")).await,
        2
    );
}

async fn a_placeholder_naming_no_entry_fails_the_transaction(s: TestServer) {
    let b = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:a", identified("stray")),
            post_entry("urn:uuid:b", heart_rate("urn:uuid:nowhere")),
        ],
    );
    let outcome = refused(post(&s, &b).await, 400, 1).await;
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "Bundle.entry[1].resource.subject.reference"
    );
    assert!(
        outcome.to_string().contains("urn:uuid:nowhere"),
        "{outcome}"
    );
    assert_eq!(count(&s, "Patient").await, 0);
}

async fn conditional_references_resolve_to_their_one_match(s: TestServer) {
    let id = id_of(&s.create(&identified("cond-1")).await);
    let reference = format!("Patient?identifier={LOCAL}|cond-1");
    let b = bundle(
        "transaction",
        vec![post_entry("urn:uuid:o", heart_rate(&reference))],
    );
    let response = json_with_status(post(&s, &b).await, 200).await;
    let obs = located_id(&entries(&response)[0]);
    let stored = json_with_status(s.get(&format!("Observation/{obs}")).await, 200).await;
    assert_eq!(stored["subject"]["reference"], format!("Patient/{id}"));
}

async fn a_conditional_reference_without_a_match_fails(s: TestServer) {
    let b = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:p", identified("other")),
            post_entry(
                "urn:uuid:o",
                heart_rate(&format!("Patient?identifier={LOCAL}|nobody")),
            ),
        ],
    );
    let outcome = refused(post(&s, &b).await, 404, 1).await;
    assert!(outcome.to_string().contains("nobody"), "{outcome}");
    assert_eq!(count(&s, "Patient").await, 0);
    assert_eq!(count(&s, "Observation").await, 0);
}

async fn a_conditional_reference_with_several_matches_is_412(s: TestServer) {
    s.create(&identified("twin")).await;
    s.create(&identified("twin")).await;
    let b = bundle(
        "transaction",
        vec![post_entry(
            "urn:uuid:o",
            heart_rate(&format!("Patient?identifier={LOCAL}|twin")),
        )],
    );
    refused(post(&s, &b).await, 412, 0).await;
    assert_eq!(count(&s, "Observation").await, 0);
}

// --- conditional writes ---------------------------------------------------------------------

async fn conditional_create_update_and_delete_in_a_transaction(s: TestServer) {
    let existing = id_of(&s.create(&identified("exists")).await);
    let to_update = id_of(&s.create(&identified("update-me")).await);
    let to_delete = id_of(&s.create(&identified("delete-me")).await);
    let create = conditional_post("urn:uuid:c", "exists");
    let b = bundle(
        "transaction",
        vec![
            create,
            post_entry("urn:uuid:o", heart_rate("urn:uuid:c")),
            put_entry(
                &format!("Patient?identifier={LOCAL}|update-me"),
                with(identified("update-me"), "gender", json!("male")),
            ),
            put_entry(
                &format!("Patient?identifier={LOCAL}|new-one"),
                identified("new-one"),
            ),
            request_entry("DELETE", &format!("Patient?identifier={LOCAL}|delete-me")),
            request_entry("DELETE", &format!("Patient?identifier={LOCAL}|never-was")),
        ],
    );
    let response = json_with_status(post(&s, &b).await, 200).await;
    assert_eq!(
        statuses(&response),
        vec![
            "200 OK",
            "201 Created",
            "200 OK",
            "201 Created",
            "204 No Content",
            "204 No Content"
        ]
    );
    let all = entries(&response);
    // The matched create answers with the existing resource, and references to its
    // fullUrl point at it.
    assert_eq!(located_id(&all[0]), existing);
    let obs = json_with_status(
        s.get(&format!("Observation/{}", located_id(&all[1]))).await,
        200,
    )
    .await;
    assert_eq!(obs["subject"]["reference"], format!("Patient/{existing}"));
    let updated = json_with_status(s.get(&format!("Patient/{to_update}")).await, 200).await;
    assert_eq!(updated["gender"], "male");
    assert_eq!(updated["meta"]["versionId"], "2");
    assert_eq!(located_id(&all[2]), to_update);
    assert_eq!(
        count(&s, &format!("Patient?identifier={LOCAL}|new-one")).await,
        1
    );
    assert_eq!(s.get(&format!("Patient/{to_delete}")).await.status(), 410);
    assert_eq!(
        count(&s, &format!("Patient?identifier={LOCAL}|exists")).await,
        1
    );
}

async fn ambiguous_conditional_writes_fail_with_412(s: TestServer) {
    s.create(&identified("pair")).await;
    s.create(&identified("pair")).await;
    let before = history_everything(&s).await;
    let query = format!("Patient?identifier={LOCAL}|pair");
    let create = conditional_post("urn:uuid:c", "pair");
    for entry in [
        create,
        put_entry(&query, identified("pair")),
        request_entry("DELETE", &query),
    ] {
        let b = bundle(
            "transaction",
            vec![post_entry("urn:uuid:x", identified("extra")), entry],
        );
        refused(post(&s, &b).await, 412, 1).await;
    }
    assert_eq!(history_everything(&s).await, before);
}

// --- atomicity ------------------------------------------------------------------------------

async fn a_failing_last_entry_leaves_nothing_written(s: TestServer) {
    let kept = id_of(&s.create(&identified("kept")).await);
    let gone = id_of(&s.create(&identified("not-gone")).await);
    let guarded = id_of(&s.create(&identified("guarded")).await);
    let patients = count(&s, "Patient").await;
    let versions = history_everything(&s).await;
    let failing: Vec<(Value, u16)> = vec![
        // Not R4: an element Patient does not have.
        (
            post_entry("urn:uuid:bad", with(patient(), "colour", json!("blue"))),
            400,
        ),
        // A reference to nothing on this server.
        (
            post_entry("urn:uuid:bad", heart_rate("Patient/does-not-exist")),
            422,
        ),
        // A stale If-Match.
        (
            json!({"resource": with(identified("guarded"), "id", json!(guarded)),
                "request": {"method": "PUT", "url": format!("Patient/{guarded}"), "ifMatch": "W/\"7\""}}),
            412,
        ),
    ];
    for (last, status) in failing {
        let b = bundle(
            "transaction",
            vec![
                post_entry("urn:uuid:p", identified("new")),
                post_entry("urn:uuid:o", heart_rate("urn:uuid:p")),
                put_entry(
                    &format!("Patient/{kept}"),
                    with(
                        with(identified("kept"), "id", json!(kept)),
                        "gender",
                        json!("other"),
                    ),
                ),
                request_entry("DELETE", &format!("Patient/{gone}")),
                last,
            ],
        );
        refused(post(&s, &b).await, status, 4).await;
        assert_eq!(count(&s, "Patient").await, patients, "status {status}");
        assert_eq!(count(&s, "Observation").await, 0, "status {status}");
        assert_eq!(history_everything(&s).await, versions, "status {status}");
        let still = json_with_status(s.get(&format!("Patient/{kept}")).await, 200).await;
        assert_eq!(still["meta"]["versionId"], "1");
        assert_eq!(still["gender"], "female");
        json_with_status(s.get(&format!("Patient/{gone}")).await, 200).await;
    }
}

async fn an_entry_failing_validation_at_the_tenants_level_fails_the_transaction(s: TestServer) {
    s.state
        .store
        .set_write_validation(&s.state.tenant.id, ValidationLevel::Norwegian)
        .await
        .unwrap();
    // An H-number under the system name "HNR" is R4, but not what no-basis allows.
    let hnr = with(
        patient(),
        "identifier",
        json!([{"system": "HNR", "value": "15458010088"}]),
    );
    let plain = json!({"resourceType": "Patient", "name": [{"family": "Gyldig", "given": ["Kari"]}],
        "gender": "female", "birthDate": "1980-05-05"});
    let b = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:ok", plain),
            post_entry("urn:uuid:hnr", hnr),
        ],
    );
    refused(post(&s, &b).await, 422, 1).await;
    assert_eq!(count(&s, "Patient").await, 0);
}

async fn each_entry_leaves_its_access_log_row(s: TestServer) {
    let tenant = s.state.tenant.id.clone();
    let creates = AuditQuery {
        tenant_id: tenant.clone(),
        actions: Some(vec!["C".into()]),
        limit: 1000,
        ..Default::default()
    };
    let store = &s.state.store;
    let before = store.count_audit(&creates).await.unwrap();
    let b = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:p", identified("logged")),
            post_entry("urn:uuid:o", heart_rate("urn:uuid:p")),
        ],
    );
    let response = json_with_status(post(&s, &b).await, 200).await;
    let patient_id = located_id(&entries(&response)[0]);
    let after = store.count_audit(&creates).await.unwrap();
    assert_eq!(after - before, 2);
    let about_patient = AuditQuery {
        tenant_id: tenant,
        patients: Some(vec![patient_id]),
        limit: 1000,
        ..Default::default()
    };
    let rows = s.state.store.search_audit(&about_patient).await.unwrap();
    let mut entities: Vec<String> = rows
        .iter()
        .filter_map(|r| r.record.entity.clone())
        .collect();
    entities.sort();
    assert_eq!(entities.len(), 2, "{entities:?}");
    assert!(entities[0].starts_with("Observation/"), "{entities:?}");
    assert!(entities[1].starts_with("Patient/"), "{entities:?}");
}

// --- order ----------------------------------------------------------------------------------

async fn entries_are_processed_delete_post_put_get(s: TestServer) {
    let old = id_of(&s.create(&identified("ordered")).await);
    let create = conditional_post("urn:uuid:n", "ordered");
    let b = bundle(
        "transaction",
        vec![
            // GET last: it sees the PUT's resource.
            request_entry("GET", &format!("Patient?identifier={LOCAL}|put-here")),
            put_entry(
                "Patient/order-put",
                with(identified("put-here"), "id", json!("order-put")),
            ),
            // POST after DELETE: the deleted match no longer counts.
            create,
            request_entry("DELETE", &format!("Patient/{old}")),
        ],
    );
    let response = json_with_status(post(&s, &b).await, 200).await;
    assert_eq!(
        statuses(&response),
        vec!["200 OK", "201 Created", "201 Created", "204 No Content"]
    );
    let all = entries(&response);
    assert_eq!(all[0]["resource"]["type"], "searchset");
    assert_eq!(all[0]["resource"]["total"], 1);
    assert_eq!(
        all[0]["resource"]["entry"][0]["resource"]["id"],
        "order-put"
    );
    assert_ne!(located_id(&all[2]), old);
    assert_eq!(s.get(&format!("Patient/{old}")).await.status(), 410);
}

async fn two_entries_changing_one_resource_fail(s: TestServer) {
    let id = id_of(&s.create(&identified("twice")).await);
    let body = with(identified("twice"), "id", json!(id));
    let b = bundle(
        "transaction",
        vec![
            put_entry(&format!("Patient/{id}"), body.clone()),
            request_entry("DELETE", &format!("Patient?identifier={LOCAL}|twice")),
        ],
    );
    let outcome = refused(post(&s, &b).await, 400, 1).await;
    assert!(outcome.to_string().contains("Bundle.entry[0]"), "{outcome}");
    let dup_full_url = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:same", identified("a")),
            post_entry("urn:uuid:same", identified("b")),
        ],
    );
    refused(post(&s, &dup_full_url).await, 400, 1).await;
    assert_eq!(count(&s, "Patient").await, 1);
}

// --- batch ----------------------------------------------------------------------------------

async fn batch_entries_succeed_or_fail_on_their_own(s: TestServer) {
    let existing = id_of(&s.create(&identified("batch-existing")).await);
    let doomed = id_of(&s.create(&identified("batch-doomed")).await);
    let b = bundle(
        "batch",
        vec![
            post_entry("urn:uuid:a", identified("batch-new")),
            post_entry("urn:uuid:b", with(patient(), "colour", json!("blue"))),
            request_entry("GET", "Patient/no-such-patient"),
            json!({"resource": with(identified("batch-existing"), "id", json!(existing)),
                "request": {"method": "PUT", "url": format!("Patient/{existing}"), "ifMatch": "W/\"3\""}}),
            request_entry("DELETE", &format!("Patient/{doomed}")),
            request_entry("GET", &format!("Patient/{existing}")),
            // A batch does not resolve references between its entries.
            post_entry("urn:uuid:c", heart_rate("urn:uuid:a")),
            json!({"request": {"method": "PATCH", "url": format!("Patient/{existing}")},
                "resource": {"resourceType": "Parameters"}}),
        ],
    );
    let response = json_with_status(post(&s, &b).await, 200).await;
    assert_eq!(response["type"], "batch-response");
    assert_eq!(
        statuses(&response),
        vec![
            "201 Created",
            "400 Bad Request",
            "404 Not Found",
            "412 Precondition Failed",
            "204 No Content",
            "200 OK",
            "400 Bad Request",
            "405 Method Not Allowed"
        ]
    );
    let all = entries(&response);
    for failed in [1, 2, 3, 6, 7] {
        assert_eq!(
            all[failed]["response"]["outcome"]["resourceType"], "OperationOutcome",
            "entry {failed}: {}",
            all[failed]
        );
        assert!(all[failed].get("resource").is_none(), "{}", all[failed]);
    }
    assert!(
        all[6]["response"]["outcome"]
            .to_string()
            .contains("a batch does not resolve"),
        "{}",
        all[6]
    );
    assert!(
        all[7]["response"]["outcome"].to_string().contains("PATCH"),
        "{}",
        all[7]
    );
    assert_eq!(all[5]["resource"]["id"], existing);
    assert_eq!(all[5]["response"]["etag"], "W/\"1\"");
    let created = located_id(&all[0]);
    json_with_status(s.get(&format!("Patient/{created}")).await, 200).await;
    assert_eq!(s.get(&format!("Patient/{doomed}")).await.status(), 410);
    assert_eq!(count(&s, "Observation").await, 0);
    assert_eq!(
        count(&s, &format!("Patient?identifier={LOCAL}|batch-new")).await,
        1
    );
}

async fn get_entries_read_vread_and_search(s: TestServer) {
    let id = id_of(&s.create(&identified("readable")).await);
    for kind in ["batch", "transaction"] {
        let b = bundle(
            kind,
            vec![
                request_entry("GET", &format!("Patient/{id}")),
                request_entry("GET", &format!("Patient/{id}/_history/1")),
                request_entry("GET", &format!("Patient?identifier={LOCAL}|readable")),
                json!({"request": {"method": "GET", "url": format!("Patient/{id}"),
                    "ifNoneMatch": "W/\"1\""}}),
            ],
        );
        let response = json_with_status(post(&s, &b).await, 200).await;
        assert_eq!(
            statuses(&response),
            vec!["200 OK", "200 OK", "200 OK", "304 Not Modified"],
            "{kind}"
        );
        let all = entries(&response);
        assert_eq!(all[0]["resource"]["id"], id);
        assert_eq!(all[0]["response"]["etag"], "W/\"1\"");
        assert!(all[0]["response"]["lastModified"].as_str().is_some());
        assert_eq!(all[1]["resource"]["meta"]["versionId"], "1");
        assert_eq!(all[2]["resource"]["total"], 1);
        assert!(all[3].get("resource").is_none());
    }
}

async fn prefer_return_minimal_leaves_out_the_resources(s: TestServer) {
    let b = bundle(
        "transaction",
        vec![post_entry("urn:uuid:p", identified("minimal"))],
    );
    let r = post_headers(&s, &s.client, &[("Prefer", "return=minimal")], &b).await;
    let response = json_with_status(r, 200).await;
    let entry = &entries(&response)[0];
    assert!(entry.get("resource").is_none(), "{entry}");
    assert_eq!(entry["response"]["status"], "201 Created");
    assert!(entry["response"]["location"].as_str().is_some());
}

// --- authorization --------------------------------------------------------------------------

async fn a_patient_token_cannot_write_another_patients_data(s: TestServer) {
    let mine = id_of(&s.create(&identified("mine")).await);
    let theirs = id_of(&s.create(&identified("theirs")).await);
    let token = s
        .token("patient/Observation.cruds patient/Patient.rs", Some(&mine))
        .await;
    let client = s.client_with(&token);
    let b = |kind: &str| {
        bundle(
            kind,
            vec![
                post_entry("urn:uuid:a", heart_rate(&format!("Patient/{mine}"))),
                post_entry("urn:uuid:b", heart_rate(&format!("Patient/{theirs}"))),
            ],
        )
    };
    refused(post_with(&s, &client, &b("transaction")).await, 403, 1).await;
    assert_eq!(count(&s, "Observation").await, 0);

    let response = json_with_status(post_with(&s, &client, &b("batch")).await, 200).await;
    assert_eq!(statuses(&response), vec!["201 Created", "403 Forbidden"]);
    assert_eq!(count(&s, &format!("Observation?patient={mine}")).await, 1);
    assert_eq!(count(&s, &format!("Observation?patient={theirs}")).await, 0);

    // Creating a Patient is not within a patient token's scopes at all.
    let create_patient = bundle("transaction", vec![post_entry("urn:uuid:p", patient())]);
    refused(post_with(&s, &client, &create_patient).await, 403, 0).await;
    // Nor is reading the other patient, even as a GET entry of a transaction.
    let read_theirs = bundle(
        "batch",
        vec![request_entry("GET", &format!("Patient/{theirs}"))],
    );
    let response = json_with_status(post_with(&s, &client, &read_theirs).await, 200).await;
    assert_eq!(statuses(&response), vec!["404 Not Found"]);
}

async fn a_bundle_needs_a_token(s: TestServer) {
    let b = bundle("batch", vec![]);
    let r = s
        .anonymous
        .post(&s.base)
        .header("Content-Type", "application/fhir+json")
        .body(b.to_string())
        .send()
        .await
        .unwrap();
    outcome_with_status(r, 401).await;
}

// --- formats and refusals -------------------------------------------------------------------

async fn xml_bundles_are_processed_and_answered_in_xml(s: TestServer) {
    let xml = r#"<Bundle xmlns="http://hl7.org/fhir">
  <type value="transaction"/>
  <entry>
    <fullUrl value="urn:uuid:5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"/>
    <resource>
      <Patient>
        <identifier><system value="http://example.org/fhir/local-patient-id"/><value value="xml-1"/></identifier>
        <name><family value="Nordmann"/><given value="Kari"/></name>
        <gender value="female"/>
      </Patient>
    </resource>
    <request><method value="POST"/><url value="Patient"/></request>
  </entry>
</Bundle>"#;
    let r = s
        .client
        .post(&s.base)
        .header("Content-Type", "application/fhir+xml")
        .header("Accept", "application/fhir+xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    crate::formats::assert_xml_root(&text, "Bundle");
    assert!(
        text.contains(r#"<type value="transaction-response"/>"#),
        "{text}"
    );
    assert!(text.contains(r#"<status value="201 Created"/>"#), "{text}");
    assert_eq!(
        count(&s, &format!("Patient?identifier={LOCAL}|xml-1")).await,
        1
    );
}

async fn only_batch_and_transaction_bundles_are_processed(s: TestServer) {
    let collection = bundle("collection", vec![post_entry("urn:uuid:p", patient())]);
    let outcome = outcome_with_status(post(&s, &collection).await, 400).await;
    assert!(outcome.to_string().contains("'collection'"), "{outcome}");
    let outcome = outcome_with_status(post(&s, &patient()).await, 400).await;
    assert!(outcome.to_string().contains("Bundle"), "{outcome}");
    let empty = json_with_status(post(&s, &bundle("batch", vec![])).await, 200).await;
    assert_eq!(empty["type"], "batch-response");
    assert_eq!(count(&s, "Patient").await, 0);
    // The base takes POST only.
    let r = s.client.delete(&s.base).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
}

async fn patch_entries_fail_the_transaction_naming_the_entry(s: TestServer) {
    let id = id_of(&s.create(&identified("patched")).await);
    let b = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:p", identified("not-written")),
            json!({"request": {"method": "PATCH", "url": format!("Patient/{id}")},
                "resource": {"resourceType": "Parameters"}}),
        ],
    );
    let outcome = refused(post(&s, &b).await, 400, 1).await;
    assert!(outcome.to_string().contains("PATCH"), "{outcome}");
    assert_eq!(count(&s, "Patient").await, 1);
}

async fn more_entries_than_the_limit_are_refused(s: TestServer) {
    let over = helsebro::fhir::interactions::transaction::MAX_ENTRIES + 1;
    let b = bundle(
        "batch",
        (0..over)
            .map(|i| post_entry(&format!("urn:uuid:{i}"), identified(&format!("many-{i}"))))
            .collect(),
    );
    let outcome = outcome_with_status(post(&s, &b).await, 413).await;
    assert!(
        outcome.to_string().contains(&format!("{over} entries")),
        "{outcome}"
    );
    assert_eq!(count(&s, "Patient").await, 0);
}

async fn the_capability_statement_lists_batch_and_transaction(s: TestServer) {
    let cs = json_with_status(s.get("metadata").await, 200).await;
    let codes: Vec<&str> = cs["rest"][0]["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert!(codes.contains(&"transaction"), "{codes:?}");
    assert!(codes.contains(&"batch"), "{codes:?}");
}

on_both_backends!(
    urn_uuid_references_become_the_assigned_ids,
    a_placeholder_naming_no_entry_fails_the_transaction,
    conditional_references_resolve_to_their_one_match,
    a_conditional_reference_without_a_match_fails,
    a_conditional_reference_with_several_matches_is_412,
    conditional_create_update_and_delete_in_a_transaction,
    ambiguous_conditional_writes_fail_with_412,
    a_failing_last_entry_leaves_nothing_written,
    an_entry_failing_validation_at_the_tenants_level_fails_the_transaction,
    each_entry_leaves_its_access_log_row,
    entries_are_processed_delete_post_put_get,
    two_entries_changing_one_resource_fail,
    batch_entries_succeed_or_fail_on_their_own,
    get_entries_read_vread_and_search,
    prefer_return_minimal_leaves_out_the_resources,
    a_patient_token_cannot_write_another_patients_data,
    a_bundle_needs_a_token,
    xml_bundles_are_processed_and_answered_in_xml,
    only_batch_and_transaction_bundles_are_processed,
    patch_entries_fail_the_transaction_naming_the_entry,
    more_entries_than_the_limit_are_refused,
    the_capability_statement_lists_batch_and_transaction,
);
