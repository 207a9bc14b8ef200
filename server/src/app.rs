//! Wiring: storage, the default tenant, demo data and the HTTP router.

use std::sync::Arc;

use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::auth::keys::{KeyError, KeyRing};
use crate::config::Config;
use crate::fhir::{self, AppState};
use crate::store::tenants::{NewTenant, DEFAULT_TENANT_ID};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("demo data could not be loaded: {0}")]
    Demo(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Upstream(#[from] auth::upstream::UpstreamError),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("could not start: {0}")]
    Startup(String),
}

/// Opens storage, ensures the default tenant and (with `--demo`) the demo data.
pub async fn state(config: Config) -> Result<AppState, AppError> {
    let master = crate::master_key::resolve(&config).map_err(AppError::MasterKey)?;
    auth::dpop::derive_nonce_key(&master.0);
    let store = Store::open(&config.database_url, &master).await?;
    let is_test = config.default_tenant_is_test || config.demo;
    let mut tenant = store
        .ensure_tenant(&NewTenant {
            id: DEFAULT_TENANT_ID,
            org_number: crate::demo::DEMO_ORG_NUMBER,
            name: crate::demo::DEMO_TENANT_NAME,
            municipality_number: Some(crate::demo::DEMO_MUNICIPALITY),
            is_test,
        })
        .await?;
    if config.demo && !tenant.is_test {
        store.mark_test_tenant(&tenant.id).await?;
        tenant.is_test = true;
    }
    if config.demo {
        crate::demo::load_if_empty(&store, &tenant)
            .await
            .map_err(|e| AppError::Demo(e.to_string()))?;
    }
    let keys = Arc::new(KeyRing::load(&store).await?);
    let upstream = match &config.upstream {
        Some(u) => Some(Arc::new(
            auth::upstream::Upstream::discover(u, &config.auth_url("callback")).await?,
        )),
        None => None,
    };
    Ok(AppState {
        keys,
        issuer_keys: Default::default(),
        upstream,
        audit: crate::audit::writer::AuditLog::start(store.clone()),
        store,
        tenant: Arc::new(tenant),
        config: Arc::new(config),
        started: helsebro_mappings::dates::format_instant(crate::store::now_micros()).into(),
    })
}

pub fn router(state: AppState) -> Router {
    let health_store = state.store.clone();
    let keys = state.keys.clone();
    Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let keys = keys.clone();
                async move { axum::Json(keys.jwks()) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let store = health_store.clone();
                async move {
                    match sqlx::query("SELECT 1").execute(store.pool()).await {
                        Ok(_) => (StatusCode::OK, "ok"),
                        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
                    }
                }
            }),
        )
        .route(
            "/.well-known/openid-configuration",
            get(auth::discovery::openid_configuration),
        )
        .route(
            "/auth/authorize",
            get(auth::authorize::get).post(auth::authorize::post),
        )
        .route(
            "/auth/sign-in",
            get(auth::sign_in::get).post(auth::sign_in::post),
        )
        .route("/auth/callback", get(auth::upstream::callback))
        .route(
            "/auth/patient",
            get(auth::patient_picker::get).post(auth::patient_picker::post),
        )
        .route(
            "/auth/consent",
            get(auth::consent::get).post(auth::consent::post),
        )
        .route("/auth/token", post(auth::token_endpoint::handle))
        .route("/auth/introspect", post(auth::introspection::handle))
        .route("/auth/revoke", post(auth::revocation::handle))
        .with_state(state.clone())
        .nest("/jft/v1", crate::jft::router(state.clone()))
        .nest("/vkp", crate::vkp::router(state.clone()))
        .nest("/edi", crate::edi_inbox::router(state.clone()))
        .nest("/admin", crate::delivery::admin::router(state.clone()))
        .nest("/fhir", fhir::router(state))
        .layer(CorsLayer::permissive())
        .layer(
            // Paths only: query strings can carry identifiers and never reach the logs.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
}

pub type AppRouter = Router;

/// Makes the id_token key in the background, so that the JWKS lists it before the first
/// sign-in (clients that cache the JWKS then need not fetch it again).
fn prepare_id_token_key(state: &AppState) {
    let (keys, store) = (state.keys.clone(), state.store.clone());
    tokio::spawn(async move {
        if let Err(e) = keys.id_token_key(&store).await {
            tracing::error!(error = %e, "could not make the id_token key");
        }
    });
}

/// The jobs a serving instance runs beside the requests: the id_token key, retention,
/// (unless turned off) a delivery worker, and a bulk export worker.
fn start_background(state: &AppState) -> Result<(), AppError> {
    prepare_id_token_key(state);
    crate::retention::schedule(state.store.clone());
    let config = state.config.delivery.clone();
    if config.enabled {
        let worker = crate::delivery::worker::Worker::new(state.store.clone(), config)
            .map_err(|e| AppError::Startup(format!("delivery worker: {e}")))?;
        tokio::spawn(std::sync::Arc::new(worker).run());
    }
    let exports = crate::export::worker::Worker::new(state.store.clone(), Default::default());
    tokio::spawn(exports.run());
    Ok(())
}

/// Serves until the process is asked to stop.
pub async fn serve(listener: TcpListener, config: Config) -> Result<(), AppError> {
    let state = state(config).await?;
    start_background(&state)?;
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

/// Serves over TLS until the process is asked to stop.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    config: Config,
    tls: axum_server::tls_rustls::RustlsConfig,
) -> Result<(), AppError> {
    let state = state(config).await?;
    start_background(&state)?;
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    axum_server::from_tcp_rustls(listener, tls)
        .handle(handle)
        .serve(router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await?;
    Ok(())
}

/// Serves an already built router over TLS (tests run it in-process).
pub async fn serve_router_tls(
    listener: std::net::TcpListener,
    app: AppRouter,
    tls: axum_server::tls_rustls::RustlsConfig,
) -> Result<(), AppError> {
    axum_server::from_tcp_rustls(listener, tls)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await?;
    Ok(())
}

/// Serves an already built router (tests and benchmarks run it in-process).
pub async fn serve_router(listener: TcpListener, app: AppRouter) -> Result<(), AppError> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
