//! Tokens from trusted external issuers (an EHR's SMART server, HelseID): verified against
//! the keys the issuer publishes over HTTP, claims mapped to tenant, user and scopes.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use helsebro::store::issuers::TrustedIssuer;
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// An issuer: an ES256 key and a JWKS endpoint serving its public half over HTTP.
struct Issuer {
    url: String,
    jwks_uri: String,
    pkcs8: Vec<u8>,
    kid: String,
}

async fn issuer() -> Issuer {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let kid = "ehr-key-1".to_string();
    let jwks = Arc::new(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]}));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json((*jwks).clone()) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Issuer {
        url: format!("http://{addr}"),
        jwks_uri: format!("http://{addr}/jwks"),
        pkcs8: pkcs8.as_ref().to_vec(),
        kid,
    }
}

impl Issuer {
    fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn tokens_of_a_trusted_issuer_are_verified_and_mapped(s: TestServer) {
    let ehr = issuer().await;
    let tenant = s.state.tenant.clone();
    s.state
        .store
        .add_trusted_issuer(&TrustedIssuer {
            issuer: ehr.url.clone(),
            jwks_uri: ehr.jwks_uri.clone(),
            audience: s.base.clone(),
            tenant_id: None,
        })
        .await
        .unwrap();
    for id in ["p1", "p2"] {
        let r = s
            .put_json(
                &format!("Patient/{id}"),
                &json!({"resourceType": "Patient", "id": id}),
            )
            .await;
        assert!(r.status().is_success());
    }
    let r = s
        .put_json(
            "Practitioner/lege",
            &json!({"resourceType": "Practitioner", "id": "lege",
                    "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}]}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    s.state
        .store
        .add_care_relationship(&tenant.id, "lege", "p2", "primary")
        .await
        .unwrap();

    // HelseID-style: the organisation and the HPR number name tenant and user.
    let helseid = ehr.sign(&json!({
        "iss": ehr.url, "aud": s.base, "sub": "abc", "exp": now() + 300, "iat": now(),
        "scope": "user/Patient.rs",
        "helseid://claims/client/claims/orgnr_parent": tenant.org_number,
        "helseid://claims/hpr/hpr_number": "9144900",
        "client_id": "ehr-app",
        "authorization_details": [{
            "type": "nhn:tillitsrammeverk:parameters",
            "care_relationship": {"purpose_of_use": {"code": "TREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"}}
        }]
    }));
    let c = s.client_with(&helseid);
    assert_eq!(
        c.get(s.url("Patient/p2")).send().await.unwrap().status(),
        200
    );
    // The access log has the user, the client and the purpose the token gave.
    let log = json_with_status(s.get("AuditEvent?patient=p2&action=R").await, 200).await;
    let read = &log["entry"][0]["resource"];
    assert_eq!(read["agent"][0]["who"]["reference"], "Practitioner/lege");
    assert_eq!(read["agent"][0]["who"]["identifier"]["value"], "9144900");
    assert_eq!(read["agent"][1]["who"]["identifier"]["value"], "ehr-app");
    assert_eq!(read["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
    assert_eq!(
        c.get(s.url("Patient/p1")).send().await.unwrap().status(),
        404
    );

    // An EHR launch token: patient context from the `patient` claim.
    let launch = ehr.sign(&json!({
        "iss": ehr.url, "aud": s.base, "sub": "u1", "exp": now() + 300,
        "scope": "patient/Patient.rs", "patient": "p1", "tenant": tenant.org_number
    }));
    let c = s.client_with(&launch);
    let found = json_with_status(c.get(s.url("Patient")).send().await.unwrap(), 200).await;
    assert_eq!(found["entry"].as_array().unwrap().len(), 1);
    assert_eq!(found["entry"][0]["resource"]["id"], "p1");

    // Refused: another audience, expired, an unknown organisation, an untrusted issuer,
    // a key the issuer does not publish.
    let base = json!({"iss": ehr.url, "aud": s.base, "sub": "x", "exp": now() + 300,
                      "scope": "system/*.rs", "tenant": tenant.org_number});
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let stranger = issuer().await;
    let refused = [
        (
            "audience",
            ehr.sign(&with("aud", json!("https://elsewhere.example/fhir"))),
        ),
        ("expired", ehr.sign(&with("exp", json!(now() - 120)))),
        (
            "organisation",
            ehr.sign(&with("tenant", json!("974760673"))),
        ),
        ("issuer", stranger.sign(&with("iss", json!(stranger.url)))),
        ("key", stranger.sign(&base)),
    ];
    for (what, token) in refused {
        let r = s
            .client_with(&token)
            .get(s.url("Patient/p1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{what}");
    }
    // The same token signed properly is accepted: the refusals above are for their reason.
    let r = s
        .client_with(&ehr.sign(&base))
        .get(s.url("Patient/p1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A client's DPoP key: signs proofs; its thumbprint binds tokens.
struct DpopKey {
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn dpop_key() -> DpopKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref().to_vec();
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
    /// RFC 7638, written out by hand.
    fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.jwk["x"].as_str().unwrap(),
            self.jwk["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    fn proof(&self, method: &str, url: &str, token: &str, jti: &str) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).unwrap());
        let ath = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            token.as_bytes(),
        ));
        let claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now(), "ath": ath});
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

async fn dpop_bound_tokens_need_a_fresh_proof_of_the_bound_key(s: TestServer) {
    let ehr = issuer().await;
    s.state
        .store
        .add_trusted_issuer(&TrustedIssuer {
            issuer: ehr.url.clone(),
            jwks_uri: ehr.jwks_uri.clone(),
            audience: s.base.clone(),
            tenant_id: Some(s.state.tenant.id.clone()),
        })
        .await
        .unwrap();
    let r = s
        .put_json(
            "Patient/p1",
            &json!({"resourceType": "Patient", "id": "p1"}),
        )
        .await;
    assert!(r.status().is_success());
    let key = dpop_key();
    let token = ehr.sign(&json!({
        "iss": ehr.url, "aud": s.base, "sub": "x", "exp": now() + 300,
        "scope": "system/Patient.rs", "cnf": {"jkt": key.thumbprint()}
    }));
    let url = s.url("Patient/p1");
    let send = |scheme: &str, proof: Option<String>| {
        let mut rq = s
            .anonymous
            .get(&url)
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            rq = rq.header("DPoP", p);
        }
        async move { rq.send().await.unwrap().status() }
    };
    let proof = key.proof("GET", &url, &token, "proof-1");
    assert_eq!(send("DPoP", Some(proof.clone())).await, 200);
    // The same proof again is a replay.
    assert_eq!(send("DPoP", Some(proof)).await, 401);
    // No proof, or a bound token presented as a bearer token.
    assert_eq!(send("DPoP", None).await, 401);
    assert_eq!(send("Bearer", None).await, 401);
    // A proof for another URL or method, for another token, or by another key.
    let other = dpop_key();
    let refused = [
        key.proof("GET", &s.url("Patient/p2"), &token, "proof-2"),
        key.proof("POST", &url, &token, "proof-3"),
        key.proof("GET", &url, "another-token", "proof-4"),
        other.proof("GET", &url, &token, "proof-5"),
    ];
    for proof in refused {
        assert_eq!(send("DPoP", Some(proof)).await, 401);
    }
    // A fresh proof works again.
    assert_eq!(
        send("DPoP", Some(key.proof("GET", &url, &token, "proof-6"))).await,
        200
    );
}

on_both_backends!(
    tokens_of_a_trusted_issuer_are_verified_and_mapped,
    dpop_bound_tokens_need_a_fresh_proof_of_the_bound_key,
);
