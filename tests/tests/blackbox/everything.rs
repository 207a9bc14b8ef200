//! `Patient/$everything`: the patient's whole record, paged, narrowed by `_type` and
//! `_since`, for the patient themself too, and logged.

use std::collections::BTreeSet;

use helsebro_blackbox::reqwest::Client;
use helsebro_blackbox::{json_with_status, on_both_backends_with_demo, TestServer};
use serde_json::Value;

/// Every entry of a search or operation, following `next` links.
async fn all_pages(s: &TestServer, c: &Client, first: &str) -> (Vec<String>, Value) {
    let mut url = s.url(first);
    let mut found = Vec::new();
    let mut first_page = Value::Null;
    loop {
        let page = json_with_status(c.get(&url).send().await.unwrap(), 200).await;
        for e in page["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            found.push(format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            ));
        }
        let next = next_link(&page);
        if first_page.is_null() {
            first_page = page;
        }
        match next {
            Some(n) => url = n,
            None => return (found, first_page),
        }
    }
}

/// The `next` link of a Bundle, if any.
pub(crate) fn next_link(page: &Value) -> Option<String> {
    page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
}

async fn the_whole_record_in_pages(s: TestServer) {
    let patient = "demo-patient-0";
    let mut expected = BTreeSet::from([format!("Patient/{patient}")]);
    for t in ["Observation", "Communication", "MedicationStatement"] {
        let (ids, _) = all_pages(&s, &s.client, &format!("{t}?patient={patient}&_count=200")).await;
        assert!(!ids.is_empty(), "the demo patient has {t}");
        expected.extend(ids);
    }
    let (ids, first) = all_pages(
        &s,
        &s.client,
        &format!("Patient/{patient}/$everything?_count=40"),
    )
    .await;
    assert_eq!(
        ids[0],
        format!("Patient/{patient}"),
        "the patient comes first"
    );
    assert_eq!(ids.len(), expected.len(), "nothing twice, nothing missed");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(first["total"], expected.len());
    assert_eq!(first["entry"].as_array().unwrap().len(), 40);

    let (only_obs, _) = all_pages(
        &s,
        &s.client,
        &format!("Patient/{patient}/$everything?_type=Observation"),
    )
    .await;
    assert!(only_obs.iter().all(|r| r.starts_with("Observation/")));
    assert_eq!(
        only_obs.len(),
        expected
            .iter()
            .filter(|r| r.starts_with("Observation/"))
            .count()
    );
    let (nothing, page) = all_pages(
        &s,
        &s.client,
        &format!("Patient/{patient}/$everything?_since=2999-01-01"),
    )
    .await;
    assert!(nothing.is_empty());
    assert_eq!(page["total"], 0);
    let bad = s
        .get(&format!("Patient/{patient}/$everything?_type=Practitioner"))
        .await;
    assert_eq!(bad.status(), 400);

    // The patient runs it on their own record, and only there.
    let own = s.client_with(&s.token("patient/*.rs", Some(patient)).await);
    let (mine, _) = all_pages(
        &s,
        &own,
        &format!("Patient/{patient}/$everything?_count=50"),
    )
    .await;
    assert_eq!(mine.len(), expected.len());
    let other = own
        .get(s.url("Patient/demo-patient-1/$everything"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    // Logged as an operation on the patient.
    let log = json_with_status(
        s.get(&format!("AuditEvent?patient={patient}&action=E"))
            .await,
        200,
    )
    .await;
    let rows: Vec<&Value> = log["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    assert!(rows.iter().any(|e| e["subtype"][0]["code"] == "operation"
        && e["entity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["what"]["reference"] == format!("Patient/{patient}/$everything"))));
}

/// Clients may still put a national identity number or a name in a URL; the request log
/// keeps paths only, which the log scan after a full run (`log_scan.rs`) checks with these
/// very requests.
async fn identifiers_in_urls_stay_out_of_the_logs(s: TestServer) {
    let (fnr, name) = helsebro::demo::demo_identities().remove(0);
    let by_number = format!("Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|{fnr}");
    let found = json_with_status(s.get(&by_number).await, 200).await;
    assert_eq!(found["entry"][0]["resource"]["id"], "demo-patient-0");
    let (given, family) = name.split_once(' ').unwrap();
    let by_name = format!("Patient?given={given}&family={family}");
    let found = json_with_status(s.get(&by_name).await, 200).await;
    assert!(found["entry"].as_array().is_some_and(|e| !e.is_empty()));
    // A whole name in one parameter (it matches no single name part, but is in the URL).
    assert_eq!(s.get(&format!("Patient?name={name}")).await.status(), 200);
}

on_both_backends_with_demo!(
    the_whole_record_in_pages,
    identifiers_in_urls_stay_out_of_the_logs
);
