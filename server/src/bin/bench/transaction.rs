//! The transaction phase of `helsebro-bench`: transaction Bundles of 100 Observations each
//! (heart rates of the bench's patients, every entry under a `urn:uuid:` fullUrl) POSTed to
//! the base by the concurrent clients. Reports Bundles per second and resources per second.

use std::sync::Arc;

use serde_json::{json, Value};

/// Observations per Bundle.
pub const PER_BUNDLE: usize = 100;

fn heart_rate(patient: &str, bundle: usize, i: usize) -> Value {
    let minute = (bundle * PER_BUNDLE + i) % (365 * 24 * 60);
    let (day, hour, min) = (1 + minute / (24 * 60) % 28, minute / 60 % 24, minute % 60);
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": format!("2026-02-{day:02}T{hour:02}:{min:02}:00Z"),
        "valueQuantity": {"value": 50 + (bundle + i) % 60, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

/// Bundle `n`: each Observation for the next patient in turn.
fn bundle(n: usize, patients: &[String]) -> String {
    let entries: Vec<Value> = (0..PER_BUNDLE)
        .map(|i| {
            let patient = &patients[(n * PER_BUNDLE + i) % patients.len()];
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                "resource": heart_rate(patient, n, i),
                "request": {"method": "POST", "url": "Observation"}
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string()
}

pub async fn run(
    label: &str,
    client: &reqwest::Client,
    base: &str,
    patients: Arc<Vec<String>>,
    bundles: usize,
    concurrency: usize,
) {
    // Built before the clock starts: the phase measures the server, not JSON building.
    let bodies: Arc<Vec<String>> = Arc::new((0..bundles).map(|n| bundle(n, &patients)).collect());
    let (c, b) = (client.clone(), base.to_string());
    let phase = super::run_phase("transaction x100", bundles, concurrency, move |i| {
        c.post(&b)
            .header("Content-Type", "application/fhir+json")
            .header("Prefer", "return=minimal")
            .body(bodies[i].clone())
    })
    .await;
    phase.print(label);
    let written = (phase.count - phase.errors) * PER_BUNDLE;
    println!(
        "{label:<9} transaction        {written:>7} resources {:>9.0} resources/s  ({concurrency} concurrent clients, {PER_BUNDLE} per Bundle)",
        written as f64 / phase.elapsed.as_secs_f64()
    );
}
