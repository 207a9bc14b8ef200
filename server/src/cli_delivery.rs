//! `helsebro delivery …`: routes, the register, retries and measurement summaries; and
//! the `serve` options that pace the delivery worker.

use std::time::Duration;

use clap::Subcommand;
use helsebro::delivery::documents::{build, enqueue, summary_source, DocumentRequest};
use helsebro::delivery::{DeliveryConfig, DocumentKind};
use helsebro::store::deliveries::{DeliveryQuery, DeliveryRoute, DeliveryState};
use helsebro::store::now_micros;

use super::{open_state, tenant_named, Database};

/// How this instance's delivery worker runs (`serve`).
#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Run no delivery worker in this instance (another instance sends).
    #[arg(long)]
    no_delivery_worker: bool,
    /// Send attempts before a delivery is marked failed.
    #[arg(long, env = "HELSEBRO_DELIVERY_MAX_ATTEMPTS", default_value_t = 12)]
    delivery_max_attempts: i64,
    /// The first retry's delay in milliseconds; it doubles per retry, with jitter.
    #[arg(long, env = "HELSEBRO_DELIVERY_BACKOFF_MS", default_value_t = 30_000)]
    delivery_backoff_ms: u64,
    /// The longest delay between retries, in milliseconds.
    #[arg(long, default_value_t = 6 * 3600 * 1000)]
    delivery_max_backoff_ms: u64,
    /// How often a sent document's status is asked for, in milliseconds.
    #[arg(long, env = "HELSEBRO_DELIVERY_POLL_MS", default_value_t = 300_000)]
    delivery_poll_ms: u64,
    /// The timeout of each request to a receiver, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    delivery_timeout_ms: u64,
    /// How long a worker holds a delivery before another may take it over, in seconds.
    #[arg(long, default_value_t = 300)]
    delivery_lease_secs: u64,
    /// How long an idle worker sleeps, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    delivery_idle_ms: u64,
    /// How long a sent document may wait for its final status before it is marked
    /// failed, in seconds (default 30 days).
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    delivery_give_up_secs: u64,
}

impl WorkerArgs {
    pub fn config(&self) -> DeliveryConfig {
        DeliveryConfig {
            enabled: !self.no_delivery_worker,
            idle: Duration::from_millis(self.delivery_idle_ms),
            lease: Duration::from_secs(self.delivery_lease_secs),
            request_timeout: Duration::from_millis(self.delivery_timeout_ms),
            max_attempts: self.delivery_max_attempts.max(1),
            backoff: Duration::from_millis(self.delivery_backoff_ms),
            max_backoff: Duration::from_millis(self.delivery_max_backoff_ms),
            poll: Duration::from_millis(self.delivery_poll_ms),
            give_up: Duration::from_secs(self.delivery_give_up_secs),
        }
    }
}

