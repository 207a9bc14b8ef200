//! Practitioner (no-basis-Practitioner, with the HPR number) and Organization
//! (no-basis-Organization, with the organisasjonsnummer): the Norwegian identifier checks and
//! every search parameter.

use helsebro_blackbox::{on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::errors::municipality_district;
use crate::observation::{diagnostics, round_trip, unprocessable, Cohort};
use crate::rest::with;

const HPR: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
const FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
const ORGNR: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
const ORGNR_ALIAS: &str = "http://data.brreg.no/begrep/28155";
const HER: &str = "urn:oid:2.16.578.1.12.4.1.2";
const STAFF: &str = "urn:example:staff-number";
const MUNICIPALITY_CODE_EXT: &str =
    "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode";

// --- helpers ---------------------------------------------------------------------------

fn identifier_list(identifiers: &[(&str, &str)]) -> Value {
    identifiers
        .iter()
        .map(|(system, value)| json!({"system": system, "value": value}))
        .collect()
}

/// A Practitioner with the identifiers `(system, value)` and an official name.
fn practitioner(identifiers: &[(&str, &str)], family: &str, given: &[&str]) -> Value {
    json!({
        "resourceType": "Practitioner",
        "meta": {"profile": ["http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner"]},
        "identifier": identifier_list(identifiers),
        "active": true,
        "name": [{"use": "official", "family": family, "given": given}]
    })
}

/// An Organization with the identifiers `(system, value)` and a name.
fn organization(identifiers: &[(&str, &str)], name: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "meta": {"profile": ["http://hl7.no/fhir/StructureDefinition/no-basis-Organization"]},
        "identifier": identifier_list(identifiers),
        "active": true,
        "name": name
    })
}

/// The write is refused with 422 at `expression`, naming `number` (the identifier's name).
async fn invalid_identifier(s: &TestServer, resource: &Value, expression: &str, number: &str) {
    let outcome = unprocessable(s, resource, &[expression]).await;
    assert!(
        diagnostics(&outcome).contains(number),
        "names {number}: {outcome}"
    );
}

// --- Practitioner ------------------------------------------------------------------------

async fn practitioner_with_hpr_number_round_trips(s: TestServer) {
    let mut nurse = practitioner(
        &[(HPR, "565501872"), (FNR, "13116900216")],
        "Nordmann",
        &["Kari"],
    );
    nurse["telecom"] = json!([{"system": "phone", "value": "+47 55 00 00 00", "use": "work"}]);
    nurse["qualification"] = json!([{"code": {"coding": [{
        "system": "urn:oid:2.16.578.1.12.4.1.1.9060",
        "code": "SP",
        "display": "Sykepleier"
    }]}}]);
    round_trip(&s, &nurse).await;
}

async fn invalid_hpr_number_is_422_naming_hpr(s: TestServer) {
    for bad in ["56550187A", "123", "1234567890", "0000", "565 501 872"] {
        let nurse = practitioner(&[(HPR, bad)], "Nordmann", &["Kari"]);
        invalid_identifier(&s, &nurse, "Practitioner.identifier[0].value", "HPR-nummer").await;
    }
}

async fn invalid_hpr_number_is_located_at_its_identifier(s: TestServer) {
    let nurse = practitioner(&[(STAFF, "A-17"), (HPR, "12AB")], "Nordmann", &["Kari"]);
    invalid_identifier(&s, &nurse, "Practitioner.identifier[1].value", "HPR-nummer").await;
}

async fn invalid_national_id_of_a_practitioner_is_422(s: TestServer) {
    let nurse = practitioner(&[(FNR, "13116900217")], "Nordmann", &["Kari"]);
    invalid_identifier(
        &s,
        &nurse,
        "Practitioner.identifier[0].value",
        "fødselsnummer",
    )
    .await;
}

struct Staff<'a> {
    c: Cohort<'a>,
    /// HPR 565501872, Kari Anne Nordmann
    kari: String,
    /// HPR 9144900, Ola Nordmann-Hansen
    ola: String,
    /// staff number 565501872 (not HPR), Åse Berg
    aase: String,
}

async fn staff(s: &TestServer) -> Staff<'_> {
    let mut c = Cohort::new(s, "Practitioner");
    Staff {
        kari: c
            .add(practitioner(
                &[(HPR, "565501872")],
                "Nordmann",
                &["Kari", "Anne"],
            ))
            .await,
        ola: c
            .add(practitioner(
                &[(HPR, "9144900")],
                "Nordmann-Hansen",
                &["Ola"],
            ))
            .await,
        aase: c
            .add(practitioner(&[(STAFF, "565501872")], "Berg", &["Åse"]))
            .await,
        c,
    }
}

async fn practitioner_identifier_by_system_and_value(s: TestServer) {
    let t = staff(&s).await;
    let hpr = format!("{HPR}|565501872");
    t.c.expect(&[("identifier", &hpr)], &[&t.kari]).await;
    t.c.expect(&[("identifier", "565501872")], &[&t.kari, &t.aase])
        .await;
    let any_hpr = format!("{HPR}|");
    t.c.expect(&[("identifier", &any_hpr)], &[&t.kari, &t.ola])
        .await;
    t.c.expect(&[("identifier", "|565501872")], &[]).await;
}

async fn practitioner_family_and_given(s: TestServer) {
    let t = staff(&s).await;
    t.c.expect(&[("family", "nordmann")], &[&t.kari, &t.ola])
        .await;
    t.c.expect(&[("family:exact", "Nordmann")], &[&t.kari])
        .await;
    t.c.expect(&[("family", "hansen")], &[]).await;
    t.c.expect(&[("given", "anne")], &[&t.kari]).await;
    t.c.expect(&[("given", "ase")], &[&t.aase]).await;
    t.c.expect(&[("given", "nordmann")], &[]).await;
}

