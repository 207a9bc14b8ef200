//! The access-log row of a document leaving: the patient reads in their log that a
//! document about them was sent, and to whom (ISO 21089 lifecycle event `transmit`).

use super::DocumentKind;
use crate::audit::{record, Agent};
use crate::store::audit::AuditRecord;
use crate::store::deliveries::Delivery;

/// The client id the log shows for deliveries; `audit::render` names it.
pub const DELIVERY_AGENT: &str = "helsebro:delivery";

pub fn transmitted(delivery: &Delivery, receiver_name: &str) -> AuditRecord {
    let agent = Agent {
        tenant_id: delivery.tenant_id.clone(),
        user: None,
        client_id: Some(DELIVERY_AGENT.to_string()),
        source: None,
        purpose: None,
    };
    let kind = DocumentKind::parse(&delivery.kind).map_or("dokument", DocumentKind::display);
    record(
        &agent,
        "transmit",
        "transmit",
        "0",
        Some(format!(
            "{kind} sendt til {receiver_name} (org.nr. {}) via {}",
            delivery.receiver_org,
            delivery.connector.to_uppercase()
        )),
        None,
        [delivery.patient_id.clone()],
    )
}
