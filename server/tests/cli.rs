//! The command line as operators and scripts use it: the real binary, a fresh database.

use std::process::Command;

fn helsebro(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_helsebro"))
        .args(args)
        .env("HELSEBRO_LOG", "debug")
        .output()
        .expect("the binary runs")
}

fn temp_database() -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("helsebro-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    (dir, url)
}

#[test]
fn token_prints_only_the_token_on_stdout() {
    let (dir, db) = temp_database();
    let out = helsebro(&["token", "--database", &db, "--scope", "system/*.rs"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout}");
    assert_eq!(lines[0].split('.').count(), 3, "not a JWT: {stdout}");
    // Logs (there are some at debug level) went to stderr.
    assert!(!out.stderr.is_empty());
    // The grant is in the access log.
    let out = helsebro(&["audit", "verify", "--database", &db]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact, 1 rows"));

    // Patient scopes without a launch patient are refused, with a reason and exit 1.
    let out = helsebro(&["token", "--database", &db, "--scope", "patient/*.rs"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--patient"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_registered_backend_client_gets_an_id() {
    let (dir, db) = temp_database();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, r#"{"keys": []}"#).unwrap();
    let out = helsebro(&[
        "client",
        "add",
        "--database",
        &db,
        "--name",
        "Backend",
        "--scope",
        "system/*.rs",
        "--jwks",
        jwks.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap();
    assert_eq!(id.trim().len(), 32, "{id}");
    // Not a JWK Set: refused.
    std::fs::write(&jwks, "{}").unwrap();
    let out = helsebro(&[
        "client",
        "add",
        "--database",
        &db,
        "--name",
        "Backend",
        "--scope",
        "system/*.rs",
        "--jwks",
        jwks.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn apps_are_registered_and_launched_for_a_patient() {
    let (dir, db) = temp_database();
    let add = |extra: &[&str]| {
        let mut args = vec![
            "client",
            "add",
            "--database",
            &db,
            "--name",
            "Journalapp",
            "--scope",
            "launch openid fhirUser patient/*.rs",
        ];
        args.extend_from_slice(extra);
        helsebro(&args)
    };
    // A confidential app: client_id, then its secret, shown once.
    let out = add(&[
        "--secret",
        "--redirect-uri",
        "https://app.example.no/callback",
        "--launch-uri",
        "https://app.example.no/launch",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[1].len(), 43, "a 256-bit secret");
    let client_id = lines[0].to_string();
    // Plain http is for the loopback interface only; an app needs keys or redirect URIs.
    let out = add(&["--redirect-uri", "http://app.example.no/callback"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("https"));
    let out = add(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--redirect-uri"));
    // The launch needs a patient of the tenant; the demo data is not loaded here.
    let launch = |patient: &str| {
        helsebro(&[
            "launch",
            "--database",
            &db,
            "--client",
            &client_id,
            "--patient",
            patient,
            "--base-url",
            "https://fhir.example.no/fhir",
        ])
    };
    let out = launch("nobody");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Patient/nobody"));
    let export = dir.join("export.ndjson");
    std::fs::write(
        &export,
        r#"{"type":"patient","id":"pat-1","national_id":"13116900216","family_name":"Danser","given_names":"Line","birth_date":"1969-11-13","gender":"female"}"#,
    )
    .unwrap();
    let out = helsebro(&["import", "--database", &db, export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = launch("pat-1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap();
    let url = url.trim();
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, "https://app.example.no/launch");
    assert!(
        query.starts_with("iss=https%3A%2F%2Ffhir.example.no%2Ffhir&launch="),
        "{url}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn validate_prints_the_outcome_and_fails_on_errors() {
    let dir = std::env::temp_dir().join(format!("helsebro-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let medication = serde_json::json!({
        "resourceType": "Medication",
        "meta": {"profile": ["http://hl7.no/fhir/StructureDefinition/no-basis-Medication"]},
        "code": {"coding": [
            {"system": "http://ehelse.no/fhir/CodeSystem/FEST", "code": "ID_1", "display": "Paracet tab 500 mg"},
            {"system": "http://www.whocc.no/atc", "code": "N02BE01", "display": "Paracetamol"}
        ]},
        "form": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7448", "code": "53", "display": "Tablett"}]}
    });
    let good = dir.join("good.json");
    std::fs::write(&good, medication.to_string()).unwrap();
    let out = helsebro(&["validate", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["issue"][0]["severity"], "information");

    let mut without_form = medication.clone();
    without_form.as_object_mut().unwrap().remove("form");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, without_form.to_string()).unwrap();
    let out = helsebro(&["validate", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["issue"][0]["expression"][0], "Medication.form");

    // An explicit profile that does not fit the resource is an error too.
    let out = helsebro(&[
        "validate",
        good.to_str().unwrap(),
        "--profile",
        "http://hl7.no/fhir/StructureDefinition/no-basis-Patient",
    ]);
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
