//! Encryption at rest: national identity numbers, messages and journal notes are unreadable
//! in a raw dump of the database (and, on SQLite, in its files), search by national
//! identity number still works, a key rotation re-seals everything, and the wrong master
//! key opens nothing.

use helsebro_blackbox::{
    json_with_status, on_both_backends_with_demo, start_on, Backend, Options, TestServer,
};
use serde_json::json;

use crate::erasure::{dump, in_sqlite_files};

const FNR: &str = "13116900216";
const TEXT: &str = "Hei, blodtrykket mitt var høyt i morges";
const JOURNAL: &str = "Pasienten måler blodtrykk og puls daglig";

async fn found_by(s: &TestServer, query: &str) -> usize {
    let bundle = json_with_status(s.get(query).await, 200).await;
    bundle["entry"].as_array().map_or(0, Vec::len)
}

fn assert_unreadable(s: &TestServer, dump: &str) {
    for secret in [FNR, TEXT, JOURNAL] {
        assert!(!dump.contains(secret), "{secret} readable in a dump");
    }
    if s.backend == Backend::Sqlite {
        assert_eq!(in_sqlite_files(s, &[FNR, TEXT, JOURNAL]), None);
    }
}

async fn sensitive_columns_are_sealed(s: TestServer) {
    let patient = s
        .create(&json!({
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": FNR}],
            "name": [{"family": "Danser", "given": ["Line"]}]
        }))
        .await;
    let id = patient["id"].as_str().unwrap().to_string();
    s.create(&crate::communication::message(
        &id,
        "Practitioner/demo-practitioner-0",
        "Practitioner/demo-practitioner-0",
        TEXT,
    ))
    .await;
    // Reads give the values back as written.
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read["identifier"][0]["value"], FNR);
    let messages = json_with_status(s.get(&format!("Communication?patient={id}")).await, 200).await;
    assert_eq!(
        messages["entry"][0]["resource"]["payload"][0]["contentString"],
        TEXT
    );
    // Search by national identity number: with its system, without, and by POST (whose
    // saved parameters are sealed too).
    let by_system = format!("Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|{FNR}");
    assert_eq!(found_by(&s, &by_system).await, 1);
    assert_eq!(found_by(&s, &format!("Patient?identifier={FNR}")).await, 1);
    assert_eq!(
        found_by(
            &s,
            "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|13116900217"
        )
        .await,
        0
    );
    let posted = s
        .client
        .post(s.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C{FNR}&_count=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_with_status(posted, 200).await["entry"][0]["resource"]["id"],
        id.as_str()
    );
    // A conditional create finds the patient by number, too.
    let again = s
        .client
        .post(s.url("Patient"))
        .header("Content-Type", "application/fhir+json")
        .header(
            "If-None-Exist",
            format!("identifier=urn:oid:2.16.578.1.12.4.1.4.1|{FNR}"),
        )
        .body(patient.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "matched, not created");

    // The raw database shows none of it (nor the demo's journal notes).
    let raw = dump(&s).await;
    assert!(raw.contains("enc1:1:"), "sealed values are there");
    assert_unreadable(&s, &raw);
    // Nor the private halves of the token signing keys: sealed with the master key.
    let private: Vec<String> = sqlx::query_scalar("SELECT private_pkcs8 FROM signing_keys")
        .fetch_all(s.state.store.pool())
        .await
        .unwrap();
    assert!(!private.is_empty());
    assert!(
        private.iter().all(|p| p.starts_with("menc1:")),
        "{private:?}"
    );

    // Rotation: a new key version, everything re-sealed, all still readable and findable.
    let (version, resealed) = s
        .state
        .store
        .rotate_tenant_key(&s.state.tenant.id)
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert!(resealed > 100, "{resealed}");
    let raw = dump(&s).await;
    assert!(!raw.contains("enc1:1:"), "nothing left under the old key");
    assert!(raw.contains("enc1:2:"));
    assert_unreadable(&s, &raw);
    let read = json_with_status(s.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read["identifier"][0]["value"], FNR);
    assert_eq!(found_by(&s, &by_system).await, 1);
    assert_eq!(
        found_by(&s, "Patient/demo-patient-0/$everything?_count=5").await,
        5
    );

    // Another master key opens nothing: the server does not start.
    let mut config =
        helsebro::config::Config::new("127.0.0.1:0".parse().unwrap(), s.database_url.clone());
    config.master_key = Some(helsebro::store::crypto::MasterKey([7; 32]));
    let refused = helsebro::app::state(config).await;
    assert!(matches!(refused, Err(e) if e.to_string().contains("master key")));
    // The right one still does.
    let restarted = start_on(
        s.backend,
        s.database_url.clone(),
        None,
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let read = json_with_status(restarted.get(&format!("Patient/{id}")).await, 200).await;
    assert_eq!(read["identifier"][0]["value"], FNR);
}

on_both_backends_with_demo!(sensitive_columns_are_sealed);
