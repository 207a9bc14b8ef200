//! SMART App Launch: the authorization code flow with PKCE, walked the way the STU2 test kit
//! walks it (discovery, standalone and EHR launch, token response and headers, id_token
//! checked with the published keys, refresh narrowing, introspection), with public,
//! symmetric and asymmetric clients, and the refusals around each step.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use helsebro::auth::registration::{register, NewClient};
use helsebro_blackbox::browser::{form, redirect_of, Browser};
use helsebro_blackbox::reqwest::Response;
use helsebro_blackbox::{json_with_status, on_both_backends_with_demo, TestServer};
use ring::digest::{digest, SHA256};
use serde_json::{json, Value};

const REDIRECT: &str = "http://127.0.0.1:9/app/callback";
const APP_SCOPES: &str = "launch launch/patient openid fhirUser offline_access online_access \
                          patient/*.cruds user/*.cruds";
const STANDALONE: &str = "launch/patient openid fhirUser offline_access patient/*.rs";

/// A registered app and the PKCE verifier of its current request.
struct App {
    client_id: String,
    secret: Option<String>,
    verifier: String,
}

async fn app(s: &TestServer, with_secret: bool) -> App {
    let tenant = (*s.state.tenant).clone();
    let registered = register(
        &s.state.store,
        &NewClient {
            tenant: &tenant,
            name: "Blodtrykksdagboka",
            scope: APP_SCOPES,
            jwks: None,
            jwks_uri: None,
            with_secret,
            redirect_uris: &[REDIRECT.to_string()],
            launch_uri: Some("http://127.0.0.1:9/app/launch"),
        },
    )
    .await
    .unwrap();
    App {
        client_id: registered.client_id,
        secret: registered.secret,
        verifier: format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
    }
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// The authorize URL an app would send the browser to.
fn authorize_url(s: &TestServer, app: &App, scope: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(&app.verifier);
    let mut fields = vec![
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st4te"),
        ("aud", s.base.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        fields.retain(|(name, _)| name != k);
        fields.push((k, v));
    }
    fields.retain(|(_, v)| !v.is_empty());
    format!("{}/auth/authorize?{}", s.root, form(&fields))
}

/// Signs in as `user`, picks `patient` when the picker comes, and allows everything: the
/// code the app gets back.
async fn approve(
    s: &TestServer,
    b: &mut Browser,
    authorize: &str,
    user: &str,
    patient: Option<&str>,
) -> String {
    let to_app = consent_step(s, b, authorize, user, patient, &[]).await;
    assert_eq!(to_app.url, REDIRECT);
    assert_eq!(to_app.get("state"), Some("st4te"));
    to_app.get("code").expect("code").to_string()
}

/// The flow up to the app's redirect, unticking `untick` on the consent page.
async fn consent_step(
    s: &TestServer,
    b: &mut Browser,
    authorize: &str,
    user: &str,
    patient: Option<&str>,
    untick: &[&str],
) -> helsebro_blackbox::browser::Redirect {
    let to_sign_in = redirect_of(&b.get(authorize).await);
    assert!(
        to_sign_in.url.ends_with("/auth/sign-in"),
        "{}",
        to_sign_in.url
    );
    let request = to_sign_in.get("request").unwrap().to_string();
    let page = b
        .get(&format!("{}/auth/sign-in?request={request}", s.root))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{user}\"")),
        "{user} not offered"
    );
    let next = redirect_of(
        &b.post_auth(&s.root, "sign-in", &[("request", &request), ("user", user)])
            .await,
    );
    let next = if next.url.ends_with("/auth/patient") {
        let patient = patient.expect("the picker came, so a patient must be chosen");
        let page = b
            .get(&format!("{}/auth/patient?request={request}", s.root))
            .await;
        assert!(page
            .text()
            .await
            .unwrap()
            .contains(&format!("value=\"{patient}\"")));
        redirect_of(
            &b.post_auth(
                &s.root,
                "patient",
                &[("request", &request), ("patient", patient)],
            )
            .await,
        )
    } else {
        next
    };
    assert!(next.url.ends_with("/auth/consent"), "{}", next.url);
    let page = b
        .get(&format!("{}/auth/consent?request={request}", s.root))
        .await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    let offered: Vec<String> = html
        .split("name=\"scope\"")
        .skip(1)
        .filter_map(|rest| rest.split("value=\"").nth(1)?.split('"').next())
        .map(|v| v.replace("&amp;", "&"))
        .collect();
    assert!(!offered.is_empty(), "the consent page lists the scopes");
    let mut fields: Vec<(&str, &str)> = vec![("request", &request), ("decision", "approve")];
    for scope in &offered {
        if !untick.contains(&scope.as_str()) {
            fields.push(("scope", scope));
        }
    }
    redirect_of(&b.post_auth(&s.root, "consent", &fields).await)
}

