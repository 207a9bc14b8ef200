//! The JFT connector (Journalføringstjenesten): `POST {base}/Bundle` answers `202` with
//! the document's `Location`; `GET {location}/$status` gives the times it was registered,
//! read by the EHR, journaled, or failed.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::connector::{
    failure_of, fhir_json_body, id_of_location, transport_failure, unsuccessful, Failure,
    PollOutcome, SendOutcome, StatusReport,
};
use super::helseid::HelseIdClient;
use crate::store::deliveries::{Delivery, DeliveryState};

pub async fn send(client: &HelseIdClient, endpoint: &str, content: &str) -> SendOutcome {
    let url = format!("{}/Bundle", endpoint.trim_end_matches('/'));
    let build = fhir_json_body(content);
    let response = match client.send(Method::POST, &url, &build).await {
        Ok(r) => r,
        Err(e) => return transport_failure(&e),
    };
    if response.status() != StatusCode::ACCEPTED && !response.status().is_success() {
        return unsuccessful(response).await;
    }
    let Some(location) = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        // Without a Location the status cannot be followed; a retry of the same
        // document gets the same answer from a receiver that keeps its word.
        return SendOutcome::Retry(Failure::new(
            "jft:no-location",
            "the receiver accepted the document without a Location",
        ));
    };
    SendOutcome::Taken {
        state: DeliveryState::Sent,
        remote_id: id_of_location(&location),
        location: Some(location),
        remote_status: None,
    }
}

pub async fn poll(client: &HelseIdClient, delivery: &Delivery) -> PollOutcome {
    let Some(location) = &delivery.remote_location else {
        return PollOutcome::Retry(Failure::new("jft:no-location", "no Location to follow"));
    };
    let url = format!("{}/$status", location.trim_end_matches('/'));
    let build = |r: reqwest::RequestBuilder| r.header(reqwest::header::ACCEPT, "application/json");
    let response = match client.send(Method::GET, &url, &build).await {
        Ok(r) => r,
        Err(e) => return PollOutcome::Retry(Failure::new(e.code(), e.to_string())),
    };
    if !response.status().is_success() {
        return PollOutcome::Retry(failure_of(response).await);
    }
    match response.json::<Value>().await {
        Ok(status) => PollOutcome::Status(report(&status)),
        Err(e) => PollOutcome::Retry(Failure::new("jft:status-unreadable", e.to_string())),
    }
}

/// The delivery state a `$status` answer means: the furthest step it reports.
pub fn report(status: &Value) -> StatusReport {
    let at = |name: &str| {
        status[name]
            .as_str()
            .and_then(helsebro_mappings::dates::parse_range)
            .map(|r| r.low)
    };
    let mut report = StatusReport {
        registered_at: at("registered"),
        read_at: at("read"),
        journaled_at: at("journaled"),
        ..Default::default()
    };
    report.state = if let Some(failed) = status.get("failed").filter(|f| !f.is_null()) {
        let why = status["reason"]
            .as_str()
            .or_else(|| failed.as_str())
            .unwrap_or("failed");
        report.failure = Some(Failure::new("jft:failed", why));
        Some(DeliveryState::Failed)
    } else if report.journaled_at.is_some() {
        Some(DeliveryState::Journaled)
    } else if report.read_at.is_some() {
        Some(DeliveryState::Read)
    } else if report.registered_at.is_some() {
        Some(DeliveryState::Registered)
    } else {
        None
    };
    report.remote_status = report.state.map(|s| s.name().to_string());
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_furthest_step_counts() {
        let r = report(
            &json!({"registered": "2026-11-30T10:00:00Z", "read": null, "journaled": null, "failed": null}),
        );
        assert_eq!(r.state, Some(DeliveryState::Registered));
        let r = report(
            &json!({"registered": "2026-11-30T10:00:00Z", "read": "2026-11-30T10:01:00Z", "journaled": "2026-11-30T10:02:00Z", "failed": null}),
        );
        assert_eq!(r.state, Some(DeliveryState::Journaled));
        assert!(r.journaled_at.unwrap() > r.read_at.unwrap());
        let r = report(
            &json!({"registered": "2026-11-30T10:00:00Z", "failed": "2026-11-30T10:05:00Z"}),
        );
        assert_eq!(r.state, Some(DeliveryState::Failed));
        assert_eq!(r.failure.unwrap().code, "jft:failed");
    }
}
