use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::json;

async fn health_and_metadata(s: TestServer) {
    let r = s
        .client
        .get(format!("{}/healthz", s.root))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cs = json_with_status(s.get("metadata").await, 200).await;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    let created = s
        .create(&json!({"resourceType": "Patient", "active": true}))
        .await;
    assert_eq!(created["meta"]["versionId"], "1");
}

on_both_backends!(health_and_metadata);
