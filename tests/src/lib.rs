//! Harness for black-box tests: the real router on an ephemeral port, on a fresh SQLite
//! file or a fresh PostgreSQL database per test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use helsebro::config::Config;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;

pub mod browser;
pub mod db_scan;
pub mod fault_proxy;
pub mod keys;
pub mod sender;

pub use reqwest;
pub use serde_json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Whether the default tenant accepts synthetic national identity numbers.
    pub test_tenant: bool,
    pub max_body_bytes: Option<usize>,
    pub demo: bool,
    /// The OpenID provider users sign in with.
    pub upstream: Option<helsebro::auth::upstream::UpstreamConfig>,
    /// The public FHIR base, when the server is reached through a proxy.
    pub base_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            test_tenant: true,
            max_body_bytes: None,
            demo: false,
            upstream: None,
            base_url: None,
        }
    }
}

pub struct TestServer {
    /// The FHIR base, e.g. `http://127.0.0.1:40123/fhir`.
    pub base: String,
    pub root: String,
    /// Sends a full-access system token (`system/*.cruds`) of the default tenant.
    pub client: Client,
    /// Sends no token.
    pub anonymous: Client,
    pub backend: Backend,
    pub state: helsebro::fhir::AppState,
    pub database_url: String,
    _dir: Option<TempDir>,
}

/// The PostgreSQL server tests use; CI points it at the local cluster.
pub fn postgres_admin_url() -> String {
    std::env::var("HELSEBRO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static CLEANED: AtomicBool = AtomicBool::new(false);

async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect(
        "PostgreSQL must be reachable for the PostgreSQL tests (HELSEBRO_TEST_POSTGRES_URL)",
    );
    if !CLEANED.swap(true, Ordering::SeqCst) {
        // Databases left by an earlier, interrupted run.
        let old: Vec<(String,)> = sqlx::query_as(
            "SELECT datname FROM pg_database WHERE datname LIKE 'hbtest\\_%' \
             AND datname NOT IN (SELECT datname FROM pg_stat_activity WHERE datname IS NOT NULL)",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for (name,) in old {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(&mut conn)
                .await;
        }
    }
    let name = format!("hbtest_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (prefix, _) = admin.rsplit_once('/').expect("URL has a database path");
    format!("{prefix}/{name}")
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let p =
            std::env::temp_dir().join(format!("helsebro-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn start(backend: Backend) -> TestServer {
    start_with(backend, Options::default()).await
}

/// The master key of a test database: one per database, the same for a restart on it.
pub fn master_key_for(database_url: &str) -> helsebro::store::crypto::MasterKey {
    let digest = ring::digest::digest(&ring::digest::SHA256, database_url.as_bytes());
    helsebro::store::crypto::MasterKey(digest.as_ref().try_into().expect("32 bytes"))
}

/// Where this test process writes the server's logs, for the log scan that follows a full
/// run (`tests/tests/log_scan.rs`).
pub fn log_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-logs")
}

static LOGGING: std::sync::Once = std::sync::Once::new();

/// Sends the servers' logs (as `serve` would write them, and more: debug for Helsebro and
/// its HTTP layer) to a file of this process.
fn log_to_file() {
    LOGGING.call_once(|| {
        let dir = log_dir();
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("blackbox-{}.log", std::process::id()));
        if let Ok(file) = std::fs::File::create(path) {
            let _ = tracing_subscriber::fmt()
                .with_writer(std::sync::Mutex::new(file))
                .with_ansi(false)
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "info,helsebro=debug,tower_http=debug",
                ))
                .try_init();
        }
    });
}

pub async fn start_with(backend: Backend, options: Options) -> TestServer {
    log_to_file();
    let (database_url, dir) = fresh_database(backend).await;
    start_on(backend, database_url, dir, options).await
}

/// A new, empty database: a SQLite file in a temporary directory (kept alive by the
/// returned `TempDir`) or a new PostgreSQL database.
pub async fn fresh_database(backend: Backend) -> (String, Option<TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = TempDir::new();
            let url = format!("sqlite://{}", dir.0.join("helsebro.db").display());
            (url, Some(dir))
        }
        Backend::Postgres => (fresh_postgres_database().await, None),
    }
}