async fn practitioner_name_covers_every_part(s: TestServer) {
    let t = staff(&s).await;
    t.c.expect(&[("name", "nord")], &[&t.kari, &t.ola]).await;
    t.c.expect(&[("name", "ola")], &[&t.ola]).await;
    t.c.expect(&[("name:contains", "hansen")], &[&t.ola]).await;
    t.c.expect(&[("name:exact", "Åse")], &[&t.aase]).await;
    t.c.expect(&[("name:exact", "åse")], &[]).await;
}

// --- Organization ------------------------------------------------------------------------

async fn organization_with_organisasjonsnummer_round_trips(s: TestServer) {
    let mut unit = organization(
        &[(ORGNR, "974760673"), (HER, "8093257")],
        "Bergen kommune hjemmetjenesten",
    );
    unit["alias"] = json!(["Hjemmesykepleien"]);
    unit["address"] = json!([{
        "use": "work",
        "line": ["Rådhusgaten 10"],
        "city": "Bergen",
        "district": "Bergen",
        "_district": municipality_district("4601"),
        "postalCode": "5014"
    }]);
    round_trip(&s, &unit).await;
}

async fn organisasjonsnummer_under_its_alias_system_round_trips(s: TestServer) {
    let office = organization(&[(ORGNR_ALIAS, "983974724")], "Legesenteret Sentrum");
    round_trip(&s, &office).await;
}

async fn invalid_organisasjonsnummer_is_422_naming_it(s: TestServer) {
    for (system, bad) in [
        (ORGNR, "974760674"),
        (ORGNR, "97476067"),
        (ORGNR, "174760673"),
        (ORGNR_ALIAS, "974760674"),
    ] {
        let unit = organization(&[(system, bad)], "Feil");
        let expression = "Organization.identifier[0].value";
        invalid_identifier(&s, &unit, expression, "organisasjonsnummer").await;
    }
}

async fn invalid_municipality_number_is_422(s: TestServer) {
    let address = json!([{"district": "Bergen", "_district": municipality_district("460")}]);
    let unit = organization(&[(ORGNR, "974760673")], "Feil kommune");
    let unit = with(unit, "address", address);
    let expression = format!(
        "Organization.address[0].district.extension('{MUNICIPALITY_CODE_EXT}').valueCoding.code"
    );
    unprocessable(&s, &unit, &[&expression]).await;
}

struct Organizations<'a> {
    c: Cohort<'a>,
    /// 974760673, "Bergen kommune hjemmetjenesten", alias "Hjemmesykepleien"
    home_care: String,
    /// 983974724 under the alias system, "Legesenteret Sentrum"
    gp_office: String,
    /// HER-id only, "Haukeland universitetssjukehus"
    hospital: String,
}

async fn organizations(s: &TestServer) -> Organizations<'_> {
    let mut c = Cohort::new(s, "Organization");
    let home_care = organization(&[(ORGNR, "974760673")], "Bergen kommune hjemmetjenesten");
    let hospital = organization(&[(HER, "59")], "Haukeland universitetssjukehus");
    Organizations {
        home_care: c
            .add(with(home_care, "alias", json!(["Hjemmesykepleien"])))
            .await,
        gp_office: c
            .add(organization(
                &[(ORGNR_ALIAS, "983974724")],
                "Legesenteret Sentrum",
            ))
            .await,
        hospital: c.add(hospital).await,
        c,
    }
}

async fn organization_identifier_by_system_and_value(s: TestServer) {
    let t = organizations(&s).await;
    let orgnr = format!("{ORGNR}|974760673");
    t.c.expect(&[("identifier", &orgnr)], &[&t.home_care]).await;
    t.c.expect(&[("identifier", "983974724")], &[&t.gp_office])
        .await;
    let alias = format!("{ORGNR_ALIAS}|983974724");
    t.c.expect(&[("identifier", &alias)], &[&t.gp_office]).await;
    let any_her = format!("{HER}|");
    t.c.expect(&[("identifier", &any_her)], &[&t.hospital])
        .await;
    let wrong_system = format!("{ORGNR}|983974724");
    t.c.expect(&[("identifier", &wrong_system)], &[]).await;
}

async fn organization_name_matches_name_and_alias(s: TestServer) {
    let t = organizations(&s).await;
    t.c.expect(&[("name", "bergen")], &[&t.home_care]).await;
    t.c.expect(&[("name", "hjemmesyke")], &[&t.home_care]).await;
    t.c.expect(&[("name", "LEGESENTER")], &[&t.gp_office]).await;
    t.c.expect(&[("name", "sentrum")], &[]).await;
    t.c.expect(&[("name:contains", "sjukehus")], &[&t.hospital])
        .await;
    t.c.expect(&[("name:exact", "Legesenteret Sentrum")], &[&t.gp_office])
        .await;
}

on_both_backends!(
    practitioner_with_hpr_number_round_trips,
    invalid_hpr_number_is_422_naming_hpr,
    invalid_hpr_number_is_located_at_its_identifier,
    invalid_national_id_of_a_practitioner_is_422,
    practitioner_identifier_by_system_and_value,
    practitioner_family_and_given,
    practitioner_name_covers_every_part,
    organization_with_organisasjonsnummer_round_trips,
    organisasjonsnummer_under_its_alias_system_round_trips,
    invalid_organisasjonsnummer_is_422_naming_it,
    invalid_municipality_number_is_422,
    organization_identifier_by_system_and_value,
    organization_name_matches_name_and_alias,
);
