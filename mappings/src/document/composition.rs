//! The parts every document shares: the Bundle and Composition skeleton, logical references
//! to patient, practitioner and organisation, narrative, the copying of Observations into the
//! document, and name-based UUIDs for the entries.

use std::collections::HashMap;
use uuid::Uuid;

use helsebro_profiles::identifiers::{HPR_SYSTEM, ORGNR_SYSTEM};
use serde_json::{json, Map, Value};

use super::{
    DocumentHeader, PatientIdentity, COMPOSITION_CATEGORY_SYSTEM, COMPOSITION_SECTION_SYSTEM,
    DOCUMENT_TYPE_SYSTEM, URI_SYSTEM, VKP_COMPOSITION,
};
use crate::codes;
use crate::index::split_reference;
use crate::json::{drop_if_empty, items, str_of};

/// A code with its display, as written in the code system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Code {
    pub code: &'static str,
    pub display: &'static str,
}

/// vkp-composition-category-v090: every Helsebro document is about digital home follow-up.
pub(super) const CATEGORY_DHO: Code = Code {
    code: "2",
    display: "Digital hjemmeoppfølging",
};

/// Volven 9602, from no-basis-documentreference-type.
pub(super) const TYPE_JOURNALNOTAT: Code = Code {
    code: "B02-2",
    display: "Journalnotat",
};
pub(super) const TYPE_KURVE: Code = Code {
    code: "F01-2",
    display: "Kurve",
};

/// vkp-composition-section-v090.
pub(super) const SECTION_NOTAT: Code = Code {
    code: "1",
    display: "notat",
};
pub(super) const SECTION_HENDELSE: Code = Code {
    code: "1.2",
    display: "beskrivelse av hendelse",
};
pub(super) const SECTION_SAMMENSTILT: Code = Code {
    code: "2",
    display: "sammenstilt tekst",
};

/// vkp-composition-event-v090.
pub(super) const EVENT_KVITTERT: Code = Code {
    code: "3",
    display: "hendelse kvittert",
};

/// The namespace of Helsebro's name-based UUIDs, for names that are not inside a document's
/// own namespace (and for a `document_id` that is not a UUID).
const HELSEBRO_NAMESPACE: Uuid = Uuid::from_bytes([
    0x7b, 0x4c, 0xf9, 0x8f, 0x7a, 0x6f, 0x47, 0xc0, 0xba, 0xe1, 0x88, 0x7b, 0x1d, 0x8a, 0x8e, 0x7e,
]);

pub(super) fn coding(system: &str, code: Code) -> Value {
    json!({"system": system, "code": code.code, "display": code.display})
}

pub(super) fn concept(system: &str, code: Code) -> Value {
    json!({"coding": [coding(system, code)]})
}

/// `Some(s)` unless `s` is empty or blank: FHIR strings must not be empty.
pub(super) fn non_empty(s: &str) -> Option<&str> {
    (!s.trim().is_empty()).then_some(s)
}

// ---------------------------------------------------------------------------------------
// Name-based UUIDs (RFC 4122 version 5, SHA-1)

/// A UUID written with or without hyphens, with or without the `urn:uuid:` prefix.
fn parse_uuid(s: &str) -> Option<Uuid> {
    let s = s.trim();
    let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
    // Only the plain and hyphenated forms: `Uuid::parse_str` would also take braces.
    if !matches!(s.len(), 32 | 36) {
        return None;
    }
    Uuid::parse_str(s).ok()
}

/// The document's UUID and the `fullUrl`s derived from it.
#[derive(Debug, Clone)]
pub(super) struct DocumentIds {
    namespace: Uuid,
}

impl DocumentIds {
    /// A `document_id` that is not a UUID is turned into one (name-based, in Helsebro's
    /// namespace), so the Bundle identifier is always a valid `urn:uuid:`.
    pub fn new(document_id: &str) -> Self {
        let namespace = parse_uuid(document_id)
            .unwrap_or_else(|| Uuid::new_v5(&HELSEBRO_NAMESPACE, document_id.trim().as_bytes()));
        Self { namespace }
    }

    /// `urn:uuid:` of the document itself.
    pub fn document_urn(&self) -> String {
        format!("urn:uuid:{}", self.namespace)
    }

    /// The `fullUrl` of the entry called `name` (e.g. `Observation/obs-1`) in this document.
    pub fn full_url(&self, name: &str) -> String {
        format!(
            "urn:uuid:{}",
            Uuid::new_v5(&self.namespace, name.as_bytes())
        )
    }
}

