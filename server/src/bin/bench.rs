//! `helsebro-bench`: loads synthetic patients into a fresh database through the HTTP API and
//! reports throughput and latency percentiles for create, read and search, on SQLite and
//! PostgreSQL. The server runs in-process on an ephemeral port; client and server share the
//! machine, so compare figures as ratios between backends and runs, not as absolutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

#[path = "bench/delivery.rs"]
mod delivery;
#[path = "bench/floor.rs"]
mod floor;
#[path = "bench/process.rs"]
mod process;
#[path = "bench/transaction.rs"]
mod transaction;

type BoxError = Box<dyn std::error::Error>;
use hdrhistogram::Histogram;
use helsebro::config::Config;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Benchmark Helsebro's Patient API on SQLite and PostgreSQL")]
struct Args {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Patients to load before measuring reads and searches.
    #[arg(long, default_value_t = 5000)]
    patients: usize,
    /// Requests per measured phase (read, search).
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Observations to load (as transaction Bundles of the records `helsebro import` would
    /// make) before measuring the Observation search by patient + code + date range; 0
    /// skips that part.
    #[arg(long, default_value_t = 10000)]
    observations: usize,
    /// Journal notes to write and deliver (JFT with DPoP, to a receiver in this process);
    /// 0 skips that part.
    #[arg(long, default_value_t = 0)]
    deliveries: usize,
    /// Also start the `helsebro` binary on the filled database: start-to-ready time and
    /// resident memory under 64 clients.
    #[arg(long)]
    process: bool,
    /// Transaction Bundles of 100 Observations to POST (after the patients are loaded);
    /// 0 skips that part.
    #[arg(long, default_value_t = 0)]
    transactions: usize,
    /// Admin URL of the PostgreSQL server (a database is created and dropped).
    #[arg(
        long,
        env = "HELSEBRO_TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

use helsebro::demo::FAMILY as FAMILIES;
const ID_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.2.9999";

fn patient(i: usize) -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": ID_SYSTEM, "value": format!("bench-{i}")}],
        "name": [{"use": "official", "family": FAMILIES[i % FAMILIES.len()], "given": [format!("Given{i}")]}],
        "gender": if i.is_multiple_of(2) { "female" } else { "male" },
        "birthDate": format!("19{:02}-{:02}-{:02}", 30 + i % 60, 1 + i % 12, 1 + i % 28),
        "telecom": [{"system": "phone", "value": format!("+47 4{:07}", i)}],
        "address": [{"use": "home", "line": [format!("Benkveien {i}")], "postalCode": format!("{:04}", i % 9999), "city": "Bergen"}],
        "active": true
    })
}

struct Phase {
    name: &'static str,
    count: usize,
    elapsed: Duration,
    latencies: Histogram<u64>,
    errors: usize,
}

impl Phase {
    fn print(&self, backend: &str) {
        let ms = |q: f64| self.latencies.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{backend:<9} {:<18} {:>7} req {:>9.0} req/s  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            self.name,
            self.count,
            self.count as f64 / self.elapsed.as_secs_f64(),
            ms(0.50),
            ms(0.95),
            ms(0.99),
            self.errors
        );
    }
}

/// An HTTP client that sends an operator token for `base` with `scope` on every request.
async fn authorized_client(
    state: &helsebro::fhir::AppState,
    base: &str,
    scope: &str,
    connections: usize,
) -> Result<reqwest::Client, BoxError> {
    let token = helsebro::auth::tokens::operator_token(
        &state.store,
        &state.keys,
        base,
        &helsebro::auth::tokens::OperatorRequest {
            tenant: &state.tenant,
            scope,
            patient: None,
            user: None,
            lifetime: Duration::from_secs(24 * 3600),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .default_headers(headers)
        .build()?)
}

/// Runs `n` requests over `concurrency` workers; `make(i)` builds request `i`.
async fn run_phase<F>(name: &'static str, n: usize, concurrency: usize, make: F) -> Phase
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let make = make.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                match make(i).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                hist.record(t.elapsed().as_micros() as u64).ok();
            }
            (hist, errors)
        }));
    }
    let mut latencies = Histogram::<u64>::new(3).expect("histogram");
    let mut errors = 0;
    for w in workers {
        let (h, e) = w.await.expect("worker");
        latencies.add(h).expect("same bounds");
        errors += e;
    }
    Phase {
        name,
        count: n,
        elapsed: start.elapsed(),
        latencies,
        errors,
    }
}