async fn token_request(
    s: &TestServer,
    app: &App,
    fields: &[(&str, &str)],
    basic: bool,
) -> Response {
    let mut request = reqwest_client()
        .post(format!("{}/auth/token", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded");
    let mut fields = fields.to_vec();
    match (&app.secret, basic) {
        (Some(secret), true) => request = request.basic_auth(&app.client_id, Some(secret)),
        _ => fields.push(("client_id", &app.client_id)),
    }
    request.body(form(&fields)).send().await.unwrap()
}

fn reqwest_client() -> helsebro_blackbox::reqwest::Client {
    helsebro_blackbox::reqwest::Client::new()
}

async fn exchange(s: &TestServer, app: &App, code: &str) -> Response {
    token_request(
        s,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &app.verifier),
        ],
        true,
    )
    .await
}

fn assert_no_store(r: &Response) {
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert!(r.headers()["pragma"].to_str().unwrap().contains("no-cache"));
}

/// A successful token response, its headers and members checked as the test kit does.
async fn tokens(r: Response) -> Value {
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_no_store(&r);
    let body: Value = r.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["token_type"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case("bearer"));
    assert!(body["expires_in"].as_u64().is_some_and(|e| e > 0));
    assert!(body["scope"].is_string());
    body
}

fn scope_set(scope: &str) -> std::collections::BTreeSet<String> {
    scope.split_whitespace().map(str::to_string).collect()
}