/// An identifier that stays the same for a platform record across documents (for the
/// Composition of every version of a journal note, say): a name-based UUID of the sending
/// organisation and the record.
pub(super) fn record_identifier(h: &DocumentHeader, record: &str, id: &str) -> Value {
    let name = format!("{}/{record}/{id}", h.sender.org_number.trim());
    json!({
        "system": URI_SYSTEM,
        "value": format!("urn:uuid:{}", Uuid::new_v5(&HELSEBRO_NAMESPACE, name.as_bytes()))
    })
}

// ---------------------------------------------------------------------------------------
// Logical references

/// "Given Family", as a person is named in Norwegian.
fn patient_display(p: &PatientIdentity) -> Option<String> {
    let (family, given) = p.name.as_ref()?;
    let parts: Vec<&str> = given
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(family.as_str()))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The patient by national identifier, with the name as `display`: VKP references patients
/// only logically, never by a literal `Patient/…` reference.
pub(super) fn patient_reference(p: &PatientIdentity) -> Value {
    let mut r = json!({
        "identifier": {"system": p.kind.system(), "value": p.national_id.trim()}
    });
    if let Some(display) = patient_display(p) {
        r["display"] = json!(display);
    }
    r
}

/// The practitioner by HPR number, when the header names one.
pub(super) fn practitioner_reference(h: &DocumentHeader) -> Option<Value> {
    let author = h.author.as_ref()?;
    let hpr = author.hpr_number.as_deref().and_then(non_empty)?;
    let mut r = json!({"identifier": {"system": HPR_SYSTEM, "value": hpr.trim()}});
    if let Some(name) = author.name.as_deref().and_then(non_empty) {
        r["display"] = json!(name.trim());
    }
    Some(r)
}

/// The sending organisation by organisation number (no-basis-Organization's ENH slice).
pub(super) fn sender_reference(h: &DocumentHeader) -> Value {
    let mut r = json!({
        "identifier": {"system": ORGNR_SYSTEM, "value": h.sender.org_number.trim()}
    });
    if let Some(name) = non_empty(&h.sender.name) {
        r["display"] = json!(name.trim());
    }
    r
}

/// `Composition.author`: the practitioner when known, else the sending organisation.
pub(super) fn author_reference(h: &DocumentHeader) -> Value {
    practitioner_reference(h).unwrap_or_else(|| sender_reference(h))
}

pub(super) fn entry_reference(full_url: &str) -> Value {
    json!({"reference": full_url})
}

// ---------------------------------------------------------------------------------------
// Narrative

/// Text as XHTML character data: `&`, `<`, `>` and quotes escaped.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even as references.
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// Free text as paragraphs: a blank line separates paragraphs, a line break stays one.
pub(super) fn paragraphs(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    let mut para: Vec<&str> = Vec::new();
    let flush = |para: &mut Vec<&str>, out: &mut String| {
        if !para.is_empty() {
            let lines: Vec<String> = para.iter().map(|l| escape(l)).collect();
            out.push_str(&format!("<p>{}</p>", lines.join("<br/>")));
            para.clear();
        }
    };
    for line in text.split('\n') {
        if line.trim().is_empty() {
            flush(&mut para, &mut out);
        } else {
            para.push(line.trim_end());
        }
    }
    flush(&mut para, &mut out);
    out
}

/// A generated narrative around XHTML content (already escaped).
pub(super) fn narrative(xhtml: &str) -> Value {
    json!({
        "status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{xhtml}</div>")
    })
}

/// A FHIR date or dateTime as Norwegians write it: `2024-03-01T08:15:00+01:00` becomes
/// `01.03.2024 08:15`. Norwegian local offsets (+01:00, +02:00) are left out; another offset
/// is shown (`Z` as UTC). Anything not shaped like a date is returned as written.
pub(super) fn norwegian_time(s: &str) -> String {
    let s = s.trim();
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-')) {
        return s.to_string();
    }
    let (year, rest) = s.split_at(4);
    let date = match (rest.get(1..3), rest.get(4..6)) {
        (Some(m), Some(d)) if digits(5..7) && digits(8..10) && b.get(7) == Some(&b'-') => {
            format!("{d}.{m}.{year}")
        }
        (Some(m), _) if digits(5..7) && s.len() == 7 => format!("{m}.{year}"),
        _ => return s.to_string(),
    };
    let Some(time) = s.get(11..) else {
        return date;
    };
    if b.get(10) != Some(&b'T') || !(digits(11..13) && b.get(13) == Some(&b':') && digits(14..16)) {
        return s.to_string();
    }
    let zone = time.find(['Z', '+', '-']).map(|i| &time[i..]).unwrap_or("");
    let suffix = match zone {
        "" | "+01:00" | "+02:00" => String::new(),
        "Z" | "+00:00" | "-00:00" => " UTC".to_string(),
        other => format!(" ({other})"),
    };
    format!("{date} {}{suffix}", &time[..5])
}

