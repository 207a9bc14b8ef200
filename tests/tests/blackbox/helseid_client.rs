//! The HelseID client of outgoing deliveries against Helsebro's own token endpoint:
//! `private_key_jwt` client authentication, DPoP-bound tokens with server nonces, token
//! reuse, and the API call with `Authorization: DPoP`.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use helsebro::delivery::helseid::{HelseIdClient, HelseIdConfig, HelseIdError};
use helsebro::store::audit::AuditQuery;
use helsebro_blackbox::keys::{client_key, ClientKey};
use helsebro_blackbox::reqwest::{Method, RequestBuilder, Response};
use helsebro_blackbox::{on_both_backends, TestServer};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn register(s: &TestServer, key: &ClientKey, scope: &str) -> String {
    s.register_backend_client(&key.jwk, scope).await
}

fn token_url(s: &TestServer) -> String {
    format!("{}/auth/token", s.root)
}

fn helseid(s: &TestServer, client_id: &str, key: &ClientKey, dpop: bool) -> HelseIdClient {
    HelseIdClient::new(
        HelseIdConfig {
            token_url: token_url(s),
            client_id: client_id.into(),
            scope: "system/Patient.rs".into(),
            private_key_pem: key.pem.clone(),
            kid: "k1".into(),
            algorithm: jsonwebtoken::Algorithm::ES384,
            dpop,
        },
        reqwest_client(),
    )
    .unwrap()
}

fn reqwest_client() -> helsebro_blackbox::reqwest::Client {
    helsebro_blackbox::reqwest::Client::new()
}

/// A request's `Authorization` and `DPoP` headers.
type Headers = (String, Option<String>);

/// The `Authorization` and `DPoP` headers of every request `send` makes.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Headers>>>);

impl Seen {
    fn build(&self) -> impl Fn(RequestBuilder) -> RequestBuilder + Send + Sync + 'static {
        let seen = self.0.clone();
        move |r: RequestBuilder| {
            if let Some(request) = r.try_clone().and_then(|b| b.build().ok()) {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                seen.lock()
                    .unwrap()
                    .push((header("authorization").unwrap_or_default(), header("dpop")));
            }
            r
        }
    }

    fn last(&self) -> Headers {
        self.0.lock().unwrap().last().cloned().expect("a request")
    }
}

/// Tokens issued to `client_id` (one row each in `access_grants`).
async fn tokens_issued(s: &TestServer, client_id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM access_grants WHERE client_id = $1")
        .bind(client_id)
        .fetch_one(s.state.store.pool())
        .await
        .unwrap()
}

/// Refused token requests with `error`, from the access log (they belong to no tenant).
async fn refusals(s: &TestServer, error: &str) -> usize {
    let rows = s
        .state
        .store
        .search_audit(&AuditQuery {
            tenant_id: String::new(),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.iter()
        .filter(|r| {
            r.record.type_code == "login" && r.record.outcome_desc.as_deref() == Some(error)
        })
        .count()
}

fn jkt_of(jwk: &Value) -> String {
    helsebro::auth::dpop::thumbprint(&serde_json::from_value(jwk.clone()).unwrap()).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A DPoP key of the test's own, for proofs written by hand.
struct DpopKey {
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn dpop_key() -> DpopKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    DpopKey {
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk: json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }),
    }
}

impl DpopKey {
    fn proof(&self, htm: &str, htu: &str, nonce: Option<&str>, token: Option<&str>) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).unwrap());
        let mut claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": htm,
                                "htu": htu, "iat": now()});
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = token {
            claims["ath"] =
                json!(URL_SAFE_NO_PAD
                    .encode(ring::digest::digest(&ring::digest::SHA256, t.as_bytes())));
        }
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

fn assertion(key: &ClientKey, client_id: &str, aud: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES384);
    header.kid = Some("k1".into());
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now(),
                        "exp": now() + 60, "jti": uuid::Uuid::new_v4().to_string()});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
    )
    .unwrap()
}

