//! Two Helsebro instances on one database, behind one public base, behave as one server:
//! concurrent conditional creates (single and in transactions, split across both) create
//! once, an ETag from one is honoured by `If-Match` on the other, and a paging link from
//! one continues on the other without duplicates or gaps while writes go on.

use helsebro_blackbox::reqwest::{Client, Response};
use helsebro_blackbox::{json_with_status, start_on, start_with, Backend, Options, TestServer};
use serde_json::{json, Value};

use crate::rest::{id_of, patient, with};

/// The base both instances answer for, as behind a load balancer.
const PUBLIC: &str = "https://fhir.example.test/fhir";
const LOCAL: &str = "http://example.org/fhir/local-patient-id";

fn behind_one_base() -> Options {
    Options {
        base_url: Some(PUBLIC.into()),
        ..Default::default()
    }
}

/// Two instances on one fresh database.
async fn two_instances(backend: Backend) -> (TestServer, TestServer) {
    let a = start_with(backend, behind_one_base()).await;
    let b = start_on(backend, a.database_url.clone(), None, behind_one_base()).await;
    (a, b)
}

macro_rules! on_two_instances {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (a, b) = super::two_instances(helsebro_blackbox::Backend::Sqlite).await;
                    super::$name(a, b).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let (a, b) = super::two_instances(helsebro_blackbox::Backend::Postgres).await;
                    super::$name(a, b).await
                }
            }
        )+
    };
}

/// An instance's own address for a URL under the public base.
fn on(instance: &TestServer, public_url: &str) -> String {
    public_url.replacen(PUBLIC, &instance.base, 1)
}

fn identified(value: &str) -> Value {
    with(
        patient(),
        "identifier",
        json!([{"system": LOCAL, "value": value}]),
    )
}

async fn send_json(
    client: &Client,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &Value,
) -> Response {
    let mut req = client
        .request(method.parse().expect("method"), url)
        .header("Content-Type", "application/fhir+json");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.body(body.to_string()).send().await.expect("request")
}

/// `PUT` of `body` with `If-Match: etag`.
async fn put_if_match(client: &Client, url: &str, etag: &str, body: &Value) -> Response {
    send_json(client, "PUT", url, &[("If-Match", etag.to_string())], body).await
}

async fn total(s: &TestServer, query: &str) -> i64 {
    let b = json_with_status(s.get(query).await, 200).await;
    b["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("no total: {b}"))
}

// --- tests ---------------------------------------------------------------------------------

async fn concurrent_conditional_creates_create_once(a: TestServer, b: TestServer) {
    let condition = format!("identifier={LOCAL}|once");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let instance = if i % 2 == 0 { &a } else { &b };
        let (client, base) = (instance.client.clone(), instance.base.clone());
        let condition = condition.clone();
        tasks.push(tokio::spawn(async move {
            if i % 4 < 2 {
                let r = send_json(
                    &client,
                    "POST",
                    &format!("{base}/Patient"),
                    &[("If-None-Exist", condition)],
                    &identified("once"),
                )
                .await;
                let status = r.status().as_u16();
                let body: Value = r.json().await.expect("json");
                (status, id_of(&body))
            } else {
                let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
                    "fullUrl": "urn:uuid:7a1f3e0c-2b4d-4c6e-8f10-a2b3c4d5e6f7",
                    "resource": identified("once"),
                    "request": {"method": "POST", "url": "Patient", "ifNoneExist": condition}
                }]});
                let r = send_json(&client, "POST", &base, &[], &bundle).await;
                let response = json_with_status(r, 200).await;
                let entry = &response["entry"][0];
                let status: u16 = entry["response"]["status"].as_str().expect("status")[..3]
                    .parse()
                    .expect("a status code");
                (status, id_of(&entry["resource"]))
            }
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }
    let created = results.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(status, _)| *status == 200 || *status == 201),
        "{results:?}"
    );
    let first = &results[0].1;
    assert!(results.iter().all(|(_, id)| id == first), "{results:?}");
    assert_eq!(total(&a, &format!("Patient?{condition}")).await, 1);
    assert_eq!(total(&b, &format!("Patient?{condition}")).await, 1);
}

