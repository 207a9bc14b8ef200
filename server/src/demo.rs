//! A demo tenant with synthetic people, so a new user can try every endpoint at once.
//! National identity numbers are synthetic (Tenor style, month + 80) and valid mod 11.

use helsebro_mappings::codes::MeasurementKind;
use helsebro_mappings::communication::{communication_to_fhir, MessageRecord};
use helsebro_mappings::medication_statement::{medication_statement_to_fhir, MedicationPlanRecord};
use helsebro_mappings::observation::{observation_to_fhir, MeasurementRecord, MeasurementSource};
use helsebro_mappings::organization::{organization_to_fhir, OrganizationRecord};
use helsebro_mappings::patient::{patient_to_fhir, Gender, HomeAddress, PatientRecord};
use helsebro_mappings::practitioner::{practitioner_to_fhir, PractitionerRecord};
use helsebro_profiles::identifiers::{NationalId, NationalIdKind};

use crate::served::ServedType;
use crate::store::Store;
use crate::tenant::Tenant;
use crate::write_path::{WriteError, WritePath};

pub const DEMO_ORG_NUMBER: &str = "312229544";
pub const DEMO_TENANT_NAME: &str = "Demo kommune";
pub const DEMO_MUNICIPALITY: &str = "4601";

pub const FAMILY: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Berg",
    "Haugen",
];
const GIVEN_F: &[&str] = &["Kari", "Ingrid", "Anne", "Liv", "Solveig", "Astrid"];
const GIVEN_M: &[&str] = &["Ola", "Per", "Jan", "Bjørn", "Knut", "Arne"];

/// A synthetic fødselsnummer: birth month + 80, with both check digits.
pub fn synthetic_fnr(day: u32, month: u32, year2: u32, individual: u32) -> Option<String> {
    let base = format!("{day:02}{:02}{year2:02}{individual:03}", month + 80);
    let d: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
    let check = |weights: &[u32], digits: &[u32]| {
        let sum: u32 = weights.iter().zip(digits).map(|(w, d)| w * d).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    };
    let k1 = check(&[3, 7, 6, 1, 8, 9, 4, 5, 2], &d)?;
    let mut d2 = d.clone();
    d2.push(k1);
    let k2 = check(&[5, 4, 3, 2, 7, 6, 5, 4, 3, 2], &d2)?;
    Some(format!("{base}{k1}{k2}"))
}

/// The national identity numbers and full names of the demo patients: what must never
/// show up in a log.
pub fn demo_identities() -> Vec<(String, String)> {
    demo_patients(DEMO_PATIENTS)
        .into_iter()
        .map(|p| {
            let fnr = p.national_id.map(|n| n.value).unwrap_or_default();
            let name = format!(
                "{} {}",
                p.given_names.unwrap_or_default(),
                p.family_name.unwrap_or_default()
            );
            (fnr, name)
        })
        .collect()
}

const DEMO_PATIENTS: usize = 24;

fn demo_patients(count: usize) -> Vec<PatientRecord> {
    let mut out = Vec::new();
    let mut individual = 400;
    let mut n = 0usize;
    while out.len() < count {
        individual += 1;
        let female = n.is_multiple_of(2);
        let (day, month, year2) = (
            1 + (n * 7 % 28) as u32,
            1 + (n % 12) as u32,
            30 + (n * 3 % 40) as u32,
        );
        let Some(fnr) = synthetic_fnr(day, month, year2, individual) else {
            continue;
        };
        let given = if female {
            GIVEN_F[n % GIVEN_F.len()]
        } else {
            GIVEN_M[n % GIVEN_M.len()]
        };
        out.push(PatientRecord {
            national_id: Some(NationalId {
                kind: NationalIdKind::Fnr,
                value: fnr,
                synthetic: true,
            }),
            family_name: Some(FAMILY[n % FAMILY.len()].to_string()),
            given_names: Some(given.to_string()),
            middle_name: None,
            birth_date: Some(format!("19{year2:02}-{month:02}-{day:02}")),
            gender: Some(if female { Gender::Female } else { Gender::Male }),
            address: Some(HomeAddress {
                lines: vec![format!("Demoveien {}", n + 1)],
                postal_code: Some(format!("50{:02}", n % 100)),
                city: Some("Bergen".into()),
                municipality_name: Some("Bergen".into()),
                municipality_code: Some(DEMO_MUNICIPALITY.into()),
            }),
            phone: Some(format!("+47 400 00 {:03}", n)),
            email: Some(format!("pasient{n}@demo.example.no")),
            active: Some(true),
            deceased: false,
        });
        n += 1;
    }
    out
}

