//! The delivery worker: leases due deliveries, sends or follows each over its connector,
//! and records what it learnt. Any number of instances may run one on the same database:
//! a lease makes a delivery one worker's at a time, and a worker that dies mid-delivery
//! loses its lease when it runs out, so another sends again. Receivers recognise the
//! document by its identifier, which is what keeps such a resend from counting twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::backoff;
use super::connector::{Failure, PollOutcome, SendOutcome};
use super::helseid::{HelseIdClient, HelseIdConfig};
use super::transmit_log::transmitted;
use super::{edi_sender, jft_sender, vkp_sender, DeliveryConfig};
use crate::store::deliveries::{
    Delivery, DeliveryRoute, DeliveryState, DeliveryUpdate, LeasedDelivery,
};
use crate::store::{now_micros, Store, StoreError};

/// How many deliveries one lease takes.
const BATCH: i64 = 16;

pub struct Worker {
    store: Store,
    config: DeliveryConfig,
    http: reqwest::Client,
    /// Who holds a lease: unique per process, so a restarted instance is another owner.
    owner: String,
    /// One authenticated client per route, keeping its cached token and DPoP nonces.
    clients: Mutex<HashMap<String, Arc<HelseIdClient>>>,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Worker {
    pub fn new(store: Store, config: DeliveryConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()?;
        Ok(Self {
            store,
            config,
            http,
            owner: uuid::Uuid::new_v4().to_string(),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// Runs until the process ends. A database error is logged and waited out.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.run_once().await {
                Ok(0) => tokio::time::sleep(self.config.idle).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "delivery worker: database error");
                    tokio::time::sleep(self.config.idle).await;
                }
            }
        }
    }

    /// Handles one batch of due deliveries, concurrently (each request is bounded by the
    /// request timeout, well inside the lease); returns how many.
    pub async fn run_once(self: &Arc<Self>) -> Result<usize, StoreError> {
        let lease_until = now_micros() + micros(self.config.lease);
        let batch = self
            .store
            .lease_deliveries(&self.owner, lease_until, BATCH)
            .await?;
        let n = batch.len();
        let mut running = tokio::task::JoinSet::new();
        for leased in batch {
            let worker = self.clone();
            running.spawn(async move { worker.handle(leased).await });
        }
        let mut first_error = None;
        let mut finished = false;
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(is_final)) => finished |= is_final,
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => tracing::error!(error = %e, "delivery task ended abnormally"),
            }
        }
        if finished {
            // The documents of final deliveries must not linger in SQLite's log.
            self.store.flush_wal().await?;
        }
        first_error.map_or(Ok(n), Err)
    }

    /// Handles one delivery; returns whether it reached a final state (its document is
    /// then gone from the database).
    async fn handle(&self, leased: LeasedDelivery) -> Result<bool, StoreError> {
        let d = &leased.delivery;
        let route = self
            .store
            .delivery_route(&d.tenant_id, Some(&d.municipality_code))
            .await?;
        let Some(route) = route.filter(|r| r.connector == d.connector) else {
            let failure = Failure::new(
                "route:missing",
                "the tenant no longer has a route for this delivery's connector",
            );
            return self.fail(d, failure).await;
        };
        let client = match self.client(&route).await {
            Ok(c) => c,
            Err(failure) => return self.fail(d, failure).await,
        };
        if d.state == DeliveryState::Queued {
            let Some(content) = &leased.content else {
                return self
                    .fail(d, Failure::new("content:missing", "the document is gone"))
                    .await;
            };
            let outcome = match d.connector.as_str() {
                "jft" => jft_sender::send(&client, &d.endpoint, content).await,
                "vkp" => vkp_sender::send(&client, &d.endpoint, &d.receiver_org, content).await,
                "edi" => {
                    edi_sender::send(&client, &d.endpoint, d.receiver_her_id.as_deref(), content)
                        .await
                }
                other => SendOutcome::Refused(Failure::new(
                    "route:connector",
                    format!("unknown connector {other}"),
                )),
            };
            self.record_send(d, &route, outcome).await
        } else {
            let waited = d.sent_at.map_or(0, |sent| now_micros() - sent);
            if waited > micros(self.config.give_up) {
                let failure = Failure::new(
                    "status:unanswered",
                    "the receiver never reported a final status",
                );
                return self.fail(d, failure).await;
            }
            let outcome = match d.connector.as_str() {
                "jft" => jft_sender::poll(&client, d).await,
                "edi" => edi_sender::poll(&client, d).await,
                other => PollOutcome::Retry(Failure::new(
                    "route:connector",
                    format!("{other} has no status to follow"),
                )),
            };
            self.record_poll(d, outcome).await
        }
    }

    async fn client(&self, route: &DeliveryRoute) -> Result<Arc<HelseIdClient>, Failure> {
        let key = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            route.tenant_id,
            route.municipality_code,
            route.token_url,
            route.client_id,
            route.client_kid,
            route.dpop
        );
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let config = HelseIdConfig {
            token_url: route.token_url.clone(),
            client_id: route.client_id.clone(),
            scope: route.scope.clone(),
            private_key_pem: route.client_key.clone(),
            kid: route.client_kid.clone(),
            algorithm: algorithm_of(&route.client_key),
            dpop: route.dpop,
        };
        let client = HelseIdClient::new(config, self.http.clone())
            .map_err(|e| Failure::new(e.code(), e.to_string()))?;
        let client = Arc::new(client);
        clients.insert(key, client.clone());
        Ok(client)
    }

    async fn record_send(
        &self,
        d: &Delivery,
        route: &DeliveryRoute,
        outcome: SendOutcome,
    ) -> Result<bool, StoreError> {
        let now = now_micros();
        match outcome {
            SendOutcome::Taken {
                state,
                remote_id,
                location,
                remote_status,
            } => {
                let update = DeliveryUpdate {
                    state: Some(state),
                    attempted: true,
                    next_attempt_at: now + micros(self.config.poll),
                    remote_id,
                    remote_location: location,
                    remote_status,
                    error: Some((String::new(), String::new())),
                    ..Default::default()
                };
                let log = transmitted(d, &route.receiver_name);
                tracing::info!(delivery = %d.id, connector = %d.connector, state = state.name(), "document delivered");
                self.record(d, &update, Some(&log)).await
            }
            SendOutcome::Retry(failure) if d.attempts + 1 < self.config.max_attempts => {
                let delay =
                    backoff::delay(d.attempts + 1, self.config.backoff, self.config.max_backoff);
                tracing::info!(delivery = %d.id, code = %failure.code, attempt = d.attempts + 1, "delivery will be retried");
                let update = DeliveryUpdate {
                    attempted: true,
                    next_attempt_at: now + micros(delay),
                    error: Some((failure.code, failure.text)),
                    ..Default::default()
                };
                self.record(d, &update, None).await
            }
            SendOutcome::Retry(failure) | SendOutcome::Refused(failure) => {
                tracing::warn!(delivery = %d.id, code = %failure.code, "delivery failed");
                let update = DeliveryUpdate {
                    state: Some(DeliveryState::Failed),
                    attempted: true,
                    next_attempt_at: now,
                    error: Some((failure.code, failure.text)),
                    ..Default::default()
                };
                self.record(d, &update, None).await
            }
        }
    }

    async fn record_poll(&self, d: &Delivery, outcome: PollOutcome) -> Result<bool, StoreError> {
        let now = now_micros();
        let update = match outcome {
            PollOutcome::Status(report) => DeliveryUpdate {
                // A status that reports no progress keeps the state.
                state: report.state.filter(|s| *s != d.state),
                next_attempt_at: now + micros(self.config.poll),
                remote_status: report.remote_status,
                registered_at: report.registered_at,
                read_at: report.read_at,
                journaled_at: report.journaled_at,
                error: report.failure.map(|f| (f.code, f.text)),
                ..Default::default()
            },
            PollOutcome::Retry(failure) => DeliveryUpdate {
                next_attempt_at: now
                    + micros(backoff::delay(1, self.config.poll, self.config.max_backoff)),
                error: Some((failure.code, failure.text)),
                ..Default::default()
            },
        };
        self.record(d, &update, None).await
    }

    async fn fail(&self, d: &Delivery, failure: Failure) -> Result<bool, StoreError> {
        tracing::warn!(delivery = %d.id, code = %failure.code, "delivery failed");
        let update = DeliveryUpdate {
            state: Some(DeliveryState::Failed),
            next_attempt_at: now_micros(),
            error: Some((failure.code, failure.text)),
            ..Default::default()
        };
        self.record(d, &update, None).await
    }

    /// Records `update` under this worker's lease; whether the delivery became final.
    async fn record(
        &self,
        d: &Delivery,
        update: &DeliveryUpdate,
        transmitted: Option<&crate::store::audit::AuditRecord>,
    ) -> Result<bool, StoreError> {
        let recorded = self
            .store
            .record_delivery(&d.id, &self.owner, update, transmitted)
            .await?;
        if !recorded {
            tracing::warn!(delivery = %d.id, "lease lost before the outcome was recorded");
        }
        Ok(recorded && update.state.is_some_and(DeliveryState::is_final))
    }
}

/// RS384 for an RSA key, ES384 otherwise: the asymmetric algorithms both HelseID and
/// Helsebro's token endpoint accept for client assertions.
fn algorithm_of(pem: &str) -> jsonwebtoken::Algorithm {
    use rsa::pkcs8::DecodePrivateKey;
    if rsa::RsaPrivateKey::from_pkcs8_pem(pem).is_ok() {
        jsonwebtoken::Algorithm::RS384
    } else {
        jsonwebtoken::Algorithm::ES384
    }
}