#[derive(Subcommand)]
pub enum DeliveryCommand {
    /// Set where the tenant's documents for patients of a municipality go (`*` for every
    /// municipality without its own route), and how Helsebro authenticates there: a
    /// HelseID-style client (client credentials, private_key_jwt, DPoP where required).
    Route {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        tenant: Option<String>,
        /// The patients' municipality number, or `*`.
        #[arg(long, default_value = "*")]
        municipality: String,
        /// jft, vkp or edi.
        #[arg(long, value_parser = ["jft", "vkp", "edi"])]
        connector: String,
        /// The receiving service's base URL (JFT: …/v1; VKP: …/epj/r4; EDI: the message
        /// service's base).
        #[arg(long)]
        endpoint: String,
        /// The receiving organisation's number (VKP puts it in the URL).
        #[arg(long)]
        receiver_org: String,
        /// The receiver's HER-id (EDI addresses by it).
        #[arg(long)]
        receiver_her_id: Option<String>,
        #[arg(long)]
        receiver_name: String,
        /// The authorization server's token endpoint.
        #[arg(long)]
        token_url: String,
        #[arg(long)]
        client_id: String,
        /// The client's private key (PKCS#8 PEM, RSA or EC); it is sealed into the
        /// database, the file can go afterwards.
        #[arg(long)]
        key_file: std::path::PathBuf,
        /// The key's id as registered with the authorization server.
        #[arg(long)]
        kid: String,
        #[arg(long)]
        scope: String,
        /// Ask for DPoP-bound tokens and send proofs (JFT and EDI 2.0 require them).
        #[arg(long)]
        dpop: bool,
    },
    /// The register, newest first: one line per delivery, metadata only.
    List {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        tenant: Option<String>,
        /// Only deliveries in this state (queued, sent, registered, read, journaled,
        /// acknowledged, accepted, failed).
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Queue a failed delivery again, its document rebuilt under the same identifier.
    Retry {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        tenant: Option<String>,
        /// The delivery's id.
        id: String,
    },
    /// Send a summary of a patient's measurements in [from, to) to their municipality.
    Summary {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        patient: String,
        /// Start date (inclusive), e.g. 2026-11-01.
        #[arg(long)]
        from: String,
        /// End date (exclusive).
        #[arg(long)]
        to: String,
    },
}

pub async fn run(command: DeliveryCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        DeliveryCommand::Route {
            db,
            tenant,
            municipality,
            connector,
            endpoint,
            receiver_org,
            receiver_her_id,
            receiver_name,
            token_url,
            client_id,
            key_file,
            kid,
            scope,
            dpop,
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            helsebro_profiles::identifiers::check_organisation_number(&receiver_org)
                .map_err(|e| format!("--receiver-org: {e}"))?;
            let client_key = std::fs::read_to_string(&key_file)?;
            let route = DeliveryRoute {
                tenant_id: tenant.id.clone(),
                municipality_code: municipality,
                connector,
                endpoint: endpoint.trim_end_matches('/').to_string(),
                receiver_org,
                receiver_her_id,
                receiver_name,
                token_url,
                client_id,
                client_key,
                client_kid: kid,
                scope,
                dpop,
            };
            state.store.set_delivery_route(&route).await?;
            println!(
                "route for municipality {} of {}: {} at {}",
                route.municipality_code, tenant.org_number, route.connector, route.endpoint
            );
        }
        DeliveryCommand::List {
            db,
            tenant,
            state: wanted,
            limit,
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let wanted = match wanted {
                Some(s) => Some(DeliveryState::parse(&s).ok_or_else(|| format!("no state {s}"))?),
                None => None,
            };
            let rows = state
                .store
                .deliveries(&DeliveryQuery {
                    tenant_id: tenant.id.clone(),
                    state: wanted,
                    patient_id: None,
                    limit,
                })
                .await?;
            for d in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\tattempts={}\t{}",
                    d.id,
                    d.state.name(),
                    d.kind,
                    d.connector,
                    d.receiver_org,
                    d.attempts,
                    d.error_code.unwrap_or_default()
                );
            }
        }
        DeliveryCommand::Retry { db, tenant, id } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            if !helsebro::delivery::admin::retry(&state.store, &tenant.id, &id).await? {
                return Err(format!("{id} is not a failed delivery of this tenant").into());
            }
            println!("{id} queued again");
        }
        DeliveryCommand::Summary {
            db,
            tenant,
            patient,
            from,
            to,
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let store = &state.store;
            let facts = store
                .patient_facts(&tenant.id, &patient)
                .await?
                .ok_or_else(|| format!("no Patient/{patient}"))?;
            let route = store
                .delivery_route(&tenant.id, facts.municipality_code.as_deref())
                .await?
                .ok_or("the tenant has no delivery route for the patient's municipality")?;
            let source_id = summary_source(&patient, &from, &to);
            let document_id = uuid::Uuid::new_v4().to_string();
            let request = DocumentRequest {
                tenant_id: &tenant.id,
                kind: DocumentKind::MeasurementSummary,
                source_id: &source_id,
                patient_id: &patient,
                document_id: &document_id,
                created: now_micros(),
                route: &route,
            };
            let content = build(store, &request).await?;
            let mut tx = store.begin_write().await?;
            let queued = enqueue(&mut tx, &request, &content).await?;
            tx.commit().await?;
            if queued {
                println!("summary queued as document {document_id}");
            } else {
                println!("this summary was queued before");
            }
        }
    }
    Ok(())
}
