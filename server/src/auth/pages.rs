//! The HTML of the sign-in, patient picker and consent pages: one layout, in Norwegian with
//! English alongside, and what each scope means in plain words.
//!
//! maud escapes every interpolated value, so names and scopes from the database cannot
//! inject markup.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::scopes::{ClinicalScope, Context, Permission};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}\
h1{font-size:1.6rem}fieldset{border:1px solid #767676;border-radius:4px;margin:1rem 0;\
padding:.5rem 1rem}legend{font-weight:600;padding:0 .25rem}label{display:block;\
padding:.35rem 0}.en{color:#4a4a4a}button{font-size:1rem;padding:.6rem 1.2rem;\
margin:.5rem .5rem .5rem 0;border-radius:4px;border:2px solid #00509e;cursor:pointer}\
button.primary{background:#00509e;color:#fff}button.secondary{background:#fff;color:#00509e}\
button:focus,input:focus{outline:3px solid #ffbf47;outline-offset:2px}\
.notice{border-left:4px solid #00509e;padding:.25rem .75rem;background:#f3f7fb}";

/// A full page: Norwegian first, the English text marked as such for screen readers.
pub fn page(title_nb: &str, title_en: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title_nb) " – Helsebro" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (title_nb) " " span.en lang="en" { "(" (title_en) ")" } }
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup.into_string())
}

/// An error shown to the user when the app cannot be told (unknown client or redirect URI).
pub fn error_page(status: StatusCode, nb: &str, en: &str) -> Response {
    let mut r = page(
        "Innloggingen kan ikke fortsette",
        "Sign-in cannot continue",
        html! {
            p role="alert" { (nb) }
            p.en lang="en" { (en) }
        },
    );
    *r.status_mut() = status;
    r
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The pages decide about access: never cached, never framed (clickjacking), no
    // scripts, and the request id in the URL is not passed on.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// A person's name from a Patient or Practitioner resource: the first name's text, or its
/// given and family parts.
pub fn person_name(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let name = &v["name"][0];
    if let Some(text) = name["text"].as_str() {
        return text.to_string();
    }
    let given = name["given"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let family = name["family"].as_str().unwrap_or_default();
    let full = format!("{given} {family}").trim().to_string();
    if full.is_empty() {
        "(uten navn)".into()
    } else {
        full
    }
}

/// What a scope lets the app do, in Norwegian and in English.
pub fn describe_scope(scope: &str) -> (String, String) {
    let fixed = |nb: &str, en: &str| (nb.to_string(), en.to_string());
    match scope {
        "openid" => fixed("Vite hvem du er", "Know who you are"),
        "fhirUser" => fixed(
            "Lese opplysningene om deg som bruker",
            "Read your own user record",
        ),
        "profile" => fixed("Se navnet ditt", "See your name"),
        "launch" => fixed(
            "Åpnes fra journalsystemet med pasienten som er valgt der",
            "Open from the EHR with the patient chosen there",
        ),
        "launch/patient" => fixed(
            "Vite hvilken pasient som er valgt",
            "Know which patient is chosen",
        ),
        "launch/encounter" => fixed(
            "Vite hvilken kontakt som er valgt",
            "Know which encounter is chosen",
        ),
        "offline_access" => fixed(
            "Beholde tilgangen også når du ikke er logget inn, til den trekkes tilbake",
            "Keep access when you are not signed in, until it is withdrawn",
        ),
        "online_access" => fixed(
            "Beholde tilgangen mens du er logget inn",
            "Keep access while you are signed in",
        ),
        other => match ClinicalScope::parse(other) {
            Ok(c) => describe_clinical(&c),
            Err(_) => fixed(other, other),
        },
    }
}

fn describe_clinical(c: &ClinicalScope) -> (String, String) {
    let (mut nb, mut en): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for p in &c.permissions {
        let (n, e) = match p {
            Permission::Create => ("opprette", "create"),
            Permission::Read => ("lese", "read"),
            Permission::Update => ("endre", "change"),
            Permission::Delete => ("slette", "delete"),
            Permission::Search => ("søke i", "search"),
        };
        nb.push(n);
        en.push(e);
    }
    let (what_nb, what_en) = match c.resource_type.as_deref() {
        None => ("alle opplysninger", "all records"),
        Some("Patient") => ("personopplysninger", "personal details"),
        Some("Observation") => (
            "målinger og skjemasvar",
            "measurements and questionnaire scores",
        ),
        Some("Communication") => ("meldinger", "messages"),
        Some("MedicationStatement") => ("legemiddelbruk", "medication use"),
        Some("Practitioner") => (
            "opplysninger om helsepersonell",
            "details of health personnel",
        ),
        Some("Organization") => ("opplysninger om virksomheter", "details of organisations"),
        Some(_) => ("opplysninger", "records"),
    };
    let type_name = c.resource_type.as_deref().unwrap_or("*");
    let (whose_nb, whose_en) = match c.context {
        Context::Patient => ("for pasienten", "of the patient"),
        Context::User => ("du har tilgang til", "you have access to"),
        Context::System => ("i hele virksomheten", "of the whole organisation"),
    };
    let only = if c.query.is_empty() {
        (String::new(), String::new())
    } else {
        let q = c
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        (format!(" (bare {q})"), format!(" (only {q})"))
    };
    let nb_text = format!(
        "{} {what_nb} {whose_nb} ({type_name}){}",
        capitalised(&join(&nb, "og")),
        only.0
    );
    let en_text = format!(
        "{} {what_en} {whose_en} ({type_name}){}",
        capitalised(&join(&en, "and")),
        only.1
    );
    (nb_text, en_text)
}

fn join(words: &[&str], and: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinical_scopes_read_as_sentences_in_both_languages() {
        let (nb, en) = describe_scope("patient/Observation.rs?category=vital-signs");
        assert_eq!(
            nb,
            "Lese og søke i målinger og skjemasvar for pasienten (Observation) (bare category=vital-signs)"
        );
        assert_eq!(
            en,
            "Read and search measurements and questionnaire scores of the patient (Observation) (only category=vital-signs)"
        );
        let (nb, _) = describe_scope("user/*.cruds");
        assert_eq!(
            nb,
            "Opprette, lese, endre, slette og søke i alle opplysninger du har tilgang til (*)"
        );
        assert_eq!(
            describe_scope("offline_access").1,
            "Keep access when you are not signed in, until it is withdrawn"
        );
    }

    #[test]
    fn names_come_from_text_or_parts() {
        assert_eq!(
            person_name(r#"{"name":[{"given":["Kari","Anne"],"family":"Hansen"}]}"#),
            "Kari Anne Hansen"
        );
        assert_eq!(person_name(r#"{"name":[{"text":"Ola N."}]}"#), "Ola N.");
        assert_eq!(person_name("{}"), "(uten navn)");
    }
}