/// Starts a server on an existing database (e.g. to check a restart keeps data).
pub async fn start_on(
    backend: Backend,
    database_url: String,
    dir: Option<TempDir>,
    options: Options,
) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let mut config = Config::new(addr, database_url.clone());
    config.default_tenant_is_test = options.test_tenant;
    config.demo = options.demo;
    config.upstream = options.upstream.clone();
    config.master_key = Some(master_key_for(&database_url));
    if let Some(max) = options.max_body_bytes {
        config.max_body_bytes = max;
    }
    if let Some(base) = &options.base_url {
        config.base_url = base.clone();
    }
    let state = helsebro::app::state(config).await.expect("server state");
    let app = helsebro::app::router(state.clone());
    tokio::spawn(async move {
        axum_serve(listener, app).await;
    });
    let mut server = TestServer {
        base: format!("http://{addr}/fhir"),
        root: format!("http://{addr}"),
        client: Client::new(),
        anonymous: Client::new(),
        backend,
        state,
        database_url,
        _dir: dir,
    };
    server.client = server.client_with(&server.token("system/*.cruds", None).await);
    server
}

async fn axum_serve(listener: tokio::net::TcpListener, app: helsebro::app::AppRouter) {
    let _ = helsebro::app::serve_router(listener, app).await;
}

impl TestServer {
    /// A second tenant ("Annen kommune"), for isolation tests; `is_test` as for the demo
    /// tenant (synthetic identity numbers accepted) or as for a production one.
    pub async fn other_tenant(&self, is_test: bool) -> helsebro::tenant::Tenant {
        self.state
            .store
            .ensure_tenant(&helsebro::store::tenants::NewTenant {
                id: "other-tenant",
                org_number: "974760673",
                name: "Annen kommune",
                municipality_number: None,
                is_test,
            })
            .await
            .expect("the other tenant")
    }

    /// An operator token of the default tenant, as `helsebro token` would print it.
    pub async fn token(&self, scope: &str, patient: Option<&str>) -> String {
        let tenant = (*self.state.tenant).clone();
        self.token_for(&tenant, scope, patient).await
    }

    pub async fn token_for(
        &self,
        tenant: &helsebro::tenant::Tenant,
        scope: &str,
        patient: Option<&str>,
    ) -> String {
        self.token_with(tenant, scope, patient, None).await
    }

    /// A token acting for `user` (`Practitioner/ID`).
    pub async fn user_token(&self, scope: &str, user: &str) -> String {
        let tenant = (*self.state.tenant).clone();
        self.token_with(&tenant, scope, None, Some(user)).await
    }

    async fn token_with(
        &self,
        tenant: &helsebro::tenant::Tenant,
        scope: &str,
        patient: Option<&str>,
        user: Option<&str>,
    ) -> String {
        helsebro::auth::tokens::operator_token(
            &self.state.store,
            &self.state.keys,
            &self.state.config.base_url,
            &helsebro::auth::tokens::OperatorRequest {
                tenant,
                scope,
                patient,
                user,
                lifetime: std::time::Duration::from_secs(3600),
            },
        )
        .await
        .expect("operator token")
    }

    /// Registers a backend-services client of the default tenant with this public key
    /// (a JWK); returns its client_id.
    pub async fn register_backend_client(&self, jwk: &Value, scope: &str) -> String {
        let client_id = uuid::Uuid::new_v4().simple().to_string();
        self.state
            .store
            .add_client(&helsebro::store::clients::Client {
                client_id: client_id.clone(),
                tenant_id: self.state.tenant.id.clone(),
                name: "Backend".into(),
                jwks: Some(serde_json::json!({"keys": [jwk]}).to_string()),
                jwks_uri: None,
                scope: scope.into(),
                secret_hash: None,
                redirect_uris: Vec::new(),
                launch_uri: None,
            })
            .await
            .expect("register client");
        client_id
    }

    /// A client that sends `token` with every request.
    pub fn client_with(&self, token: &str) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {token}").parse().expect("header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Client::builder()
            .default_headers(headers)
            .build()
            .expect("client")
    }

    /// `path` relative to the FHIR base (`Patient/1`) or absolute (`http://…`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    /// Creates `resource` and returns the stored resource (with id and meta).
    pub async fn create(&self, resource: &Value) -> Value {
        let t = resource["resourceType"].as_str().expect("resourceType");
        let r = self.post_json(t, resource).await;
        let status = r.status();
        let body: Value = r.json().await.expect("json body");
        assert_eq!(status, 201, "create {t} failed: {body}");
        body
    }
}

/// The response body as JSON, asserting the status first.
pub async fn json_with_status(r: Response, status: u16) -> Value {
    let actual = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Like [`on_both_backends!`], on a server with the demo data (and its demo sign-in).
#[macro_export]
macro_rules! on_both_backends_with_demo {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                fn demo() -> $crate::Options {
                    $crate::Options { demo: true, ..Default::default() }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::start_with($crate::Backend::Sqlite, demo()).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::start_with($crate::Backend::Postgres, demo()).await).await
                }
            }
        )+
    };
}

/// Runs each named `async fn(TestServer)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::start($crate::Backend::Sqlite).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::start($crate::Backend::Postgres).await).await
                }
            }
        )+
    };
}
