use axum::http::StatusCode;
use helsebro_conformance::capability::{capability_statement, ServerInfo};

use crate::fhir::format::{FhirResponse, Rendered};
use crate::fhir::Ctx;

pub async fn handle(mut ctx: Ctx) -> Rendered {
    let result = ctx.negotiated().map(|_| {
        let auth_base = ctx.state.config.auth_url("");
        let cs = capability_statement(&ServerInfo {
            base_url: ctx.base(),
            version: env!("CARGO_PKG_VERSION"),
            date: &ctx.state.started,
            auth_base: &auth_base,
            supported_profiles: &crate::write_path::profile_check::norwegian_profiles,
        });
        FhirResponse::new(StatusCode::OK, Some(cs.to_string()))
    });
    ctx.render(result)
}
