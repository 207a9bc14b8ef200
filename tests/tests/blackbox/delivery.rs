//! Document delivery between two servers over real HTTP. The sender is the `helsebro`
//! binary (so it can be killed outright); the receiver is a Helsebro serving the JFT, VKP
//! and EDI contracts behind a proxy that can misbehave. The sender authenticates at the
//! receiver's token endpoint as a HelseID client would: a private_key_jwt assertion and,
//! for JFT and EDI, DPoP proofs with the server's nonce. The sender may only send
//! (`system/Bundle.c`) and follow its own documents: it reads nothing else there.

use std::future::Future;
use std::time::Duration;

use helsebro_blackbox::fault_proxy::{FaultProxy, Mode};
use helsebro_blackbox::keys::{client_key, ClientKey};
use helsebro_blackbox::sender::{cli, cli_output, ServerProcess};
use helsebro_blackbox::TestServer;
use helsebro_blackbox::{db_scan, fresh_database, start_with, Backend, Options, TempDir};
use serde_json::{json, Value};
use sqlx::Row;

/// A fødselsnummer with valid check digits (born 1969-11-13).
const FNR: &str = "13116900216";
const NOTE_TEXT: &str = "Pasienten melder bedre søvn; blodtrykket er stabilt rundt 135/85.";
const MUNICIPALITY: &str = "4601";
const RECEIVER_HER: &str = "8142520";
const SENDER_HER: &str = "8093240";

/// The receiver behind its proxy, and a sender's database with a route to it.
struct Setup {
    proxy: FaultProxy,
    receiver: TestServer,
    sender_db: String,
    _sender_dir: Option<TempDir>,
    keys: TempDir,
    client_id: String,
}

impl Setup {
    async fn new(backend: Backend) -> Self {
        let proxy = FaultProxy::bind().await;
        // The receiver's public address is the proxy's: tokens, DPoP proofs and
        // Locations all name it, as behind a real reverse proxy.
        let receiver = start_with(
            backend,
            Options {
                base_url: Some(format!("{}/fhir", proxy.origin())),
                ..Options::default()
            },
        )
        .await;
        proxy.target(&receiver.root);
        sqlx::query("UPDATE tenants SET her_id = $1 WHERE id = $2")
            .bind(RECEIVER_HER)
            .bind(&receiver.state.tenant.id)
            .execute(receiver.state.store.pool())
            .await
            .unwrap();
        let key = client_key("sender-key-1");
        let client_id = register(&receiver, &key).await;
        let keys = TempDir::new();
        std::fs::write(keys.0.join("client.pem"), &key.pem).unwrap();
        let (sender_db, sender_dir) = fresh_database(backend).await;
        cli(&sender_db, &["migrate", "--database", &sender_db]);
        let setup = Self {
            proxy,
            receiver,
            sender_db,
            _sender_dir: sender_dir,
            keys,
            client_id,
        };
        setup.import(&[
            json!({"type": "practitioner", "id": "pr-1", "family_name": "Lege", "given_names": "Lise"}),
            json!({"type": "patient", "id": "pt-1", "national_id": FNR, "family_name": "Testesen",
                   "given_names": "Tone", "birth_date": "1969-11-13", "gender": "female",
                   "address": {"lines": ["Strandgaten 1"], "postal_code": "5013", "city": "Bergen",
                               "municipality_code": MUNICIPALITY, "municipality_name": "Bergen"}}),
        ]);
        setup
    }