async fn status_with(s: &TestServer, token: &str, path: &str) -> u16 {
    s.client_with(token)
        .get(s.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Verifies an id_token the way the test kit does: OpenID discovery at `{iss}`, the JWKS,
/// RS256 with a matching `kid`, and the claims.
async fn verified_id_token(s: &TestServer, id_token: &str, client_id: &str) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let unverified: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let iss = unverified["iss"].as_str().unwrap();
    assert_eq!(iss, s.root, "id_tokens are issued by this server's origin");
    let oidc = reqwest_client()
        .get(format!("{iss}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert!(oidc.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let oidc = json_with_status(oidc, 200).await;
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(!oidc[field].is_null(), "openid-configuration lacks {field}");
    }
    assert_eq!(oidc["issuer"], iss);
    assert!(oidc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("RS256")));
    let jwks = json_with_status(
        reqwest_client()
            .get(oidc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let kid = header.kid.expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the id_token's kid is in the JWKS");
    assert_eq!(jwk["kty"], "RSA");
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[iss]);
    validation.leeway = 60;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .expect("the id_token verifies")
        .claims;
    let sub = claims["sub"].as_str().unwrap();
    assert!(!sub.is_empty() && sub.len() < 256);
    claims
}

async fn discovery_lists_the_code_flow(s: TestServer) {
    let r = reqwest_client()
        .get(format!("{}/.well-known/smart-configuration", s.base))
        .header("Origin", "http://127.0.0.1:9")
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(r.headers().contains_key("access-control-allow-origin"));
    let c = json_with_status(r, 200).await;
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "issuer",
        "jwks_uri",
    ] {
        assert!(c[field].as_str().is_some_and(|v| !v.is_empty()), "{field}");
    }
    let list = |f: &str| c[f].as_array().unwrap().clone();
    assert!(list("grant_types_supported").contains(&json!("authorization_code")));
    assert!(list("code_challenge_methods_supported").contains(&json!("S256")));
    assert!(!list("code_challenge_methods_supported").contains(&json!("plain")));
    for capability in [
        "launch-standalone",
        "launch-ehr",
        "client-public",
        "client-confidential-symmetric",
        "client-confidential-asymmetric",
        "sso-openid-connect",
        "permission-offline",
        "permission-v2",
    ] {
        assert!(
            list("capabilities").contains(&json!(capability)),
            "{capability}"
        );
    }
    assert_eq!(
        c["authorization_endpoint"],
        format!("{}/auth/authorize", s.root)
    );
    // STU2.2: browser apps of other origins may read metadata, call the token endpoint and
    // read FHIR resources with a bearer token (the preflight allows Authorization).
    let origin = "http://127.0.0.1:9";
    let metadata = reqwest_client()
        .get(s.url("metadata"))
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    assert!(metadata
        .headers()
        .contains_key("access-control-allow-origin"));
    let token = reqwest_client()
        .post(format!("{}/auth/token", s.root))
        .header("Origin", origin)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code")
        .send()
        .await
        .unwrap();
    assert!(token.headers().contains_key("access-control-allow-origin"));
    let preflight = reqwest_client()
        .request(
            helsebro_blackbox::reqwest::Method::OPTIONS,
            s.url("Patient/demo-patient-0"),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") || allowed == "*",
        "{allowed}"
    );
    // The CapabilityStatement names the same endpoints.
    let cs = json_with_status(
        s.anonymous.get(s.url("metadata")).send().await.unwrap(),
        200,
    )
    .await;
    let oauth = cs["rest"][0]["security"]["extension"][0]["extension"]
        .as_array()
        .unwrap()
        .clone();
    assert!(oauth
        .iter()
        .any(|e| e["url"] == "authorize" && e["valueUri"] == c["authorization_endpoint"]));
}

async fn standalone_launch_as_a_patient(s: TestServer) {
    let app = app(&s, false).await;
    let mut b = Browser::new();
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[("nonce", "n-0S6_WzA2Mj")]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let t = tokens(exchange(&s, &app, &code).await).await;
    assert_eq!(t["patient"], "demo-patient-0");
    assert_eq!(t["need_patient_banner"], true);
    // The grant is in the access log: the app, the patient, the user.
    let log = json_with_status(
        s.get("AuditEvent?patient=demo-patient-0&action=E").await,
        200,
    )
    .await;
    let login = &log["entry"][0]["resource"];
    assert_eq!(login["subtype"][0]["code"], "110122");
    assert_eq!(
        login["agent"][0]["who"]["reference"],
        "Patient/demo-patient-0"
    );
    assert_eq!(login["agent"][1]["who"]["display"], "Blodtrykksdagboka");
    assert_eq!(
        scope_set(t["scope"].as_str().unwrap()),
        scope_set(STANDALONE)
    );
    assert!(t["refresh_token"].is_string());
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(status_with(&s, access, "Patient/demo-patient-0").await, 200);
    // Another patient's record stays out of sight; writes are not in the scope.
    assert_eq!(status_with(&s, access, "Patient/demo-patient-1").await, 404);
    let others = s
        .client_with(access)
        .get(s.url("Observation?patient=demo-patient-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_with_status(others, 200).await["total"], 0);
    let write = s
        .client_with(access)
        .delete(s.url("Patient/demo-patient-0"))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let claims = verified_id_token(&s, t["id_token"].as_str().unwrap(), &app.client_id).await;
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["iss"], s.root);
    let fhir_user = claims["fhirUser"].as_str().unwrap();
    assert_eq!(fhir_user, format!("{}/Patient/demo-patient-0", s.base));
    // The fhirUser can be read with the token.
    let me = s.client_with(access).get(fhir_user).send().await.unwrap();
    assert_eq!(json_with_status(me, 200).await["resourceType"], "Patient");
    // A second sign-in needs a new code: this one is used up, and using it again revokes
    // what it gave.
    let again = exchange(&s, &app, &code).await;
    assert_eq!(json_with_status(again, 400).await["error"], "invalid_grant");
    assert_eq!(status_with(&s, access, "Patient/demo-patient-0").await, 401);
}

async fn practitioners_pick_among_their_patients(s: TestServer) {
    let app = app(&s, true).await;
    let mut b = Browser::new();
    let url = authorize_url(&s, &app, STANDALONE, &[]);
    let to_sign_in = redirect_of(&b.get(&url).await);
    let request = to_sign_in.get("request").unwrap().to_string();
    let next = redirect_of(
        &b.post_auth(
            &s.root,
            "sign-in",
            &[
                ("request", &request),
                ("user", "Practitioner/demo-practitioner-0"),
            ],
        )
        .await,
    );
    assert!(next.url.ends_with("/auth/patient"));
    let picker = b
        .get(&format!("{}/auth/patient?request={request}", s.root))
        .await;
    let html = picker.text().await.unwrap();
    // demo-practitioner-0 follows every third demo patient.
    assert!(html.contains("value=\"demo-patient-3\""));
    assert!(!html.contains("value=\"demo-patient-1\""));
    let refused = b
        .post_auth(
            &s.root,
            "patient",
            &[("request", &request), ("patient", "demo-patient-1")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let chosen = redirect_of(
        &b.post_auth(
            &s.root,
            "patient",
            &[("request", &request), ("patient", "demo-patient-3")],
        )
        .await,
    );
    assert!(chosen.url.ends_with("/auth/consent"));
    let page = b
        .get(&format!("{}/auth/consent?request={request}", s.root))
        .await;
    let html = page.text().await.unwrap();
    assert!(html.contains("Lese og søke i alle opplysninger for pasienten"));
    assert!(html.contains("Read and search all records of the patient"));
    let back = redirect_of(
        &b.post_auth(
            &s.root,
            "consent",
            &[
                ("request", &request),
                ("decision", "approve"),
                ("scope", "patient/*.rs"),
                ("scope", "launch/patient"),
                ("scope", "openid"),
                ("scope", "fhirUser"),
            ],
        )
        .await,
    );
    let code = back.get("code").unwrap();
    // A confidential client that only names itself is refused; its secret is needed.
    let app_without_secret = App {
        client_id: app.client_id.clone(),
        secret: None,
        verifier: app.verifier.clone(),
    };
    let unauthenticated = exchange(&s, &app_without_secret, code).await;
    assert_eq!(
        json_with_status(unauthenticated, 401).await["error"],
        "invalid_client"
    );
    let t = tokens(exchange(&s, &app, code).await).await;
    assert_eq!(t["patient"], "demo-patient-3");
    // offline_access was unticked: no refresh token.
    assert!(t["refresh_token"].is_null());
    assert!(!scope_set(t["scope"].as_str().unwrap()).contains("offline_access"));
    let claims = verified_id_token(&s, t["id_token"].as_str().unwrap(), &app.client_id).await;
    assert_eq!(claims["sub"], "Practitioner/demo-practitioner-0");
    assert!(claims["helseid://claims/hpr/hpr_number"].is_string());
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(status_with(&s, access, "Patient/demo-patient-3").await, 200);
    assert_eq!(status_with(&s, access, "Patient/demo-patient-0").await, 404);
}

async fn requests_that_break_the_rules_are_refused(s: TestServer) {
    let app = app(&s, false).await;
    let mut b = Browser::new();
    // Unknown client and unregistered redirect URIs get a page, never a redirect.
    let unknown = b
        .get(&authorize_url(
            &s,
            &app,
            STANDALONE,
            &[("client_id", "nobody")],
        ))
        .await;
    assert_eq!(unknown.status(), 400);
    assert!(unknown.headers().get("location").is_none());
    let elsewhere = b
        .get(&authorize_url(
            &s,
            &app,
            STANDALONE,
            &[("redirect_uri", "https://evil.example/cb")],
        ))
        .await;
    assert_eq!(elsewhere.status(), 400);
    assert!(elsewhere.headers().get("location").is_none());
    // Everything else goes back to the app as an OAuth error, with the state.
    for (extra, error) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("aud", "https://other.example/fhir")],
            "invalid_request",
        ),
        (vec![("scope", "system/*.rs")], "invalid_scope"),
        (
            vec![("scope", "launch openid patient/*.rs")],
            "invalid_request",
        ),
        (vec![("launch", "no-such-launch")], "invalid_request"),
    ] {
        let r = b.get(&authorize_url(&s, &app, STANDALONE, &extra)).await;
        let back = redirect_of(&r);
        assert_eq!(back.url, REDIRECT, "{extra:?}");
        assert_eq!(back.get("error"), Some(error), "{extra:?}");
        assert_eq!(back.get("state"), Some("st4te"));
    }
    // The flow is bound to the browser that began it.
    let to_sign_in = redirect_of(&b.get(&authorize_url(&s, &app, STANDALONE, &[])).await);
    let request = to_sign_in.get("request").unwrap().to_string();
    let mut other = Browser::new();
    let stolen = other
        .post_auth(
            &s.root,
            "sign-in",
            &[("request", &request), ("user", "Patient/demo-patient-0")],
        )
        .await;
    assert_eq!(stolen.status(), 403);
    // Denying sends access_denied back.
    let consent = redirect_of(
        &b.post_auth(
            &s.root,
            "sign-in",
            &[("request", &request), ("user", "Patient/demo-patient-0")],
        )
        .await,
    );
    assert!(consent.url.ends_with("/auth/consent"));
    let denied = redirect_of(
        &b.post_auth(
            &s.root,
            "consent",
            &[("request", &request), ("decision", "deny")],
        )
        .await,
    );
    assert_eq!(denied.get("error"), Some("access_denied"));
    assert!(denied.get("code").is_none());
    // The token endpoint checks verifier, redirect URI and client.
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let wrong_verifier = token_request(
        &s,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"x".repeat(64)),
        ],
        true,
    )
    .await;
    assert_no_store(&wrong_verifier);
    assert_eq!(
        json_with_status(wrong_verifier, 400).await["error"],
        "invalid_grant"
    );
    for (redirect, verifier) in [("http://127.0.0.1:9/other", app.verifier.as_str())] {
        let code = approve(
            &s,
            &mut b,
            &authorize_url(&s, &app, STANDALONE, &[]),
            "Patient/demo-patient-0",
            None,
        )
        .await;
        let r = token_request(
            &s,
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ],
            true,
        )
        .await;
        assert_eq!(json_with_status(r, 400).await["error"], "invalid_grant");
    }
    let other_app = super::smart_launch::app(&s, false).await;
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let stolen_code = token_request(
        &s,
        &other_app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &app.verifier),
        ],
        true,
    )
    .await;
    assert_eq!(
        json_with_status(stolen_code, 400).await["error"],
        "invalid_grant"
    );
    let missing = token_request(&s, &app, &[("grant_type", "authorization_code")], true).await;
    assert_eq!(
        json_with_status(missing, 400).await["error"],
        "invalid_request"
    );
}

