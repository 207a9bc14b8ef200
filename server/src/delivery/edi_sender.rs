//! The EDI 2.0 connector (NHN's message service): the note goes as a Dialogmelding inside
//! a MsgHead, base64 in `POST {base}/messages`; `GET /messages/{id}/status` tells the
//! transport state and whether the receiver's AppRec came, which `GET
//! /messages/{id}/apprec` then gives: OK, rejected, or OK with errors in a part.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use super::connector::{
    failure_of, id_of_location, transport_failure, unsuccessful, Failure, PollOutcome, SendOutcome,
    StatusReport,
};
use super::edi::apprec::{self, AppRecStatus};
use super::helseid::HelseIdClient;
use crate::store::deliveries::{Delivery, DeliveryState};

pub async fn send(
    client: &HelseIdClient,
    endpoint: &str,
    receiver_her_id: Option<&str>,
    content: &str,
) -> SendOutcome {
    let url = format!("{}/messages", endpoint.trim_end_matches('/'));
    let mut body = json!({
        "businessDocument": STANDARD.encode(content.as_bytes()),
        "contentType": "application/xml",
        "contentTransferEncoding": "base64",
    });
    if let Some(her) = receiver_her_id.and_then(|h| h.parse::<u64>().ok()) {
        body["receiverHerIdsSubset"] = json!([her]);
    }
    let body = body.to_string();
    let build = move |r: reqwest::RequestBuilder| {
        r.header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
    };
    let response = match client.send(Method::POST, &url, &build).await {
        Ok(r) => r,
        Err(e) => return transport_failure(&e),
    };
    if !response.status().is_success() {
        return unsuccessful(response).await;
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    let id = answer["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| answer.as_str().map(str::to_string))
        .or_else(|| location.as_deref().and_then(id_of_location));
    match id {
        Some(id) => SendOutcome::Taken {
            state: DeliveryState::Sent,
            remote_id: Some(id),
            location,
            remote_status: None,
        },
        None => SendOutcome::Retry(Failure::new(
            "edi:no-id",
            "the message service accepted the message without an id",
        )),
    }
}

pub async fn poll(client: &HelseIdClient, delivery: &Delivery) -> PollOutcome {
    let Some(id) = &delivery.remote_id else {
        return PollOutcome::Retry(Failure::new("edi:no-id", "no message id to follow"));
    };
    let base = delivery.endpoint.trim_end_matches('/');
    let status = match get_json(client, &format!("{base}/messages/{id}/status")).await {
        Ok(v) => v,
        Err(f) => return PollOutcome::Retry(f),
    };
    // One entry per receiver; we address one.
    let entry = status
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or(status);
    let transport = entry["transportDeliveryState"].as_str().unwrap_or_default();
    let mut report = StatusReport {
        remote_status: Some(transport.to_string()),
        ..Default::default()
    };
    if transport.eq_ignore_ascii_case("rejected") {
        report.state = Some(DeliveryState::Failed);
        report.failure = Some(Failure::new(
            "edi:transport-rejected",
            "the message service could not deliver the message",
        ));
        return PollOutcome::Status(report);
    }
    if transport.eq_ignore_ascii_case("acknowledged") {
        report.state = Some(DeliveryState::Registered);
        report.registered_at = Some(crate::store::now_micros());
    }
    if entry["appRecStatus"].is_null() {
        return PollOutcome::Status(report);
    }
    let receipt = match get_json(client, &format!("{base}/messages/{id}/apprec")).await {
        Ok(v) => v,
        Err(f) => return PollOutcome::Retry(f),
    };
    let xml = receipt["businessDocument"]
        .as_str()
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let parsed = xml.as_deref().map(apprec::parse);
    let Some(Ok(apprec)) = parsed else {
        return PollOutcome::Retry(Failure::new(
            "edi:apprec-unreadable",
            "the AppRec could not be read",
        ));
    };
    if apprec.original_msg_id != delivery.document_id {
        return PollOutcome::Retry(Failure::new(
            "edi:apprec-mismatch",
            "the AppRec answers another message",
        ));
    }
    apply_apprec(&mut report, apprec.status, &apprec.errors);
    PollOutcome::Status(report)
}

/// What an AppRec means for the delivery: OK and OK-with-errors acknowledge it (the
/// errors stay as its error for the operator), a rejection fails it.
fn apply_apprec(report: &mut StatusReport, status: AppRecStatus, errors: &[apprec::AppRecError]) {
    let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
    let texts: Vec<&str> = errors.iter().map(|e| e.text.as_str()).collect();
    let (state, name, failure) = match status {
        AppRecStatus::Ok => (DeliveryState::Acknowledged, "apprec:ok", None),
        AppRecStatus::OkWithErrors => (
            DeliveryState::Acknowledged,
            "apprec:ok-with-errors",
            Some(("apprec:ok-with-errors", codes, texts)),
        ),
        AppRecStatus::Rejected => (
            DeliveryState::Failed,
            "apprec:rejected",
            Some(("apprec:rejected", codes, texts)),
        ),
    };
    report.state = Some(state);
    report.remote_status = Some(name.to_string());
    report.read_at = Some(crate::store::now_micros());
    if let Some((prefix, codes, texts)) = failure {
        let code = if codes.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}:{}", codes.join(","))
        };
        report.failure = Some(Failure::new(code, texts.join("; ")));
    }
}

async fn get_json(client: &HelseIdClient, url: &str) -> Result<Value, Failure> {
    let build = |r: reqwest::RequestBuilder| r.header(reqwest::header::ACCEPT, "application/json");
    let response = client
        .send(Method::GET, url, &build)
        .await
        .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    if !response.status().is_success() {
        return Err(failure_of(response).await);
    }
    response
        .json()
        .await
        .map_err(|e| Failure::new("edi:unreadable", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apprec_statuses_map_to_delivery_states() {
        let mut r = StatusReport::default();
        apply_apprec(&mut r, AppRecStatus::Ok, &[]);
        assert_eq!(r.state, Some(DeliveryState::Acknowledged));
        assert!(r.failure.is_none());
        let errors = vec![apprec::AppRecError {
            code: "E10".into(),
            text: "Ugyldig meldingsformat".into(),
        }];
        let mut r = StatusReport::default();
        apply_apprec(&mut r, AppRecStatus::Rejected, &errors);
        assert_eq!(r.state, Some(DeliveryState::Failed));
        assert_eq!(r.failure.unwrap().code, "apprec:rejected:E10");
        let mut r = StatusReport::default();
        apply_apprec(&mut r, AppRecStatus::OkWithErrors, &errors);
        assert_eq!(r.state, Some(DeliveryState::Acknowledged));
        assert_eq!(r.failure.unwrap().code, "apprec:ok-with-errors:E10");
    }
}
