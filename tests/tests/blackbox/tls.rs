//! `serve --tls-cert/--tls-key`: the server terminates TLS 1.2 and 1.3 itself and refuses
//! older versions and plain HTTP. Checked with the system's openssl and curl, which can
//! speak the old versions rustls cannot.

use std::process::Command;

use helsebro::config::Config;
use helsebro_blackbox::{fresh_database, Backend, TempDir};

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .expect("the command runs (openssl and curl are installed)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_terminates_tls_1_2_and_1_3_only() {
    let dir = TempDir::new();
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    let (ok, text) = run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]));
    assert!(ok, "{text}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (url, _db_dir) = fresh_database(Backend::Sqlite).await;
    let mut config = Config::new(addr, url);
    config.base_url = format!("https://{addr}/fhir");
    let tls = helsebro::tls::config(&cert, &key).expect("TLS configuration");
    let state = helsebro::app::state(config).await.unwrap();
    tokio::spawn(helsebro::app::serve_router_tls(
        listener,
        helsebro::app::router(state),
        tls,
    ));

    let https = format!("https://{addr}");
    let cacert = cert.to_str().unwrap().to_string();
    let curl = |extra: &[&str], path: &str| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "10", "--cacert", &cacert]);
        c.args(extra).arg(format!("{https}{path}"));
        c
    };
    for version in ["--tlsv1.2", "--tlsv1.3"] {
        let (ok, text) = tokio::task::spawn_blocking({
            let mut c = curl(&[version, "--tls-max", &version[6..]], "/healthz");
            move || run(&mut c)
        })
        .await
        .unwrap();
        assert!(ok && text.trim() == "ok", "{version}: {text}");
    }
    let (ok, text) = tokio::task::spawn_blocking({
        let mut c = curl(&[], "/fhir/metadata");
        move || run(&mut c)
    })
    .await
    .unwrap();
    assert!(ok && text.contains("CapabilityStatement"), "{text}");
    assert!(
        text.contains(&format!("https://{addr}/auth/token")),
        "{text}"
    );

    // TLS 1.1 and plain HTTP get no answer.
    let (ok, text) = tokio::task::spawn_blocking({
        let port = addr.port();
        move || {
            run(Command::new("openssl")
                .args([
                    "s_client",
                    "-connect",
                    &format!("127.0.0.1:{port}"),
                    "-tls1_1",
                ])
                .stdin(std::process::Stdio::null()))
        }
    })
    .await
    .unwrap();
    assert!(!ok, "TLS 1.1 was accepted: {text}");
    let (ok, _) = tokio::task::spawn_blocking({
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "5", &format!("http://{addr}/healthz")]);
        move || run(&mut c)
    })
    .await
    .unwrap();
    assert!(!ok, "plain HTTP was answered on the TLS port");
}