async fn refresh_may_only_narrow(s: TestServer) {
    let app = app(&s, false).await;
    let mut b = Browser::new();
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let first = tokens(exchange(&s, &app, &code).await).await;
    let refresh = |token: String, scope: Option<&'static str>| {
        let s = &s;
        let app = &app;
        async move {
            let mut fields = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ];
            if let Some(scope) = scope {
                fields.push(("scope", scope));
            }
            token_request(s, app, &fields, true).await
        }
    };
    // Without scope: the same grant, and a new refresh token.
    let second = tokens(refresh(first["refresh_token"].as_str().unwrap().into(), None).await).await;
    assert_eq!(
        scope_set(second["scope"].as_str().unwrap()),
        scope_set(first["scope"].as_str().unwrap())
    );
    assert_eq!(second["patient"], "demo-patient-0");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    // Wider than granted: refused, and the refresh token stays good.
    let wider = refresh(
        second["refresh_token"].as_str().unwrap().into(),
        Some("patient/*.cruds"),
    )
    .await;
    assert_no_store(&wider);
    assert_eq!(json_with_status(wider, 400).await["error"], "invalid_scope");
    // Narrower: granted as asked.
    let narrow = tokens(
        refresh(
            second["refresh_token"].as_str().unwrap().into(),
            Some("patient/Observation.rs offline_access"),
        )
        .await,
    )
    .await;
    assert_eq!(
        scope_set(narrow["scope"].as_str().unwrap()),
        scope_set("patient/Observation.rs offline_access")
    );
    let access = narrow["access_token"].as_str().unwrap();
    assert_eq!(
        status_with(&s, access, "Observation?patient=demo-patient-0").await,
        200
    );
    assert_eq!(status_with(&s, access, "Patient/demo-patient-0").await, 403);
    // The narrowed token's refresh token still holds the whole grant.
    let whole = tokens(refresh(narrow["refresh_token"].as_str().unwrap().into(), None).await).await;
    assert_eq!(
        scope_set(whole["scope"].as_str().unwrap()),
        scope_set(first["scope"].as_str().unwrap())
    );
    // A used refresh token presented again revokes the whole authorization.
    let replay = refresh(first["refresh_token"].as_str().unwrap().into(), None).await;
    assert_eq!(
        json_with_status(replay, 400).await["error"],
        "invalid_grant"
    );
    let latest = whole["access_token"].as_str().unwrap();
    assert_eq!(status_with(&s, latest, "Patient/demo-patient-0").await, 401);
    let after = refresh(whole["refresh_token"].as_str().unwrap().into(), None).await;
    assert_eq!(json_with_status(after, 400).await["error"], "invalid_grant");
}

