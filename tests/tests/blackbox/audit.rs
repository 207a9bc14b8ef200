//! The access log: a row for every interaction (refused ones too), the patient's own view
//! of who looked, the auditor's search, an append-only log, and a hash chain that shows an
//! edited or removed row.

use helsebro::audit::verify::{verify_tenant, ChainState};
use helsebro::store::audit::AuditQuery;
use helsebro_blackbox::reqwest::Client;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::authorization::heart_rate;

async fn put(s: &TestServer, path: &str, body: Value) {
    let r = s.put_json(path, &body).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// The tenant's log as its auditor sees it, newest first.
async fn log(s: &TestServer, query: &str) -> Vec<Value> {
    let bundle =
        json_with_status(s.get(&format!("AuditEvent?_count=100&{query}")).await, 200).await;
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

fn subtype(e: &Value) -> &str {
    e["subtype"][0]["code"].as_str().unwrap()
}

fn entities(e: &Value) -> Vec<String> {
    e["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            x["what"]["reference"]
                .as_str()
                .or(x["description"].as_str())
        })
        .map(str::to_string)
        .collect()
}

/// The newest rows of requests that had no valid token (the empty tenant's chain).
async fn untenanted(s: &TestServer, limit: i64) -> Vec<helsebro::store::audit::AuditRecord> {
    let rows = s
        .state
        .store
        .search_audit(&AuditQuery {
            tenant_id: String::new(),
            limit,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.into_iter().map(|r| r.record).collect()
}

async fn status(c: &Client, url: String) -> u16 {
    c.get(url).send().await.unwrap().status().as_u16()
}

async fn every_interaction_leaves_a_row(s: TestServer) {
    put(
        &s,
        "Patient/p1",
        json!({"resourceType": "Patient", "id": "p1", "active": true}),
    )
    .await;
    let obs = s.create(&heart_rate("p1")).await;
    let obs_id = obs["id"].as_str().unwrap().to_string();
    assert_eq!(s.get("Patient/p1").await.status(), 200);
    assert_eq!(s.get("Patient/p1/_history/1").await.status(), 200);
    assert_eq!(s.get("Observation?patient=p1").await.status(), 200);
    assert_eq!(s.get("Patient/p1/_history").await.status(), 200);
    assert_eq!(s.get("Observation/_history").await.status(), 200);
    put(
        &s,
        "Patient/p1",
        json!({"resourceType": "Patient", "id": "p1", "active": false}),
    )
    .await;
    assert_eq!(
        s.delete(&format!("Observation/{obs_id}")).await.status(),
        204
    );
    // Refused: a token without the scope, and a write that fails validation.
    let reader = s.client_with(&s.token("system/Observation.rs", None).await);
    assert_eq!(status(&reader, s.url("Patient/p1")).await, 403);
    let bad = s
        .post_json(
            "Patient",
            &json!({"resourceType": "Patient", "gender": "x"}),
        )
        .await;
    assert_eq!(bad.status(), 422);

    let rows = log(&s, "").await;
    let find = |sub: &str, entity_prefix: &str, outcome: &str| {
        rows.iter().find(|e| {
            subtype(e) == sub
                && e["outcome"] == outcome
                && entities(e).iter().any(|x| x.starts_with(entity_prefix))
        })
    };
    let created = find("create", "Observation/", "0").expect("create");
    assert_eq!(created["action"], "C");
    assert!(
        entities(created).contains(&"Patient/p1".to_string()),
        "{created}"
    );
    assert_eq!(
        find("update", "Patient/p1/_history/1", "0").map(|e| &e["action"]),
        Some(&json!("U"))
    );
    assert!(find("update", "Patient/p1/_history/2", "0").is_some());
    assert!(find("read", "Patient/p1", "0").is_some());
    assert!(find("vread", "Patient/p1/_history/1", "0").is_some());
    let search = find("search-type", "Observation?patient", "0").expect("search");
    assert!(
        entities(search).contains(&"Patient/p1".to_string()),
        "the patient found"
    );
    assert!(find("history-instance", "Patient/p1", "0").is_some());
    assert!(find("history-type", "Observation/_history", "0").is_some());
    let deleted = find("delete", &format!("Observation/{obs_id}/_history/2"), "0").expect("delete");
    assert_eq!(deleted["action"], "D");
    let refused = find("read", "Patient/p1", "4").expect("refused read");
    assert_eq!(refused["outcomeDesc"], "403");
    assert!(
        find("create", "Patient", "4").is_some(),
        "the failed create"
    );
    // Who: the operator client, from the loopback address.
    assert_eq!(
        created["agent"][0]["who"]["identifier"]["value"],
        "helsebro-operator"
    );
    assert_eq!(created["agent"][0]["network"]["address"], "127.0.0.1");
    // Searches log parameter names, never values.
    assert_eq!(search["entity"][1]["description"], "Observation?patient");

    // A request without a valid token belongs to no tenant: it is logged on its own chain.
    assert_eq!(status(&s.anonymous, s.url("Patient/p1")).await, 401);
    let unknown = untenanted(&s, 10).await;
    let row = &unknown[0];
    assert_eq!(
        (row.outcome.as_str(), row.outcome_desc.as_deref()),
        ("4", Some("401"))
    );
    assert_eq!(row.entity.as_deref(), Some("Patient/p1"));
    assert!(row.agent_client.is_none());
    // A refused token request is logged too, with the OAuth error and no tenant.
    let refused = s
        .anonymous
        .post(format!("{}/auth/token", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_assertion_type=x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let rows = untenanted(&s, 1).await;
    let login = &rows[0];
    assert_eq!(
        (
            login.type_code.as_str(),
            login.outcome.as_str(),
            login.outcome_desc.as_deref()
        ),
        ("login", "4", Some("invalid_request"))
    );
}

async fn patients_see_exactly_their_own_access_log(s: TestServer) {
    for p in ["p1", "p2"] {
        put(
            &s,
            &format!("Patient/{p}"),
            json!({"resourceType": "Patient", "id": p}),
        )
        .await;
        s.create(&heart_rate(p)).await;
    }
    put(
        &s,
        "Practitioner/dr",
        json!({"resourceType": "Practitioner", "id": "dr",
               "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}],
               "name": [{"family": "Lege", "given": ["Lise"]}]}),
    )
    .await;
    let tenant = s.state.tenant.id.clone();
    s.state
        .store
        .add_care_relationship(&tenant, "dr", "p1", "fastlege")
        .await
        .unwrap();
    let doctor = s.client_with(&s.user_token("user/*.rs", "Practitioner/dr").await);
    assert_eq!(status(&doctor, s.url("Patient/p1")).await, 200);
    assert_eq!(status(&doctor, s.url("Observation?patient=p1")).await, 200);
    // The doctor's care does not reach the access log.
    assert_eq!(status(&doctor, s.url("AuditEvent")).await, 403);
    assert_eq!(s.get("Patient/p2").await.status(), 200);

    let p1 = s.client_with(&s.token("patient/*.rs", Some("p1")).await);
    let bundle = json_with_status(
        p1.get(s.url("AuditEvent?_count=100")).send().await.unwrap(),
        200,
    )
    .await;
    let events: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    // Every row names p1 and no one else's record; p2's read is not among them.
    assert!(!events.is_empty());
    for e in &events {
        let touched = entities(e);
        assert!(touched.contains(&"Patient/p1".to_string()), "{e}");
        assert!(!touched.iter().any(|t| t.contains("p2")), "{e}");
    }
    // The auditor sees the same rows, and since then the patient's own look at the log.
    let all_about_p1 = log(&s, "patient=p1").await;
    assert_eq!(all_about_p1.len(), events.len() + 1);
    assert_eq!(bundle["total"], events.len());
    assert_eq!(
        entities(&all_about_p1[0]),
        ["Patient/p1", "AuditEvent?_count"]
    );
    assert_eq!(
        all_about_p1[0]["agent"][0]["who"]["identifier"]["value"],
        "helsebro-operator"
    );
    // The doctor's read, by name and role; no internal ids, client ids or addresses.
    let read = events
        .iter()
        .find(|e| subtype(e) == "read" && e["agent"][0]["role"][0]["text"] == "Helsepersonell")
        .expect("the doctor's read");
    assert_eq!(read["agent"][0]["who"]["display"], "Lise Lege");
    let text = read.to_string();
    assert!(!text.contains("Practitioner/dr"), "{text}");
    assert!(
        !text.contains("127.0.0.1") && !text.contains("helsebro-operator"),
        "{text}"
    );
    // The auditor's view of the same row has the reference and the HPR number.
    let audited = all_about_p1.iter().find(|e| e["id"] == read["id"]).unwrap();
    assert_eq!(audited["agent"][0]["who"]["reference"], "Practitioner/dr");
    assert_eq!(audited["agent"][0]["who"]["identifier"]["value"], "9144900");
    // Asking for another patient's log gives an empty log, not an error.
    let other = json_with_status(
        p1.get(s.url("AuditEvent?patient=p2")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(other["total"], 0);
    let one = p1
        .get(s.url(&format!("AuditEvent/{}", read["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(json_with_status(one, 200).await["id"], read["id"]);
    let p2_row = log(&s, "patient=p2").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        status(&p1, s.url(&format!("AuditEvent/{p2_row}"))).await,
        404
    );
}

async fn the_auditor_searches_by_agent_date_and_action(s: TestServer) {
    put(
        &s,
        "Patient/p1",
        json!({"resourceType": "Patient", "id": "p1"}),
    )
    .await;
    put(
        &s,
        "Practitioner/dr",
        json!({"resourceType": "Practitioner", "id": "dr"}),
    )
    .await;
    let tenant = s.state.tenant.id.clone();
    s.state
        .store
        .add_care_relationship(&tenant, "dr", "p1", "fastlege")
        .await
        .unwrap();
    let doctor = s.client_with(&s.user_token("user/*.rs", "Practitioner/dr").await);
    assert_eq!(status(&doctor, s.url("Patient/p1")).await, 200);
    let by_agent = log(&s, "agent=Practitioner/dr").await;
    assert_eq!(by_agent.len(), 1);
    assert_eq!(subtype(&by_agent[0]), "read");
    let creates = log(&s, "action=C").await;
    assert!(creates.iter().all(|e| e["action"] == "C"));
    let updates = log(&s, "action=U").await;
    assert_eq!(updates.len(), 2, "the two PUTs that created");
    assert_eq!(log(&s, "date=lt2000-01-01").await.len(), 0);
    let today = &by_agent[0]["recorded"].as_str().unwrap()[..10];
    assert!(!log(&s, &format!("date=ge{today}&date=le{today}"))
        .await
        .is_empty());
    let bad = s.get("AuditEvent?action=X").await;
    assert_eq!(bad.status(), 400);
    // Paging: newest first, with a next link.
    let page = json_with_status(s.get("AuditEvent?_count=1").await, 200).await;
    let next = page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .expect("next link")["url"]
        .as_str()
        .unwrap()
        .to_string();
    let second = json_with_status(s.get(&next).await, 200).await;
    assert_ne!(
        second["entry"][0]["resource"]["id"],
        page["entry"][0]["resource"]["id"]
    );
}

async fn the_log_is_append_only(s: TestServer) {
    // The CapabilityStatement says so: read and search only.
    let cs = json_with_status(s.get("metadata").await, 200).await;
    let audit = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "AuditEvent")
        .expect("AuditEvent in the CapabilityStatement")
        .clone();
    assert_eq!(
        audit["interaction"],
        json!([{"code": "read"}, {"code": "search-type"}])
    );
    put(
        &s,
        "Patient/p1",
        json!({"resourceType": "Patient", "id": "p1"}),
    )
    .await;
    let id = log(&s, "").await[0]["id"].as_str().unwrap().to_string();
    let event = json!({"resourceType": "AuditEvent", "id": id});
    for r in [
        s.put_json(&format!("AuditEvent/{id}"), &event).await,
        s.delete(&format!("AuditEvent/{id}")).await,
        s.post_json("AuditEvent", &event).await,
    ] {
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET");
    }
}

async fn the_chain_check_finds_an_edited_or_removed_row(s: TestServer) {
    put(
        &s,
        "Patient/p1",
        json!({"resourceType": "Patient", "id": "p1"}),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(s.get("Patient/p1").await.status(), 200);
    }
    let tenant = s.state.tenant.id.clone();
    let store = &s.state.store;
    let ChainState::Intact { rows } = verify_tenant(store, &tenant).await.unwrap() else {
        panic!("a fresh chain is intact");
    };
    assert!(rows >= 4);
    let seqs: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM audit_events WHERE tenant_id = $1 ORDER BY seq")
            .bind(&tenant)
            .fetch_all(store.pool())
            .await
            .unwrap();
    // Someone hides a refusal as a success.
    sqlx::query("UPDATE audit_events SET outcome = '4' WHERE seq = $1")
        .bind(seqs[1])
        .execute(store.pool())
        .await
        .unwrap();
    match verify_tenant(store, &tenant).await.unwrap() {
        ChainState::Broken { seq, why, .. } => {
            assert_eq!(seq, seqs[1]);
            assert!(why.contains("edited"), "{why}");
        }
        intact => panic!("an edited row went unnoticed: {intact:?}"),
    }
    sqlx::query("UPDATE audit_events SET outcome = '0' WHERE seq = $1")
        .bind(seqs[1])
        .execute(store.pool())
        .await
        .unwrap();
    assert!(matches!(
        verify_tenant(store, &tenant).await.unwrap(),
        ChainState::Intact { .. }
    ));
    // Someone removes a row.
    sqlx::query("DELETE FROM audit_events WHERE seq = $1")
        .bind(seqs[2])
        .execute(store.pool())
        .await
        .unwrap();
    match verify_tenant(store, &tenant).await.unwrap() {
        ChainState::Broken { seq, why, .. } => {
            assert_eq!(seq, seqs[3], "the row after the gap");
            assert!(why.contains("removed"), "{why}");
        }
        intact => panic!("a removed row went unnoticed: {intact:?}"),
    }
}

async fn retention_keeps_at_least_the_legal_minimum(s: TestServer) {
    use helsebro::retention::{apply, set, MINIMUM};
    use helsebro::store::retention::RetentionDays;
    put(
        &s,
        "Patient/p1",
        json!({"resourceType": "Patient", "id": "p1"}),
    )
    .await;
    assert_eq!(s.get("Patient/p1").await.status(), 200);
    let store = &s.state.store;
    let tenant = s.state.tenant.id.clone();
    let below = RetentionDays {
        audit: MINIMUM.audit - 1,
        delivery: MINIMUM.delivery,
    };
    assert!(set(store, &tenant, below).await.is_err());
    let longer = RetentionDays {
        audit: MINIMUM.audit + 365,
        delivery: MINIMUM.delivery,
    };
    set(store, &tenant, longer).await.unwrap();
    let now = helsebro::store::now_micros();
    let day = 24 * 3600 * 1_000_000i64;
    // Within the retention nothing goes.
    assert_eq!(apply(store, now + MINIMUM.audit * day).await.unwrap(), 0);
    let rows = log(&s, "").await.len();
    assert!(rows >= 2);
    // Past it the old rows go, and what remains (and follows) still verifies.
    let removed = apply(store, now + (longer.audit + 1) * day).await.unwrap();
    assert!(removed >= rows as u64, "{removed}");
    assert!(matches!(
        verify_tenant(store, &tenant).await.unwrap(),
        ChainState::Intact { rows: 0 }
    ));
    assert_eq!(s.get("Patient/p1").await.status(), 200);
    assert!(matches!(
        verify_tenant(store, &tenant).await.unwrap(),
        ChainState::Intact { rows: 1 }
    ));
    // A removed first row is still caught after retention.
    let first: i64 = sqlx::query_scalar("SELECT MIN(seq) FROM audit_events WHERE tenant_id = $1")
        .bind(&tenant)
        .fetch_one(store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq = $1")
        .bind(first)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(matches!(
        verify_tenant(store, &tenant).await.unwrap(),
        ChainState::Broken { .. }
    ));
}

on_both_backends!(
    retention_keeps_at_least_the_legal_minimum,
    every_interaction_leaves_a_row,
    patients_see_exactly_their_own_access_log,
    the_auditor_searches_by_agent_date_and_action,
    the_log_is_append_only,
    the_chain_check_finds_an_edited_or_removed_row,
);