/// Loads the demo data when the tenant has no patients yet. Everything goes through the
/// write path, so the demo resources are what FHIR clients will create themselves.
pub async fn load_if_empty(store: &Store, tenant: &Tenant) -> Result<(), WriteError> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients WHERE tenant_id = $1")
        .bind(&tenant.id)
        .fetch_one(store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
    if existing > 0 {
        return Ok(());
    }
    let ctx = tenant.mapping_context();
    let path = WritePath {
        store,
        tenant,
        base_url: "",
        audit: None,
    };
    let put = |served: ServedType, id: String, mut resource: serde_json::Value| {
        resource["id"] = serde_json::Value::String(id.clone());
        let path = &path;
        async move { path.update(served, &id, resource, None).await }
    };
    let org = OrganizationRecord {
        org_number: Some(DEMO_ORG_NUMBER.into()),
        name: Some(DEMO_TENANT_NAME.into()),
        municipality_code: Some(DEMO_MUNICIPALITY.into()),
        active: Some(true),
        ..Default::default()
    };
    put(
        ServedType::Organization,
        "demo-kommune".into(),
        organization_to_fhir(&org, None, &ctx),
    )
    .await?;
    let clinicians = [
        ("Lege", "Lise", "9144900"),
        ("Sykepleier", "Sander", "9144889"),
        ("Fysio", "Frida", "9144897"),
    ];
    for (i, (family, given, hpr)) in clinicians.into_iter().enumerate() {
        let record = PractitionerRecord {
            hpr_number: Some(hpr.into()),
            family_name: Some(family.into()),
            given_names: Some(given.into()),
            email: Some(format!("{}@demo.example.no", given.to_lowercase())),
            active: Some(true),
            ..Default::default()
        };
        put(
            ServedType::Practitioner,
            format!("demo-practitioner-{i}"),
            practitioner_to_fhir(&record, None, &ctx),
        )
        .await?;
    }
    for (n, record) in demo_patients(DEMO_PATIENTS).into_iter().enumerate() {
        let patient_id = format!("demo-patient-{n}");
        put(
            ServedType::Patient,
            patient_id.clone(),
            patient_to_fhir(&record, None, &ctx),
        )
        .await?;
        if n < 8 {
            load_patient_history(&path, tenant, &patient_id, n).await?;
        }
        // Each clinician follows a third of the patients.
        store
            .add_care_relationship(
                &tenant.id,
                &format!("demo-practitioner-{}", n % 3),
                &patient_id,
                "primary",
            )
            .await
            .map_err(WriteError::Store)?;
    }
    store.analyze().await.map_err(WriteError::Store)?;
    tracing::info!("demo data loaded");
    Ok(())
}

