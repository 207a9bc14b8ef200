//! The real `helsebro` binary on the database the bench just filled: the time from start
//! to ready (`/healthz` answers), and its resident memory while 64 clients read and search.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::BoxError;

pub const CLIENTS: usize = 64;

pub async fn run(
    label: &str,
    database_url: &str,
    state: &helsebro::fhir::AppState,
    ids: Arc<Vec<String>>,
    requests: usize,
) -> Result<(), BoxError> {
    let exe = std::env::current_exe()?.with_file_name("helsebro");
    if !exe.exists() {
        println!(
            "{label:<9} process            skipped: build the helsebro binary beside the bench"
        );
        return Ok(());
    }
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let base = format!("http://{addr}/fhir");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&exe)
        .args(["serve", "--no-delivery-worker", "--database", database_url])
        .args(["--listen", &addr.to_string(), "--base-url", &base])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the server exited at once")?;
    let probe = reqwest::Client::new();
    loop {
        let up = probe.get(format!("http://{addr}/healthz")).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the server did not become ready in 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    println!(
        "{label:<9} start to ready      {:>7.0} ms (existing database, {} patients)",
        started.elapsed().as_secs_f64() * 1000.0,
        ids.len()
    );

    let client = super::authorized_client(state, &base, "system/*.rs", CLIENTS).await?;

    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = resident_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let idle_kb = resident_kb(pid).unwrap_or(0);
    let (c, b) = (client.clone(), base.clone());
    let phase = super::run_phase("64 clients mixed", requests, CLIENTS, move |i| {
        let id = &ids[(i * 7919) % ids.len()];
        match i % 3 {
            0 => c.get(format!("{b}/Patient/{id}")),
            1 => c.get(format!(
                "{b}/Patient?_id={id}&_revinclude=Observation:patient"
            )),
            _ => c.get(format!(
                "{b}/Patient?family={}&_count=20&_sort=-birthdate",
                super::FAMILIES[i % super::FAMILIES.len()]
            )),
        }
    })
    .await;
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    phase.print(label);
    println!(
        "{label:<9} resident memory     idle {:.1} MB, peak {:.1} MB under {CLIENTS} clients (VmRSS sampled every 10 ms)",
        idle_kb as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    child.kill().await?;
    Ok(())
}

/// `VmRSS` of `pid` in kB, from `/proc`.
fn resident_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