async fn public_apps_refresh_without_naming_themselves(s: TestServer) {
    let app = app(&s, false).await;
    let mut b = Browser::new();
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, "patient/*.rs online_access", &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let first = tokens(exchange(&s, &app, &code).await).await;
    assert!(first["id_token"].is_null(), "no openid, no id_token");
    // As fhirclient does: no client_id on refresh.
    let r = reqwest_client()
        .post(format!("{}/auth/token", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ]))
        .send()
        .await
        .unwrap();
    let second = tokens(r).await;
    assert_eq!(second["patient"], "demo-patient-0");
}

async fn introspection_describes_user_tokens(s: TestServer) {
    let app = app(&s, false).await;
    let mut b = Browser::new();
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let t = tokens(exchange(&s, &app, &code).await).await;
    let introspect = |token: String| {
        let s = &s;
        async move {
            s.client
                .post(format!("{}/auth/introspect", s.root))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form(&[("token", &token)]))
                .send()
                .await
                .unwrap()
        }
    };
    let active = json_with_status(
        introspect(t["access_token"].as_str().unwrap().into()).await,
        200,
    )
    .await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], app.client_id.as_str());
    assert_eq!(
        scope_set(active["scope"].as_str().unwrap()),
        scope_set(t["scope"].as_str().unwrap())
    );
    assert_eq!(active["patient"], "demo-patient-0");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = active["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + t["expires_in"].as_i64().unwrap() + 600);
    assert!(active["iss"].is_string() && active["sub"].is_string());
    assert_eq!(
        active["fhirUser"],
        format!("{}/Patient/demo-patient-0", s.base)
    );
    let inactive = json_with_status(introspect("invalid_token_value".into()).await, 200).await;
    assert_eq!(inactive, json!({"active": false}));
}

