use std::net::SocketAddr;

use clap::{Parser, Subcommand};

mod cli_conformance;
mod cli_delivery;
mod cli_tenant;
use helsebro::config::Config;
use helsebro::store::Store;

#[derive(Parser)]
#[command(
    name = "helsebro",
    version,
    about = "FHIR R4 server for Norwegian remote-care platforms"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The server's public FHIR base URL, for commands that speak for the server.
#[derive(clap::Args)]
struct PublicBase {
    /// The server's public FHIR base URL: a token's audience, an EHR launch's `iss`.
    #[arg(
        long,
        env = "HELSEBRO_BASE_URL",
        default_value = "http://127.0.0.1:8080/fhir"
    )]
    base_url: String,
}

#[derive(clap::Args)]
struct Database {
    /// `sqlite://PATH` or `postgres://…`.
    #[arg(
        long = "database",
        env = "HELSEBRO_DATABASE_URL",
        default_value = "sqlite://helsebro.db"
    )]
    url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long, env = "HELSEBRO_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        db: Database,
        /// Public FHIR base URL (default: http://LISTEN/fhir).
        #[arg(long, env = "HELSEBRO_BASE_URL")]
        base_url: Option<String>,
        /// Load a demo tenant with synthetic data when the database is empty.
        #[arg(long)]
        demo: bool,
        /// Terminate TLS (1.2 and 1.3) with this PEM certificate chain; needs --tls-key.
        #[arg(long, env = "HELSEBRO_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, env = "HELSEBRO_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
        /// The OpenID Connect provider practitioners sign in with (e.g. HelseID's issuer);
        /// its redirect URI for this server is {origin}/auth/callback.
        #[arg(long, env = "HELSEBRO_OIDC_ISSUER", requires = "oidc_client_id")]
        oidc_issuer: Option<String>,
        /// This server's client_id at the provider.
        #[arg(long, env = "HELSEBRO_OIDC_CLIENT_ID", requires = "oidc_issuer")]
        oidc_client_id: Option<String>,
        /// Scopes to ask the provider for besides openid (repeat for several).
        #[arg(long = "oidc-scope")]
        oidc_scopes: Vec<String>,
        #[command(flatten)]
        delivery: cli_delivery::WorkerArgs,
    },
    /// Load a platform export (one JSON record a line) through the FHIR mapping and checks.
    Import {
        #[command(flatten)]
        db: Database,
        /// The export file (see docs/import-format.md).
        file: std::path::PathBuf,
    },
    /// Print a signed access token for the built-in operator client (trusted machines only).
    Token {
        #[command(flatten)]
        db: Database,
        /// Space-separated SMART scopes, e.g. "system/*.cruds" or "patient/Observation.rs".
        #[arg(long)]
        scope: String,
        /// The launch patient (Patient id) for patient/ scopes.
        #[arg(long)]
        patient: Option<String>,
        /// The user the token acts for (`Practitioner/ID`); `user/` scopes reach the
        /// patients in their care.
        #[arg(long)]
        user: Option<String>,
        /// The tenant's organisation number (default: the server's default tenant).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        base: PublicBase,
        /// How long the token is valid, in minutes.
        #[arg(long, default_value_t = 60)]
        minutes: u64,
    },
    /// Open an app for a patient (SMART EHR launch): prints the app's launch URL with `iss`
    /// and `launch`, or the launch id when the app registered no launch URL.
    Launch {
        #[command(flatten)]
        db: Database,
        /// The app's client_id.
        #[arg(long)]
        client: String,
        /// The Patient id the app opens with.
        #[arg(long)]
        patient: String,
        /// The tenant's organisation number (default: the server's default tenant).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        base: PublicBase,
    },
    /// Register an OAuth client.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Erase a patient on the controller's request: every record and version of the
    /// patient's compartment; the access log keeps a row of the erasure, without content.
    Erase {
        #[command(flatten)]
        db: Database,
        /// The Patient id.
        #[arg(long)]
        patient: String,
        /// The tenant's organisation number (default: the server's default tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// How long the access log and delivery metadata are kept.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// The tenants' encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The access log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Trust the JWT access tokens of an external authorization server.
    Issuer {
        #[command(subcommand)]
        command: IssuerCommand,
    },
    /// Validate a resource (JSON or XML) offline against R4 and a profile this server
    /// carries (the one given, else those in meta.profile); prints an OperationOutcome and
    /// exits non-zero when there are errors.
    Validate {
        /// The resource file.
        file: std::path::PathBuf,
        /// The canonical URL of the profile to validate against.
        #[arg(long)]
        profile: Option<String>,
    },
    /// A tenant's settings.
    Tenant {
        #[command(subcommand)]
        command: cli_tenant::TenantCommand,
    },
    /// Document delivery to the municipalities' EHRs.
    Delivery {
        #[command(subcommand)]
        command: cli_delivery::DeliveryCommand,
    },
    /// Conformance testing: run TestScripts against a FHIR server.
    Conformance {
        #[command(subcommand)]
        command: cli_conformance::ConformanceCommand,
    },
    /// Rebuild the search index of every current resource from its stored JSON (after an
    /// upgrade adds search parameters or index rows).
    Reindex {
        #[command(flatten)]
        db: Database,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, env = "HELSEBRO_DATABASE_URL")]
        database: String,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints its client_id, and with --secret its secret on the next
    /// line (shown only this once). A backend service gives keys; an app gives redirect
    /// URIs, and keys (private_key_jwt), --secret (client_secret_basic) or neither (public).
    Add {
        #[command(flatten)]
        db: Database,
        /// A name users and operators recognise; the consent page shows it.
        #[arg(long)]
        name: String,
        /// The most the client may be granted, e.g. "system/Observation.rs system/Patient.rs"
        /// or "launch/patient openid fhirUser offline_access patient/*.rs".
        #[arg(long)]
        scope: String,
        /// A file holding the client's public JWK Set.
        #[arg(long, conflicts_with = "jwks_url")]
        jwks: Option<std::path::PathBuf>,
        /// Where the client publishes its JWK Set.
        #[arg(long)]
        jwks_url: Option<String>,
        /// Generate a client secret (a confidential app using client_secret_basic).
        #[arg(long)]
        secret: bool,
        /// Where the app receives its authorization code (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// The app's launch URL, for EHR launches.
        #[arg(long)]
        launch_uri: Option<String>,
        /// The tenant's organisation number (default: the server's default tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Set a tenant's retention in days; refused below the legal minimums.
    Set {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        audit_days: i64,
        #[arg(long)]
        delivery_days: i64,
    },
    /// Apply every tenant's retention now (the server does it daily).
    Apply {
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Rotate a tenant's data key (every tenant's without --tenant) and re-seal its
    /// national identity numbers, messages, journal notes and resources with the new one.
    Rotate {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that every tenant's access log is unbroken: each row follows the one before
    /// it and matches its hash. Reports the first broken row; exits non-zero if any.
    Verify {
        #[command(flatten)]
        db: Database,
        /// Only this tenant (organisation number).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum IssuerCommand {
    /// Accept tokens whose `iss` is ISSUER, verified with the keys at --jwks-url. Their
    /// tenant comes from the organisation number claim (HelseID `orgnr_parent`), or is
    /// --tenant.
    Add {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        jwks_url: String,
        /// The `aud` the issuer's tokens carry for this server (default: the FHIR base).
        #[arg(
            long,
            env = "HELSEBRO_BASE_URL",
            default_value = "http://127.0.0.1:8080/fhir"
        )]
        audience: String,
        /// The tenant (organisation number) of tokens that name none, and the only tenant
        /// the issuer may speak for.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs go to stderr: stdout is for what a command prints (`helsebro token`'s token).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HELSEBRO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helsebro: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            base_url,
            demo,
            tls_cert,
            tls_key,
            oidc_issuer,
            oidc_client_id,
            oidc_scopes,
            delivery,
        } => {
            let mut config = Config::new(listen, db.url);
            config.demo = demo;
            config.delivery = delivery.config();
            if let (Some(issuer), Some(client_id)) = (oidc_issuer, oidc_client_id) {
                config.upstream = Some(helsebro::auth::upstream::UpstreamConfig {
                    issuer,
                    client_id,
                    // A secret is read from the environment only, never from the command
                    // line, where other users of the machine could see it.
                    client_secret: std::env::var("HELSEBRO_OIDC_CLIENT_SECRET").ok(),
                    scopes: oidc_scopes,
                });
            }
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(helsebro::tls::config(&cert, &key)?),
                _ => None,
            };
            config.base_url = match (base_url, &tls) {
                (Some(b), _) => b.trim_end_matches('/').to_string(),
                (None, Some(_)) => format!("https://{listen}/fhir"),
                (None, None) => config.base_url,
            };
            match tls {
                Some(tls) => {
                    let listener = std::net::TcpListener::bind(listen)?;
                    listener.set_nonblocking(true)?;
                    tracing::info!(address = %listener.local_addr()?, base = %config.base_url, "listening with TLS");
                    helsebro::app::serve_tls(listener, config, tls).await?;
                }
                None => {
                    let listener = tokio::net::TcpListener::bind(listen).await?;
                    tracing::info!(address = %listener.local_addr()?, base = %config.base_url, "listening");
                    helsebro::app::serve(listener, config).await?;
                }
            }
        }
        Command::Import { db, file } => import(&db.url, &file).await?,
        Command::Delivery { command } => cli_delivery::run(command).await?,
        Command::Conformance { command } => cli_conformance::run(command).await?,
        Command::Tenant { command } => cli_tenant::run(command).await?,
        Command::Validate { file, profile } => validate(&file, profile.as_deref())?,
        Command::Token {
            db,
            scope,
            patient,
            user,
            tenant,
            base,
            minutes,
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let token = helsebro::auth::tokens::operator_token(
                &state.store,
                &state.keys,
                base.base_url.trim_end_matches('/'),
                &helsebro::auth::tokens::OperatorRequest {
                    tenant: &tenant,
                    scope: &scope,
                    patient: patient.as_deref(),
                    user: user.as_deref(),
                    lifetime: std::time::Duration::from_secs(minutes * 60),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            // An operator token is a grant like any other: it goes into the access log.
            let scopes = helsebro::auth::scopes::Scopes::parse(&scope)?;
            helsebro::auth::grant_log::log_grant(
                &state,
                &tenant.id,
                helsebro::auth::tokens::OPERATOR_CLIENT,
                user.as_deref(),
                &scopes,
                patient.as_deref(),
            )
            .await
            .map_err(|e| e.description)?;
            println!("{token}");
        }
        Command::Client {
            command:
                ClientCommand::Add {
                    db,
                    name,
                    scope,
                    jwks,
                    jwks_url,
                    secret,
                    redirect_uris,
                    launch_uri,
                    tenant,
                },
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let jwks = match jwks {
                Some(path) => Some(std::fs::read_to_string(&path)?),
                None => None,
            };
            let registered = helsebro::auth::registration::register(
                &state.store,
                &helsebro::auth::registration::NewClient {
                    tenant: &tenant,
                    name: &name,
                    scope: &scope,
                    jwks,
                    jwks_uri: jwks_url,
                    with_secret: secret,
                    redirect_uris: &redirect_uris,
                    launch_uri: launch_uri.as_deref(),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("{}", registered.client_id);
            if let Some(secret) = registered.secret {
                println!("{secret}");
            }
        }
        Command::Launch {
            db,
            client,
            patient,
            tenant,
            base,
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let url = helsebro::auth::launch::launch(
                &state.store,
                &tenant,
                &client,
                &patient,
                base.base_url.trim_end_matches('/'),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("{url}");
        }
        Command::Erase {
            db,
            patient,
            tenant,
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let agent = helsebro::audit::Agent {
                tenant_id: tenant.id.clone(),
                client_id: Some(helsebro::auth::tokens::OPERATOR_CLIENT.into()),
                user: None,
                source: None,
                purpose: None,
            };
            let row = helsebro::audit::record(
                &agent,
                "rest",
                "operation",
                "0",
                None,
                Some(format!("Patient/{patient}/$erase")),
                Some(patient.clone()),
            );
            match state
                .store
                .erase_patient(&tenant.id, &patient, &row)
                .await?
            {
                Some(e) => println!(
                    "Patient/{patient} erased: {} resources and {} versions removed",
                    e.resources, e.versions
                ),
                None => {
                    return Err(
                        format!("no Patient/{patient} in tenant {}", tenant.org_number).into(),
                    )
                }
            }
        }
        Command::Retention {
            command:
                RetentionCommand::Set {
                    db,
                    tenant,
                    audit_days,
                    delivery_days,
                },
        } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, tenant).await?;
            let days = helsebro::store::retention::RetentionDays {
                audit: audit_days,
                delivery: delivery_days,
            };
            helsebro::retention::set(&state.store, &tenant.id, days).await?;
        }
        Command::Retention {
            command: RetentionCommand::Apply { db },
        } => {
            let state = open_state(db.url).await?;
            let removed =
                helsebro::retention::apply(&state.store, helsebro::store::now_micros()).await?;
            println!("{removed} access-log rows and delivery records past retention removed");
        }
        Command::Reindex { db } => {
            let state = open_state(db.url).await?;
            let done = helsebro::reindex::reindex(&state.store, |_| {}).await?;
            println!("{done} resources reindexed");
        }
        Command::Keys {
            command: KeysCommand::Rotate { db, tenant },
        } => {
            let state = open_state(db.url).await?;
            let tenants = match tenant {
                Some(org) => vec![tenant_named(&state, Some(org)).await?],
                None => {
                    let mut all = Vec::new();
                    for id in state.store.tenant_ids().await? {
                        all.extend(state.store.tenant(&id).await?);
                    }
                    all
                }
            };
            for t in tenants {
                let (version, resealed) = state.store.rotate_tenant_key(&t.id).await?;
                println!(
                    "{}: key version {version}, {resealed} values re-sealed",
                    t.org_number
                );
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { db, tenant },
        } => {
            let state = open_state(db.url).await?;
            let tenants = match tenant {
                Some(org) => vec![tenant_named(&state, Some(org)).await?.id],
                None => state.store.audit_tenants().await?,
            };
            let mut broken = 0;
            for tenant_id in tenants {
                let label = if tenant_id.is_empty() {
                    "(requests without a valid token)".to_string()
                } else {
                    tenant_id.clone()
                };
                match helsebro::audit::verify::verify_tenant(&state.store, &tenant_id).await? {
                    helsebro::audit::verify::ChainState::Intact { rows } => {
                        println!("{label}: intact, {rows} rows")
                    }
                    helsebro::audit::verify::ChainState::Broken { seq, id, why } => {
                        broken += 1;
                        println!("{label}: BROKEN at row {seq} {id}: {why}");
                    }
                }
            }
            if broken > 0 {
                return Err(format!("{broken} broken chain(s)").into());
            }
        }
        Command::Issuer {
            command:
                IssuerCommand::Add {
                    db,
                    issuer,
                    jwks_url,
                    audience,
                    tenant,
                },
        } => {
            let state = open_state(db.url).await?;
            let tenant_id = match tenant {
                Some(org) => Some(tenant_named(&state, Some(org)).await?.id),
                None => None,
            };
            state
                .store
                .add_trusted_issuer(&helsebro::store::issuers::TrustedIssuer {
                    issuer: issuer.clone(),
                    jwks_uri: jwks_url,
                    audience: audience.trim_end_matches('/').to_string(),
                    tenant_id,
                })
                .await?;
            println!("trusted {issuer}");
        }
        Command::Migrate { database } => {
            Store::connect(&database).await?.migrate().await?;
            println!("migrations applied");
        }
    }
    Ok(())
}

/// Storage, default tenant and keys, for commands that work on the database directly.
async fn open_state(
    database: impl Into<String>,
) -> Result<helsebro::fhir::AppState, Box<dyn std::error::Error>> {
    Ok(helsebro::app::state(Config::new("127.0.0.1:0".parse()?, database)).await?)
}

/// The tenant with organisation number `org`, or the default tenant.
async fn tenant_named(
    state: &helsebro::fhir::AppState,
    org: Option<String>,
) -> Result<helsebro::tenant::Tenant, Box<dyn std::error::Error>> {
    Ok(match org {
        Some(org) => state
            .store
            .tenant_by_org_number(&org)
            .await?
            .ok_or_else(|| format!("no tenant has organisation number {org}"))?,
        None => (*state.tenant).clone(),
    })
}

async fn import(database: &str, file: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::BufRead;
    let total = std::io::BufReader::new(std::fs::File::open(file)?)
        .lines()
        .count();
    let state = open_state(database).await?;
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} lines  {per_sec}  eta {eta}",
    )?);
    let started = std::time::Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let report = helsebro::import::import(&state.store, &state.tenant, reader, |n| {
        bar.set_position(n as u64)
    })
    .await?;
    bar.finish_and_clear();
    state.store.analyze().await?;
    for (line, reason) in &report.rejected {
        eprintln!("line {line}: {reason}");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} records, rejected {} lines, in {:.1} s ({:.0} records/s)",
        report.imported,
        report.rejected.len(),
        secs,
        report.imported as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// `helsebro validate`: the OperationOutcome on stdout; an error when the resource has
/// errors, or cannot be read.
fn validate(
    file: &std::path::Path,
    profile: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    use helsebro::fhir::format::{parse_resource, Format};
    use helsebro_profiles::validate::{validate, Severity};
    let bytes = std::fs::read(file)?;
    let format = if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        Format::Xml
    } else {
        Format::Json
    };
    let resource = parse_resource(&bytes, format).map_err(|e| e.outcome().to_string())?;
    let issues = validate(&resource, profile);
    let outcome = helsebro::fhir::interactions::validate::outcome(&issues);
    println!("{}", serde_json::to_string_pretty(&outcome)?);
    let errors = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    if errors > 0 {
        return Err(format!("{errors} error(s)").into());
    }
    Ok(())
}
