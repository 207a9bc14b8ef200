//! A real SMART app in a real browser: the npm package `fhirclient` 2.6.3 in headless
//! Chromium runs a standalone launch against the server, through its sign-in, patient
//! picker and consent pages, and reads the launched patient. axe-core checks each page for
//! accessibility on the way. The harness is `tests/browser/` (see its README).

use helsebro::auth::registration::{register, NewClient};
use helsebro_blackbox::{on_both_backends_with_demo, TestServer};
use serde_json::Value;
use tokio::sync::OnceCell;

static SET_UP: OnceCell<()> = OnceCell::const_new();

fn harness_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Installs Chromium and the pinned npm packages once per test run.
async fn set_up() {
    SET_UP
        .get_or_init(|| async {
            let status = tokio::process::Command::new("bash")
                .arg(harness_dir().join("setup.sh"))
                .status()
                .await
                .expect("run tests/browser/setup.sh");
            assert!(status.success(), "tests/browser/setup.sh failed");
        })
        .await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Registers a public app at a free port and runs the harness as `user`.
async fn launch(s: &TestServer, user: &str, extra: &[&str]) -> Value {
    set_up().await;
    let port = free_port();
    let tenant = (*s.state.tenant).clone();
    let client = register(
        &s.state.store,
        &NewClient {
            tenant: &tenant,
            name: "Blodtrykksdagboka",
            scope: "launch/patient openid fhirUser offline_access patient/*.rs",
            jwks: None,
            jwks_uri: None,
            with_secret: false,
            redirect_uris: &[format!("http://127.0.0.1:{port}/index.html")],
            launch_uri: None,
        },
    )
    .await
    .unwrap();
    let port = port.to_string();
    let output = tokio::process::Command::new("node")
        .arg(harness_dir().join("standalone-launch.mjs"))
        .args(["--fhir", &s.base, "--client-id", &client.client_id])
        .args(["--app-port", &port, "--user", user])
        .args(extra)
        .output()
        .await
        .expect("run node");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "harness failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("harness output is not JSON ({e}): {stdout}\n{stderr}"))
}

fn assert_accessible(run: &Value) {
    let checked = run["axe"].as_object().expect("axe results");
    for page in run["pages"].as_array().unwrap() {
        assert!(
            checked.contains_key(page.as_str().unwrap()),
            "axe did not check {page}"
        );
    }
    for (page, violations) in checked {
        assert_eq!(
            violations.as_array().map(Vec::len),
            Some(0),
            "accessibility violations on {page}: {violations:#}"
        );
    }
}

async fn a_patient_launches_the_app_and_reads_their_record(s: TestServer) {
    let run = launch(&s, "Patient/demo-patient-0", &[]).await;
    assert!(run["error"].is_null(), "{run:#}");
    assert_eq!(
        run["pages"],
        serde_json::json!(["/auth/sign-in", "/auth/consent"])
    );
    let result = &run["result"];
    assert_eq!(result["patientId"], "demo-patient-0");
    assert_eq!(result["patient"]["resourceType"], "Patient");
    assert_eq!(result["patient"]["id"], "demo-patient-0");
    let tokens = &result["tokenResponse"];
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    assert_eq!(
        result["idTokenPayload"]["fhirUser"],
        format!("{}/Patient/demo-patient-0", s.base)
    );
    assert_accessible(&run);
}

async fn a_practitioner_picks_a_patient_in_their_care(s: TestServer) {
    let run = launch(
        &s,
        "Practitioner/demo-practitioner-0",
        &["--patient", "demo-patient-3"],
    )
    .await;
    assert!(run["error"].is_null(), "{run:#}");
    assert_eq!(
        run["pages"],
        serde_json::json!(["/auth/sign-in", "/auth/patient", "/auth/consent"])
    );
    assert_eq!(run["result"]["patientId"], "demo-patient-3");
    assert_eq!(run["result"]["patient"]["id"], "demo-patient-3");
    assert_accessible(&run);
}

async fn a_denied_launch_reaches_the_app_as_an_error(s: TestServer) {
    let run = launch(&s, "Patient/demo-patient-0", &["--deny"]).await;
    assert!(run["result"].is_null(), "{run:#}");
    assert!(
        run["error"].as_str().unwrap().starts_with("access_denied"),
        "{run:#}"
    );
}

on_both_backends_with_demo!(
    a_patient_launches_the_app_and_reads_their_record,
    a_practitioner_picks_a_patient_in_their_care,
    a_denied_launch_reaches_the_app_as_an_error,
);
