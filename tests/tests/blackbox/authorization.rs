//! Authorization: tokens are required and checked, scopes bound every interaction, a
//! patient-context token sees only its patient's compartment, and tenants never meet.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use helsebro::auth::scopes::Scopes;
use helsebro::auth::tokens::{issue, NewToken};
use helsebro_blackbox::reqwest::{Client, Response};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

async fn patient(s: &TestServer, id: &str) {
    let r = s
        .put_json(
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id, "active": true}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

pub(crate) fn heart_rate(patient: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-03-01T08:00:00Z",
        "valueQuantity": {"value": 61, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

async fn get(client: &Client, s: &TestServer, path: &str) -> Response {
    client.get(s.url(path)).send().await.unwrap()
}

async fn post(client: &Client, s: &TestServer, path: &str, body: &Value) -> Response {
    client
        .post(s.url(path))
        .header("Content-Type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn www_authenticate(r: &Response) -> String {
    r.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn refused(r: Response, status: u16, code: &str) {
    let outcome = json_with_status(r, status).await;
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], code, "{outcome}");
}

async fn requests_without_a_token_are_refused_but_metadata_is_open(s: TestServer) {
    patient(&s, "p1").await;
    for path in ["Patient", "Patient/p1", "Patient/p1/_history", "_history"] {
        let r = get(&s.anonymous, &s, path).await;
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(www_authenticate(&r), r#"Bearer realm="helsebro""#);
        refused(r, 401, "login").await;
    }
    let r = post(
        &s.anonymous,
        &s,
        "Patient",
        &json!({"resourceType": "Patient"}),
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = s
        .anonymous
        .post(s.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("family=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = get(&s.anonymous, &s, "metadata").await;
    assert_eq!(r.status(), 200);
    let jwks = s
        .anonymous
        .get(format!("{}/.well-known/jwks.json", s.root))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
    // Nothing was written by the refused create.
    let all = json_with_status(s.get("Patient?_total=accurate").await, 200).await;
    assert_eq!(all["total"], 1);
}

/// A token with its payload replaced, its signature kept.
fn tampered(token: &str, change: impl Fn(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    change(&mut claims);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{}.{}", parts[0], payload, parts[2])
}

fn header_of(token: &str) -> Value {
    let first = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
}

/// Signs `claims` with a P-256 key that is not the server's, under the server's kid.
fn signed_with_foreign_key(kid: &str, claims: &Value) -> String {
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn forged_expired_foreign_and_revoked_tokens_are_refused(s: TestServer) {
    patient(&s, "p1").await;
    let good = s.token("system/*.rs", None).await;
    assert_eq!(
        get(&s.client_with(&good), &s, "Patient/p1").await.status(),
        200
    );
    let kid = header_of(&good)["kid"].as_str().unwrap().to_string();

    let mut forged = vec![
        ("garbage", "not-a-jwt".to_string()),
        (
            "more scope in the payload",
            tampered(&good, |c| c["scope"] = json!("system/*.cruds")),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
                URL_SAFE_NO_PAD.encode(claims_of(&good).to_string())
            ),
        ),
        (
            "HS256 with the public key as secret",
            jsonwebtoken::encode(
                &jsonwebtoken::Header {
                    kid: Some(kid.clone()),
                    ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
                },
                &claims_of(&good),
                &jsonwebtoken::EncodingKey::from_secret(s.state.keys.jwks().to_string().as_bytes()),
            )
            .unwrap(),
        ),
        (
            "wrong key",
            signed_with_foreign_key(&kid, &claims_of(&good)),
        ),
    ];
    // Validly signed by this server, but for another audience, or already expired.
    let tenant = (*s.state.tenant).clone();
    let scopes = Scopes::parse("system/*.rs").unwrap();
    let token = |audience: &'static str, seconds: u64| {
        let s = &s;
        let tenant = tenant.clone();
        let scopes = scopes.clone();
        async move {
            issue(
                &s.state.store,
                &s.state.keys,
                audience,
                &NewToken {
                    tenant: &tenant,
                    client_id: "test",
                    subject: "test",
                    scopes: &scopes,
                    patient: None,
                    fhir_user: None,
                    lifetime: std::time::Duration::from_secs(seconds),
                    authorization_id: None,
                    jkt: None,
                },
            )
            .await
            .unwrap()
        }
    };
    forged.push((
        "wrong audience",
        token("https://other.example/fhir", 600).await,
    ));
    let base: &'static str = Box::leak(s.base.clone().into_boxed_str());
    forged.push(("expired", token(base, 0).await));
    let revoked = s.token("system/*.rs", None).await;
    // Used once first: a token whose signature was verified (and is remembered) still
    // fails at once when its grant is revoked.
    assert_eq!(
        get(&s.client_with(&revoked), &s, "Patient/p1")
            .await
            .status(),
        200
    );
    let jti = claims_of(&revoked)["jti"].as_str().unwrap().to_string();
    assert!(s.state.store.revoke_access_grant(&jti).await.unwrap());
    forged.push(("revoked", revoked));

    for (what, token) in forged {
        let r = get(&s.client_with(&token), &s, "Patient/p1").await;
        assert_eq!(r.status(), 401, "{what}");
        assert_eq!(
            www_authenticate(&r),
            r#"Bearer realm="helsebro", error="invalid_token""#,
            "{what}"
        );
    }
}

async fn scopes_bound_each_interaction(s: TestServer) {
    patient(&s, "p1").await;
    let obs = s.create(&heart_rate("p1")).await;
    let obs_id = obs["id"].as_str().unwrap();

    // v1 read: read and search, nothing else.
    let reader = s.client_with(&s.token("system/*.read", None).await);
    assert_eq!(get(&reader, &s, "Patient/p1").await.status(), 200);
    assert_eq!(
        get(&reader, &s, "Observation?patient=p1").await.status(),
        200
    );
    let r = post(&reader, &s, "Observation", &heart_rate("p1")).await;
    assert_eq!(
        www_authenticate(&r),
        r#"Bearer realm="helsebro", error="insufficient_scope""#
    );
    refused(r, 403, "forbidden").await;
    let r = reader
        .delete(s.url(&format!("Observation/{obs_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // v2 letters: search without read, read without search.
    let searcher = s.client_with(&s.token("system/Patient.s", None).await);
    assert_eq!(get(&searcher, &s, "Patient?_id=p1").await.status(), 200);
    assert_eq!(get(&searcher, &s, "Patient/p1").await.status(), 403);
    assert_eq!(
        get(&searcher, &s, "Patient/p1/_history").await.status(),
        403
    );
    let one_reader = s.client_with(&s.token("system/Patient.r", None).await);
    assert_eq!(get(&one_reader, &s, "Patient/p1").await.status(), 200);
    assert_eq!(get(&one_reader, &s, "Patient?_id=p1").await.status(), 403);
    // Another type is not granted at all.
    assert_eq!(
        get(&one_reader, &s, &format!("Observation/{obs_id}"))
            .await
            .status(),
        403
    );

    // c without u: create works, update does not.
    let creator = s.client_with(&s.token("system/Observation.c", None).await);
    assert_eq!(
        post(&creator, &s, "Observation", &heart_rate("p1"))
            .await
            .status(),
        201
    );
    let mut changed = obs.clone();
    changed["valueQuantity"]["value"] = json!(62);
    let r = creator
        .put(s.url(&format!("Observation/{obs_id}")))
        .header("Content-Type", "application/fhir+json")
        .body(changed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let unchanged = json_with_status(s.get(&format!("Observation/{obs_id}")).await, 200).await;
    assert_eq!(unchanged["valueQuantity"]["value"], 61);
}

async fn a_patient_token_sees_only_its_patients_compartment(s: TestServer) {
    patient(&s, "p1").await;
    patient(&s, "p2").await;
    let own = s.create(&heart_rate("p1")).await;
    let other = s.create(&heart_rate("p2")).await;
    let c = s.client_with(
        &s.token("patient/Patient.rs patient/Observation.crs", Some("p1"))
            .await,
    );
    assert_eq!(get(&c, &s, "Patient/p1").await.status(), 200);
    // Another patient's record is as unknown as one that does not exist.
    refused(get(&c, &s, "Patient/p2").await, 404, "not-found").await;
    refused(get(&c, &s, "Patient/nobody").await, 404, "not-found").await;
    let own_path = format!("Observation/{}", own["id"].as_str().unwrap());
    let other_path = format!("Observation/{}", other["id"].as_str().unwrap());
    assert_eq!(get(&c, &s, &own_path).await.status(), 200);
    assert_eq!(get(&c, &s, &other_path).await.status(), 404);
    assert_eq!(
        get(&c, &s, &format!("{other_path}/_history/1"))
            .await
            .status(),
        404
    );

    // Searches return only what the token reaches, also when asked for the other patient.
    for query in [
        "Observation",
        "Observation?patient=p2",
        "Observation?code=8867-4",
    ] {
        let bundle = json_with_status(get(&c, &s, query).await, 200).await;
        let subjects: Vec<&str> = bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"]["subject"]["reference"].as_str().unwrap())
            .collect();
        assert!(
            subjects.iter().all(|r| *r == "Patient/p1"),
            "{query}: {subjects:?}"
        );
    }
    let patients = json_with_status(get(&c, &s, "Patient").await, 200).await;
    assert_eq!(patients["entry"].as_array().unwrap().len(), 1);
    assert_eq!(patients["entry"][0]["resource"]["id"], "p1");

    // Writing into another patient's compartment is refused and writes nothing.
    refused(
        post(&c, &s, "Observation", &heart_rate("p2")).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        post(&c, &s, "Observation", &heart_rate("p1"))
            .await
            .status(),
        201
    );
    let p2_obs = json_with_status(s.get("Observation?patient=p2&_total=accurate").await, 200).await;
    assert_eq!(p2_obs["total"], 1);
    // A conditional create matches only within reach: it never hands back p2's record.
    let r = c
        .post(s.url("Observation"))
        .header("Content-Type", "application/fhir+json")
        .header("If-None-Exist", "patient=p2")
        .body(heart_rate("p1").to_string())
        .send()
        .await
        .unwrap();
    let created = json_with_status(r, 201).await;
    assert_eq!(created["subject"]["reference"], "Patient/p1");
    // The type-wide history would show other patients: refused.
    assert_eq!(get(&c, &s, "Observation/_history").await.status(), 403);

    // PUT updates the patient's own records. To another patient's record, and to a free
    // id, the answer is the same, so it does not tell which ids are taken.
    let c = s.client_with(&s.token("patient/Observation.cruds", Some("p1")).await);
    let put = |path: String, mut body: Value| {
        let c = c.clone();
        let url = s.url(&path);
        body["id"] = json!(path.rsplit('/').next().unwrap());
        async move {
            c.put(url)
                .header("Content-Type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(put(own_path.clone(), heart_rate("p1")).await.status(), 200);
    let taken = json_with_status(put(other_path.clone(), heart_rate("p1")).await, 403).await;
    let free = json_with_status(
        put("Observation/free-id".into(), heart_rate("p1")).await,
        403,
    )
    .await;
    let diagnostics = |o: &Value, id: &str| {
        o["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .replace(id, "ID")
    };
    assert_eq!(
        diagnostics(&taken, other["id"].as_str().unwrap()),
        diagnostics(&free, "free-id")
    );
    assert_eq!(taken["issue"][0]["code"], free["issue"][0]["code"]);
}

async fn tenants_never_see_each_others_records(s: TestServer) {
    patient(&s, "p1").await;
    let obs = s.create(&heart_rate("p1")).await;
    let other = s.other_tenant(true).await;
    let c = s.client_with(&s.token_for(&other, "system/*.cruds", None).await);
    assert_eq!(get(&c, &s, "Patient/p1").await.status(), 404);
    let obs_path = format!("Observation/{}", obs["id"].as_str().unwrap());
    assert_eq!(get(&c, &s, &obs_path).await.status(), 404);
    let found = json_with_status(get(&c, &s, "Patient?_total=accurate").await, 200).await;
    assert_eq!(found["total"], 0);
    let history = json_with_status(get(&c, &s, "_history").await, 200).await;
    assert!(history["entry"].as_array().is_none_or(|e| e.is_empty()));
    // A reference to the first tenant's patient does not resolve in the second.
    assert_eq!(
        post(&c, &s, "Observation", &heart_rate("p1"))
            .await
            .status(),
        422
    );
    // The same id in the second tenant is a different resource.
    let r = c
        .put(s.url("Patient/p1"))
        .header("Content-Type", "application/fhir+json")
        .body(json!({"resourceType": "Patient", "id": "p1", "active": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let first = json_with_status(s.get("Patient/p1").await, 200).await;
    assert_eq!(first["active"], true);
    assert_eq!(first["meta"]["versionId"], "1");
    // A deletion in the second tenant leaves the first's alone.
    let r = c.delete(s.url(&obs_path)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.get(&obs_path).await.status(), 200);
}

on_both_backends!(
    requests_without_a_token_are_refused_but_metadata_is_open,
    forged_expired_foreign_and_revoked_tokens_are_refused,
    scopes_bound_each_interaction,
    a_patient_token_sees_only_its_patients_compartment,
    tenants_never_see_each_others_records,
);

async fn a_practitioner_reaches_the_patients_in_their_care(s: TestServer) {
    patient(&s, "p1").await;
    patient(&s, "p2").await;
    let r = s
        .put_json(
            "Practitioner/doc",
            &json!({"resourceType": "Practitioner", "id": "doc", "active": true}),
        )
        .await;
    assert!(r.status().is_success());
    let own = s.create(&heart_rate("p1")).await;
    let other = s.create(&heart_rate("p2")).await;
    let tenant = s.state.tenant.id.clone();
    s.state
        .store
        .add_care_relationship(&tenant, "doc", "p1", "primary")
        .await
        .unwrap();
    let c = s.client_with(&s.user_token("user/*.rs", "Practitioner/doc").await);
    assert_eq!(get(&c, &s, "Patient/p1").await.status(), 200);
    assert_eq!(get(&c, &s, "Patient/p2").await.status(), 404);
    let own_path = format!("Observation/{}", own["id"].as_str().unwrap());
    let other_path = format!("Observation/{}", other["id"].as_str().unwrap());
    assert_eq!(get(&c, &s, &own_path).await.status(), 200);
    assert_eq!(get(&c, &s, &other_path).await.status(), 404);
    let found = json_with_status(get(&c, &s, "Observation?_total=accurate").await, 200).await;
    assert_eq!(found["total"], 1);
    // The practitioner directory is not a patient's compartment.
    assert_eq!(get(&c, &s, "Practitioner/doc").await.status(), 200);

    // A new relationship counts from the next request on.
    s.state
        .store
        .add_care_relationship(&tenant, "doc", "p2", "substitute")
        .await
        .unwrap();
    assert_eq!(get(&c, &s, &other_path).await.status(), 200);

    // user/ scopes without a practitioner user reach nothing.
    let nobody = s.client_with(&s.token("user/*.rs", None).await);
    assert_eq!(get(&nobody, &s, "Patient/p1").await.status(), 403);
    assert_eq!(get(&nobody, &s, "Practitioner/doc").await.status(), 403);
}

async fn granular_scopes_reach_the_union_of_their_queries(s: TestServer) {
    patient(&s, "p1").await;
    let mut lab = heart_rate("p1");
    lab["category"][0]["coding"][0]["code"] = json!("laboratory");
    lab["code"]["coding"][0]["code"] = json!("15074-8");
    lab["valueQuantity"] = json!({"value": 6.1, "unit": "mmol/L",
        "system": "http://unitsofmeasure.org", "code": "mmol/L"});
    for body in [heart_rate("p1"), lab] {
        s.create(&body).await;
    }
    let categories = |scope: &'static str| {
        let s = &s;
        async move {
            let c = s.client_with(&s.token(scope, Some("p1")).await);
            let bundle = json_with_status(get(&c, s, "Observation").await, 200).await;
            let mut found: Vec<String> = bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    e["resource"]["category"][0]["coding"][0]["code"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(
        categories("patient/Observation.rs?category=vital-signs").await,
        ["vital-signs"]
    );
    assert_eq!(
        categories(
            "patient/Observation.rs?category=vital-signs patient/Observation.rs?category=laboratory"
        )
        .await,
        ["laboratory", "vital-signs"]
    );
    assert_eq!(
        categories("patient/Observation.rs?category=laboratory patient/Observation.rs").await,
        ["laboratory", "vital-signs"]
    );
}

on_both_backends!(
    a_practitioner_reaches_the_patients_in_their_care,
    granular_scopes_reach_the_union_of_their_queries
);
