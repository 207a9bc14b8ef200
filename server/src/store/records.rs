//! The platform's records: one row per record, its columns listed per record type, written
//! by one upsert.

use helsebro_mappings::communication::MessageRecord;
use helsebro_mappings::medication_statement::MedicationPlanRecord;
use helsebro_mappings::observation::{MeasurementRecord, MeasurementSource};
use helsebro_mappings::organization::OrganizationRecord;
use helsebro_mappings::patient::PatientRecord;
use helsebro_mappings::practitioner::PractitionerRecord;

use super::sql::{Arg, Sql};
use super::write::ROWS_PER_STATEMENT;
use super::{StoreError, WriteTx};

type Columns = Vec<(&'static str, Arg)>;

fn text(s: Option<&str>) -> Arg {
    s.map_or(Arg::Null, |s| Arg::Text(s.to_string()))
}

fn flag(b: Option<bool>) -> Arg {
    b.map_or(Arg::NullBool, Arg::Bool)
}

fn float(f: Option<f64>) -> Arg {
    f.map_or(Arg::NullFloat, Arg::Float)
}

pub fn patient_columns(r: &PatientRecord) -> Columns {
    let address = r.address.as_ref();
    vec![
        (
            "national_id",
            text(r.national_id.as_ref().map(|n| n.value.as_str())),
        ),
        (
            "national_id_kind",
            text(r.national_id.as_ref().map(|n| n.kind.code())),
        ),
        ("family_name", text(r.family_name.as_deref())),
        ("given_names", text(r.given_names.as_deref())),
        ("birth_date", text(r.birth_date.as_deref())),
        ("gender", text(r.gender.map(|g| g.code()))),
        (
            "municipality_code",
            text(address.and_then(|a| a.municipality_code.as_deref())),
        ),
        (
            "postal_code",
            text(address.and_then(|a| a.postal_code.as_deref())),
        ),
        ("phone", text(r.phone.as_deref())),
        ("email", text(r.email.as_deref())),
        ("active", flag(r.active)),
        ("deceased", Arg::Bool(r.deceased)),
    ]
}

pub fn measurement_columns(r: &MeasurementRecord) -> Columns {
    let source = r.source.map(|s| match s {
        MeasurementSource::Device => "device",
        MeasurementSource::Patient => "patient",
        MeasurementSource::Clinician => "clinician",
    });
    vec![
        ("patient_id", text(r.patient_id.as_deref())),
        ("kind", text(r.kind.map(|k| k.codes().key))),
        ("status", Arg::Text(r.status.clone())),
        ("value", float(r.value)),
        ("value2", float(r.value2)),
        ("unit", text(r.unit.as_deref())),
        (
            "score_system",
            text(r.score_code.as_ref().and_then(|(s, _)| s.as_deref())),
        ),
        (
            "score_code",
            text(r.score_code.as_ref().map(|(_, c)| c.as_str())),
        ),
        ("score_text", text(r.score_text.as_deref())),
        ("effective_start", text(r.effective_start.as_deref())),
        ("effective_end", text(r.effective_end.as_deref())),
        ("source", text(source)),
        ("device", text(r.device.as_deref())),
        ("performer", text(r.performer.as_deref())),
        ("interpretation", text(r.interpretation.as_deref())),
        ("note", text(r.note.as_deref())),
    ]
}

pub fn practitioner_columns(r: &PractitionerRecord) -> Columns {
    vec![
        ("hpr_number", text(r.hpr_number.as_deref())),
        (
            "national_id",
            text(r.national_id.as_ref().map(|n| n.value.as_str())),
        ),
        ("family_name", text(r.family_name.as_deref())),
        ("given_names", text(r.given_names.as_deref())),
        ("email", text(r.email.as_deref())),
        ("phone", text(r.phone.as_deref())),
        ("active", flag(r.active)),
    ]
}

pub fn organization_columns(r: &OrganizationRecord) -> Columns {
    vec![
        ("org_number", text(r.org_number.as_deref())),
        ("name", text(r.name.as_deref())),
        ("her_id", text(r.her_id.as_deref())),
        ("municipality_code", text(r.municipality_code.as_deref())),
        ("active", flag(r.active)),
    ]
}

pub fn message_columns(r: &MessageRecord) -> Columns {
    vec![
        ("patient_id", text(r.patient_id.as_deref())),
        ("thread_id", text(r.thread_id.as_deref())),
        ("sender", text(r.sender.as_deref())),
        (
            "recipients",
            Arg::Text(serde_json::to_string(&r.recipients).unwrap_or_default()),
        ),
        ("text", text(r.text.as_deref())),
        ("attachment_count", Arg::Int(r.attachment_count as i64)),
        ("sent", text(r.sent.as_deref())),
        ("received", text(r.received.as_deref())),
        ("status", Arg::Text(r.status.clone())),
        ("category", text(r.category.as_deref())),
    ]
}

pub fn medication_plan_columns(r: &MedicationPlanRecord) -> Columns {
    vec![
        ("patient_id", text(r.patient_id.as_deref())),
        ("fest_code", text(r.fest_code.as_deref())),
        ("atc_code", text(r.atc_code.as_deref())),
        ("medication_text", text(r.medication_text.as_deref())),
        (
            "medication_reference",
            text(r.medication_reference.as_deref()),
        ),
        ("dosage_text", text(r.dosage_text.as_deref())),
        ("period_start", text(r.period_start.as_deref())),
        ("period_end", text(r.period_end.as_deref())),
        ("status", Arg::Text(r.status.clone())),
        ("information_source", text(r.information_source.as_deref())),
        (
            "reason_codes",
            Arg::Text(serde_json::to_string(&r.reason_codes).unwrap_or_default()),
        ),
    ]
}

/// Record columns sealed with the tenant's key: national identity numbers and free text.
const SEALED_COLUMNS: &[(&str, &str)] = &[
    ("patients", "national_id"),
    ("practitioners", "national_id"),
    ("messages", "text"),
];

impl WriteTx {
    /// Inserts or replaces the records `(tenant_id, id)` of `table` and clears their deleted
    /// marks. Every row lists the same columns. `table` and the column names come from this
    /// module, never from client input.
    pub async fn upsert_records(
        &mut self,
        table: &'static str,
        tenant_id: &str,
        rows: Vec<(&str, Columns)>,
    ) -> Result<(), StoreError> {
        let Some((_, first)) = rows.first() else {
            return Ok(());
        };
        let names: Vec<&str> = first.iter().map(|(n, _)| *n).collect();
        let updates: Vec<String> = names
            .iter()
            .map(|n| format!("{n} = excluded.{n}"))
            .collect();
        let head = format!(
            "INSERT INTO {table} (tenant_id, id, {}, deleted) VALUES ",
            names.join(", ")
        );
        let tail = format!(
            " ON CONFLICT (tenant_id, id) DO UPDATE SET {}, deleted = FALSE",
            updates.join(", ")
        );
        let single = rows.len() == 1;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut sql = Sql::new(&head);
            let mut count = 0;
            for (i, (id, columns)) in rows.by_ref().take(ROWS_PER_STATEMENT).enumerate() {
                count = i + 1;
                debug_assert!(columns.iter().map(|(n, _)| *n).eq(names.iter().copied()));
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(").text(tenant_id).push(", ").text(id);
                for (name, arg) in columns {
                    let arg = match arg {
                        Arg::Text(plain) if SEALED_COLUMNS.contains(&(table, name)) => {
                            Arg::Text(self.store.seal(tenant_id, &plain).await?)
                        }
                        other => other,
                    };
                    sql.push(", ").bind(arg);
                }
                sql.push(", FALSE)");
            }
            sql.push(&tail);
            // A full chunk's text repeats like a single row's: prepared once.
            let repeats = single || count == ROWS_PER_STATEMENT;
            sql.query().persistent(repeats).execute(self.conn()).await?;
        }
        Ok(())
    }

    /// A deleted record stays (marked) so that its history remains traceable.
    pub async fn mark_record_deleted(
        &mut self,
        table: &'static str,
        tenant_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "UPDATE {table} SET deleted = TRUE WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