/// A client credentials request by hand, with `proof` as its DPoP header.
async fn token_request(
    s: &TestServer,
    key: &ClientKey,
    client_id: &str,
    proof: Option<String>,
) -> Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("scope", "system/Patient.rs")
        .append_pair("client_assertion_type", ASSERTION_TYPE)
        .append_pair(
            "client_assertion",
            &assertion(key, client_id, &token_url(s)),
        )
        .finish();
    let mut r = s
        .anonymous
        .post(token_url(s))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(p) = proof {
        r = r.header("DPoP", p);
    }
    r.send().await.unwrap()
}

fn nonce_of(r: &Response) -> String {
    r.headers()
        .get("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_str()
        .unwrap()
        .to_string()
}

async fn add_patient(s: &TestServer) {
    let r = s
        .put_json(
            "Patient/p1",
            &json!({"resourceType": "Patient", "id": "p1"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
}

async fn the_client_gets_a_dpop_bound_token_after_a_nonce_and_reuses_it(s: TestServer) {
    add_patient(&s).await;
    let key = client_key("k1");
    let client_id = register(&s, &key, "system/Patient.rs").await;
    let client = helseid(&s, &client_id, &key, true);
    let seen = Seen::default();
    let build = seen.build();
    let url = s.url("Patient?_id=p1");

    let r = client.send(Method::GET, &url, &build).await.unwrap();
    assert_eq!(r.status(), 200);
    let bundle: Value = r.json().await.unwrap();
    assert_eq!(bundle["entry"][0]["resource"]["id"], "p1", "{bundle}");
    // The first token request was told to use a nonce; the retry with it got the token.
    assert_eq!(refusals(&s, "use_dpop_nonce").await, 1);
    assert_eq!(tokens_issued(&s, &client_id).await, 1);

    // The API saw a DPoP-bound token with a proof of the client's key.
    let (authorization, proof) = seen.last();
    let token = authorization
        .strip_prefix("DPoP ")
        .expect("Authorization: DPoP")
        .to_string();
    let claims = helsebro::auth::tokens::unverified_claims(&token).unwrap();
    assert_eq!(claims["cnf"]["jkt"], jkt_of(&client.dpop_jwk()));
    let proof = proof.expect("a DPoP proof");
    let proof_claims = helsebro::auth::tokens::unverified_claims(&proof).unwrap();
    assert_eq!(proof_claims["htm"], "GET");
    assert_eq!(proof_claims["htu"], s.url("Patient"));
    assert!(proof_claims["ath"].is_string());

    // A second call reuses the cached token: no new token request, no new nonce round.
    let r = client
        .send(Method::GET, &s.url("Patient/p1"), &build)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(tokens_issued(&s, &client_id).await, 1);
    assert_eq!(refusals(&s, "use_dpop_nonce").await, 1);
    assert_eq!(seen.last().0, authorization);

    // The bound token is no bearer token, and is nothing without a proof.
    let as_bearer = s
        .anonymous
        .get(s.url("Patient/p1"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(as_bearer.status(), 401);
    let without_proof = s
        .anonymous
        .get(s.url("Patient/p1"))
        .header("Authorization", format!("DPoP {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(without_proof.status(), 401);

    // Introspection tells a resource server the token is bound, and to which key; the
    // bound token cannot itself authenticate an introspection caller.
    let introspected: Value = s
        .client
        .post(format!("{}/auth/introspect", s.root))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], jkt_of(&client.dpop_jwk()));
    let stolen = s
        .anonymous
        .post(format!("{}/auth/introspect", s.root))
        .header("Authorization", format!("Bearer {token}"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 401);

    // Discovery names the proof algorithms.
    let c: Value = s
        .anonymous
        .get(s.url(".well-known/smart-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(c["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("ES256")));
}

async fn the_token_endpoint_wants_a_nonce_it_issued(s: TestServer) {
    add_patient(&s).await;
    let key = client_key("k1");
    let client_id = register(&s, &key, "system/Patient.rs").await;
    let dpop = dpop_key();
    let htu = token_url(&s);

    // No nonce: 400 use_dpop_nonce, with one to use.
    let r = token_request(
        &s,
        &key,
        &client_id,
        Some(dpop.proof("POST", &htu, None, None)),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let nonce = nonce_of(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");

    // A nonce the server did not issue, or a changed one, is refused the same way.
    let (stamp, _) = nonce.split_once('.').unwrap();
    for wrong in [
        "12345.bm9wZQ".to_string(),
        format!("{stamp}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let proof = dpop.proof("POST", &htu, Some(&wrong), None);
        let r = token_request(&s, &key, &client_id, Some(proof)).await;
        assert_eq!(r.status(), 400);
        assert!(!nonce_of(&r).is_empty());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "use_dpop_nonce");
    }
    // A proof for another URL is no proof.
    let elsewhere = dpop.proof("POST", &s.url("Patient"), Some(&nonce), None);
    let r = token_request(&s, &key, &client_id, Some(elsewhere)).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    assert_eq!(tokens_issued(&s, &client_id).await, 0);

    // With the nonce: a DPoP token bound to the proof's key, and a fresh nonce.
    let r = token_request(
        &s,
        &key,
        &client_id,
        Some(dpop.proof("POST", &htu, Some(&nonce), None)),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(!nonce_of(&r).is_empty());
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "DPoP");
    let token = t["access_token"].as_str().unwrap().to_string();
    let claims = helsebro::auth::tokens::unverified_claims(&token).unwrap();
    assert_eq!(claims["cnf"]["jkt"], jkt_of(&dpop.jwk));

    // Good at the API with a proof of that key, not as a bearer token.
    let url = s.url("Patient/p1");
    let with_proof = s
        .anonymous
        .get(&url)
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", dpop.proof("GET", &url, None, Some(&token)))
        .send()
        .await
        .unwrap();
    assert_eq!(with_proof.status(), 200);
    let as_bearer = s
        .anonymous
        .get(&url)
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(as_bearer.status(), 401);

    // Without a DPoP header nothing changes: a bearer token, no nonce.
    let r = token_request(&s, &key, &client_id, None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("dpop-nonce").is_none());
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    let bearer = t["access_token"].as_str().unwrap();
    assert!(helsebro::auth::tokens::unverified_claims(bearer).unwrap()["cnf"].is_null());
    let r = s.client_with(bearer).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn a_refused_token_is_replaced_once(s: TestServer) {
    add_patient(&s).await;
    let key = client_key("k1");
    let client_id = register(&s, &key, "system/Patient.rs").await;
    let client = helseid(&s, &client_id, &key, true);
    let seen = Seen::default();
    let build = seen.build();
    let url = s.url("Patient/p1");
    assert_eq!(
        client
            .send(Method::GET, &url, &build)
            .await
            .unwrap()
            .status(),
        200
    );
    let (authorization, _) = seen.last();
    let token = authorization.strip_prefix("DPoP ").unwrap();
    let jti = helsebro::auth::tokens::unverified_claims(token).unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.state.store.revoke_access_grant(&jti).await.unwrap());
    // The API answers invalid_token; the client gets a new token and tries once more.
    let r = client.send(Method::GET, &url, &build).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(tokens_issued(&s, &client_id).await, 2);
    assert_ne!(seen.last().0, authorization);
}

async fn an_assertion_signed_with_another_key_is_refused(s: TestServer) {
    let registered = client_key("k1");
    let client_id = register(&s, &registered, "system/Patient.rs").await;
    let other = client_key("k1");
    for dpop in [true, false] {
        let client = helseid(&s, &client_id, &other, dpop);
        let e = client
            .send(Method::GET, &s.url("Patient/p1"), &|r| r)
            .await
            .unwrap_err();
        match &e {
            HelseIdError::Refused { status, error } => {
                assert_eq!((*status, error.as_str()), (401, "invalid_client"));
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        assert!(e.code().contains("invalid_client"), "{}", e.code());
        assert!(!e.retryable());
    }
    assert_eq!(tokens_issued(&s, &client_id).await, 0);
    // With DPoP the nonce round came first, then the assertion was refused.
    assert_eq!(refusals(&s, "use_dpop_nonce").await, 1);
    assert_eq!(refusals(&s, "invalid_client").await, 2);
}

on_both_backends!(
    the_client_gets_a_dpop_bound_token_after_a_nonce_and_reuses_it,
    the_token_endpoint_wants_a_nonce_it_issued,
    a_refused_token_is_replaced_once,
    an_assertion_signed_with_another_key_is_refused,
);
