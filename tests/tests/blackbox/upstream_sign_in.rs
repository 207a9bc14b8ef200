//! Practitioners sign in through an upstream OpenID Connect provider, as with HelseID in
//! production. The provider here is a second Helsebro: a standard OpenID provider over real
//! HTTP whose id_tokens carry HelseID's HPR-number claim. The server under test matches the
//! claim to its own Practitioner and continues its own flow.

use helsebro::auth::secrets::hash;
use helsebro::auth::upstream::UpstreamConfig;
use helsebro::store::clients::Client;
use helsebro_blackbox::browser::{form, redirect_of, Browser, Redirect};
use helsebro_blackbox::{start_with, Backend, Options, TestServer};
use ring::digest::{digest, SHA256};

const REDIRECT: &str = "http://127.0.0.1:9/app/callback";

/// The provider, and the server that sends its users there.
async fn pair(backend: Backend) -> (TestServer, TestServer) {
    let demo = || Options {
        demo: true,
        ..Default::default()
    };
    let provider = start_with(backend, demo()).await;
    let secret = helsebro::auth::secrets::random_token();
    let server = start_with(
        backend,
        Options {
            upstream: Some(UpstreamConfig {
                issuer: provider.root.clone(),
                client_id: "helsebro-downstream".into(),
                client_secret: Some(secret.clone()),
                scopes: vec!["fhirUser".into()],
            }),
            ..demo()
        },
    )
    .await;
    provider
        .state
        .store
        .add_client(&Client {
            client_id: "helsebro-downstream".into(),
            tenant_id: provider.state.tenant.id.clone(),
            name: "Helsebro (nedstrøms)".into(),
            jwks: None,
            jwks_uri: None,
            scope: "openid fhirUser".into(),
            secret_hash: Some(hash(&secret)),
            redirect_uris: vec![format!("{}/auth/callback", server.root)],
            launch_uri: None,
        })
        .await
        .unwrap();
    (provider, server)
}