    /// The sender's route to the receiver over `connector`.
    fn route(&self, connector: &str, extra: &[&str]) {
        let origin = self.proxy.origin();
        let endpoint = match connector {
            "jft" => format!("{origin}/jft/v1"),
            "vkp" => format!("{origin}/vkp"),
            _ => format!("{origin}/edi"),
        };
        let key = self.keys.0.join("client.pem");
        let token_url = format!("{origin}/auth/token");
        let org = self.receiver.state.tenant.org_number.clone();
        let defaults = [
            ("--connector", connector),
            ("--endpoint", endpoint.as_str()),
            ("--receiver-name", "Bergen kommune"),
            ("--receiver-org", org.as_str()),
            ("--receiver-her-id", RECEIVER_HER),
            ("--token-url", token_url.as_str()),
            ("--client-id", self.client_id.as_str()),
            ("--key-file", key.to_str().unwrap()),
            ("--kid", "sender-key-1"),
            ("--scope", "system/Bundle.c"),
        ];
        let mut args = vec!["delivery", "route", "--database", &self.sender_db];
        args.extend(with_overrides(&defaults, extra));
        if connector != "vkp" {
            args.push("--dpop");
        }
        cli(&self.sender_db, &args);
    }

    fn import(&self, lines: &[Value]) {
        let file = self.keys.0.join(format!("{}.ndjson", uuid::Uuid::new_v4()));
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        std::fs::write(&file, text.join("\n")).unwrap();
        let (out, err) = cli_output(
            &self.sender_db,
            &[
                "import",
                "--database",
                &self.sender_db,
                file.to_str().unwrap(),
            ],
        );
        assert!(out.contains("rejected 0 lines"), "{out}{err}");
    }

    /// `helsebro delivery summary` for pt-1's measurements of November 2026.
    fn summary_of_november(&self) -> String {
        cli(
            &self.sender_db,
            &[
                "delivery",
                "summary",
                "--database",
                &self.sender_db,
                "--patient",
                "pt-1",
                "--from",
                "2026-11-01",
                "--to",
                "2026-12-01",
            ],
        )
    }

    fn note(&self, id: &str) {
        self.import(&[
            json!({"type": "journal_note", "id": id, "patient": "pt-1", "author": "pr-1",
            "title": "Oppfølging", "text": NOTE_TEXT, "written": "2026-11-30T10:00:00+01:00"}),
        ]);
    }

    /// The sender, fast-paced for tests.
    async fn start_sender(&self, extra: &[&str]) -> ServerProcess {
        let defaults = [
            ("--delivery-backoff-ms", "100"),
            ("--delivery-max-backoff-ms", "400"),
            ("--delivery-poll-ms", "200"),
            ("--delivery-idle-ms", "50"),
            ("--delivery-timeout-ms", "1500"),
            ("--delivery-lease-secs", "3"),
        ];
        ServerProcess::start(&self.sender_db, &with_overrides(&defaults, extra)).await
    }

    async fn sender_pool(&self) -> sqlx::AnyPool {
        helsebro::store::Store::connect(&self.sender_db)
            .await
            .unwrap()
            .pool()
            .clone()
    }

    /// Every delivery of the sender: (state, attempts, error code, holds content, sha256).
    async fn deliveries(&self) -> Vec<DeliveryRow> {
        let pool = self.sender_pool().await;
        sqlx::query(
            "SELECT id, state, attempts, error_code, content IS NOT NULL, sha256, document_id \
             FROM deliveries ORDER BY queued_at",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| DeliveryRow {
            id: r.get(0),
            state: r.get(1),
            attempts: r.get(2),
            error_code: r.get(3),
            holds_content: helsebro::store::flag(r, 4),
            sha256: r.get(5),
            document_id: r.get(6),
        })
        .collect()
    }