/// Three weeks of home measurements, a message thread, a medication plan and a journal note.
async fn load_patient_history(
    path: &WritePath<'_>,
    tenant: &Tenant,
    patient_id: &str,
    n: usize,
) -> Result<(), WriteError> {
    let ctx = tenant.mapping_context();
    let subject = Some(patient_id.to_string());
    for day in 0..21u32 {
        let at = format!("2026-10-{:02}T08:{:02}:00+01:00", day + 1, n * 3);
        let readings = [
            (
                MeasurementKind::BloodPressure,
                120.0 + (day as f64 + n as f64 * 3.0) % 25.0,
                Some(78.0 + (day % 9) as f64),
                "mm[Hg]",
            ),
            (
                MeasurementKind::HeartRate,
                62.0 + ((day * 7 + n as u32) % 30) as f64,
                None,
                "/min",
            ),
            (
                MeasurementKind::OxygenSaturation,
                93.0 + ((day + n as u32) % 6) as f64,
                None,
                "%",
            ),
        ];
        for (k, (kind, value, value2, unit)) in readings.into_iter().enumerate() {
            let record = MeasurementRecord {
                patient_id: subject.clone(),
                kind: Some(kind),
                status: "final".into(),
                value: Some(value),
                value2,
                unit: Some(unit.into()),
                effective_start: Some(at.clone()),
                source: Some(MeasurementSource::Device),
                ..Default::default()
            };
            let resource = observation_to_fhir(&record, None, &ctx);
            path.create(ServedType::Observation, resource, None)
                .await
                .map(|_| k)?;
        }
    }
    let clinician = format!("Practitioner/demo-practitioner-{}", n % 3);
    let patient_ref = format!("Patient/{patient_id}");
    let thread = [
        (
            &patient_ref,
            &clinician,
            "Hei! Blodtrykket har vært litt høyt de siste dagene. Bør jeg gjøre noe?",
        ),
        (
            &clinician,
            &patient_ref,
            "Takk for beskjed. Fortsett å måle morgen og kveld, så ser vi på det på fredag.",
        ),
    ];
    let mut first_id: Option<String> = None;
    for (i, (sender, recipient, text)) in thread.into_iter().enumerate() {
        let record = MessageRecord {
            patient_id: subject.clone(),
            thread_id: first_id.clone(),
            sender: Some(sender.clone()),
            recipients: vec![recipient.clone()],
            text: Some(text.into()),
            sent: Some(format!("2026-10-2{}T09:{:02}:00+01:00", i + 1, n)),
            status: "completed".into(),
            category: Some("message".into()),
            ..Default::default()
        };
        let written = path
            .create(
                ServedType::Communication,
                communication_to_fhir(&record, None, &ctx),
                None,
            )
            .await?;
        first_id.get_or_insert(written.id);
    }
    let plan = MedicationPlanRecord {
        patient_id: subject.clone(),
        atc_code: Some("C07AB02".into()),
        medication_text: Some("Metoprolol depottablett 50 mg".into()),
        dosage_text: Some("1 tablett morgen".into()),
        period_start: Some("2026-09-01".into()),
        status: "active".into(),
        information_source: Some(clinician.clone()),
        reason_codes: vec![("urn:oid:2.16.578.1.12.4.1.1.7170".into(), "K86".into())],
        ..Default::default()
    };
    path.create(
        ServedType::MedicationStatement,
        medication_statement_to_fhir(&plan, None, &ctx),
        None,
    )
    .await?;
    // Journal notes are sealed with the tenant's key, title and text alike.
    let store = path.store;
    let title = store.seal(&tenant.id, "Oppfølging hjemmemålinger").await?;
    let text = store
        .seal(
            &tenant.id,
            "Pasienten måler blodtrykk og puls daglig. Verdiene er stabile; fortsetter oppfølging.",
        )
        .await?;
    sqlx::query(
        "INSERT INTO journal_notes (tenant_id, id, version, patient_id, author_id, title, text, status, written_at) \
         VALUES ($1, $2, 1, $3, $4, $5, $6, 'final', $7)",
    )
    .bind(&tenant.id)
    .bind(format!("demo-note-{n}"))
    .bind(patient_id)
    .bind(format!("demo-practitioner-{}", n % 3))
    .bind(title)
    .bind(text)
    .bind(crate::store::now_micros())
    .execute(path.store.pool())
    .await
    .map_err(crate::store::StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_numbers_pass_the_national_check() {
        for p in demo_patients(DEMO_PATIENTS) {
            let id = p.national_id.unwrap();
            let checked =
                helsebro_profiles::identifiers::check_person_number(&id.value, true).unwrap();
            assert!(checked.synthetic);
            assert!(helsebro_profiles::identifiers::check_person_number(&id.value, false).is_err());
        }
    }
}