async fn ehr_launch_passes_the_patient(s: TestServer) {
    let app = app(&s, false).await;
    let tenant = (*s.state.tenant).clone();
    let launch_url = helsebro::auth::launch::launch(
        &s.state.store,
        &tenant,
        &app.client_id,
        "demo-patient-3",
        &s.base,
    )
    .await
    .unwrap();
    let launch = redirect_of_url(&launch_url);
    assert_eq!(launch.url, "http://127.0.0.1:9/app/launch");
    assert_eq!(launch.get("iss"), Some(s.base.as_str()));
    let launch_id = launch.get("launch").unwrap().to_string();
    let scope = "launch openid fhirUser patient/*.rs";
    // A practitioner without a care relationship with the patient cannot continue.
    let mut b = Browser::new();
    let to_sign_in = redirect_of(
        &b.get(&authorize_url(&s, &app, scope, &[("launch", &launch_id)]))
            .await,
    );
    let request = to_sign_in.get("request").unwrap().to_string();
    let page = b
        .get(&format!("{}/auth/sign-in?request={request}", s.root))
        .await;
    let html = page.text().await.unwrap();
    assert!(html.contains("value=\"Patient/demo-patient-3\""));
    assert!(
        !html.contains("value=\"Patient/demo-patient-0\""),
        "only the launch patient"
    );
    let outsider = b
        .post_auth(
            &s.root,
            "sign-in",
            &[
                ("request", &request),
                ("user", "Practitioner/demo-practitioner-1"),
            ],
        )
        .await;
    assert_eq!(outsider.status(), 403);
    // Their colleague in charge goes straight to consent, without the picker.
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, scope, &[("launch", &launch_id)]),
        "Practitioner/demo-practitioner-0",
        None,
    )
    .await;
    let t = tokens(exchange(&s, &app, &code).await).await;
    assert_eq!(t["patient"], "demo-patient-3");
    assert!(scope_set(t["scope"].as_str().unwrap()).contains("launch"));
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(status_with(&s, access, "Patient/demo-patient-3").await, 200);
    // A launch belongs to the app it was made for.
    let other = super::smart_launch::app(&s, false).await;
    let r = b
        .get(&authorize_url(&s, &other, scope, &[("launch", &launch_id)]))
        .await;
    assert_eq!(redirect_of(&r).get("error"), Some("invalid_request"));
}

