//! The receive side of the JFT contract: a document Bundle is accepted once (`202` and a
//! `Location`, the same for a retry), its `$status` follows it through the EHR's read and
//! journaling acknowledgement, bad documents get precise errors, the content is sealed at
//! rest, and only the right tokens of the right tenant get in.

use helsebro_blackbox::reqwest::{Client, Response};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

const NOTE: &str = "Pasienten har stabilt blodtrykk; oppfølging fortsetter";

fn document(id: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{id}")},
        "type": "document",
        "timestamp": "2026-11-30T08:00:00+01:00",
        "entry": [
            {"fullUrl": "urn:uuid:c0000000-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Composition", "status": "final",
                          "type": {"text": "Notat"}, "date": "2026-11-30T08:00:00+01:00",
                          "subject": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13116900216"}},
                          "author": [{"display": "Helsebro"}], "title": "Notat",
                          "section": [{"title": "Notat", "text": {"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{NOTE}</div>")}}]}}
        ]
    })
}

async fn send(s: &TestServer, c: &Client, doc: &Value) -> Response {
    c.post(format!("{}/jft/v1/Bundle", s.root))
        .header("Content-Type", "application/fhir+json")
        .body(doc.to_string())
        .send()
        .await
        .unwrap()
}

async fn status(s: &TestServer, c: &Client, location: &str) -> Value {
    let r = c.get(format!("{location}/$status")).send().await.unwrap();
    let _ = s;
    json_with_status(r, 200).await
}

async fn documents_arrive_once_and_get_journaled(s: TestServer) {
    let sender = s.client_with(&s.token("system/Bundle.c", None).await);
    let ehr = s.client_with(&s.token("system/Bundle.rus", None).await);
    let doc = document("7d0f3d4c-1d8e-4b4e-9f6e-2f1f6a0b0001");
    let first = send(&s, &sender, &doc).await;
    assert_eq!(first.status(), 202);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{}/jft/v1/Bundle/", s.root)));
    // A retry (the answer got lost) is the same document.
    let again = send(&s, &sender, &doc).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["location"], location.as_str());
    let st = status(&s, &sender, &location).await;
    assert!(st["registered"].is_string());
    assert!(st["read"].is_null() && st["journaled"].is_null());

    // The EHR reads what arrived: one document, as sent.
    let arrived = json_with_status(
        ehr.get(format!(
            "{}/jft/v1/Bundle?_lastUpdated=ge2026-01-01",
            s.root
        ))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(arrived["entry"].as_array().unwrap().len(), 1);
    assert_eq!(arrived["entry"][0]["resource"], doc);
    assert_eq!(arrived["entry"][0]["fullUrl"], location.as_str());
    assert!(status(&s, &sender, &location).await["read"].is_string());
    let ack = ehr
        .post(format!("{location}/$journaling-acknowledged"))
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);
    let st = status(&s, &sender, &location).await;
    assert!(st["journaled"].is_string());

    // The content is sealed at rest.
    let raw = crate::erasure::dump(&s).await;
    assert!(!raw.contains(NOTE), "the note is readable in the database");
    // Each hop is in the access log.
    let log = json_with_status(s.get("AuditEvent?_count=100").await, 200).await;
    let entities: Vec<String> = log["entry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["resource"]["entity"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|x| x["what"]["reference"].as_str().map(str::to_string))
        .collect();
    let id = location.rsplit('/').next().unwrap();
    assert!(entities.contains(&format!("Bundle/{id}")));
    assert!(entities.contains(&format!("Bundle/{id}/$journaling-acknowledged")));
}

async fn bad_documents_and_wrong_tokens_are_refused(s: TestServer) {
    let sender = s.client_with(&s.token("system/Bundle.c", None).await);
    let good = document("7d0f3d4c-1d8e-4b4e-9f6e-2f1f6a0b0002");
    for (change, expression) in [
        (json!({"resourceType": "Patient"}), "Bundle.resourceType"),
        (json!({"type": "collection"}), "Bundle.type"),
        (json!({"identifier": null}), "Bundle.identifier.value"),
        (json!({"entry": []}), "Bundle.entry[0].resource"),
    ] {
        let mut doc = good.clone();
        for (k, v) in change.as_object().unwrap() {
            doc[k] = v.clone();
        }
        let outcome = json_with_status(send(&s, &sender, &doc).await, 400).await;
        assert_eq!(outcome["issue"][0]["expression"][0], expression, "{change}");
    }
    let mut big = good.clone();
    big["entry"][0]["resource"]["title"] = json!("x".repeat(1024 * 1024));
    assert_eq!(send(&s, &sender, &big).await.status(), 413);
    let not_json = sender
        .post(format!("{}/jft/v1/Bundle", s.root))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    // Tokens: none, a patient's, one without Bundle.c; the EHR's scopes without the sender's.
    assert_eq!(send(&s, &s.anonymous, &good).await.status(), 401);
    let _ = s
        .put_json(
            "Patient/p1",
            &json!({"resourceType": "Patient", "id": "p1"}),
        )
        .await;
    let patient = s.client_with(&s.token("patient/*.cruds", Some("p1")).await);
    assert_eq!(send(&s, &patient, &good).await.status(), 403);
    let reader = s.client_with(&s.token("system/Bundle.rs", None).await);
    assert_eq!(send(&s, &reader, &good).await.status(), 403);
    let sent = send(&s, &sender, &good).await;
    let location = sent.headers()["location"].to_str().unwrap().to_string();
    // A sender without read scope cannot read the list, nor acknowledge.
    let list = sender
        .get(format!("{}/jft/v1/Bundle", s.root))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 403);
    let ack = reader
        .post(format!("{location}/$journaling-acknowledged"))
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 403);
    // Another tenant sees nothing of it.
    let tenant = s.other_tenant(true).await;
    let foreign = s.client_with(&s.token_for(&tenant, "system/Bundle.rus", None).await);
    let r = foreign
        .get(format!("{location}/$status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = foreign.get(&location).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let list = json_with_status(
        foreign
            .get(format!("{}/jft/v1/Bundle", s.root))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["total"], 0);
}

on_both_backends!(
    documents_arrive_once_and_get_journaled,
    bad_documents_and_wrong_tokens_are_refused
);
