use std::net::SocketAddr;

/// Everything a running server needs to know; built from the command line and `HELSEBRO_*`.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// The public FHIR base URL, used in `Location`, `fullUrl` and paging links.
    pub base_url: String,
    pub demo: bool,
    /// Largest accepted request body; larger ones get `413`.
    pub max_body_bytes: usize,
    /// Whether the default tenant is a test tenant (accepts synthetic national ids).
    pub default_tenant_is_test: bool,
    /// The OpenID Connect provider practitioners sign in with; without it, only the demo
    /// sign-in exists (and only with `demo`).
    pub upstream: Option<crate::auth::upstream::UpstreamConfig>,
    /// The master key, when given directly (tests); otherwise see `master_key::resolve`.
    pub master_key: Option<crate::store::crypto::MasterKey>,
    /// How this instance's delivery worker runs.
    pub delivery: crate::delivery::DeliveryConfig,
}

impl Config {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        Self {
            listen,
            database_url: database_url.into(),
            base_url: format!("http://{listen}/fhir"),
            demo: false,
            max_body_bytes: 4 * 1024 * 1024,
            default_tenant_is_test: false,
            upstream: None,
            master_key: None,
            delivery: crate::delivery::DeliveryConfig::default(),
        }
    }

    /// This server's origin: the FHIR base without its `/fhir`.
    pub fn origin(&self) -> &str {
        self.base_url
            .strip_suffix("/fhir")
            .unwrap_or(&self.base_url)
    }

    /// An OAuth endpoint of the built-in authorization server, e.g. `auth_url("token")`.
    pub fn auth_url(&self, endpoint: &str) -> String {
        format!("{}/auth/{endpoint}", self.origin())
    }
}
