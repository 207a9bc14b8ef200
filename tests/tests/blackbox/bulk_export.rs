//! FHIR Bulk Data `$export`: kick-off at system, patient and group level, the status
//! endpoint and the files; what is exported equals what the search API returns; only the
//! backend service that kicked a job off sees it; every step is in the access log.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use helsebro::export::worker::Worker;
use helsebro::export::ExportConfig;
use helsebro::served::ServedType;
use helsebro_blackbox::reqwest::{Client, Method, Response};
use helsebro_blackbox::{
    json_with_status, on_both_backends, on_both_backends_with_demo, TestServer,
};
use serde_json::{json, Value};

use crate::authorization::heart_rate;
use crate::backend_services::{assertion, client_key, token_request, ASSERTION_TYPE};
use crate::errors::outcome_with_status;
use crate::everything::next_link;

// --- helpers ---------------------------------------------------------------------------

/// A worker on the test server's database writing files of `file_resources` resources,
/// reading in pages of 7 so that page and file boundaries fall apart.
fn worker(s: &TestServer, file_resources: usize) -> Worker {
    Worker::new(
        s.state.store.clone(),
        ExportConfig {
            file_resources,
            page: 7,
            lease: Duration::from_secs(60),
            idle: Duration::from_millis(20),
        },
    )
}

/// Runs every due job to its end.
async fn run_jobs(s: &TestServer) {
    let w = worker(s, 10_000);
    while w.run_once().await.expect("the worker runs") {}
}

async fn kick_off(s: &TestServer, c: &Client, path: &str, query: &[(&str, &str)]) -> Response {
    c.get(s.url(path))
        .query(query)
        .header("Accept", "application/fhir+json")
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap()
}

/// The status URL of an accepted kick-off.
fn accepted(r: &Response) -> String {
    assert_eq!(r.status(), 202, "the kick-off is accepted");
    r.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string()
}

fn job_id(status_url: &str) -> String {
    status_url.rsplit('/').next().unwrap().to_string()
}

/// Polls the status URL until the manifest comes; every answer before is `202` with
/// `X-Progress` and `Retry-After`.
async fn poll_manifest(c: &Client, status_url: &str) -> Value {
    for _ in 0..3000 {
        let r = c.get(status_url).send().await.unwrap();
        if r.status() == 200 {
            let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
            return r.json().await.unwrap();
        }
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        assert!(r.headers().contains_key("x-progress"));
        assert!(r.headers().contains_key("retry-after"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the export did not complete");
}

/// The manifest of a job the worker has run to its end.
async fn completed_manifest(s: &TestServer, c: &Client, status_url: &str) -> Value {
    run_jobs(s).await;
    json_with_status(c.get(status_url).send().await.unwrap(), 200).await
}

/// Every resource of every file of the manifest by `Type/id`, after checking each file
/// against its manifest entry; no resource twice.
async fn download(c: &Client, manifest: &Value) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    for out in manifest["output"].as_array().unwrap() {
        let r = c.get(out["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/fhir+ndjson"));
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, out["count"].as_u64().unwrap(), "{out}");
        for line in lines {
            let resource: Value = serde_json::from_str(line).expect("each line is JSON");
            assert_eq!(resource["resourceType"], out["type"]);
            let key = format!(
                "{}/{}",
                resource["resourceType"].as_str().unwrap(),
                resource["id"].as_str().unwrap()
            );
            assert!(found.insert(key.clone(), resource).is_none(), "{key} twice");
        }
    }
    found
}

/// Every resource the search API returns for `query` (following `next`), by `Type/id`.
async fn searched(s: &TestServer, c: &Client, query: &str) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    let sep = if query.contains('?') { '&' } else { '?' };
    let mut url = s.url(&format!("{query}{sep}_count=500"));
    loop {
        let page = json_with_status(c.get(&url).send().await.unwrap(), 200).await;
        for e in page["entry"].as_array().into_iter().flatten() {
            let r = e["resource"].clone();
            let key = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            );
            found.insert(key, r);
        }
        match next_link(&page) {
            Some(n) => url = n,
            None => return found,
        }
    }
}

fn output_types(manifest: &Value) -> BTreeSet<String> {
    manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap().to_string())
        .collect()
}

/// Access-log rows the search finds, as AuditEvents.
async fn audit_rows(s: &TestServer, query: &str) -> Vec<Value> {
    searched(s, &s.client, query).await.into_values().collect()
}

