//! Search for Patient: every supported parameter, modifier and prefix, `GET` and
//! `POST _search`, the searchset Bundle (total, self and next links, stable paging) and the
//! result parameters `_count`, `_summary` and `_elements`.
//!
//! Each test makes a cohort of patients sharing an identifier system of its own and scopes
//! every search to that system, so the expected ids are exact sets even on a shared server.

use std::collections::BTreeSet;

use helsebro_blackbox::reqwest::{Method, RequestBuilder};
use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

// --- helpers ---------------------------------------------------------------------------

type Ids = BTreeSet<String>;

/// The ids of `members`, for comparing with a search result.
fn ids(members: &[&String]) -> Ids {
    members.iter().map(|id| id.to_string()).collect()
}

/// The resource ids in a Bundle's entries, in order.
fn entry_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    e["resource"]["id"]
                        .as_str()
                        .unwrap_or_else(|| panic!("entry without a resource id: {e}"))
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"].as_array()?.iter().find_map(|l| {
        (l["relation"] == relation).then(|| l["url"].as_str().expect("link url").to_string())
    })
}

fn total(bundle: &Value) -> i64 {
    bundle["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("searchset without a total: {bundle}"))
}

/// Asserts a 200 searchset Bundle and returns it.
async fn searchset(req: RequestBuilder) -> Value {
    let bundle = json_with_status(req.send().await.expect("request"), 200).await;
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    assert_eq!(bundle["type"], "searchset", "{bundle}");
    bundle
}

/// A Patient with one official name.
fn named(family: &str, given: &[&str]) -> Value {
    let mut name = json!({"use": "official", "family": family});
    if !given.is_empty() {
        name["given"] = json!(given);
    }
    json!({"resourceType": "Patient", "name": [name]})
}

/// A Patient with only `key` set to `value`.
fn having(key: &str, value: Value) -> Value {
    let mut p = json!({"resourceType": "Patient"});
    p[key] = value;
    p
}

/// Patients of one test, all carrying an identifier in a system no other test uses.
struct Cohort {
    s: TestServer,
    system: String,
}

impl Cohort {
    fn new(s: TestServer) -> Self {
        Cohort {
            s,
            system: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        }
    }

    /// `identifier=<system>|`, the clause that keeps a search inside the cohort.
    fn scope(&self) -> (&'static str, String) {
        ("identifier", format!("{}|", self.system))
    }

    /// Creates `patient` in the cohort and returns its id.
    async fn add(&self, label: &str, mut patient: Value) -> String {
        let mine = json!({"system": self.system, "value": label});
        match patient["identifier"].as_array_mut() {
            Some(list) => list.push(mine),
            None => patient["identifier"] = json!([mine]),
        }
        let created = self.s.create(&patient).await;
        created["id"].as_str().expect("created id").to_string()
    }

    fn scoped(&self, params: &[(&str, &str)]) -> Vec<(String, String)> {
        let (k, v) = self.scope();
        params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([(k.to_string(), v)])
            .collect()
    }

    /// `GET Patient?…` within the cohort.
    async fn get(&self, params: &[(&str, &str)]) -> Value {
        searchset(
            self.s
                .request(Method::GET, "Patient")
                .query(&self.scoped(params)),
        )
        .await
    }

    /// `POST Patient/_search` with the parameters as a form body, within the cohort.
    async fn post(&self, params: &[(&str, &str)]) -> Value {
        searchset(
            self.s
                .request(Method::POST, "Patient/_search")
                .form(&self.scoped(params)),
        )
        .await
    }

    /// The ids `GET Patient?…` finds within the cohort (all on one page).
    async fn find(&self, params: &[(&str, &str)]) -> Ids {
        let bundle = self.get(params).await;
        assert!(link(&bundle, "next").is_none(), "expected one page");
        let found: Ids = entry_ids(&bundle).into_iter().collect();
        assert_eq!(total(&bundle), found.len() as i64, "total: {bundle}");
        found
    }

    /// Asserts that searching with `params` finds exactly `expected`.
    async fn expect(&self, params: &[(&str, &str)], expected: &[&String]) {
        assert_eq!(self.find(params).await, ids(expected), "search {params:?}");
    }

    /// Asserts that a search is refused with 400 and an OperationOutcome.
    async fn rejected(&self, params: &[(&str, &str)], headers: &[(&str, &str)]) {
        let mut req = self
            .s
            .request(Method::GET, "Patient")
            .query(&self.scoped(params));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let outcome = json_with_status(req.send().await.expect("request"), 400).await;
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    }

    /// Follows `next` links from `first` to the end and returns every entry id in order.
    async fn all_pages(&self, first: Value, between_pages: impl AsyncFnOnce()) -> Vec<String> {
        let mut seen = entry_ids(&first);
        let mut next = link(&first, "next");
        between_pages().await;
        let mut pages = 1;
        while let Some(url) = next {
            pages += 1;
            assert!(pages < 50, "paging does not end");
            let page = searchset(self.s.request(Method::GET, &url)).await;
            seen.extend(entry_ids(&page));
            next = link(&page, "next");
        }
        seen
    }
}

// --- _id and identifier ----------------------------------------------------------------

async fn id_finds_the_named_patients(s: TestServer) {
    let c = Cohort::new(s);
    let a = c.add("a", named("Idsen", &["A"])).await;
    let b = c.add("b", named("Idsen", &["B"])).await;
    let _other = c.add("c", named("Idsen", &["C"])).await;
    c.expect(&[("_id", &a)], &[&a]).await;
    c.expect(&[("_id", &format!("{a},{b}"))], &[&a, &b]).await;
    c.expect(&[("_id", "no-such-id")], &[]).await;
}

const SYSTEM_A: &str = "http://example.org/mrn-a";
const SYSTEM_B: &str = "http://example.org/mrn-b";

struct IdentifierCohort {
    c: Cohort,
    in_a: String,
    other_in_a: String,
    in_b: String,
    without_system: String,
}

/// The same value `123` in system A, in system B and without a system, plus `456` in A.
async fn identifier_cohort(s: TestServer) -> IdentifierCohort {
    let c = Cohort::new(s);
    let with_identifier = |system: Option<&str>, value: &str| {
        let mut identifier = json!({"value": value});
        if let Some(system) = system {
            identifier["system"] = json!(system);
        }
        having("identifier", json!([identifier]))
    };
    IdentifierCohort {
        in_a: c.add("p1", with_identifier(Some(SYSTEM_A), "123")).await,
        other_in_a: c.add("p2", with_identifier(Some(SYSTEM_A), "456")).await,
        in_b: c.add("p3", with_identifier(Some(SYSTEM_B), "123")).await,
        without_system: c.add("p4", with_identifier(None, "123")).await,
        c,
    }
}

async fn identifier_system_and_value(s: TestServer) {
    let t = identifier_cohort(s).await;
    let q = format!("{SYSTEM_A}|123");
    t.c.expect(&[("identifier", &q)], &[&t.in_a]).await;
}

async fn identifier_bar_value_needs_no_system(s: TestServer) {
    let t = identifier_cohort(s).await;
    t.c.expect(&[("identifier", "|123")], &[&t.without_system])
        .await;
}

async fn identifier_value_alone_matches_any_system(s: TestServer) {
    let t = identifier_cohort(s).await;
    t.c.expect(
        &[("identifier", "123")],
        &[&t.in_a, &t.in_b, &t.without_system],
    )
    .await;
}

async fn identifier_system_alone_matches_any_value(s: TestServer) {
    let t = identifier_cohort(s).await;
    let q = format!("{SYSTEM_A}|");
    t.c.expect(&[("identifier", &q)], &[&t.in_a, &t.other_in_a])
        .await;
}

// --- names -----------------------------------------------------------------------------

struct NameCohort {
    c: Cohort,
    hansen: String,
    hansen_berg: String,
    lowercase_hansen: String,
    johansen: String,
    aas: String,
    smith: String,
}

async fn name_cohort(s: TestServer) -> NameCohort {
    let c = Cohort::new(s);
    let smith = json!({
        "resourceType": "Patient",
        "name": [{"prefix": ["Dr."], "family": "Smith", "given": ["Peter"]}]
    });
    NameCohort {
        hansen: c.add("hansen", named("Hansen", &["Kari"])).await,
        hansen_berg: c.add("hansen-berg", named("Hansen-Berg", &["Per"])).await,
        lowercase_hansen: c.add("lowercase", named("hansen", &["Ola"])).await,
        johansen: c.add("johansen", named("Johansen", &["Kari"])).await,
        aas: c.add("aas", named("Ås", &["Øyvind"])).await,
        smith: c.add("smith", smith).await,
        c,
    }
}

async fn family_is_a_case_insensitive_prefix_match(s: TestServer) {
    let t = name_cohort(s).await;
    let hansens = [&t.hansen, &t.hansen_berg, &t.lowercase_hansen];
    t.c.expect(&[("family", "hans")], &hansens).await;
    t.c.expect(&[("family", "HANSEN")], &hansens).await;
}

async fn given_is_a_prefix_match(s: TestServer) {
    let t = name_cohort(s).await;
    t.c.expect(&[("given", "kar")], &[&t.hansen, &t.johansen])
        .await;
    t.c.expect(&[("given", "Hansen")], &[]).await;
}

async fn name_is_case_and_accent_insensitive(s: TestServer) {
    let t = name_cohort(s).await;
    t.c.expect(
        &[("name", "hans")],
        &[&t.hansen, &t.hansen_berg, &t.lowercase_hansen],
    )
    .await;
    t.c.expect(&[("name", "ÅS")], &[&t.aas]).await;
    t.c.expect(&[("name", "as")], &[&t.aas]).await;
}

async fn name_covers_family_given_and_prefix(s: TestServer) {
    let t = name_cohort(s).await;
    for part in ["smi", "pete", "dr."] {
        t.c.expect(&[("name", part)], &[&t.smith]).await;
    }
}

async fn name_exact_matches_the_whole_value_with_case(s: TestServer) {
    let t = name_cohort(s).await;
    t.c.expect(&[("name:exact", "Hansen")], &[&t.hansen]).await;
    t.c.expect(&[("family:exact", "hansen")], &[&t.lowercase_hansen])
        .await;
    t.c.expect(&[("name:exact", "Hans")], &[]).await;
}

async fn name_contains_matches_inside(s: TestServer) {
    let t = name_cohort(s).await;
    let all_ansen = [&t.hansen, &t.hansen_berg, &t.lowercase_hansen, &t.johansen];
    t.c.expect(&[("name:contains", "ansen")], &all_ansen).await;
    t.c.expect(&[("family:contains", "SEN")], &all_ansen).await;
}

async fn comma_separated_values_are_alternatives(s: TestServer) {
    let t = name_cohort(s).await;
    t.c.expect(&[("family", "johansen,ås")], &[&t.johansen, &t.aas])
        .await;
}

async fn repeated_parameters_must_all_match(s: TestServer) {
    let t = name_cohort(s).await;
    t.c.expect(&[("given", "kari"), ("family", "hansen")], &[&t.hansen])
        .await;
    t.c.expect(
        &[("family", "hansen"), ("family", "hansen-b")],
        &[&t.hansen_berg],
    )
    .await;
}

async fn family_matches_any_of_the_names(s: TestServer) {
    let c = Cohort::new(s);
    let married = json!({
        "resourceType": "Patient",
        "name": [
            {"use": "official", "family": "Gift", "given": ["Guri"]},
            {"use": "maiden", "family": "Ugift", "given": ["Guri"]}
        ]
    });
    let id = c.add("married", married).await;
    c.expect(&[("family", "ugift")], &[&id]).await;
    c.expect(&[("name", "ugift")], &[&id]).await;
}

async fn updated_patients_are_found_by_their_new_values_only(s: TestServer) {
    let c = Cohort::new(s);
    let id = c.add("renamed", named("Førnavn", &[])).await;
    let path = format!("Patient/{id}");
    let mut current = json_with_status(c.s.get(&path).await, 200).await;
    current["name"][0]["family"] = json!("Ettersen");
    json_with_status(c.s.put_json(&path, &current).await, 200).await;
    c.expect(&[("family", "ettersen")], &[&id]).await;
    c.expect(&[("family", "førnavn")], &[]).await;
}

async fn deleted_patients_are_not_found(s: TestServer) {
    let c = Cohort::new(s);
    let kept = c.add("kept", named("Sletten", &[])).await;
    let gone = c.add("gone", named("Sletten", &[])).await;
    let r = c.s.delete(&format!("Patient/{gone}")).await;
    assert!(r.status().is_success(), "delete: {}", r.status());
    c.expect(&[("family", "sletten")], &[&kept]).await;
    c.expect(&[("_id", &gone)], &[]).await;
}

// --- birthdate -------------------------------------------------------------------------

struct BirthCohort {
    c: Cohort,
    /// 1974-12-25
    christmas: String,
    /// 1974-12-24
    christmas_eve: String,
    /// 1975-01-01
    new_year: String,
    /// 1973-06-15
    summer_73: String,
    /// 1950-03-01
    spring_50: String,
    /// no birthDate
    unknown: String,
}

async fn birth_cohort(s: TestServer) -> BirthCohort {
    let c = Cohort::new(s);
    let born = |date: &str| having("birthDate", json!(date));
    BirthCohort {
        christmas: c.add("christmas", born("1974-12-25")).await,
        christmas_eve: c.add("christmas-eve", born("1974-12-24")).await,
        new_year: c.add("new-year", born("1975-01-01")).await,
        summer_73: c.add("summer-73", born("1973-06-15")).await,
        spring_50: c.add("spring-50", born("1950-03-01")).await,
        unknown: c.add("unknown", named("Udatert", &[])).await,
        c,
    }
}

impl BirthCohort {
    async fn expect(&self, value: &str, expected: &[&String]) {
        self.c.expect(&[("birthdate", value)], expected).await;
    }
}

async fn birthdate_eq_at_year_month_and_day_precision(s: TestServer) {
    let t = birth_cohort(s).await;
    let december_74 = [&t.christmas, &t.christmas_eve];
    t.expect("1974", &december_74).await;
    t.expect("eq1974", &december_74).await;
    t.expect("1974-12", &december_74).await;
    t.expect("1975-01", &[&t.new_year]).await;
    t.expect("1974-12-25", &[&t.christmas]).await;
    t.expect("eq1974-12-25", &[&t.christmas]).await;
}

async fn birthdate_ne_never_matches_a_missing_date(s: TestServer) {
    let t = birth_cohort(s).await;
    t.expect(
        "ne1974-12-25",
        &[&t.christmas_eve, &t.new_year, &t.summer_73, &t.spring_50],
    )
    .await;
    t.expect("ne1974", &[&t.new_year, &t.summer_73, &t.spring_50])
        .await;
}

async fn birthdate_gt_and_lt(s: TestServer) {
    let t = birth_cohort(s).await;
    t.expect("gt1974-12-24", &[&t.christmas, &t.new_year]).await;
    t.expect("gt1974-11", &[&t.christmas, &t.christmas_eve, &t.new_year])
        .await;
    t.expect("gt1974", &[&t.new_year]).await;
    t.expect(
        "lt1974-12-25",
        &[&t.christmas_eve, &t.summer_73, &t.spring_50],
    )
    .await;
    t.expect(
        "lt1975-01",
        &[&t.christmas, &t.christmas_eve, &t.summer_73, &t.spring_50],
    )
    .await;
    t.expect("lt1974", &[&t.summer_73, &t.spring_50]).await;
}

async fn birthdate_ge_and_le(s: TestServer) {
    let t = birth_cohort(s).await;
    t.expect("ge1974-12-25", &[&t.christmas, &t.new_year]).await;
    t.expect("ge1974", &[&t.christmas, &t.christmas_eve, &t.new_year])
        .await;
    t.expect(
        "le1974-12-24",
        &[&t.christmas_eve, &t.summer_73, &t.spring_50],
    )
    .await;
    t.expect(
        "le1974",
        &[&t.christmas, &t.christmas_eve, &t.summer_73, &t.spring_50],
    )
    .await;
}

async fn birthdate_sa_and_eb(s: TestServer) {
    let t = birth_cohort(s).await;
    t.expect("sa1974", &[&t.new_year]).await;
    t.expect("sa1974-12-24", &[&t.christmas, &t.new_year]).await;
    t.expect("eb1974", &[&t.summer_73, &t.spring_50]).await;
    t.expect(
        "eb1974-12-25",
        &[&t.christmas_eve, &t.summer_73, &t.spring_50],
    )
    .await;
}

async fn birthdate_ap_is_near_but_not_far(s: TestServer) {
    let t = birth_cohort(s).await;
    t.expect(
        "ap1974-12-25",
        &[&t.christmas, &t.christmas_eve, &t.new_year, &t.summer_73],
    )
    .await;
}

async fn birthdate_alternatives_and_ranges(s: TestServer) {
    let t = birth_cohort(s).await;
    t.expect("1973,1975", &[&t.summer_73, &t.new_year]).await;
    t.c.expect(
        &[("birthdate", "ge1974"), ("birthdate", "lt1975")],
        &[&t.christmas, &t.christmas_eve],
    )
    .await;
}

async fn missing_modifier_finds_absent_and_present(s: TestServer) {
    let t = birth_cohort(s).await;
    t.c.expect(&[("birthdate:missing", "true")], &[&t.unknown])
        .await;
    t.c.expect(
        &[("birthdate:missing", "false")],
        &[
            &t.christmas,
            &t.christmas_eve,
            &t.new_year,
            &t.summer_73,
            &t.spring_50,
        ],
    )
    .await;
    // Only the patient without a birth date has a name in this cohort.
    t.c.expect(&[("family:missing", "false")], &[&t.unknown])
        .await;
}

async fn invalid_date_is_400(s: TestServer) {
    let c = Cohort::new(s);
    for bad in ["notadate", "1974-13-01", "gt", "1974-12-25T25:00:00Z"] {
        c.rejected(&[("birthdate", bad)], &[]).await;
    }
    c.rejected(&[("_lastUpdated", "yesterday")], &[]).await;
}

// --- tokens ----------------------------------------------------------------------------

async fn gender_equals_alternatives_not_and_missing(s: TestServer) {
    let c = Cohort::new(s);
    let gender = |g: &str| having("gender", json!(g));
    let male = c.add("male", gender("male")).await;
    let female = c.add("female", gender("female")).await;
    let unknown = c.add("none", named("Kjønnsløs", &[])).await;
    c.expect(&[("gender", "male")], &[&male]).await;
    c.expect(&[("gender", "male,female")], &[&male, &female])
        .await;
    c.expect(&[("gender:not", "male")], &[&female, &unknown])
        .await;
    c.expect(&[("gender:missing", "true")], &[&unknown]).await;
}

async fn active_true_and_false(s: TestServer) {
    let c = Cohort::new(s);
    let active = c.add("active", having("active", json!(true))).await;
    let inactive = c.add("inactive", having("active", json!(false))).await;
    let unstated = c.add("unstated", named("Ustatus", &[])).await;
    c.expect(&[("active", "true")], &[&active]).await;
    c.expect(&[("active", "false")], &[&inactive]).await;
    c.expect(&[("active:missing", "true")], &[&unstated]).await;
    c.expect(&[("active:not", "true")], &[&inactive, &unstated])
        .await;
}

async fn address_postalcode_is_a_prefix_match(s: TestServer) {
    let c = Cohort::new(s);
    let living_at = |postal: &str| {
        having(
            "address",
            json!([{"use": "home", "line": ["Storgata 1"], "postalCode": postal, "city": "X"}]),
        )
    };
    let oslo = c.add("oslo", living_at("0150")).await;
    let bergen = c.add("bergen", living_at("5003")).await;
    c.expect(&[("address-postalcode", "0150")], &[&oslo]).await;
    c.expect(&[("address-postalcode", "01")], &[&oslo]).await;
    c.expect(&[("address-postalcode", "5003")], &[&bergen])
        .await;
    c.expect(&[("address-postalcode", "9999")], &[]).await;
}

async fn phone_email_and_telecom(s: TestServer) {
    let c = Cohort::new(s);
    let reachable = |points: Value| having("telecom", points);
    let phone = c
        .add(
            "phone",
            reachable(json!([{"system": "phone", "value": "+4791234567"}])),
        )
        .await;
    let email = c
        .add(
            "email",
            reachable(json!([{"system": "email", "value": "kari@example.no"}])),
        )
        .await;
    let both = c
        .add(
            "both",
            reachable(json!([
                {"system": "phone", "value": "+4799999999"},
                {"system": "email", "value": "ola@example.no"}
            ])),
        )
        .await;
    c.expect(&[("phone", "+4791234567")], &[&phone]).await;
    c.expect(&[("phone", "kari@example.no")], &[]).await;
    c.expect(&[("email", "kari@example.no")], &[&email]).await;
    c.expect(&[("email", "+4791234567")], &[]).await;
    c.expect(&[("telecom", "kari@example.no")], &[&email]).await;
    c.expect(&[("telecom", "+4799999999")], &[&both]).await;
    c.expect(&[("email", "ola@example.no")], &[&both]).await;
}

async fn last_updated_compares_with_the_write_time(s: TestServer) {
    let c = Cohort::new(s);
    let first = c.add("first", named("Tidlig", &[])).await;
    let read = json_with_status(c.s.get(&format!("Patient/{first}")).await, 200).await;
    let first_time = read["meta"]["lastUpdated"]
        .as_str()
        .expect("meta.lastUpdated")
        .to_string();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = c.add("second", named("Sen", &[])).await;
    c.expect(&[("_lastUpdated", "gt2000-01-01")], &[&first, &second])
        .await;
    c.expect(&[("_lastUpdated", "lt2000-01-01")], &[]).await;
    let after_first = format!("gt{first_time}");
    c.expect(&[("_lastUpdated", &after_first)], &[&second])
        .await;
    let from_first = format!("ge{first_time}");
    c.expect(&[("_lastUpdated", &from_first)], &[&first, &second])
        .await;
}

// --- POST _search ----------------------------------------------------------------------

async fn post_search_finds_what_get_finds(s: TestServer) {
    let t = name_cohort(s).await;
    let queries: [&[(&str, &str)]; 4] = [
        &[("family", "hans")],
        &[("name:contains", "ansen"), ("given", "kari")],
        &[("family", "johansen,ås")],
        &[("_summary", "count")],
    ];
    for q in queries {
        let by_get = t.c.get(q).await;
        let by_post = t.c.post(q).await;
        assert_eq!(total(&by_get), total(&by_post), "{q:?}");
        assert_eq!(entry_ids(&by_get), entry_ids(&by_post), "{q:?}");
    }
    let aas = t.c.post(&[("name", "ÅS")]).await;
    assert_eq!(entry_ids(&aas), vec![t.aas]);
}

async fn national_identity_number_is_found_by_post(s: TestServer) {
    const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
    // A synthetic fødselsnummer (Tenor, month + 80); the test tenant accepts those.
    const FNR: &str = "02850097219";
    let c = Cohort::new(s);
    let nordmann = c
        .add(
            "fnr",
            having("identifier", json!([{"system": FNR_SYSTEM, "value": FNR}])),
        )
        .await;
    let _other = c.add("other", named("Uten", &["Nummer"])).await;
    let q = format!("{FNR_SYSTEM}|{FNR}");
    for params in [[("identifier", q.as_str())], [("identifier", FNR)]] {
        let found = c.post(&params).await;
        assert_eq!(entry_ids(&found), vec![nordmann.clone()], "{params:?}");
        assert_eq!(total(&found), 1);
    }
}

// --- the Bundle, paging and result parameters -----------------------------------------

/// Five patients in the cohort, in creation order.
async fn five(c: &Cohort) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..5 {
        out.push(c.add(&format!("n{i}"), named("Fem", &[])).await);
    }
    out
}

