//! Client keys as an authorization server's client registers them: the private half as
//! PKCS#8 PEM for the client, the public half as a JWK for the server.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};

/// An ES384 client key.
pub struct ClientKey {
    pub pem: String,
    pub pkcs8: Vec<u8>,
    pub jwk: Value,
}

pub fn client_key(kid: &str) -> ClientKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
        .expect("generate P-384 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("read P-384 key");
    let point = pair.public_key().as_ref();
    let b64 = STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    ClientKey {
        pem: format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk: json!({
            "kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..49]),
            "y": URL_SAFE_NO_PAD.encode(&point[49..97]),
        }),
    }
}