fn names_entity(event: &Value, reference: &dyn Fn(&str) -> bool) -> bool {
    event["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["what"]["reference"].as_str().is_some_and(reference))
}

async fn put_patient(s: &TestServer, id: &str, active: bool) -> Value {
    let r = s
        .put_json(
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id, "active": active}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// A token of a backend service registered with `scope`, by client credentials.
async fn backend_token(s: &TestServer, scope: &str) -> String {
    let key = client_key("export-client");
    let client_id = s.register_backend_client(&key.jwk, scope).await;
    let signed = assertion(
        &key,
        &client_id,
        &format!("{}/auth/token", s.root),
        &uuid::Uuid::new_v4().to_string(),
    );
    let r = token_request(
        s,
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", signed.as_str()),
        ],
    )
    .await;
    let t = json_with_status(r, 200).await;
    t["access_token"].as_str().unwrap().to_string()
}

// --- tests -------------------------------------------------------------------------------

/// The full round trip: kick-off, polling while a worker runs in the background, every
/// file downloaded and every line parsed; the export equals what search returns, type by
/// type, resource by resource (ids, versions, content). Files are split at 100.
async fn a_system_export_equals_the_search_api(s: TestServer) {
    tokio::spawn(worker(&s, 100).run());
    let status_url = accepted(&kick_off(&s, &s.client, "$export", &[]).await);
    assert!(status_url.starts_with(&s.base));
    let manifest = poll_manifest(&s.client, &status_url).await;
    assert_eq!(manifest["requiresAccessToken"], true);
    assert_eq!(manifest["request"], format!("{}/$export", s.base));
    assert_eq!(manifest["error"], json!([]));
    assert!(manifest["transactionTime"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let exported = download(&s.client, &manifest).await;

    let mut expected = BTreeMap::new();
    for t in ServedType::ALL {
        expected.extend(searched(&s, &s.client, t.name()).await);
    }
    assert!(expected.len() > 300, "the demo data is exported");
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, resource) in &expected {
        assert!(resource["meta"]["versionId"].is_string(), "{key}");
        assert_eq!(
            &exported[key], resource,
            "{key} differs from its search result"
        );
    }
    assert_eq!(output_types(&manifest).len(), ServedType::ALL.len());
    let observation_files = manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "Observation")
        .count();
    assert!(observation_files > 1, "a type of more than 100 is split");

    // The files need the token.
    let file_url = manifest["output"][0]["url"].as_str().unwrap();
    let r = s.anonymous.get(file_url).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // The access log has the kick-off and each download, with whose data it carried.
    let job = job_id(&status_url);
    let kicked = audit_rows(&s, "AuditEvent?action=E").await;
    assert!(
        kicked
            .iter()
            .any(|e| names_entity(e, &|r| r == format!("$export/{job}"))),
        "no access-log row for the kick-off"
    );
    let downloads = audit_rows(&s, "AuditEvent?patient=demo-patient-3&action=R").await;
    assert!(
        downloads
            .iter()
            .any(|e| names_entity(e, &|r| r.starts_with(&format!("$export/{job}/")))),
        "no access-log row naming the patient for a download"
    );
}

async fn type_and_since_narrow_the_export(s: TestServer) {
    let before = put_patient(&s, "before", true).await;
    let before_time = before["meta"]["lastUpdated"].as_str().unwrap().to_string();
    let before_ms = helsebro_mappings::dates::parse_range(&before_time)
        .unwrap()
        .low;
    // `_since` one millisecond after the first patient's time (kept to the millisecond,
    // so the patient itself was written before it); the second patient is written until
    // its time is past that.
    let since_micros = before_ms + 1_000;
    let since = helsebro_mappings::dates::format_instant(since_micros);
    let mut n = 0;
    loop {
        let after = put_patient(&s, "after", n % 2 == 0).await;
        let t = after["meta"]["lastUpdated"].as_str().unwrap();
        if helsebro_mappings::dates::parse_range(t).unwrap().low >= since_micros + 1_000 {
            break;
        }
        n += 1;
    }
    let o = s.create(&heart_rate("after")).await;
    assert!(o["id"].is_string());

    let status_url = accepted(
        &kick_off(
            &s,
            &s.client,
            "$export",
            &[("_type", "Patient"), ("_since", &since)],
        )
        .await,
    );
    let manifest = completed_manifest(&s, &s.client, &status_url).await;
    let exported = download(&s.client, &manifest).await;
    assert_eq!(
        exported.keys().cloned().collect::<Vec<_>>(),
        vec!["Patient/after".to_string()],
        "only the patient changed after _since, and no other type"
    );

    let status_url = accepted(
        &kick_off(
            &s,
            &s.client,
            "$export",
            &[("_type", "Observation,Patient")],
        )
        .await,
    );
    let manifest = completed_manifest(&s, &s.client, &status_url).await;
    assert_eq!(
        output_types(&manifest),
        BTreeSet::from(["Observation".to_string(), "Patient".to_string()])
    );
    assert_eq!(download(&s.client, &manifest).await.len(), 3);
}

/// Several `_typeFilter`s of one type are ORed; each is a search the search API answers
/// alike.
async fn type_filters_are_ored(s: TestServer) {
    let by_code = "Observation?code=http://loinc.org|8867-4";
    let by_patient = "Observation?patient=Patient/demo-patient-1";
    let status_url = accepted(
        &kick_off(
            &s,
            &s.client,
            "$export",
            &[
                ("_type", "Observation,Organization"),
                ("_typeFilter", by_code),
                ("_typeFilter", by_patient),
            ],
        )
        .await,
    );
    let manifest = completed_manifest(&s, &s.client, &status_url).await;
    let exported = download(&s.client, &manifest).await;
    let code = searched(&s, &s.client, by_code).await;
    let patient = searched(&s, &s.client, by_patient).await;
    let mut either = code.clone();
    either.extend(patient.clone());
    assert!(either.len() > code.len() && either.len() > patient.len());
    let mut expected = either.clone();
    expected.extend(searched(&s, &s.client, "Organization").await);
    assert_eq!(exported, expected);

    // The Bulk Data 1.0 form: filters comma-separated in one parameter.
    let status_url = accepted(
        &kick_off(
            &s,
            &s.client,
            "$export",
            &[
                ("_type", "Observation"),
                ("_typeFilter", &format!("{by_code},{by_patient}")),
            ],
        )
        .await,
    );
    let again = download(&s.client, &manifest_of(&s, &status_url).await).await;
    assert_eq!(again, either);
}

async fn manifest_of(s: &TestServer, status_url: &str) -> Value {
    completed_manifest(s, &s.client, status_url).await
}

/// Patient level: the compartment types of every patient; group level: the same for the
/// care panel's members only. The panel is also readable as a Group.
async fn patient_and_group_level(s: TestServer) {
    let status_url = accepted(&kick_off(&s, &s.client, "Patient/$export", &[]).await);
    let manifest = manifest_of(&s, &status_url).await;
    assert_eq!(manifest["request"], format!("{}/Patient/$export", s.base));
    let exported = download(&s.client, &manifest).await;
    let mut expected = searched(&s, &s.client, "Patient").await;
    for t in ["Observation", "Communication", "MedicationStatement"] {
        let in_a_compartment = format!("{t}?patient:missing=false");
        expected.extend(searched(&s, &s.client, &in_a_compartment).await);
    }
    assert!(expected.keys().any(|k| k.starts_with("Communication/")));
    assert_eq!(exported, expected, "no Practitioner or Organization");

    let group = json_with_status(s.get("Group/demo-practitioner-0").await, 200).await;
    assert_eq!(group["type"], "person");
    assert_eq!(group["actual"], true);
    assert_eq!(
        group["managingEntity"]["reference"],
        "Practitioner/demo-practitioner-0"
    );
    let members: Vec<String> = group["member"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity"]["reference"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(members.len(), 8, "a third of the 24 demo patients");
    let listed = json_with_status(s.get("Group").await, 200).await;
    assert_eq!(listed["total"], 3);

    let status_url =
        accepted(&kick_off(&s, &s.client, "Group/demo-practitioner-0/$export", &[]).await);
    let exported = download(&s.client, &manifest_of(&s, &status_url).await).await;
    let mut expected = BTreeMap::new();
    for member in &members {
        let id = member.trim_start_matches("Patient/");
        expected.extend(searched(&s, &s.client, &format!("Patient?_id={id}")).await);
        for t in ["Observation", "Communication", "MedicationStatement"] {
            expected.extend(searched(&s, &s.client, &format!("{t}?patient={member}")).await);
        }
    }
    assert!(expected.keys().any(|k| k.starts_with("Observation/")));
    assert_eq!(exported, expected, "the members' data and nothing else");

    // A practitioner's user token exports nothing, not even their own panel.
    let user = s.client_with(
        &s.user_token("user/*.rs", "Practitioner/demo-practitioner-0")
            .await,
    );
    let r = kick_off(&s, &user, "Group/demo-practitioner-0/$export", &[]).await;
    outcome_with_status(r, 403).await;
    outcome_with_status(
        user.get(s.url("Group/demo-practitioner-0"))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;

    let r = kick_off(&s, &s.client, "Group/nobody/$export", &[]).await;
    outcome_with_status(r, 404).await;
    let r = kick_off(
        &s,
        &s.client,
        "Patient/$export",
        &[("_type", "Practitioner")],
    )
    .await;
    outcome_with_status(r, 400).await;
}

/// `DELETE` on the status URL removes the job and its files.
async fn deleting_a_job_removes_it_and_its_files(s: TestServer) {
    put_patient(&s, "p1", true).await;
    let status_url = accepted(&kick_off(&s, &s.client, "$export", &[]).await);
    let manifest = manifest_of(&s, &status_url).await;
    let file_url = manifest["output"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(s.client.get(&file_url).send().await.unwrap().status(), 200);

    // The files are sealed with the tenant's key, as resources are.
    let stored: Vec<String> = sqlx::query_scalar("SELECT content FROM export_files")
        .fetch_all(s.state.store.pool())
        .await
        .unwrap();
    assert!(!stored.is_empty());
    for content in stored {
        assert!(content.starts_with("enc1:") && !content.contains("resourceType"));
    }

    let r = s.client.delete(&status_url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let job = job_id(&status_url);
    let deletions = audit_rows(&s, "AuditEvent?action=D").await;
    assert!(deletions
        .iter()
        .any(|e| names_entity(e, &|r| r == format!("$export/{job}"))));
    outcome_with_status(s.client.get(&status_url).send().await.unwrap(), 404).await;
    outcome_with_status(s.client.get(&file_url).send().await.unwrap(), 404).await;
    outcome_with_status(s.client.delete(&status_url).send().await.unwrap(), 404).await;

    // A day after kick-off the job and its files are gone by themselves.
    let status_url = accepted(&kick_off(&s, &s.client, "$export", &[]).await);
    let file_url = manifest_of(&s, &status_url).await["output"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let w = worker(&s, 10_000);
    assert_eq!(w.expire(helsebro::store::now_micros()).await.unwrap(), 0);
    let a_day_later = helsebro::store::now_micros() + 24 * 3600 * 1_000_000 + 1;
    assert_eq!(w.expire(a_day_later).await.unwrap(), 1);
    outcome_with_status(s.client.get(&status_url).send().await.unwrap(), 404).await;
    outcome_with_status(s.client.get(&file_url).send().await.unwrap(), 404).await;

    // A job deleted before it ran is never run.
    let status_url = accepted(&kick_off(&s, &s.client, "$export", &[]).await);
    assert_eq!(
        s.client.delete(&status_url).send().await.unwrap().status(),
        202
    );
    run_jobs(&s).await;
    assert_eq!(
        s.client.get(&status_url).send().await.unwrap().status(),
        404
    );
}

/// Erasing a patient removes the exports whose files carry their data; others stay.
async fn erasing_a_patient_removes_the_exports_that_carry_them(s: TestServer) {
    put_patient(&s, "erased", true).await;
    put_patient(&s, "kept", true).await;
    s.create(&heart_rate("kept")).await;
    let patients = accepted(&kick_off(&s, &s.client, "$export", &[("_type", "Patient")]).await);
    let observations =
        accepted(&kick_off(&s, &s.client, "$export", &[("_type", "Observation")]).await);
    run_jobs(&s).await;
    let r = s
        .client
        .post(s.url("Patient/erased/$erase"))
        .send()
        .await
        .unwrap();
    json_with_status(r, 200).await;
    outcome_with_status(s.client.get(&patients).send().await.unwrap(), 404).await;
    let left = download(&s.client, &manifest_of(&s, &observations).await).await;
    assert_eq!(left.len(), 1);
}

/// A job reports progress until it is run; the transaction time fixes what it exports:
/// a resource changed afterwards is exported as it was, one created afterwards not at all.
async fn the_export_is_as_of_the_kick_off(s: TestServer) {
    put_patient(&s, "stays", true).await;
    let changed = put_patient(&s, "changes", true).await;
    let status_url = accepted(&kick_off(&s, &s.client, "$export", &[("_type", "Patient")]).await);

    let r = s.client.get(&status_url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-progress"], "queued");
    assert!(r.headers().contains_key("retry-after"));

    put_patient(&s, "changes", false).await;
    put_patient(&s, "later", true).await;
    let exported = download(&s.client, &manifest_of(&s, &status_url).await).await;
    assert_eq!(
        exported.keys().cloned().collect::<Vec<_>>(),
        vec!["Patient/changes".to_string(), "Patient/stays".to_string()]
    );
    assert_eq!(
        exported["Patient/changes"], changed,
        "the version current at kick-off"
    );

    // The status polls are in the access log, under the job.
    let job = job_id(&status_url);
    let rows = audit_rows(&s, "AuditEvent?action=R").await;
    assert!(rows
        .iter()
        .any(|e| names_entity(e, &|r| r == format!("$export/{job}"))));
}

/// A job leased by another instance is left to it while its lease lasts; when the
/// lease runs out (the instance died), the next worker takes the job over and ends it,
/// and the first can no longer write to it.
async fn a_job_whose_worker_died_is_taken_over(s: TestServer) {
    use helsebro::store::now_micros;
    put_patient(&s, "p1", true).await;
    let status_url = accepted(&kick_off(&s, &s.client, "$export", &[("_type", "Patient")]).await);
    let store = &s.state.store;
    let hour = 3600 * 1_000_000;
    let leased = store
        .lease_export_job("another-instance", now_micros() + hour)
        .await
        .unwrap()
        .expect("the job is due");
    assert_eq!(leased.id, job_id(&status_url));
    let w = worker(&s, 10_000);
    assert!(!w.run_once().await.unwrap(), "a held job is not taken");
    let r = s.client.get(&status_url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-progress"], "0 resources written");

    assert!(store
        .renew_export_lease(&leased.id, "another-instance", now_micros() - 1)
        .await
        .unwrap());
    assert!(
        w.run_once().await.unwrap(),
        "a job whose lease ran out is taken over"
    );
    let manifest = json_with_status(s.client.get(&status_url).send().await.unwrap(), 200).await;
    assert_eq!(manifest["output"][0]["count"], 1);
    assert!(!store
        .renew_export_lease(&leased.id, "another-instance", now_micros() + hour)
        .await
        .unwrap());
}

/// A POST kick-off takes its parameters in a Parameters body.
async fn a_post_kick_off_takes_parameters(s: TestServer) {
    put_patient(&s, "p1", true).await;
    s.create(&heart_rate("p1")).await;
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Observation"},
        {"name": "_outputFormat", "valueString": "application/fhir+ndjson"}
    ]});
    let r = s
        .client
        .post(s.url("$export"))
        .header("Accept", "application/fhir+json")
        .header("Prefer", "respond-async")
        .header("Content-Type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status_url = accepted(&r);
    let manifest = manifest_of(&s, &status_url).await;
    assert_eq!(manifest["request"], format!("{}/$export", s.base));
    assert_eq!(
        output_types(&manifest),
        BTreeSet::from(["Observation".to_string()])
    );
}

/// Only backend services export, each type within their scopes; a job and its files are
/// only for the tenant and client that kicked it off.
async fn only_the_backend_service_that_kicked_off_sees_the_job(s: TestServer) {
    put_patient(&s, "p1", true).await;
    s.create(&heart_rate("p1")).await;

    let r = kick_off(&s, &s.anonymous, "$export", &[]).await;
    outcome_with_status(r, 401).await;
    let patient = s.client_with(&s.token("patient/*.rs", Some("p1")).await);
    outcome_with_status(kick_off(&s, &patient, "$export", &[]).await, 403).await;
    outcome_with_status(kick_off(&s, &patient, "Patient/$export", &[]).await, 403).await;

    // A backend service of its own (client credentials) exports what its scopes reach.
    let service = s.client_with(&backend_token(&s, "system/Patient.rs").await);
    let status_url = accepted(&kick_off(&s, &service, "$export", &[]).await);
    let manifest = completed_manifest(&s, &service, &status_url).await;
    assert_eq!(
        output_types(&manifest),
        BTreeSet::from(["Patient".to_string()]),
        "types the scopes do not reach are left out"
    );
    let file_url = manifest["output"][0]["url"].as_str().unwrap().to_string();
    let r = kick_off(&s, &service, "$export", &[("_type", "Patient,Observation")]).await;
    outcome_with_status(r, 403).await;

    // Another client of the tenant, and the other tenant, find neither status nor files.
    for other in [
        s.client.clone(),
        s.client_with(
            &s.token_for(&s.other_tenant(true).await, "system/*.rs", None)
                .await,
        ),
    ] {
        outcome_with_status(other.get(&status_url).send().await.unwrap(), 404).await;
        outcome_with_status(other.get(&file_url).send().await.unwrap(), 404).await;
        outcome_with_status(other.delete(&status_url).send().await.unwrap(), 404).await;
    }
    assert_eq!(service.get(&file_url).send().await.unwrap().status(), 200);
    outcome_with_status(patient.get(&status_url).send().await.unwrap(), 403).await;
}

async fn bad_requests_are_refused_with_an_outcome(s: TestServer) {
    let plain = |accept: &str, prefer: Option<&str>| {
        let mut b = s
            .request(Method::GET, "$export")
            .header("Accept", accept.to_string());
        if let Some(p) = prefer {
            b = b.header("Prefer", p.to_string());
        }
        b
    };
    let r = plain("application/fhir+json", None).send().await.unwrap();
    outcome_with_status(r, 400).await;
    let r = plain("application/fhir+xml", Some("respond-async"))
        .send()
        .await
        .unwrap();
    outcome_with_status(r, 400).await;
    for query in [
        [("_outputFormat", "text/csv")],
        [("_type", "Encounter")],
        [("_type", "Patient,Nonsense")],
        [("_since", "yesterday")],
        [("_since", "2024-01-01")],
        [("_typeFilter", "Observation?nonsense=1")],
        [("_typeFilter", "Observation?_count=5")],
        [("_typeFilter", "Observation")],
        [("_elements", "id")],
        [("includeAssociatedData", "LatestProvenanceResources")],
        [("unheard-of", "1")],
    ] {
        let r = kick_off(&s, &s.client, "$export", &query).await;
        let outcome = outcome_with_status(r, 400).await;
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{query:?}");
    }
    let r = kick_off(
        &s,
        &s.client,
        "$export",
        &[
            ("_type", "Patient"),
            ("_typeFilter", "Observation?status=final"),
        ],
    )
    .await;
    outcome_with_status(r, 400).await;

    // Lenient handling ignores what is not supported.
    let r = s
        .request(Method::GET, "$export")
        .query(&[("_elements", "id")])
        .header("Accept", "application/fhir+json")
        .header("Prefer", "respond-async, handling=lenient")
        .send()
        .await
        .unwrap();
    accepted(&r);

    let r = s
        .client
        .get(s.url("$export-status/unknown"))
        .send()
        .await
        .unwrap();
    outcome_with_status(r, 404).await;
}

/// The CapabilityStatement names the three export operations by their canonicals.
async fn the_capability_statement_lists_export(s: TestServer) {
    let cs = json_with_status(s.get("metadata").await, 200).await;
    let bulk = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/";
    let has = |ops: &Value, definition: &str| {
        ops.as_array()
            .into_iter()
            .flatten()
            .any(|o| o["name"] == "export" && o["definition"] == format!("{bulk}{definition}"))
    };
    assert!(has(&cs["rest"][0]["operation"], "export"), "{cs}");
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let entry = |t: &str| resources.iter().find(|r| r["type"] == t).unwrap().clone();
    assert!(has(&entry("Patient")["operation"], "patient-export"));
    assert!(has(&entry("Group")["operation"], "group-export"));
}

on_both_backends_with_demo!(
    a_system_export_equals_the_search_api,
    type_filters_are_ored,
    patient_and_group_level,
);

on_both_backends!(
    type_and_since_narrow_the_export,
    deleting_a_job_removes_it_and_its_files,
    erasing_a_patient_removes_the_exports_that_carry_them,
    the_export_is_as_of_the_kick_off,
    a_post_kick_off_takes_parameters,
    a_job_whose_worker_died_is_taken_over,
    only_the_backend_service_that_kicked_off_sees_the_job,
    bad_requests_are_refused_with_an_outcome,
    the_capability_statement_lists_export,
);
