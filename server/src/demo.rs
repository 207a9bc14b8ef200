//! A demo tenant with synthetic people, so a new user can try every endpoint at once.
//! National identity numbers are synthetic (Tenor style, month + 80) and valid mod 11.

use helsebro_mappings::patient::{patient_to_fhir, Gender, HomeAddress, PatientRecord};
use helsebro_profiles::identifiers::{NationalId, NationalIdKind};

use crate::served::ServedType;
use crate::store::Store;
use crate::tenant::Tenant;
use crate::write_path::{WriteError, WritePath};

pub const DEMO_ORG_NUMBER: &str = "312229544";
pub const DEMO_TENANT_NAME: &str = "Demo kommune";
pub const DEMO_MUNICIPALITY: &str = "4601";

const FAMILY: &[&str] = &[
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

fn demo_patients(count: usize) -> Vec<PatientRecord> {
    let mut out = Vec::new();
    let mut individual = 400;
    let mut n = 0usize;
    while out.len() < count {
        individual += 1;
        let female = n % 2 == 0;
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

/// Loads the demo data when the tenant has no patients yet.
pub async fn load_if_empty(store: &Store, tenant: &Tenant) -> Result<(), WriteError> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients WHERE tenant_id = $1")
        .bind(&tenant.id)
        .fetch_one(store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
    if existing > 0 {
        return Ok(());
    }
    let path = WritePath { store, tenant };
    for record in demo_patients(24) {
        let resource = patient_to_fhir(&record, None, &tenant.mapping_context());
        path.create(ServedType::Patient, resource, None).await?;
    }
    for (i, (family, given, hpr)) in [
        ("Lege", "Lise", "9144900"),
        ("Sykepleier", "Sander", "9144889"),
        ("Fysio", "Frida", "9144897"),
    ]
    .into_iter()
    .enumerate()
    {
        sqlx::query(
            "INSERT INTO practitioners (tenant_id, id, hpr_number, family_name, given_names, email, username) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&tenant.id)
        .bind(format!("demo-practitioner-{i}"))
        .bind(hpr)
        .bind(family)
        .bind(given)
        .bind(format!("{}@demo.example.no", given.to_lowercase()))
        .bind(given.to_lowercase())
        .execute(store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
    }
    store.analyze().await.map_err(WriteError::Store)?;
    tracing::info!("demo data loaded");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_numbers_pass_the_national_check() {
        for p in demo_patients(24) {
            let id = p.national_id.unwrap();
            let checked =
                helsebro_profiles::identifiers::check_person_number(&id.value, true).unwrap();
            assert!(checked.synthetic);
            assert!(helsebro_profiles::identifiers::check_person_number(&id.value, false).is_err());
        }
    }
}