// ---------------------------------------------------------------------------------------
// Sections, Composition and Bundle

/// A section coded from vkp-composition-section-v090, titled with the code's display.
pub(super) fn section(code: Code, xhtml: &str, entries: &[String]) -> Value {
    let mut title = code.display.to_string();
    if let Some(first) = title.get(..1) {
        title = first.to_uppercase() + &title[1..];
    }
    let mut s = json!({
        "title": title,
        "code": concept(COMPOSITION_SECTION_SYSTEM, code),
        "text": narrative(xhtml),
    });
    if !entries.is_empty() {
        s["entry"] = entries.iter().map(|u| entry_reference(u)).collect();
    }
    s
}

/// What differs between the kinds of document.
pub(super) struct Skeleton {
    /// Volven 9602 code of `Composition.type`.
    pub type_code: Code,
    pub title: String,
    /// `Composition.date`: when the content was last changed by its author.
    pub date: String,
    /// `Composition.identifier`, stable for the platform record across documents.
    pub identifier: Option<Value>,
    pub events: Vec<Value>,
    pub sections: Vec<Value>,
}

/// The Composition as the first entry, followed by `entries` (`fullUrl`, resource).
pub(super) fn document(
    h: &DocumentHeader,
    ids: &DocumentIds,
    skeleton: Skeleton,
    entries: Vec<(String, Value)>,
) -> Value {
    let mut c = Map::new();
    c.insert("resourceType".into(), json!("Composition"));
    c.insert("meta".into(), json!({"profile": [VKP_COMPOSITION]}));
    if let Some(identifier) = skeleton.identifier {
        c.insert("identifier".into(), identifier);
    }
    c.insert("status".into(), json!("final"));
    c.insert(
        "type".into(),
        concept(DOCUMENT_TYPE_SYSTEM, skeleton.type_code),
    );
    c.insert(
        "category".into(),
        json!([concept(COMPOSITION_CATEGORY_SYSTEM, CATEGORY_DHO)]),
    );
    c.insert("subject".into(), patient_reference(&h.patient));
    c.insert("date".into(), json!(skeleton.date.trim()));
    c.insert("author".into(), json!([author_reference(h)]));
    c.insert("title".into(), json!(skeleton.title));
    if !skeleton.events.is_empty() {
        c.insert("event".into(), Value::Array(skeleton.events));
    }
    if !skeleton.sections.is_empty() {
        c.insert("section".into(), Value::Array(skeleton.sections));
    }

    let mut all = vec![json!({
        "fullUrl": ids.full_url("Composition"),
        "resource": Value::Object(c),
    })];
    all.extend(
        entries
            .into_iter()
            .map(|(full_url, resource)| json!({"fullUrl": full_url, "resource": resource})),
    );
    json!({
        "resourceType": "Bundle",
        "identifier": {"system": URI_SYSTEM, "value": ids.document_urn()},
        "type": "document",
        "timestamp": h.created.trim(),
        "entry": all,
    })
}

// ---------------------------------------------------------------------------------------
// Observations copied into a document

/// An Observation as it travels in the document.
#[derive(Debug, Clone)]
pub(super) struct CopiedObservation {
    pub full_url: String,
    pub resource: Value,
}

