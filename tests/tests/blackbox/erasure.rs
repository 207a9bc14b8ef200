//! Erasure of a patient on the controller's request: nothing of the erased content is left
//! in any table (and, on SQLite, in the database file), neither as written nor in its
//! sealed or hashed stored form; the access log keeps its rows and the erasure's own, and
//! only the tenant's administrator may ask.

use helsebro_blackbox::{json_with_status, on_both_backends_with_demo, Backend, TestServer};
use serde_json::json;
use sqlx::Row;

const PATIENT: &str = "demo-patient-0";
const NAME: &str = "Slettemarka";
const TEXT: &str = "Denne meldingen skal ikke finnes etter slettingen";

/// Every row of every table as text.
pub async fn dump(s: &TestServer) -> String {
    helsebro_blackbox::db_scan::dump(s.backend, s.state.store.pool()).await
}

/// Whether any of `secrets` is in the SQLite database file or its write-ahead log.
pub fn in_sqlite_files(s: &TestServer, secrets: &[&str]) -> Option<String> {
    helsebro_blackbox::db_scan::in_sqlite_files(&s.database_url, secrets)
}

/// The patient's content as the database holds it: sealed JSON of every version of the
/// patient and of the message, the sealed national id of the record, and the keyed hash
/// the identifier is indexed by.
async fn stored_forms(s: &TestServer, fnr: &str, message: &str) -> Vec<String> {
    let pool = s.state.store.pool();
    let tenant = s.state.tenant.id.as_str();
    let mut forms: Vec<String> = Vec::new();
    for (table, id) in [
        ("resources", PATIENT),
        ("resources", message),
        ("resource_versions", PATIENT),
        ("resource_versions", message),
    ] {
        let rows = sqlx::query(&format!(
            "SELECT json FROM {table} WHERE tenant_id = $1 AND id = $2 AND json IS NOT NULL"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap();
        forms.extend(rows.iter().map(|r| r.get::<String, _>(0)));
    }
    let sealed_fnr: String =
        sqlx::query("SELECT national_id FROM patients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(PATIENT)
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0);
    forms.push(sealed_fnr);
    forms.push(s.state.store.search_hash(tenant, fnr).await.unwrap());
    forms
}

async fn erasure_leaves_no_trace_of_the_content(s: TestServer) {
    let (fnr, _) = helsebro::demo::demo_identities().remove(0);
    let secrets = [fnr.as_str(), NAME, TEXT];
    // A correction (a new version) and a message, so that history and free text count.
    let mut patient = json_with_status(s.get(&format!("Patient/{PATIENT}")).await, 200).await;
    patient["name"][0]["family"] = json!(NAME);
    let r = s.put_json(&format!("Patient/{PATIENT}"), &patient).await;
    assert_eq!(r.status(), 200);
    let message = s
        .create(&crate::communication::message(
            PATIENT,
            "Practitioner/demo-practitioner-0",
            &format!("Patient/{PATIENT}"),
            TEXT,
        ))
        .await;
    let stored = stored_forms(&s, &fnr, message["id"].as_str().unwrap()).await;
    assert!(stored.len() >= 6, "{stored:?}");
    let before = dump(&s).await;
    for form in &stored {
        assert!(
            before.contains(form.as_str()),
            "{form} is in the database before"
        );
    }
    // The national id and the message are sealed: as written they are in no table. (Names
    // are not sealed; they are searched by prefix.)
    for secret in [fnr.as_str(), TEXT] {
        assert!(
            !before.contains(secret),
            "{secret} unsealed in the database"
        );
    }
    let log_url = format!("AuditEvent?patient={PATIENT}&_count=1000");
    let log_before = json_with_status(s.get(&log_url).await, 200).await["total"]
        .as_i64()
        .unwrap();

    // Only the tenant's administrator may erase.
    let erase_url = s.url(&format!("Patient/{PATIENT}/$erase"));
    for scope in ["system/*.rs", "patient/*.cruds"] {
        let c = s.client_with(&s.token(scope, Some(PATIENT)).await);
        let r = c.post(&erase_url).send().await.unwrap();
        assert_eq!(r.status(), 403, "{scope}");
    }
    let r = s.client.post(&erase_url).send().await.unwrap();
    let outcome = json_with_status(r, 200).await;
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("erased"));
    let again = s.client.post(&erase_url).send().await.unwrap();
    assert_eq!(again.status(), 404);

    // Gone from the API, history included.
    assert_eq!(s.get(&format!("Patient/{PATIENT}")).await.status(), 404);
    assert_eq!(
        s.get(&format!("Patient/{PATIENT}/_history")).await.status(),
        404
    );
    let left = json_with_status(
        s.get(&format!("Observation?patient={PATIENT}&_total=accurate"))
            .await,
        200,
    )
    .await;
    assert_eq!(left["total"], 0);
    // Gone from every table, and from the SQLite file and its write-ahead log, in every
    // form it was stored in.
    let after = dump(&s).await;
    for form in stored.iter().map(String::as_str).chain(secrets) {
        assert!(!after.contains(form), "{form} is still in the database");
    }
    if s.backend == Backend::Sqlite {
        let all: Vec<&str> = stored.iter().map(String::as_str).chain(secrets).collect();
        assert_eq!(in_sqlite_files(&s, &all), None);
    }
    // The access log keeps its rows, and the erasure's; the chain is unbroken.
    let log = json_with_status(s.get(&log_url).await, 200).await;
    assert!(log["total"].as_i64().unwrap() > log_before);
    let erasure = format!("Patient/{PATIENT}/$erase");
    assert!(log["entry"].as_array().unwrap().iter().any(|e| {
        e["resource"]["entity"]
            .as_array()
            .is_some_and(|x| x.iter().any(|x| x["what"]["reference"] == erasure.as_str()))
    }));
    let verdict = helsebro::audit::verify::verify_tenant(&s.state.store, &s.state.tenant.id)
        .await
        .unwrap();
    assert!(
        matches!(verdict, helsebro::audit::verify::ChainState::Intact { .. }),
        "{verdict:?}"
    );
    // The other patients are untouched.
    assert_eq!(s.get("Patient/demo-patient-1").await.status(), 200);
}

on_both_backends_with_demo!(erasure_leaves_no_trace_of_the_content);