async fn searchset_has_total_self_link_and_match_entries(s: TestServer) {
    let c = Cohort::new(s);
    let members = five(&c).await;
    let bundle = c.get(&[("family", "fem")]).await;
    assert_eq!(total(&bundle), 5);
    let self_link = link(&bundle, "self").expect("a self link");
    assert!(
        self_link.starts_with(&format!("{}/Patient", c.s.base)),
        "{self_link}"
    );
    assert!(self_link.contains("family=fem"), "{self_link}");
    for entry in bundle["entry"].as_array().expect("entries") {
        let id = entry["resource"]["id"].as_str().expect("id");
        assert_eq!(entry["search"]["mode"], "match", "{entry}");
        assert!(
            entry["fullUrl"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("Patient/{id}"))),
            "{entry}"
        );
    }
    let again = searchset(c.s.request(Method::GET, &self_link)).await;
    let found: Ids = entry_ids(&again).into_iter().collect();
    assert_eq!(found, members.iter().cloned().collect::<Ids>());
}

async fn count_pages_with_next_links_until_the_end(s: TestServer) {
    let c = Cohort::new(s);
    let members = five(&c).await;
    let first = c.get(&[("_count", "2"), ("_total", "accurate")]).await;
    assert_eq!(total(&first), 5, "total counts every match, not the page");
    assert_eq!(entry_ids(&first).len(), 2);
    assert!(link(&first, "next").is_some(), "a next link: {first}");
    let seen = c.all_pages(first, async || {}).await;
    let mut sorted = seen.clone();
    sorted.sort();
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(sorted, expected, "each match exactly once: {seen:?}");
}

