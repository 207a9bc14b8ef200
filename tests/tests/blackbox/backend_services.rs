//! SMART backend services: discovery, client credentials with a signed client assertion
//! (ES384), the RFC 6749 error codes, introspection and revocation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use helsebro_blackbox::reqwest::Response;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};

pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's ES384 key: the private half for signing, the public half as a JWK.
pub(crate) struct ClientKey {
    kid: String,
    pkcs8: Vec<u8>,
    pub(crate) jwk: Value,
}

pub(crate) fn client_key(kid: &str) -> ClientKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    ClientKey {
        kid: kid.into(),
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk: json!({
            "kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..49]),
            "y": URL_SAFE_NO_PAD.encode(&point[49..97]),
        }),
    }
}

pub(crate) fn assertion(key: &ClientKey, client_id: &str, aud: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES384);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    let claims =
        json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 240, "jti": jti});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
    )
    .unwrap()
}

async fn register(s: &TestServer, key: &ClientKey, scope: &str) -> String {
    s.register_backend_client(&key.jwk, scope).await
}

pub(crate) async fn token_request(s: &TestServer, fields: &[(&str, &str)]) -> Response {
    let body: String = form_urlencoded_body(fields);
    s.anonymous
        .post(format!("{}/auth/token", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn form_urlencoded_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn oauth_error(r: Response, status: u16, error: &str) {
    assert_eq!(r.status(), status);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
}

async fn discovery_names_the_endpoints(s: TestServer) {
    let r = s
        .anonymous
        .get(s.url(".well-known/smart-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["token_endpoint"], format!("{}/auth/token", s.root));
    assert_eq!(
        c["introspection_endpoint"],
        format!("{}/auth/introspect", s.root)
    );
    assert!(c["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_credentials")));
    assert!(!c["code_challenge_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("plain")));
    let jwks: Value = s
        .anonymous
        .get(c["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty());

    // The CapabilityStatement names the same endpoints, and they answer.
    let cs: Value = s
        .anonymous
        .get(s.url("metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let security = &cs["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    let uris = security["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
        })
        .expect("oauth-uris");
    let token = uris["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == "token")
        .unwrap()["valueUri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(token, c["token_endpoint"]);
    let r = s
        .anonymous
        .post(token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    oauth_error(r, 400, "invalid_request").await;
}

async fn a_backend_service_gets_a_token_within_its_registration(s: TestServer) {
    let key = client_key("k1");
    let client_id = register(&s, &key, "system/Patient.rs").await;
    let aud = format!("{}/auth/token", s.root);
    let signed = assertion(&key, &client_id, &aud, "jti-1");
    let fields = [
        ("grant_type", "client_credentials"),
        ("scope", "system/Patient.rs"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", signed.as_str()),
    ];
    let r = token_request(&s, &fields).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert!(r.headers()["pragma"].to_str().unwrap().contains("no-cache"));
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"].as_str().unwrap().to_lowercase(), "bearer");
    assert_eq!(t["expires_in"], 300);
    let granted = helsebro::auth::scopes::Scopes::parse(t["scope"].as_str().unwrap()).unwrap();
    assert_eq!(
        granted,
        helsebro::auth::scopes::Scopes::parse("system/Patient.rs").unwrap()
    );
    let access_token = t["access_token"].as_str().unwrap().to_string();
    let c = s.client_with(&access_token);
    assert_eq!(c.get(s.url("Patient")).send().await.unwrap().status(), 200);
    assert_eq!(
        c.get(s.url("Observation")).send().await.unwrap().status(),
        403
    );

    // The same assertion again is a replay.
    oauth_error(token_request(&s, &fields).await, 401, "invalid_client").await;

    // Asking for more than the registration grants nothing.
    let more = assertion(&key, &client_id, &aud, "jti-2");
    let r = token_request(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/Observation.rs"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", more.as_str()),
        ],
    )
    .await;
    oauth_error(r, 400, "invalid_scope").await;
}

async fn bad_token_requests_get_rfc6749_errors(s: TestServer) {
    let key = client_key("k1");
    let client_id = register(&s, &key, "system/*.rs").await;
    let aud = format!("{}/auth/token", s.root);
    let good = |jti: &str| assertion(&key, &client_id, &aud, jti);

    let a = good("a");
    let r = token_request(
        &s,
        &[
            ("grant_type", "password"),
            ("scope", "system/*.rs"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &a),
        ],
    )
    .await;
    oauth_error(r, 400, "unsupported_grant_type").await;

    let b = good("b");
    let r = token_request(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
            ("client_assertion_type", "urn:example:wrong"),
            ("client_assertion", &b),
        ],
    )
    .await;
    oauth_error(r, 400, "invalid_request").await;

    // Signed by a key the client did not register, under the registered kid.
    let stranger = client_key("k1");
    let forged = assertion(&stranger, &client_id, &aud, "c");
    // For another audience.
    let elsewhere = assertion(&key, &client_id, "https://other.example/token", "d");
    // For a client that does not exist.
    let unknown = assertion(&key, "nobody", &aud, "e");
    for (what, jwt) in [
        ("wrong key", forged),
        ("wrong aud", elsewhere),
        ("unknown client", unknown),
        ("not a JWT", "abc.def.ghi".to_string()),
    ] {
        let r = token_request(
            &s,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "system/*.rs"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &jwt),
            ],
        )
        .await;
        assert_eq!(r.status(), 401, "{what}");
    }

    let r = s
        .anonymous
        .post(format!("{}/auth/token", s.root))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    oauth_error(r, 400, "invalid_request").await;
}

async fn introspection_and_revocation(s: TestServer) {
    let subject = s.token("system/Patient.rs", None).await;
    let caller = s.client_with(&subject);
    let introspect = |token: String| {
        let caller = caller.clone();
        let url = format!("{}/auth/introspect", s.root);
        async move {
            caller
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("token={}", urlencode(&token)))
                .send()
                .await
                .unwrap()
        }
    };
    let active = json_with_status(introspect(subject.clone()).await, 200).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "helsebro-operator");
    assert!(active["exp"].as_i64().unwrap() > 0);
    assert_eq!(
        helsebro::auth::scopes::Scopes::parse(active["scope"].as_str().unwrap()).unwrap(),
        helsebro::auth::scopes::Scopes::parse("system/Patient.rs").unwrap()
    );
    let inactive = json_with_status(introspect("invalid_token_value".into()).await, 200).await;
    assert_eq!(inactive, json!({"active": false}));

    // Without a token of its own, the caller is refused.
    let r = s
        .anonymous
        .post(format!("{}/auth/introspect", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={}", urlencode(&subject)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A client revokes its own token; it stops working at once.
    let other = s.token("system/Patient.rs", None).await;
    let r = caller
        .post(format!("{}/auth/revoke", s.root))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={}", urlencode(&other)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let gone = s
        .client_with(&other)
        .get(s.url("Patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);
    let after = json_with_status(introspect(other).await, 200).await;
    assert_eq!(after["active"], false);
}

on_both_backends!(
    discovery_names_the_endpoints,
    a_backend_service_gets_a_token_within_its_registration,
    bad_token_requests_get_rfc6749_errors,
    introspection_and_revocation,
);