/// Copies Observations into the document: each gets a `fullUrl` (from its id, so the same
/// Observation given twice is copied once), loses its server `id` and version metadata,
/// and refers to the patient by the document's logical identifier. References to other
/// copied Observations point at their `fullUrl`; the patient's own literal reference becomes
/// the logical one; other relative references (`Practitioner/…`, `Device/…`) cannot be
/// resolved by the receiver and lose their `reference`, keeping `identifier` and `display`
/// (and are dropped when nothing else is left).
pub(super) fn copy_observations(
    ids: &DocumentIds,
    patient: &PatientIdentity,
    observations: &[Value],
) -> Vec<CopiedObservation> {
    let mut local: HashMap<String, String> = HashMap::new();
    let mut out: Vec<CopiedObservation> = Vec::new();
    let mut planned: Vec<(String, &Value)> = Vec::new();
    for (i, o) in observations.iter().enumerate() {
        let name = match str_of(o, "id").and_then(non_empty) {
            Some(id) => format!("Observation/{id}"),
            None => format!("Observation#{i}"),
        };
        if local.contains_key(&name) {
            continue;
        }
        let full_url = ids.full_url(&name);
        local.insert(name, full_url.clone());
        planned.push((full_url, o));
    }
    let logical = patient_reference(patient);
    for (full_url, original) in planned {
        let own_patient = original
            .get("subject")
            .and_then(|s| str_of(s, "reference"))
            .and_then(|r| match split_reference(r) {
                (Some(t), Some(id), _) if t == "Patient" => Some(id),
                _ => None,
            });
        let mut resource = original.clone();
        if let Value::Object(obj) = &mut resource {
            obj.shift_remove("id");
            if let Some(Value::Object(meta)) = obj.get_mut("meta") {
                for k in ["versionId", "lastUpdated", "source"] {
                    meta.shift_remove(k);
                }
            }
            if obj
                .get("meta")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                obj.shift_remove("meta");
            }
            obj.insert("subject".into(), logical.clone());
            let rewrite = Rewrite {
                own_patient: own_patient.as_deref(),
                logical: &logical,
                local: &local,
            };
            rewrite.children(obj, &["subject", "contained"]);
        }
        out.push(CopiedObservation { full_url, resource });
    }
    out
}

struct Rewrite<'a> {
    own_patient: Option<&'a str>,
    logical: &'a Value,
    local: &'a HashMap<String, String>,
}

/// What becomes of a Reference with a literal `reference`.
enum Action {
    Keep,
    Replace(Value),
    /// Relative to Helsebro, unresolvable for the receiver: the `reference` goes.
    Strip,
}

impl Rewrite<'_> {
    /// Rewrites every child of `obj` but those named in `skip`; removes children that lost
    /// all content and arrays that became empty.
    fn children(&self, obj: &mut Map<String, Value>, skip: &[&str]) {
        let keys: Vec<String> = obj.keys().cloned().collect();
        for k in keys {
            if skip.contains(&k.as_str()) {
                continue;
            }
            let drop = obj.get_mut(&k).is_some_and(|v| self.walk(v));
            if drop {
                obj.shift_remove(&k);
            } else {
                drop_if_empty(obj, &k);
            }
        }
    }

    /// Rewrites the references under `node`; true when `node` itself is to be removed.
    fn walk(&self, node: &mut Value) -> bool {
        match node {
            Value::Object(o) => {
                if let Some(r) = o.get("reference").and_then(Value::as_str) {
                    match self.action(r) {
                        Action::Keep => {}
                        Action::Replace(v) => {
                            *node = v;
                            return false;
                        }
                        Action::Strip => {
                            o.shift_remove("reference");
                            if o.is_empty() {
                                return true;
                            }
                        }
                    }
                }
                self.children(o, &[]);
                false
            }
            Value::Array(list) => {
                list.retain_mut(|v| !self.walk(v));
                false
            }
            _ => false,
        }
    }

    fn action(&self, r: &str) -> Action {
        let (ty, id, absolute) = split_reference(r);
        let (Some(ty), Some(id), None) = (ty, id, absolute) else {
            // `#contained`, `urn:uuid:…` and absolute URLs stay as written.
            return Action::Keep;
        };
        if ty == "Patient" && self.own_patient == Some(id.as_str()) {
            return Action::Replace(self.logical.clone());
        }
        match self.local.get(&format!("{ty}/{id}")) {
            Some(full_url) => Action::Replace(json!({"reference": full_url})),
            None => Action::Strip,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Observations as a narrative table

/// A decimal as Norwegians write it (decimal comma).
fn number(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string().replace('.', ",")),
        _ => None,
    }
}

fn quantity_text(q: &Value) -> Option<String> {
    let mut s = number(q.get("value")?)?;
    if let Some(c) = str_of(q, "comparator") {
        s = format!("{c}{s}");
    }
    if let Some(unit) = str_of(q, "unit").or_else(|| str_of(q, "code")) {
        s = format!("{s} {unit}");
    }
    Some(s)
}