async fn paging_is_stable_when_a_patient_is_created_between_pages(s: TestServer) {
    let c = Cohort::new(s);
    let members = five(&c).await;
    let undisturbed = c
        .all_pages(c.get(&[("_count", "2")]).await, async || {})
        .await;
    let first = c.get(&[("_count", "2")]).await;
    let disturbed = c
        .all_pages(first, async || {
            c.add("late", named("Fem", &["Sein"])).await;
        })
        .await;
    let unique: Ids = disturbed.iter().cloned().collect();
    assert_eq!(unique.len(), disturbed.len(), "duplicates: {disturbed:?}");
    let originals: Vec<String> = disturbed
        .iter()
        .filter(|id| members.contains(id))
        .cloned()
        .collect();
    assert_eq!(
        originals, undisturbed,
        "every match once, in the same order"
    );
}

async fn paging_is_stable_when_a_seen_patient_is_updated(s: TestServer) {
    let c = Cohort::new(s);
    let members = five(&c).await;
    let first = c.get(&[("_count", "2")]).await;
    let seen_first = entry_ids(&first)[0].clone();
    let seen = c
        .all_pages(first, async || {
            let path = format!("Patient/{seen_first}");
            let mut current = json_with_status(c.s.get(&path).await, 200).await;
            current["active"] = json!(true);
            json_with_status(c.s.put_json(&path, &current).await, 200).await;
        })
        .await;
    let mut sorted = seen.clone();
    sorted.sort();
    let mut expected = members;
    expected.sort();
    assert_eq!(sorted, expected, "each match exactly once: {seen:?}");
}