async fn an_etag_from_one_instance_guards_writes_on_the_other(a: TestServer, b: TestServer) {
    let created = a.create(&identified("etag")).await;
    let id = id_of(&created);
    let url = |s: &TestServer| format!("{}/Patient/{id}", s.base);
    let body = |gender: &str| {
        with(
            with(identified("etag"), "id", json!(id)),
            "gender",
            json!(gender),
        )
    };
    let etag = a.get(&format!("Patient/{id}")).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(etag, "W/\"1\"");

    let r = put_if_match(&b.client, &url(&b), &etag, &body("male")).await;
    let updated = json_with_status(r, 200).await;
    assert_eq!(updated["meta"]["versionId"], "2");

    // The first instance sees the second's write: the ETag it handed out is stale now.
    let r = put_if_match(&a.client, &url(&a), &etag, &body("other")).await;
    assert_eq!(r.status(), 412);
    let in_transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": body("other"),
        "request": {"method": "PUT", "url": format!("Patient/{id}"), "ifMatch": etag}
    }]});
    let r = send_json(&a.client, "POST", &a.base, &[], &in_transaction).await;
    assert_eq!(r.status(), 412);

    let r = put_if_match(&a.client, &url(&a), "W/\"2\"", &body("other")).await;
    json_with_status(r, 200).await;
    let read = json_with_status(b.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read["meta"]["versionId"], "3");
    assert_eq!(read["gender"], "other");
}

async fn paging_continues_on_the_other_instance_while_writes_go_on(a: TestServer, b: TestServer) {
    let mut initial = Vec::new();
    for i in 0..25 {
        let p = with(
            identified(&format!("page-{i}")),
            "name",
            json!([{"family": "Sidevis", "given": ["Kari"]}]),
        );
        initial.push(id_of(&a.create(&p).await));
    }
    // Creates and updates of the same search, on both instances, while the pages are read.
    let writers: Vec<_> = [(&a, 0), (&b, 1)]
        .into_iter()
        .map(|(s, n)| {
            let (client, base, ids) = (s.client.clone(), s.base.clone(), initial.clone());
            tokio::spawn(async move {
                for i in 0..8 {
                    let p = with(
                        identified(&format!("late-{n}-{i}")),
                        "name",
                        json!([{"family": "Sidevis", "given": ["Sen"]}]),
                    );
                    let r = send_json(&client, "POST", &format!("{base}/Patient"), &[], &p).await;
                    assert_eq!(r.status(), 201);
                    let id = &ids[(i * 3 + n) % ids.len()];
                    let update = with(
                        with(identified("moved"), "id", json!(id)),
                        "name",
                        json!([{"family": "Sidevis", "given": ["Endret"]}]),
                    );
                    let r = send_json(
                        &client,
                        "PUT",
                        &format!("{base}/Patient/{id}"),
                        &[],
                        &update,
                    )
                    .await;
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();

    let mut seen: Vec<String> = Vec::new();
    let mut url = format!("{PUBLIC}/Patient?family=Sidevis&_count=4");
    let mut turn = 0;
    loop {
        let instance = if turn % 2 == 0 { &a } else { &b };
        turn += 1;
        let page = json_with_status(
            instance
                .client
                .get(on(instance, &url))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        for e in page["entry"].as_array().into_iter().flatten() {
            seen.push(id_of(&e["resource"]));
        }
        let next = page["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str().map(str::to_string));
        match next {
            Some(n) => {
                assert!(n.starts_with(PUBLIC), "links carry the public base: {n}");
                url = n;
            }
            None => break,
        }
        assert!(turn < 100, "paging does not end");
    }
    for w in writers {
        w.await.expect("writer");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a resource came twice: {seen:?}");
    for id in &initial {
        assert!(seen.contains(id), "{id} was skipped: {seen:?}");
    }
    assert!(turn > 6, "paged across both instances: {turn} pages");
}

on_two_instances!(
    concurrent_conditional_creates_create_once,
    an_etag_from_one_instance_guards_writes_on_the_other,
    paging_continues_on_the_other_instance_while_writes_go_on,
);
