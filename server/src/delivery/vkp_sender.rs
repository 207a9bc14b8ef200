//! The VKP connector (Velferdsteknologisk knutepunkt): `POST {base}/{orgnr}/Bundle`, the
//! receiving municipality named in the path. VKP gives no later receipt, so a document it
//! accepts is final here; a `400` carries an OperationOutcome with VKP's codes.

use reqwest::Method;

use super::connector::{
    fhir_json_body, id_of_location, transport_failure, unsuccessful, Failure, SendOutcome,
};
use super::helseid::HelseIdClient;
use crate::store::deliveries::DeliveryState;

pub async fn send(
    client: &HelseIdClient,
    endpoint: &str,
    receiver_org: &str,
    content: &str,
) -> SendOutcome {
    let url = format!("{}/{receiver_org}/Bundle", endpoint.trim_end_matches('/'));
    let build = fhir_json_body(content);
    let response = match client.send(Method::POST, &url, &build).await {
        Ok(r) => r,
        Err(e) => return transport_failure(&e),
    };
    if !response.status().is_success() {
        return match unsuccessful(response).await {
            SendOutcome::Refused(f) if retryable_code(&f) => SendOutcome::Retry(f),
            other => other,
        };
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    SendOutcome::Taken {
        state: DeliveryState::Accepted,
        remote_id: location.as_deref().and_then(id_of_location),
        location,
        remote_status: Some(response.status().as_u16().to_string()),
    }
}

/// VKP's `3.x` codes are "other errors", among them its own time-out (3.1): worth
/// another try, unlike the refusals of `1.x` (not allowed) and `2.x` (invalid data).
fn retryable_code(f: &Failure) -> bool {
    f.code == "vkp:3" || f.code.starts_with("vkp:3.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_vkp_other_errors_are_retried() {
        assert!(retryable_code(&Failure::new("vkp:3.1", "time out")));
        assert!(!retryable_code(&Failure::new(
            "vkp:2.1",
            "ugyldig personidentifikator"
        )));
        assert!(!retryable_code(&Failure::new(
            "vkp:1.3",
            "ikke oppfylt tjenstlig behov"
        )));
    }
}