async fn post_search_pages_with_next_links(s: TestServer) {
    let c = Cohort::new(s);
    let mut members = five(&c).await;
    let first = c
        .post(&[("family", "fem"), ("_count", "2"), ("_total", "accurate")])
        .await;
    assert_eq!(total(&first), 5);
    let mut seen = c.all_pages(first, async || {}).await;
    seen.sort();
    members.sort();
    assert_eq!(seen, members, "each match exactly once");
}

async fn count_zero_gives_the_total_only(s: TestServer) {
    let c = Cohort::new(s);
    five(&c).await;
    let bundle = c.get(&[("_count", "0")]).await;
    assert_eq!(total(&bundle), 5);
    assert!(entry_ids(&bundle).is_empty(), "{bundle}");
}

async fn summary_count_gives_the_total_without_entries(s: TestServer) {
    let c = Cohort::new(s);
    five(&c).await;
    let bundle = c.get(&[("_summary", "count")]).await;
    assert_eq!(total(&bundle), 5);
    assert!(bundle.get("entry").is_none(), "{bundle}");
}

async fn elements_keeps_only_the_named_elements_and_marks_subsetted(s: TestServer) {
    let c = Cohort::new(s);
    let mut full = named("Elementsen", &["Eli"]);
    full["gender"] = json!("female");
    full["birthDate"] = json!("1990-01-01");
    let id = c.add("e", full).await;
    let bundle = c.get(&[("_elements", "name")]).await;
    assert_eq!(entry_ids(&bundle), vec![id]);
    let resource = &bundle["entry"][0]["resource"];
    let keys: BTreeSet<&str> = resource
        .as_object()
        .expect("resource")
        .keys()
        .map(String::as_str)
        .collect();
    let allowed: BTreeSet<&str> = ["resourceType", "id", "meta", "name"].into();
    assert!(keys.is_subset(&allowed), "{resource}");
    assert_eq!(resource["name"][0]["family"], "Elementsen");
    let subsetted = resource["meta"]["tag"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t["code"] == "SUBSETTED"));
    assert!(subsetted, "meta.tag SUBSETTED: {resource}");
}

