//! `helsebro import`: platform records through the same mapping and checks as FHIR writes.

use helsebro::config::Config;
use helsebro_blackbox::{fresh_database, json_with_status, start_on, Backend, Options};

const EXPORT: &str = r#"{"type":"organization","id":"org-1","org_number":"974760673","name":"Testkommune","active":true}
{"type":"practitioner","id":"prac-1","hpr_number":"9144900","family_name":"Lege","given_names":"Lise"}
{"type":"patient","id":"pat-1","national_id":"13116900216","family_name":"Danser","given_names":"Line","birth_date":"1969-11-13","gender":"female","address":{"lines":["Storgata 1"],"postal_code":"0155","city":"Oslo","municipality_code":"0301"}}

{"type":"patient","id":"pat-2","national_id":"13057444850","family_name":"Feil"}
{"type":"measurement","id":"m-1","patient":"pat-1","kind":"heart_rate","value":72,"time":"2026-10-01T08:00:00+01:00","source":"device"}
{"type":"measurement","id":"m-2","patient":"pat-1","kind":"blood_pressure","value":142,"value2":91,"time":"2026-10-01T08:01:00+01:00"}
{"type":"measurement","id":"m-3","patient":"pat-1","kind":"heart_rate","value":70,"unit":"kg","time":"2026-10-02T08:00:00+01:00"}
{"type":"measurement","id":"m-4","patient":"nobody","kind":"heart_rate","value":70,"time":"2026-10-02T08:00:00+01:00"}
{"type":"message","id":"msg-1","patient":"pat-1","sender":"Patient/pat-1","recipients":["Practitioner/prac-1"],"text":"Hei","sent":"2026-10-02T09:00:00+01:00"}
{"type":"medication_plan","id":"med-1","patient":"pat-1","atc_code":"C07AB02","medication_text":"Metoprolol 50 mg","dosage_text":"1 tablett morgen","period_start":"2026-09-01"}
not json
{"type":"spaceship","id":"x"}
"#;

async fn import_reports_rejected_lines_and_keeps_the_rest(backend: Backend) {
    let (url, dir) = fresh_database(backend).await;
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), url.clone());
    config.master_key = Some(helsebro_blackbox::master_key_for(&url));
    let state = helsebro::app::state(config).await.unwrap();
    let mut seen = Vec::new();
    let report = helsebro::import::import(&state.store, &state.tenant, EXPORT.as_bytes(), |n| {
        seen.push(n)
    })
    .await
    .unwrap();
    assert_eq!(report.imported, 7, "{:?}", report.rejected);
    let lines: Vec<usize> = report.rejected.iter().map(|(n, _)| *n).collect();
    assert_eq!(lines, vec![5, 8, 9, 12, 13]);
    let reason = |n: usize| &report.rejected.iter().find(|(l, _)| *l == n).unwrap().1;
    assert!(reason(5).contains("national_id"), "{}", reason(5));
    assert!(
        reason(8).contains("Observation.valueQuantity"),
        "{}",
        reason(8)
    );
    assert!(reason(9).contains("Patient/nobody"), "{}", reason(9));
    assert!(reason(12).contains("not a valid record"), "{}", reason(12));
    assert_eq!(seen.last(), Some(&13));

    // The imported records are served over FHIR, from the same database.
    let s = start_on(backend, url, dir, Options::default()).await;
    let patient = json_with_status(s.get("Patient/pat-1").await, 200).await;
    assert_eq!(patient["identifier"][0]["value"], "13116900216");
    assert_eq!(
        patient["meta"]["profile"][0],
        "http://hl7.no/fhir/StructureDefinition/no-basis-Patient"
    );
    let hr = json_with_status(
        s.get("Observation?patient=pat-1&code=http://loinc.org|8867-4")
            .await,
        200,
    )
    .await;
    assert_eq!(hr["total"], 1);
    assert_eq!(hr["entry"][0]["resource"]["valueQuantity"]["code"], "/min");
    let bp = json_with_status(
        s.get("Observation?code-value-quantity=http://loinc.org|8480-6$gt140")
            .await,
        200,
    )
    .await;
    assert_eq!(bp["total"], 1);
    for (path, total) in [
        ("Communication?patient=pat-1", 1),
        ("MedicationStatement?patient=pat-1", 1),
        ("Practitioner?identifier=9144900", 1),
        ("Organization?name=testkommune", 1),
    ] {
        let b = json_with_status(s.get(path).await, 200).await;
        assert_eq!(b["total"], total, "{path}: {b}");
    }

    // Importing the same export again changes nothing but versions: ids are the platform's.
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), s.database_url.clone());
    config.master_key = Some(helsebro_blackbox::master_key_for(&s.database_url));
    let state = helsebro::app::state(config).await.unwrap();
    let again = helsebro::import::import(&state.store, &state.tenant, EXPORT.as_bytes(), |_| {})
        .await
        .unwrap();
    assert_eq!(again.imported, 7);
    let all = json_with_status(s.get("Observation?_summary=count").await, 200).await;
    assert_eq!(all["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_on_sqlite() {
    import_reports_rejected_lines_and_keeps_the_rest(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_on_postgres() {
    import_reports_rejected_lines_and_keeps_the_rest(Backend::Postgres).await
}