fn concept_text(c: &Value) -> Option<String> {
    if let Some(t) = str_of(c, "text").and_then(non_empty) {
        return Some(t.to_string());
    }
    let codings = items(c, "coding");
    codings
        .iter()
        .find_map(|x| str_of(x, "display").and_then(non_empty))
        .or_else(|| codings.iter().find_map(|x| str_of(x, "code")))
        .map(str::to_string)
}

/// The `value[x]` of an Observation or component as text.
fn value_text(o: &Value) -> Option<String> {
    let obj = o.as_object()?;
    let (key, v) = obj.iter().find(|(k, _)| k.starts_with("value"))?;
    match key.as_str() {
        "valueQuantity" => quantity_text(v),
        "valueCodeableConcept" => concept_text(v),
        "valueBoolean" => v
            .as_bool()
            .map(|b| if b { "ja" } else { "nei" }.to_string()),
        "valueInteger" => number(v),
        "valueString" => v.as_str().map(str::to_string),
        "valueDateTime" | "valueTime" => v.as_str().map(norwegian_time),
        "valuePeriod" => period_text(v),
        "valueRange" => {
            let low = v.get("low").and_then(quantity_text).unwrap_or_default();
            let high = v.get("high").and_then(quantity_text).unwrap_or_default();
            Some(format!("{low}–{high}"))
        }
        "valueRatio" => {
            let n = v.get("numerator").and_then(quantity_text)?;
            let d = v.get("denominator").and_then(quantity_text)?;
            Some(format!("{n} / {d}"))
        }
        _ => None,
    }
}

fn period_text(p: &Value) -> Option<String> {
    match (str_of(p, "start"), str_of(p, "end")) {
        (Some(s), Some(e)) => Some(format!("{}–{}", norwegian_time(s), norwegian_time(e))),
        (Some(s), None) => Some(norwegian_time(s)),
        (None, Some(e)) => Some(format!("–{}", norwegian_time(e))),
        (None, None) => None,
    }
}