    async fn wait_for_state(&self, index: usize, states: &[&str]) -> DeliveryRow {
        let mut last = Vec::new();
        for _ in 0..300 {
            last = self.deliveries().await;
            if let Some(d) = last.get(index) {
                if states.contains(&d.state.as_str()) {
                    return d.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("delivery {index} never reached {states:?}: {last:?}");
    }

    /// The documents the receiver holds, as its EHR reads them.
    async fn received(&self) -> Vec<Value> {
        let ehr = self.ehr().await;
        let r = ehr
            .get(format!("{}/jft/v1/Bundle?_count=100", self.receiver.root))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let bundle: Value = r.json().await.unwrap();
        bundle["entry"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e["resource"].clone())
            .collect()
    }

    async fn ehr(&self) -> helsebro_blackbox::reqwest::Client {
        let token = self
            .receiver
            .token("system/Bundle.rs system/Bundle.u", None)
            .await;
        self.receiver.client_with(&token)
    }

    /// The receiver's stored content of each received document.
    async fn received_rows(&self) -> Vec<(String, String, String)> {
        sqlx::query("SELECT id, document_id, sha256 FROM received_documents ORDER BY registered_at")
            .fetch_all(self.receiver.state.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }
}

/// `defaults` as arguments, each replaced by the same option in `extra` (pairs), then
/// the rest of `extra`.
fn with_overrides<'a>(defaults: &[(&'a str, &'a str)], extra: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (option, value) in defaults {
        let given = extra.iter().position(|e| e == option);
        out.push(*option);
        out.push(given.map_or(*value, |i| extra[i + 1]));
    }
    let mut rest = extra.iter();
    while let Some(e) = rest.next() {
        if defaults.iter().any(|(o, _)| o == e) {
            rest.next();
        } else {
            out.push(e);
        }
    }
    out
}

#[derive(Debug, Clone)]
struct DeliveryRow {
    id: String,
    state: String,
    attempts: i64,
    error_code: Option<String>,
    holds_content: bool,
    sha256: String,
    document_id: String,
}

async fn register(receiver: &TestServer, key: &ClientKey) -> String {
    receiver
        .register_backend_client(&key.jwk, "system/Bundle.c")
        .await
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

/// The size of what the receiver holds.
async fn received_size(s: &Setup) -> i64 {
    sqlx::query("SELECT size FROM received_documents")
        .fetch_one(s.receiver.state.store.pool())
        .await
        .unwrap()
        .get(0)
}

/// Runs each named `async fn(Backend)` once on SQLite and once on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(helsebro_blackbox::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(helsebro_blackbox::Backend::Postgres).await
                }
            }
        )+
    };
}

on_both!(
    a_note_reaches_the_ehr_once_and_only_metadata_stays,
    receiver_down_for_a_while_then_back,
    receiver_errors_become_failure_reasons,
    sender_killed_mid_delivery_and_restarted,
    edi_messages_are_answered_by_apprec,
    measurement_summaries_and_closed_alerts_are_documents_too,
);

