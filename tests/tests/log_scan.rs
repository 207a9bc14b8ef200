//! No personal data in logs: after a full test run (`.ci/run` runs this right after the
//! README's test command), the servers' logs of every black-box test are scanned for
//! national identity numbers (any 11 digits with valid check digits) and for the demo
//! patients' names. It is ignored in a plain `cargo test`, which it would race.

use helsebro_blackbox::log_dir;
use helsebro_profiles::identifiers::check_person_number;

#[test]
#[ignore = "scans the logs a full run wrote; run after it with --ignored"]
fn logs_of_a_full_run_hold_no_national_ids_or_names() {
    let files: Vec<_> = std::fs::read_dir(log_dir())
        .expect("a test run has written logs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert!(!files.is_empty(), "no logs in {}", log_dir().display());
    let names: Vec<String> = helsebro::demo::demo_identities()
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    let mut requests = 0;
    for file in &files {
        let raw = std::fs::read_to_string(file).unwrap();
        // Percent-decoded, so that an encoded URL cannot hide a name or number.
        let text: String = form_urlencoded::parse(raw.replace('&', "%26").as_bytes())
            .map(|(k, v)| {
                if v.is_empty() {
                    k.into_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join("");
        requests += text.matches("request{method=").count();
        for token in text.split(|c: char| !c.is_ascii_digit()) {
            if token.len() == 11 && check_person_number(token, true).is_ok() {
                let at = text.find(token).unwrap();
                let line = text[..at].lines().count();
                panic!(
                    "{}:{line}: a national identity number in the log",
                    file.display()
                );
            }
        }
        for name in &names {
            assert!(
                !text.contains(name.as_str()),
                "{}: the name {name} in the log",
                file.display()
            );
        }
    }
    // The scan means something only if the run was logged.
    assert!(requests > 1000, "only {requests} requests logged");
}