/// A blood pressure as `132/84 mmHg`; other components as `name value`, comma-separated.
fn components_text(o: &Value) -> Option<String> {
    let comps = items(o, "component");
    if comps.is_empty() {
        return None;
    }
    let key_of = |c: &Value| {
        c.get("code").and_then(|code| {
            items(code, "coding").iter().find_map(|x| {
                codes::component_of_coding(str_of(x, "system")?, str_of(x, "code")?).map(|k| k.key)
            })
        })
    };
    let find = |key: &str| comps.iter().copied().find(|c| key_of(c) == Some(key));
    if let (Some(sys), Some(dia)) = (find(codes::SYSTOLIC.key), find(codes::DIASTOLIC.key)) {
        let (sq, dq) = (sys.get("valueQuantity")?, dia.get("valueQuantity")?);
        let unit = str_of(sq, "unit")
            .or_else(|| str_of(sq, "code"))
            .unwrap_or("");
        let text = format!(
            "{}/{}",
            number(sq.get("value")?)?,
            number(dq.get("value")?)?
        );
        return Some(format!("{text} {unit}").trim_end().to_string());
    }
    let parts: Vec<String> = comps
        .iter()
        .filter_map(|c| {
            let name = c.get("code").and_then(concept_text)?;
            Some(format!("{name} {}", value_text(c)?))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The row of an Observation: what was measured, the value with its unit, and when.
pub(super) fn observation_row(o: &Value) -> [String; 3] {
    let what = o
        .get("code")
        .and_then(concept_text)
        .unwrap_or_else(|| "Ukjent måling".to_string());
    let value = value_text(o)
        .or_else(|| components_text(o))
        .or_else(|| {
            o.get("dataAbsentReason")
                .and_then(concept_text)
                .map(|r| format!("Ingen verdi ({r})"))
        })
        .unwrap_or_else(|| "Ingen verdi".to_string());
    let when = str_of(o, "effectiveDateTime")
        .or_else(|| str_of(o, "effectiveInstant"))
        .map(norwegian_time)
        .or_else(|| o.get("effectivePeriod").and_then(period_text))
        .or_else(|| str_of(o, "issued").map(norwegian_time))
        .unwrap_or_default();
    [what, value, when]
}

/// The Observations as an XHTML table: Måling, Verdi, Tidspunkt.
pub(super) fn observation_table(observations: &[CopiedObservation]) -> String {
    let mut t = String::from(
        "<table><thead><tr><th>Måling</th><th>Verdi</th><th>Tidspunkt</th></tr></thead><tbody>",
    );
    for o in observations {
        t.push_str("<tr>");
        for cell in observation_row(&o.resource) {
            t.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_based_ids_are_rfc4122_version_5() {
        // RFC 4122 DNS namespace, "python.org" (Python's uuid.uuid5).
        let dns = parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap();
        assert_eq!(
            Uuid::new_v5(&dns, b"python.org").to_string(),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
        assert!(parse_uuid("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}").is_none());
    }

    #[test]
    fn document_ids_are_stable_and_canonical() {
        let a = DocumentIds::new("6F2A3C1E-8B4D-4E7A-9C2F-1D3E5B7A9C01");
        assert_eq!(
            a.document_urn(),
            "urn:uuid:6f2a3c1e-8b4d-4e7a-9c2f-1d3e5b7a9c01"
        );
        let b = DocumentIds::new("urn:uuid:6f2a3c1e-8b4d-4e7a-9c2f-1d3e5b7a9c01");
        assert_eq!(a.document_urn(), b.document_urn());
        assert_eq!(a.full_url("Composition"), b.full_url("Composition"));
        assert_ne!(a.full_url("Composition"), a.full_url("Observation/x"));
        // Not a UUID: one is derived, always the same.
        let c = DocumentIds::new("doc-1");
        assert_eq!(c.document_urn(), DocumentIds::new("doc-1").document_urn());
        assert!(parse_uuid(&c.document_urn()).is_some());
        assert!(parse_uuid("6f2a3c1e8b4d4e7a9c2f1d3e5b7a9c0").is_none());
        assert!(parse_uuid("6f2a3c1e-8b4d-4e7a-9c2f-1d3e5b7a9c0g").is_none());
        assert!(parse_uuid("6f2a3c1e8-b4d-4e7a-9c2f-1d3e5b7a9c01").is_none());
        assert!(parse_uuid("6f2a3c1e8b4d4e7a9c2f1d3e5b7a9c01").is_some());
    }

    #[test]
    fn text_is_escaped_for_xhtml() {
        assert_eq!(
            escape("<script>a && b</script> \"x\" 'y'\u{7}"),
            "&lt;script&gt;a &amp;&amp; b&lt;/script&gt; &quot;x&quot; &#39;y&#39;"
        );
        assert_eq!(
            paragraphs("a\r\nb\n\n\n c <d>\n"),
            "<p>a<br/>b</p><p> c &lt;d&gt;</p>"
        );
        assert_eq!(paragraphs("  \n"), "");
    }

    #[test]
    fn times_are_shown_the_norwegian_way() {
        assert_eq!(
            norwegian_time("2024-03-01T08:15:00+01:00"),
            "01.03.2024 08:15"
        );
        assert_eq!(
            norwegian_time("2024-07-01T08:15:00.123+02:00"),
            "01.07.2024 08:15"
        );
        assert_eq!(
            norwegian_time("2024-03-01T07:15:00Z"),
            "01.03.2024 07:15 UTC"
        );
        assert_eq!(
            norwegian_time("2024-03-01T07:15:00-05:00"),
            "01.03.2024 07:15 (-05:00)"
        );
        assert_eq!(norwegian_time("2024-03-01"), "01.03.2024");
        assert_eq!(norwegian_time("2024-03"), "03.2024");
        assert_eq!(norwegian_time("2024"), "2024");
        assert_eq!(norwegian_time("i går"), "i går");
    }

    #[test]
    fn observation_rows_render_values() {
        let row = observation_row(&json!({
            "code": {"coding": [{"code": "x", "display": "Kroppstemperatur"}]},
            "valueQuantity": {"value": 37.5, "unit": "°C"},
            "effectiveInstant": "2024-03-01T08:15:00.000+01:00"
        }));
        assert_eq!(
            row,
            ["Kroppstemperatur", "37,5 °C", "01.03.2024 08:15"].map(String::from)
        );
        let row = observation_row(&json!({
            "code": {"coding": [{"system": "urn:x", "code": "q"}]},
            "dataAbsentReason": {"text": "Målt feil"}
        }));
        assert_eq!(row, ["q", "Ingen verdi (Målt feil)", ""].map(String::from));
    }
}