async fn a_note_reaches_the_ehr_once_and_only_metadata_stays(backend: Backend) {
    let s = Setup::new(backend).await;
    s.route("jft", &[]);
    s.note("note-1");
    // The queued document, sealed: the scan afterwards looks for this exact value too.
    let sealed: String = sqlx::query("SELECT content FROM deliveries")
        .fetch_one(&s.sender_pool().await)
        .await
        .unwrap()
        .get(0);
    assert!(sealed.starts_with("enc1:"), "the queued document is sealed");
    let sender = s.start_sender(&[]).await;
    let sent = s.wait_for_state(0, &["sent", "registered", "read"]).await;

    // The EHR finds the document once, as a document Bundle about the patient by FNR.
    let received = s.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let doc = &received[0];
    assert_eq!(doc["type"], "document");
    let composition = &doc["entry"][0]["resource"];
    assert_eq!(composition["resourceType"], "Composition");
    assert_eq!(composition["subject"]["identifier"]["value"], FNR);
    assert!(doc.to_string().contains("bedre søvn"));
    assert_eq!(
        doc["identifier"]["value"],
        format!("urn:uuid:{}", sent.document_id)
    );
    let rows = s.received_rows().await;
    assert_eq!(
        rows[0].2, sent.sha256,
        "the sender's hash is of what arrived"
    );

    // The EHR journals it; the sender follows the status to the end.
    let ehr = s.ehr().await;
    let r = ehr
        .post(format!(
            "{}/jft/v1/Bundle/{}/$journaling-acknowledged",
            s.receiver.root, rows[0].0
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let done = s.wait_for_state(0, &["journaled"]).await;
    assert!(!done.holds_content);
    assert_eq!(done.attempts, 1);
    assert_eq!(s.proxy.forwarded_posts("/jft/v1/Bundle").len(), 1);
    assert_eq!(s.received_rows().await.len(), 1);

    // The register has every step's time; the operator sees it, never the content.
    let operator = cli(
        &s.sender_db,
        &[
            "token",
            "--database",
            &s.sender_db,
            "--scope",
            "system/Bundle.rs",
            "--base-url",
            &format!("{}/fhir", sender.root),
        ],
    );
    let http = helsebro_blackbox::reqwest::Client::new();
    let register: Value = http
        .get(format!("{}/admin/deliveries", sender.root))
        .bearer_auth(operator.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &register["deliveries"][0];
    assert_eq!(entry["state"], "journaled");
    assert_eq!(entry["connector"], "jft");
    assert_eq!(
        entry["receiver"]["organisationNumber"],
        s.receiver.state.tenant.org_number.as_str()
    );
    assert_eq!(entry["sha256"], sent.sha256.as_str());
    assert_eq!(entry["size"], received_size(&s).await);
    for step in ["queued", "sent", "registered", "read", "journaled"] {
        assert!(entry[step].is_string(), "{step} has a time: {entry}");
    }
    assert_eq!(entry["holdsContent"], false);
    assert!(!register.to_string().contains("bedre søvn"));
    let page = http
        .get(format!("{}/admin/deliveries", sender.root))
        .bearer_auth(operator.trim())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(page.contains("journaled") && page.contains("Dokumentsendinger"));
    let anonymous = http
        .get(format!("{}/admin/deliveries", sender.root))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // The patient reads in their access log that a document was sent, and to whom.
    let patient = cli(
        &s.sender_db,
        &[
            "token",
            "--database",
            &s.sender_db,
            "--scope",
            "patient/AuditEvent.rs",
            "--patient",
            "pt-1",
            "--base-url",
            &format!("{}/fhir", sender.root),
        ],
    );
    let log: Value = http
        .get(format!("{}/fhir/AuditEvent", sender.root))
        .bearer_auth(patient.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let transmit: Vec<&Value> = log["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|e| e["type"]["code"] == "transmit")
        .collect();
    assert_eq!(transmit.len(), 1, "{log}");
    assert!(transmit[0]["outcomeDesc"]
        .as_str()
        .unwrap()
        .contains("journalnotat sendt til Bergen kommune"));

    // Nothing of the note's text or the document is left in the sender's database.
    sender.kill().await;
    let pool = s.sender_pool().await;
    let dump = db_scan::dump(backend, &pool).await;
    assert!(!dump.contains("bedre søvn"), "the note's text in clear");
    assert!(!dump.contains(&sealed), "the sealed document");
    assert!(!dump.contains(FNR), "the national id in clear");
    if backend == Backend::Sqlite {
        let found = db_scan::in_sqlite_files(&s.sender_db, &[&sealed, "bedre søvn", FNR]);
        assert!(found.is_none(), "{found:?}");
    }
}

async fn receiver_down_for_a_while_then_back(backend: Backend) {
    let mut s = Setup::new(backend).await;
    s.route("jft", &[]);
    s.proxy.set_mode(Mode::Down).await;
    let sender = s.start_sender(&["--delivery-max-attempts", "50"]).await;
    s.note("note-1");
    eventually("a few attempts against the dead receiver", || async {
        s.deliveries().await[0].attempts >= 3
    })
    .await;
    let waiting = s.deliveries().await.remove(0);
    assert_eq!(waiting.state, "queued");
    assert!(waiting.holds_content);
    assert!(waiting.error_code.is_some(), "{waiting:?}");

    // While the document is on its way, the patient cannot be erased.
    let admin = cli(
        &s.sender_db,
        &[
            "token",
            "--database",
            &s.sender_db,
            "--scope",
            "system/*.cruds",
            "--base-url",
            &format!("{}/fhir", sender.root),
        ],
    );
    let erase = helsebro_blackbox::reqwest::Client::new()
        .post(format!("{}/fhir/Patient/pt-1/$erase", sender.root))
        .bearer_auth(admin.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(erase.status(), 409);
    let outcome: Value = erase.json().await.unwrap();
    assert!(
        outcome.to_string().contains("delivery in progress"),
        "{outcome}"
    );

    s.proxy.set_mode(Mode::Forward).await;
    let sent = s.wait_for_state(0, &["sent", "registered", "read"]).await;
    assert!(sent.attempts >= 4, "{sent:?}");
    assert_eq!(s.received_rows().await.len(), 1);
    assert_eq!(s.proxy.forwarded_posts("/jft/v1/Bundle").len(), 1);
    sender.kill().await;
}

const VKP_INVALID_SSN: &str = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","details":{"coding":[{"system":"http://ehelse.no/fhir/CodeSystem/vkp-operation-outcome-v090","code":"2.1","display":"ugyldig personidentifikator"}]}}]}"#;

async fn receiver_errors_become_failure_reasons(backend: Backend) {
    let mut s = Setup::new(backend).await;
    s.route("jft", &[]);
    let sender = s
        .start_sender(&[
            "--delivery-max-attempts",
            "3",
            "--delivery-timeout-ms",
            "700",
        ])
        .await;

    // 500 until the attempts run out: failed, with the status as the reason.
    s.proxy.set_mode(Mode::Fail(500, "oops".into())).await;
    s.note("note-500");
    let failed = s.wait_for_state(0, &["failed"]).await;
    assert_eq!(failed.error_code.as_deref(), Some("http:500"));
    assert_eq!(failed.attempts, 3);
    assert!(
        !failed.holds_content,
        "a failed delivery keeps only metadata"
    );

    // No answer at all: timeouts, retried, then failed.
    s.proxy.set_mode(Mode::Hang).await;
    s.note("note-timeout");
    let failed = s.wait_for_state(1, &["failed"]).await;
    assert_eq!(failed.attempts, 3);
    assert_eq!(failed.error_code.as_deref(), Some("timeout"), "{failed:?}");

    // A 400 with VKP's codes fails at once, with VKP's reason.
    s.route("vkp", &[]);
    s.proxy
        .set_mode(Mode::Fail(400, VKP_INVALID_SSN.into()))
        .await;
    s.note("note-400");
    let failed = s.wait_for_state(2, &["failed"]).await;
    assert_eq!(failed.error_code.as_deref(), Some("vkp:2.1"));
    assert_eq!(failed.attempts, 1);

    // The real VKP receive side refuses a document for another municipality with 2.2.
    s.proxy.set_mode(Mode::Forward).await;
    s.route("vkp", &["--receiver-org", "974760673"]);
    s.note("note-wrong-org");
    let failed = s.wait_for_state(3, &["failed"]).await;
    assert_eq!(failed.error_code.as_deref(), Some("vkp:2.2"));
    assert_eq!(s.received_rows().await.len(), 0);

    // The operator mends the route and retries: the document goes, under its identifier.
    s.route("vkp", &[]);
    cli(
        &s.sender_db,
        &["delivery", "retry", "--database", &s.sender_db, &failed.id],
    );
    let accepted = s.wait_for_state(3, &["accepted"]).await;
    assert_eq!(accepted.document_id, failed.document_id);
    let rows = s.received_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].1,
        format!("urn:ietf:rfc:3986|urn:uuid:{}", failed.document_id)
    );
    // Only failed deliveries can be retried.
    let again = std::process::Command::new(helsebro_blackbox::sender::binary())
        .args([
            "delivery",
            "retry",
            "--database",
            &s.sender_db,
            &accepted.id,
        ])
        .env("HELSEBRO_MASTER_KEY", base64_key(&s.sender_db))
        .output()
        .unwrap();
    assert!(!again.status.success());
    sender.kill().await;
}

fn base64_key(database_url: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .encode(helsebro_blackbox::master_key_for(database_url).0)
}

async fn sender_killed_mid_delivery_and_restarted(backend: Backend) {
    let mut s = Setup::new(backend).await;
    s.route("jft", &[]);
    // The document reaches the receiver, but its answer never reaches the sender.
    s.proxy
        .set_mode(Mode::ForwardThenHang("/jft/v1/Bundle".into()))
        .await;
    let sender = s.start_sender(&[]).await;
    s.note("note-1");
    eventually("the receiver has the document", || async {
        s.received_rows().await.len() == 1
    })
    .await;
    sender.kill().await;
    let cut_off = s.deliveries().await.remove(0);
    assert_eq!(
        cut_off.state, "queued",
        "the sender never learnt it was taken"
    );
    assert!(cut_off.holds_content);

    // A new process takes the delivery over once the dead one's lease runs out, and the
    // receiver recognises the document it already has.
    s.proxy.set_mode(Mode::Forward).await;
    let restarted = s.start_sender(&[]).await;
    let sent = s.wait_for_state(0, &["sent", "registered", "read"]).await;
    assert_eq!(sent.document_id, cut_off.document_id);
    let posts = s.proxy.forwarded_posts("/jft/v1/Bundle");
    assert_eq!(posts.len(), 2, "sent again after the crash");
    assert_eq!(posts[0].body, posts[1].body, "the very same document");
    assert_eq!(s.received_rows().await.len(), 1, "and received once");
    assert_eq!(s.received().await.len(), 1);
    restarted.kill().await;

    // Nobody journals it: after the configured wait the operator is told.
    let impatient = s.start_sender(&["--delivery-give-up-secs", "1"]).await;
    let given_up = s.wait_for_state(0, &["failed"]).await;
    assert_eq!(given_up.error_code.as_deref(), Some("status:unanswered"));
    impatient.kill().await;
}

async fn edi_messages_are_answered_by_apprec(backend: Backend) {
    let s = Setup::new(backend).await;
    let pool = s.sender_pool().await;
    sqlx::query("UPDATE tenants SET her_id = $1")
        .bind(SENDER_HER)
        .execute(&pool)
        .await
        .unwrap();
    s.route("edi", &[]);
    let sender = s.start_sender(&[]).await;
    s.note("note-1");
    let done = s.wait_for_state(0, &["acknowledged", "failed"]).await;
    assert_eq!(done.state, "acknowledged", "{done:?}");
    assert!(!done.holds_content);
    // What arrived is a MsgHead with the note as a Dialogmelding, for the patient by FNR.
    let (content,): (String,) = {
        let r = sqlx::query("SELECT id FROM received_documents")
            .fetch_one(s.receiver.state.store.pool())
            .await
            .unwrap();
        let id: String = r.get(0);
        let doc = s
            .receiver
            .state
            .store
            .received_document(&s.receiver.state.tenant.id, &id)
            .await
            .unwrap()
            .unwrap();
        assert!(doc.apprec.unwrap().contains("AppRec"));
        (doc.content,)
    };
    assert!(content.contains("http://www.kith.no/xmlstds/msghead/2006-05-24"));
    assert!(content.contains("DIALOG_NOTAT"));
    assert!(content.contains(FNR));
    assert!(content.contains("bedre søvn"));

    // Addressed to a HER-id the receiver does not have: the AppRec rejects it.
    s.route("edi", &["--receiver-her-id", "999999"]);
    s.note("note-2");
    let rejected = s.wait_for_state(1, &["acknowledged", "failed"]).await;
    assert_eq!(rejected.state, "failed");
    assert!(
        rejected
            .error_code
            .as_deref()
            .unwrap_or_default()
            .starts_with("apprec:rejected"),
        "{rejected:?}"
    );
    sender.kill().await;
}

/// Two sending instances on one PostgreSQL database share the outbox: every document goes
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_on_one_postgres_send_each_document_once() {
    let s = Setup::new(Backend::Postgres).await;
    s.route("jft", &[]);
    let notes: Vec<Value> = (0..24)
        .map(|i| json!({"type": "journal_note", "id": format!("note-{i}"), "patient": "pt-1",
            "title": "Oppfølging", "text": format!("{NOTE_TEXT} ({i})"), "written": "2026-11-30T10:00:00+01:00"}))
        .collect();
    s.import(&notes);
    let one = s.start_sender(&[]).await;
    let two = s.start_sender(&[]).await;
    eventually("every document sent", || async {
        let rows = s.deliveries().await;
        rows.len() == 24 && rows.iter().all(|d| d.state != "queued")
    })
    .await;
    let posts = s.proxy.forwarded_posts("/jft/v1/Bundle");
    let distinct: std::collections::HashSet<_> = posts.iter().map(|p| p.body.clone()).collect();
    assert_eq!(distinct.len(), 24);
    assert_eq!(posts.len(), 24, "no document was sent twice");
    assert_eq!(s.received_rows().await.len(), 24);
    assert!(s.deliveries().await.iter().all(|d| d.attempts == 1));
    one.kill().await;
    two.kill().await;
}

async fn measurement_summaries_and_closed_alerts_are_documents_too(backend: Backend) {
    let s = Setup::new(backend).await;
    s.route("vkp", &[]);
    let measurements: Vec<Value> = (0..3)
        .map(|i| {
            json!({"type": "measurement", "id": format!("m-{i}"), "patient": "pt-1",
            "kind": "heart_rate", "value": 70 + i, "time": format!("2026-11-1{i}T08:00:00+01:00")})
        })
        .collect();
    s.import(&measurements);
    let sender = s.start_sender(&[]).await;
    let out = s.summary_of_november();
    assert!(out.contains("queued"), "{out}");
    let closed = json!({"type": "alert", "id": "al-1", "patient": "pt-1", "code": "5.3.2",
        "detail": "Ingen pulsmåling på tre dager", "evidence": ["m-2"],
        "identified": "2026-11-20T08:00:00+01:00", "closed": "2026-11-20T09:30:00+01:00",
        "closed_by": "pr-1"});
    s.import(std::slice::from_ref(&closed));
    s.wait_for_state(0, &["accepted"]).await;
    s.wait_for_state(1, &["accepted"]).await;
    let received = s.received().await;
    assert_eq!(received.len(), 2);
    let of_type = |doc: &Value, t: &str| -> Vec<Value> {
        doc["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].clone())
            .filter(|r| r["resourceType"] == t)
            .collect()
    };
    let summary = received
        .iter()
        .find(|d| of_type(d, "DetectedIssue").is_empty())
        .unwrap();
    let observations = of_type(summary, "Observation");
    assert_eq!(observations.len(), 3);
    for o in &observations {
        assert_eq!(o["subject"]["identifier"]["value"], FNR);
        assert!(o["subject"].get("reference").is_none());
    }
    let alert = received
        .iter()
        .find(|d| !of_type(d, "DetectedIssue").is_empty())
        .unwrap();
    let issue = &of_type(alert, "DetectedIssue")[0];
    assert_eq!(issue["code"]["coding"][0]["code"], "5.3.2");
    assert_eq!(
        of_type(alert, "Observation").len(),
        1,
        "the evidence comes along"
    );

    // Closing an alert again, or asking for the same summary, sends nothing new.
    s.import(&[closed]);
    s.summary_of_november();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.deliveries().await.len(), 2);
    assert_eq!(s.received_rows().await.len(), 2);
    sender.kill().await;
}
