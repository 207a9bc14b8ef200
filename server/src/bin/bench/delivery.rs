//! The delivery phase of `helsebro-bench`: journal notes written on a sender (each note and
//! its queued document one transaction), then sent by one worker over JFT, with a
//! private_key_jwt client and DPoP-bound tokens, to a receiving Helsebro in the same
//! process. Reports notes written per second and documents delivered per second.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use helsebro::config::Config;
use helsebro::delivery::journal_notes::write_note;
use helsebro::delivery::worker::Worker;
use helsebro::delivery::DeliveryConfig;
use helsebro::store::deliveries::{DeliveryQuery, DeliveryRoute, DeliveryState};
use helsebro::store::document_sources::NewNote;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::json;

type BoxError = Box<dyn std::error::Error>;

/// An ES384 client key: PKCS#8 PEM and the public JWK.
fn client_key() -> Result<(String, serde_json::Value), BoxError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
        .map_err(|_| "key generation failed")?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| "key unreadable")?;
    let point = pair.public_key().as_ref();
    let b64 = STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let jwk = json!({"kty": "EC", "crv": "P-384", "kid": "bench", "alg": "ES384",
        "x": URL_SAFE_NO_PAD.encode(&point[1..49]), "y": URL_SAFE_NO_PAD.encode(&point[49..97])});
    Ok((pem, jwk))
}

pub async fn run(label: &str, sender_url: String, notes: usize) -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!(
        "helsebro-bench-r-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run_with_receiver(label, sender_url, notes, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_with_receiver(
    label: &str,
    sender_url: String,
    notes: usize,
    dir: &std::path::Path,
) -> Result<(), BoxError> {
    // The receiver: SQLite in a temporary directory, served on an ephemeral port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = Config::new(
        addr,
        format!("sqlite://{}", dir.join("receiver.db").display()),
    );
    let receiver = helsebro::app::state(config).await?;
    tokio::spawn(helsebro::app::serve_router(
        listener,
        helsebro::app::router(receiver.clone()),
    ));
    let (pem, jwk) = client_key()?;
    let client_id = "bench-sender".to_string();
    receiver
        .store
        .add_client(&helsebro::store::clients::Client {
            client_id: client_id.clone(),
            tenant_id: receiver.tenant.id.clone(),
            name: "Bench sender".into(),
            jwks: Some(json!({"keys": [jwk]}).to_string()),
            jwks_uri: None,
            scope: "system/Bundle.c".into(),
            secret_hash: None,
            redirect_uris: Vec::new(),
            launch_uri: None,
        })
        .await?;

    // The sender: the backend under test, a patient, a route to the receiver.
    // The master key as `serve` finds it: the sender may share the database of the phases
    // before.
    let config = Config::new("127.0.0.1:0".parse()?, sender_url);
    let sender = helsebro::app::state(config).await?;
    let patient = json!({"type": "patient", "id": "bench-patient", "national_id": "13116900216",
        "family_name": "Benk", "given_names": "Berit",
        "address": {"municipality_code": "4601", "city": "Bergen"}});
    helsebro::import::import(
        &sender.store,
        &sender.tenant,
        Cursor::new(patient.to_string()),
        |_| {},
    )
    .await?;
    let origin = format!("http://{addr}");
    sender
        .store
        .set_delivery_route(&DeliveryRoute {
            tenant_id: sender.tenant.id.clone(),
            municipality_code: "*".into(),
            connector: "jft".into(),
            endpoint: format!("{origin}/jft/v1"),
            receiver_org: receiver.tenant.org_number.clone(),
            receiver_her_id: None,
            receiver_name: "Bench kommune".into(),
            token_url: format!("{origin}/auth/token"),
            client_id,
            client_key: pem,
            client_kid: "bench".into(),
            scope: "system/Bundle.c".into(),
            dpop: true,
        })
        .await?;

    let text = "Pasienten måler blodtrykk daglig; verdiene er stabile. ".repeat(8);
    let started = Instant::now();
    for i in 0..notes {
        let id = format!("note-{i}");
        write_note(
            &sender.store,
            &NewNote {
                tenant_id: &sender.tenant.id,
                id: &id,
                patient_id: "bench-patient",
                author_id: None,
                title: "Oppfølging",
                text: &text,
                status: "final",
                written_at: helsebro::store::now_micros(),
            },
        )
        .await?;
    }
    let written = started.elapsed();

    let worker = Arc::new(Worker::new(
        sender.store.clone(),
        DeliveryConfig {
            idle: Duration::from_millis(5),
            poll: Duration::from_secs(3600),
            ..DeliveryConfig::default()
        },
    )?);
    let started = Instant::now();
    loop {
        if worker.run_once().await? == 0 {
            break;
        }
    }
    let sent_in = started.elapsed();
    let sent = sender
        .store
        .deliveries(&DeliveryQuery {
            tenant_id: sender.tenant.id.clone(),
            state: Some(DeliveryState::Sent),
            patient_id: None,
            limit: notes as i64 + 1,
        })
        .await?
        .len();
    println!(
        "{label:<9} {:<18} {notes:>7} notes {:>9.0} notes/s (note + queued document, one transaction each)",
        "delivery write",
        notes as f64 / written.as_secs_f64()
    );
    println!(
        "{label:<9} {:<18} {sent:>7} docs  {:>9.0} docs/s (JFT, DPoP, one worker; {} of {notes} sent)",
        "delivery send",
        sent as f64 / sent_in.as_secs_f64(),
        sent
    );
    Ok(())
}