/// An app of `server`, and the start of its authorization request.
async fn start_app_flow(server: &TestServer, b: &mut Browser) -> (String, Redirect) {
    let tenant = (*server.state.tenant).clone();
    let app = helsebro::auth::registration::register(
        &server.state.store,
        &helsebro::auth::registration::NewClient {
            tenant: &tenant,
            name: "Oppfølging",
            scope: "openid fhirUser user/*.rs",
            jwks: None,
            jwks_uri: None,
            with_secret: false,
            redirect_uris: &[REDIRECT.to_string()],
            launch_uri: None,
        },
    )
    .await
    .unwrap();
    let verifier = "x".repeat(60);
    let challenge = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        digest(&SHA256, verifier.as_bytes()),
    );
    let url = format!(
        "{}/auth/authorize?{}",
        server.root,
        form(&[
            ("response_type", "code"),
            ("client_id", &app.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid fhirUser user/*.rs"),
            ("state", "s1"),
            ("aud", &server.base),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
    );
    let to_sign_in = redirect_of(&b.get(&url).await);
    let request = to_sign_in.get("request").unwrap().to_string();
    // The server's sign-in sends the browser to the provider.
    let to_provider = redirect_of(
        &b.get(&format!("{}/auth/sign-in?request={request}", server.root))
            .await,
    );
    (request, to_provider)
}

/// Signs in at the provider as `user` and allows; the provider's redirect back.
async fn sign_in_at_provider(
    provider: &TestServer,
    b: &mut Browser,
    to_provider: &Redirect,
    user: &str,
) -> Redirect {
    assert_eq!(to_provider.url, format!("{}/auth/authorize", provider.root));
    assert_eq!(to_provider.get("code_challenge_method"), Some("S256"));
    assert!(to_provider.get("nonce").is_some());
    let query: Vec<(&str, &str)> = to_provider
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let to_sign_in = redirect_of(
        &b.get(&format!("{}?{}", to_provider.url, form(&query)))
            .await,
    );
    assert!(
        to_sign_in.url.ends_with("/auth/sign-in"),
        "{}",
        to_sign_in.url
    );
    let request = to_sign_in.get("request").unwrap().to_string();
    let consent = redirect_of(
        &b.post_auth(
            &provider.root,
            "sign-in",
            &[("request", &request), ("user", user)],
        )
        .await,
    );
    assert!(consent.url.ends_with("/auth/consent"), "{}", consent.url);
    redirect_of(
        &b.post_auth(
            &provider.root,
            "consent",
            &[
                ("request", &request),
                ("decision", "approve"),
                ("scope", "openid"),
                ("scope", "fhirUser"),
            ],
        )
        .await,
    )
}

async fn practitioners_sign_in_upstream(backend: Backend) {
    let (provider, server) = pair(backend).await;
    let mut b = Browser::new();
    let (request, to_provider) = start_app_flow(&server, &mut b).await;
    let back = sign_in_at_provider(
        &provider,
        &mut b,
        &to_provider,
        "Practitioner/demo-practitioner-1",
    )
    .await;
    assert_eq!(back.url, format!("{}/auth/callback", server.root));
    // The server checks the provider's id_token and matches the HPR number.
    let next = redirect_of(
        &b.get(&format!(
            "{}/auth/callback?{}",
            server.root,
            form(&pairs(&back))
        ))
        .await,
    );
    assert!(next.url.ends_with("/auth/consent"), "{}", next.url);
    let page = b
        .get(&format!("{}/auth/consent?request={request}", server.root))
        .await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("Sander Sykepleier"),
        "signed in as the practitioner"
    );
    let stored = server
        .state
        .store
        .pending_authorization(&request)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.fhir_user.as_deref(),
        Some("Practitioner/demo-practitioner-1")
    );
    // The provider's answer is good once.
    let replay = b
        .get(&format!(
            "{}/auth/callback?{}",
            server.root,
            form(&pairs(&back))
        ))
        .await;
    assert_eq!(replay.status(), 403);
}

async fn people_without_an_hpr_number_are_refused(backend: Backend) {
    let (provider, server) = pair(backend).await;
    let mut b = Browser::new();
    let (_, to_provider) = start_app_flow(&server, &mut b).await;
    let back = sign_in_at_provider(&provider, &mut b, &to_provider, "Patient/demo-patient-0").await;
    let refused = b
        .get(&format!(
            "{}/auth/callback?{}",
            server.root,
            form(&pairs(&back))
        ))
        .await;
    assert_eq!(refused.status(), 403);
    // A forged answer (a code the provider never issued) is refused too.
    let (_, to_provider) = start_app_flow(&server, &mut b).await;
    let state = to_provider.get("state").unwrap();
    let forged = b
        .get(&format!(
            "{}/auth/callback?{}",
            server.root,
            form(&[("code", "forged"), ("state", state)])
        ))
        .await;
    assert_eq!(forged.status(), 403);
    // So is an answer in a browser that did not begin the flow.
    let (_, to_provider) = start_app_flow(&server, &mut b).await;
    let back = sign_in_at_provider(
        &provider,
        &mut b,
        &to_provider,
        "Practitioner/demo-practitioner-0",
    )
    .await;
    let mut other = Browser::new();
    let stolen = other
        .get(&format!(
            "{}/auth/callback?{}",
            server.root,
            form(&pairs(&back))
        ))
        .await;
    assert_eq!(stolen.status(), 403);
    // The built-in demo sign-in is off when a provider is configured.
    let (request, _) = start_app_flow(&server, &mut b).await;
    let demo = b
        .post_auth(
            &server.root,
            "sign-in",
            &[
                ("request", &request),
                ("user", "Practitioner/demo-practitioner-0"),
            ],
        )
        .await;
    assert_eq!(demo.status(), 403);
}

fn pairs(r: &Redirect) -> Vec<(&str, &str)> {
    r.query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

mod practitioners_sign_in_upstream {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::practitioners_sign_in_upstream(super::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::practitioners_sign_in_upstream(super::Backend::Postgres).await
    }
}

mod people_without_an_hpr_number_are_refused {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::people_without_an_hpr_number_are_refused(super::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::people_without_an_hpr_number_are_refused(super::Backend::Postgres).await
    }
}