fn redirect_of_url(url: &str) -> helsebro_blackbox::browser::Redirect {
    let (base, query) = url.split_once('?').unwrap();
    helsebro_blackbox::browser::Redirect {
        url: base.to_string(),
        query: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    }
}

async fn sign_in_stays_within_the_apps_tenant(s: TestServer) {
    let other = s.other_tenant(true).await;
    let registered = register(
        &s.state.store,
        &NewClient {
            tenant: &other,
            name: "Annen app",
            scope: APP_SCOPES,
            jwks: None,
            jwks_uri: None,
            with_secret: false,
            redirect_uris: &[REDIRECT.to_string()],
            launch_uri: None,
        },
    )
    .await
    .unwrap();
    let app = App {
        client_id: registered.client_id,
        secret: None,
        verifier: "v".repeat(50),
    };
    let mut b = Browser::new();
    let to_sign_in = redirect_of(&b.get(&authorize_url(&s, &app, STANDALONE, &[])).await);
    let request = to_sign_in.get("request").unwrap().to_string();
    let page = b
        .get(&format!("{}/auth/sign-in?request={request}", s.root))
        .await;
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("demo-patient-0"),
        "the demo tenant's people are not listed"
    );
    for user in ["Patient/demo-patient-0", "Practitioner/demo-practitioner-0"] {
        let r = b
            .post_auth(&s.root, "sign-in", &[("request", &request), ("user", user)])
            .await;
        assert_eq!(r.status(), 403, "{user} of another tenant signed in");
    }
}

async fn confidential_apps_authenticate(s: TestServer) {
    let app = app(&s, true).await;
    let mut b = Browser::new();
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let wrong = App {
        client_id: app.client_id.clone(),
        secret: Some("not-the-secret".into()),
        verifier: app.verifier.clone(),
    };
    let refused = exchange(&s, &wrong, &code).await;
    assert_no_store(&refused);
    assert_eq!(
        json_with_status(refused, 401).await["error"],
        "invalid_client"
    );
    // client_secret_post works too; the failed attempt did not use the code up.
    let r = reqwest_client()
        .post(format!("{}/auth/token", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &app.verifier),
            ("client_id", &app.client_id),
            ("client_secret", app.secret.as_deref().unwrap()),
        ]))
        .send()
        .await
        .unwrap();
    tokens(r).await;
}

async fn apps_revoke_their_refresh_tokens(s: TestServer) {
    let app = app(&s, false).await;
    let mut b = Browser::new();
    let code = approve(
        &s,
        &mut b,
        &authorize_url(&s, &app, STANDALONE, &[]),
        "Patient/demo-patient-0",
        None,
    )
    .await;
    let t = tokens(exchange(&s, &app, &code).await).await;
    let refresh_token = t["refresh_token"].as_str().unwrap();
    let revoke = |client_id: String| {
        let s = &s;
        async move {
            reqwest_client()
                .post(format!("{}/auth/revoke", s.root))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("token", refresh_token),
                    ("token_type_hint", "refresh_token"),
                    ("client_id", &client_id),
                ]))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Another app cannot revoke it, and is not told so.
    let other = super::smart_launch::app(&s, false).await;
    assert_eq!(revoke(other.client_id.clone()).await, 200);
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(status_with(&s, access, "Patient/demo-patient-0").await, 200);
    // Its own app can: the refresh token and the access tokens of the grant end.
    assert_eq!(revoke(app.client_id.clone()).await, 200);
    assert_eq!(status_with(&s, access, "Patient/demo-patient-0").await, 401);
    let refresh = token_request(
        &s,
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
        true,
    )
    .await;
    assert_eq!(
        json_with_status(refresh, 400).await["error"],
        "invalid_grant"
    );
}