// --- unknown parameters and modifiers -------------------------------------------------

async fn unknown_parameter_is_ignored_and_left_out_of_the_self_link(s: TestServer) {
    let c = Cohort::new(s);
    let members = five(&c).await;
    let bundle = c.get(&[("unknown-param", "x")]).await;
    let found: Ids = entry_ids(&bundle).into_iter().collect();
    assert_eq!(found, members.iter().cloned().collect::<Ids>());
    let self_link = link(&bundle, "self").expect("self link");
    assert!(!self_link.contains("unknown-param"), "{self_link}");
}

async fn unknown_parameter_with_strict_handling_is_400(s: TestServer) {
    let c = Cohort::new(s);
    c.rejected(&[("unknown-param", "x")], &[("Prefer", "handling=strict")])
        .await;
}

async fn unknown_modifier_is_400(s: TestServer) {
    let c = Cohort::new(s);
    c.rejected(&[("family:sounds-like", "hansen")], &[]).await;
}

async fn modifier_for_another_parameter_type_is_400(s: TestServer) {
    let c = Cohort::new(s);
    c.rejected(&[("gender:exact", "male")], &[]).await;
    c.rejected(&[("family:not", "hansen")], &[]).await;
}

on_both_backends!(
    id_finds_the_named_patients,
    identifier_system_and_value,
    identifier_bar_value_needs_no_system,
    identifier_value_alone_matches_any_system,
    identifier_system_alone_matches_any_value,
    family_is_a_case_insensitive_prefix_match,
    given_is_a_prefix_match,
    name_is_case_and_accent_insensitive,
    name_covers_family_given_and_prefix,
    name_exact_matches_the_whole_value_with_case,
    name_contains_matches_inside,
    comma_separated_values_are_alternatives,
    repeated_parameters_must_all_match,
    family_matches_any_of_the_names,
    updated_patients_are_found_by_their_new_values_only,
    deleted_patients_are_not_found,
    birthdate_eq_at_year_month_and_day_precision,
    birthdate_ne_never_matches_a_missing_date,
    birthdate_gt_and_lt,
    birthdate_ge_and_le,
    birthdate_sa_and_eb,
    birthdate_ap_is_near_but_not_far,
    birthdate_alternatives_and_ranges,
    missing_modifier_finds_absent_and_present,
    invalid_date_is_400,
    gender_equals_alternatives_not_and_missing,
    active_true_and_false,
    address_postalcode_is_a_prefix_match,
    phone_email_and_telecom,
    last_updated_compares_with_the_write_time,
    post_search_finds_what_get_finds,
    national_identity_number_is_found_by_post,
    searchset_has_total_self_link_and_match_entries,
    count_pages_with_next_links_until_the_end,
    paging_is_stable_when_a_patient_is_created_between_pages,
    paging_is_stable_when_a_seen_patient_is_updated,
    post_search_pages_with_next_links,
    count_zero_gives_the_total_only,
    summary_count_gives_the_total_without_entries,
    elements_keeps_only_the_named_elements_and_marks_subsetted,
    unknown_parameter_is_ignored_and_left_out_of_the_self_link,
    unknown_parameter_with_strict_handling_is_400,
    unknown_modifier_is_400,
    modifier_for_another_parameter_type_is_400,
);
