//! The floor a read by id is measured against: a bare axum handler that fetches the same
//! stored JSON by primary key with sqlx and returns it, with no token, access log,
//! decryption or content negotiation.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

/// Serves `GET /floor/{tenant}/{id}` (a Patient) on an ephemeral port; returns its base URL.
pub async fn start(database_url: &str, connections: u32) -> Result<String, super::BoxError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(connections)
        // As the server's pool: no ping before each query.
        .test_before_acquire(false)
        .connect(database_url)
        .await?;
    let app = Router::new()
        .route("/floor/{tenant}/{id}", get(read))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/floor", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

async fn read(
    State(pool): State<AnyPool>,
    Path((tenant, id)): Path<(String, String)>,
) -> impl IntoResponse {
    let row = sqlx::query(
        "SELECT json FROM resources WHERE tenant_id = $1 AND resource_type = 'Patient' AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&pool)
    .await;
    match row {
        Ok(Some(r)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/fhir+json")],
            r.get::<String, _>(0),
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