/// An RS384 or ES384 key of an asymmetric app: the encoding key and the public JWK.
fn app_key(alg: jsonwebtoken::Algorithm, kid: &str) -> (jsonwebtoken::EncodingKey, Value) {
    use ring::signature::KeyPair;
    match alg {
        jsonwebtoken::Algorithm::RS384 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
            let der = key.to_pkcs1_der().unwrap();
            let jwk = json!({
                "kty": "RSA", "kid": kid, "alg": "RS384", "use": "sig",
                "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
            });
            (jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()), jwk)
        }
        _ => {
            let rng = ring::rand::SystemRandom::new();
            let alg = &ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING;
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            let pair =
                ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
            let point = pair.public_key().as_ref();
            let jwk = json!({
                "kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..49]),
                "y": URL_SAFE_NO_PAD.encode(&point[49..97]),
            });
            (jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
        }
    }
}

async fn asymmetric_apps_sign_their_assertions(s: TestServer) {
    let tenant = (*s.state.tenant).clone();
    for alg in [
        jsonwebtoken::Algorithm::RS384,
        jsonwebtoken::Algorithm::ES384,
    ] {
        let (key, jwk) = app_key(alg, "app-key-1");
        let registered = register(
            &s.state.store,
            &NewClient {
                tenant: &tenant,
                name: "Journalapp",
                scope: APP_SCOPES,
                jwks: Some(json!({ "keys": [jwk] }).to_string()),
                jwks_uri: None,
                with_secret: false,
                redirect_uris: &[REDIRECT.to_string()],
                launch_uri: None,
            },
        )
        .await
        .unwrap();
        let app = App {
            client_id: registered.client_id,
            secret: None,
            verifier: "w".repeat(60),
        };
        let mut b = Browser::new();
        let code = approve(
            &s,
            &mut b,
            &authorize_url(&s, &app, STANDALONE, &[]),
            "Patient/demo-patient-0",
            None,
        )
        .await;
        let token_url = format!("{}/auth/token", s.root);
        let sign = |jti: &str| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let mut header = jsonwebtoken::Header::new(alg);
            header.kid = Some("app-key-1".into());
            let claims = json!({"iss": app.client_id, "sub": app.client_id, "aud": token_url,
                                "exp": now + 240, "jti": jti});
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        };
        let exchange_with = |assertion: String| {
            let code = code.clone();
            let verifier = app.verifier.clone();
            let token_url = token_url.clone();
            async move {
                reqwest_client()
                    .post(token_url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form(&[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", &verifier),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", &assertion),
                    ]))
                    .send()
                    .await
                    .unwrap()
            }
        };
        // An assertion signed by another key is refused, and leaves the code unused.
        let (stranger, _) = app_key(alg, "app-key-1");
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some("app-key-1".into());
        let forged = jsonwebtoken::encode(
            &header,
            &json!({"iss": app.client_id, "sub": app.client_id, "aud": token_url,
                    "exp": 4_000_000_000u64, "jti": "forged"}),
            &stranger,
        )
        .unwrap();
        let refused = exchange_with(forged).await;
        assert_eq!(
            json_with_status(refused, 401).await["error"],
            "invalid_client",
            "{alg:?}"
        );
        let t = tokens(exchange_with(sign("first")).await).await;
        assert_eq!(t["patient"], "demo-patient-0", "{alg:?}");
    }
}

on_both_backends_with_demo!(
    apps_revoke_their_refresh_tokens,
    asymmetric_apps_sign_their_assertions,
    discovery_lists_the_code_flow,
    standalone_launch_as_a_patient,
    practitioners_pick_among_their_patients,
    requests_that_break_the_rules_are_refused,
    refresh_may_only_narrow,
    public_apps_refresh_without_naming_themselves,
    introspection_describes_user_tokens,
    ehr_launch_passes_the_patient,
    sign_in_stays_within_the_apps_tenant,
    confidential_apps_authenticate,
);