async fn bench_backend(
    label: &str,
    database_url: String,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let database_url_for_analyze = database_url.clone();
    let config = Config::new(addr, database_url);
    let state = helsebro::app::state(config).await?;
    let state_for_import = state.clone();
    tokio::spawn(helsebro::app::serve_router(
        listener,
        helsebro::app::router(state),
    ));
    let base = format!("http://{addr}/fhir");
    let client =
        authorized_client(&state_for_import, &base, "system/*.cruds", args.concurrency).await?;

    let (c, b) = (client.clone(), base.clone());
    let create = run_phase("create", args.patients, args.concurrency, move |i| {
        c.post(format!("{b}/Patient"))
            .header("Content-Type", "application/fhir+json")
            .header("Prefer", "return=minimal")
            .body(patient(i).to_string())
    })
    .await;
    create.print(label);
    // What autovacuum does shortly after a bulk load in production.
    helsebro::store::Store::connect(&database_url_for_analyze)
        .await?
        .analyze()
        .await?;

    // Collect the ids through paging, as a client would.
    let mut ids = Vec::with_capacity(args.patients);
    let mut url = Some(format!("{base}/Patient?_count=1000&_elements=id"));
    while let Some(u) = url {
        let page: serde_json::Value = client.get(&u).send().await?.json().await?;
        for e in page["entry"].as_array().into_iter().flatten() {
            ids.push(e["resource"]["id"].as_str().unwrap_or_default().to_string());
        }
        url = page["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str().map(str::to_string));
    }
    let ids = Arc::new(ids);
    if args.transactions > 0 {
        transaction::run(
            label,
            &client,
            &base,
            ids.clone(),
            args.transactions,
            args.concurrency,
        )
        .await;
    }

    let (c, b, i2) = (client.clone(), base.clone(), ids.clone());
    let read = run_phase("read", args.requests, args.concurrency, move |i| {
        c.get(format!("{b}/Patient/{}", i2[(i * 7919) % i2.len()]))
    })
    .await;
    read.print(label);
    let floor_base = floor::start(&database_url_for_analyze, args.concurrency as u32).await?;
    let (c, b, i2, t) = (
        reqwest::Client::new(),
        floor_base,
        ids.clone(),
        state_for_import.tenant.id.clone(),
    );
    let floor = run_phase("read floor", args.requests, args.concurrency, move |i| {
        c.get(format!("{b}/{t}/{}", i2[(i * 7919) % i2.len()]))
    })
    .await;
    floor.print(label);
    println!(
        "{label:<9} read / floor        p50 {:.2}x, throughput {:.2}x",
        read.latencies.value_at_quantile(0.5) as f64
            / floor.latencies.value_at_quantile(0.5).max(1) as f64,
        floor.elapsed.as_secs_f64() / read.elapsed.as_secs_f64()
    );

    let (c, b, n) = (client.clone(), base.clone(), args.patients);
    run_phase(
        "search identifier",
        args.requests,
        args.concurrency,
        move |i| {
            c.post(format!("{b}/Patient/_search"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("identifier={ID_SYSTEM}|bench-{}", (i * 7919) % n))
        },
    )
    .await
    .print(label);

    let (c, b) = (client.clone(), base.clone());
    run_phase(
        "search family+gen",
        args.requests,
        args.concurrency,
        move |i| {
            c.get(format!(
                "{b}/Patient?family={}&gender=female&_count=10&_total=none",
                FAMILIES[i % FAMILIES.len()]
            ))
        },
    )
    .await
    .print(label);

    if args.observations > 0 {
        bench_observations(label, &state_for_import, &client, &base, args).await?;
    }

    if args.process {
        let url = database_url_for_analyze.clone();
        process::run(label, &url, &state_for_import, ids.clone(), args.requests).await?;
    }

    let (c, b) = (client.clone(), base.clone());
    run_phase(
        "search birthdate",
        args.requests,
        args.concurrency,
        move |i| {
            c.get(format!(
                "{b}/Patient?birthdate=ge19{:02}-01-01&birthdate=lt19{:02}-01-01&_count=10",
                30 + i % 50,
                31 + i % 50
            ))
        },
    )
    .await
    .print(label);
    Ok(())
}

/// Observations per patient: four kinds, about 3.4 a day each for a year, a remote-care
/// patient's series. The number of patients grows with `--observations` (200 at a
/// million), so a search returns the same page at every size and only the database grows.
const OBS_PER_PATIENT: usize = 5000;

fn obs_patients(total: usize) -> usize {
    (total / OBS_PER_PATIENT).max(1)
}
const OBS_KINDS: &[(&str, &str)] = &[
    ("heart_rate", "8867-4"),
    ("oxygen_saturation", "59408-5"),
    ("body_weight", "29463-7"),
    ("respiratory_rate", "9279-1"),
];

/// One platform export line per observation: patients × kinds × points in time, the
/// points spread evenly over 2025 so that every 14-day search window holds some.
fn observation_line(i: usize, total: usize) -> String {
    let patients = obs_patients(total);
    let patient = i % patients;
    let (kind, _) = OBS_KINDS[(i / patients) % OBS_KINDS.len()];
    let step = i / (patients * OBS_KINDS.len());
    let steps = total.div_ceil(patients * OBS_KINDS.len()).max(1);
    let minute_of_year = step * (365 * 24 * 60) / steps;
    let t = time::Date::from_ordinal_date(2025, (minute_of_year / (24 * 60) + 1) as u16)
        .expect("day of year");
    let (hour, minute) = (minute_of_year / 60 % 24, minute_of_year % 60);
    format!(
        r#"{{"type":"measurement","id":"o{i}","patient":"obs-p{patient}","kind":"{kind}","value":{},"time":"{t}T{hour:02}:{minute:02}:00Z","source":"device"}}"#,
        50 + i % 40
    )
}

/// Observations per transaction Bundle while loading the Observation series.
const LOAD_PER_BUNDLE: usize = 500;
/// Clients loading the series: loading is not what is measured, so it does not wait for
/// a single-client search phase's `--concurrency 1`.
const LOAD_CLIENTS: usize = 4;

/// Transaction Bundle `n` of the series: the FHIR Observations that `helsebro import` would
/// make of lines `n * LOAD_PER_BUNDLE ..`, each POSTed under a `urn:uuid:` fullUrl.
fn observation_bundle(n: usize, total: usize, tenant: &helsebro::tenant::Tenant) -> String {
    let entries: Vec<serde_json::Value> = (n * LOAD_PER_BUNDLE
        ..((n + 1) * LOAD_PER_BUNDLE).min(total))
        .map(|i| {
            let line: helsebro::import::ImportLine =
                serde_json::from_str(&observation_line(i, total)).expect("bench line");
            let mut resource = line.into_resource(None, tenant).expect("bench measurement");
            if let Some(o) = resource.as_object_mut() {
                o.remove("id");
            }
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                "resource": resource,
                "request": {"method": "POST", "url": "Observation"}
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string()
}

/// Loads the patients through `helsebro import`, then the Observations as concurrent
/// transaction Bundles (the fastest ingest path, and the one a million needs), then
/// measures the search by patient + code + date range.
async fn bench_observations(
    label: &str,
    state: &helsebro::fhir::AppState,
    client: &reqwest::Client,
    base: &str,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut export = String::new();
    for p in 0..obs_patients(args.observations) {
        export.push_str(&format!(
            r#"{{"type":"patient","id":"obs-p{p}","family_name":"Obs{p}"}}"#
        ));
        export.push('\n');
    }
    let report =
        helsebro::import::import(&state.store, &state.tenant, export.as_bytes(), |_| {}).await?;
    if !report.rejected.is_empty() {
        return Err(format!("observation patients rejected: {:?}", report.rejected).into());
    }
    let total = args.observations;
    let (c, b, tenant) = (
        client.clone(),
        base.to_string(),
        Arc::new(state.tenant.clone()),
    );
    let load = run_phase(
        "obs load x500",
        total.div_ceil(LOAD_PER_BUNDLE),
        LOAD_CLIENTS,
        move |n| {
            c.post(&b)
                .header("Content-Type", "application/fhir+json")
                .header("Prefer", "return=minimal")
                .body(observation_bundle(n, total, &tenant))
        },
    )
    .await;
    if load.errors > 0 {
        return Err(format!("{} observation Bundles failed", load.errors).into());
    }
    println!(
        "{label:<9} obs load           {total:>7} Observations in {:.1} s: {:.0} resources/s",
        load.elapsed.as_secs_f64(),
        total as f64 / load.elapsed.as_secs_f64()
    );
    // After a bulk load autovacuum soon vacuums the tables (their insert threshold): a
    // search phase racing it measures the vacuum. Vacuum now, as production soon would.
    if state.store.backend() == helsebro::store::Backend::Postgres {
        sqlx::raw_sql("VACUUM (ANALYZE)")
            .execute(state.store.pool())
            .await?;
    }
    state.store.analyze().await?;
    let (c, b) = (client.clone(), base.to_string());
    run_phase("obs patient+code+date", args.requests, args.concurrency, move |i| {
        let (_, code) = OBS_KINDS[i % OBS_KINDS.len()];
        let day = 1 + (i * 37) % 300;
        let from = time::Date::from_ordinal_date(2025, day as u16).expect("day");
        let to = time::Date::from_ordinal_date(2025, day as u16 + 14).expect("day");
        c.get(format!(
            "{b}/Observation?patient=obs-p{}&code=http://loinc.org|{code}&date=ge{from}&date=lt{to}&_count=20",
            (i * 7919) % obs_patients(total)
        ))
    })
    .await
    .print(label);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    println!(
        "helsebro-bench: {} patients, {} requests per phase, {} concurrent clients, {} cores",
        args.patients,
        args.requests,
        args.concurrency,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if matches!(args.backend.as_str(), "sqlite" | "both") {
        let dir =
            std::env::temp_dir().join(format!("helsebro-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        let mut result = bench_backend("sqlite", url, &args).await;
        if result.is_ok() && args.deliveries > 0 {
            let url = format!("sqlite://{}", dir.join("sender.db").display());
            result = delivery::run("sqlite", url, args.deliveries).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        result?;
    }
    if matches!(args.backend.as_str(), "postgres" | "both") {
        use sqlx::Connection;
        let name = format!("hbbench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&args.postgres_url).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        let (prefix, _) = args
            .postgres_url
            .rsplit_once('/')
            .ok_or("bad postgres URL")?;
        let mut result = bench_backend("postgres", format!("{prefix}/{name}"), &args).await;
        if result.is_ok() && args.deliveries > 0 {
            let url = format!("{prefix}/{name}");
            result = delivery::run("postgres", url, args.deliveries).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
        result?;
    }
    Ok(())
}
