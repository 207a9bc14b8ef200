use serde_json::{json, Value};

use super::model::{compile_spec_regex, Pattern, MATCHERS};
use super::*;

mod fixtures;

fn issues(resource: &Value) -> Vec<StructureIssue> {
    check_resource(resource)
}

fn errors(resource: &Value) -> Vec<StructureIssue> {
    check_resource(resource)
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .collect()
}

/// Asserts exactly one issue and returns it.
#[track_caller]
fn single(resource: &Value) -> StructureIssue {
    let found = issues(resource);
    assert_eq!(found.len(), 1, "expected one issue, got {found:#?}");
    found.into_iter().next().unwrap()
}

#[track_caller]
fn assert_issue(resource: &Value, kind: IssueKind, expression: &str, message: &str) {
    let issue = single(resource);
    assert_eq!(
        (
            issue.severity,
            issue.kind,
            issue.expression.as_str(),
            issue.message.as_str()
        ),
        (Severity::Error, kind, expression, message)
    );
}

#[track_caller]
fn assert_clean(resource: &Value) {
    let found = issues(resource);
    assert!(found.is_empty(), "expected no issues, got {found:#?}");
}

#[track_caller]
fn expressions(resource: &Value) -> Vec<String> {
    issues(resource).into_iter().map(|i| i.expression).collect()
}

// ---- the model ----------------------------------------------------------------------------

#[test]
fn model_loads_and_knows_resource_types() {
    assert!(is_resource_type("Patient"));
    assert!(is_resource_type("Bundle"));
    assert!(is_resource_type("Parameters"));
    assert!(is_resource_type("QuestionnaireResponse"));
    assert!(!is_resource_type("Resource"));
    assert!(!is_resource_type("DomainResource"));
    assert!(!is_resource_type("HumanName"));
    assert!(!is_resource_type("patient"));
    assert!(!is_resource_type("Foo"));
    let concrete = MODEL.resources.values().filter(|r| !r.is_abstract).count();
    assert_eq!(concrete, 146, "R4 has 146 concrete resource types");
}

#[test]
fn every_spec_regex_has_a_fast_matcher() {
    // The regex fallback is correct but slow; a regenerated data file should not fall back
    // silently.
    for p in &MODEL.prims {
        assert!(
            !matches!(p.pattern, Pattern::Regex(_)),
            "{} has no hand-written matcher",
            p.name
        );
    }
}

/// Deterministic strings over an alphabet that exercises the date, time, oid, uuid, id and
/// base64 grammars.
fn samples() -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        " ",
        "a",
        "a b",
        "a  b",
        " a",
        "a ",
        "a\tb",
        "a\u{0B}b",
        "a\u{0C}b",
        "\u{A0}",
        "x\u{A0}y",
        "abc",
        "AB-c.9",
        "a_b",
        "1970",
        "0000",
        "0001",
        "1000",
        "1970-01",
        "1970-00",
        "1970-13",
        "1970-12-31",
        "1970-12-32",
        "1970-02-30",
        "1970-1-01",
        "1970-01-01T10:00:00Z",
        "1970-01-01T10:00:00",
        "1970-01-01T24:00:00Z",
        "1970-01-01T23:59:60.123+14:00",
        "1970-01-01T23:59:59+14:01",
        "1970-01-01T23:59:59-13:59",
        "1970-01-01T23:59:59.+01:00",
        "1970-01-01T10:00Z",
        "1970-01-01T10:00:00z",
        "10:00:00",
        "10:00",
        "23:59:60.5",
        "24:00:00",
        "10:00:00Z",
        "urn:oid:1.2.3",
        "urn:oid:3.1",
        "urn:oid:1",
        "urn:oid:1.02",
        "urn:oid:1.0.10",
        "urn:oid:1..2",
        "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7",
        "urn:uuid:53FEFA32-fcbb-4ff8-8a92-55ee120877b7",
        "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b",
        "urn:uuid:53fefa32fcbb-4ff8-8a92-55ee120877b7-",
        "QUJD",
        "QUJD RA==",
        "QUJ D",
        "QU==",
        "  QUJD  ",
        "QUJDR",
        "QUJ=",
        "a+/=",
        "code with single spaces",
        "http://example.org/a?b=c",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let alphabet: Vec<char> = "0123456789-:T+Z.abAF /=\turn:oid".chars().collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 28) as usize;
        let s: String = (0..len)
            .map(|k| alphabet[((state >> (k % 48)) as usize + k * 7) % alphabet.len()])
            .collect();
        out.push(s);
    }
    // Mutations of valid values hit the grammars' edges more often than random text.
    for base in [
        "2017-01-01T00:00:00.000Z",
        "1999-12-31T23:59:60+14:00",
        "urn:oid:2.16.840.1.113883",
        "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162",
        "12:30:45.5",
    ] {
        for i in 0..base.len() {
            for c in ['0', '9', '1', '3', '6', ':', '-', 'x', ' '] {
                let mut s = base.to_string();
                s.replace_range(i..i + 1, &c.to_string());
                out.push(s);
            }
            out.push(base[..i].to_string());
        }
    }
    out
}

#[test]
fn fast_matchers_agree_with_the_spec_regexes() {
    let samples = samples();
    for &(source, matcher) in MATCHERS {
        let re = compile_spec_regex(source);
        for s in &samples {
            assert_eq!(
                matcher(s),
                re.is_match(s),
                "matcher for {source:?} disagrees with the regex on {s:?}"
            );
        }
    }
}

#[test]
fn spec_regexes_use_java_whitespace() {
    // Java's \S includes U+00A0; the regex crate's Unicode \S would not.
    let re = compile_spec_regex(r"\S*");
    assert!(re.is_match("a\u{A0}b"));
    assert!(!re.is_match("a b"));
}

// ---- the R4 examples ----------------------------------------------------------------------

#[test]
fn core_examples_have_no_errors() {
    for (name, text) in fixtures::ALL {
        let value: Value = serde_json::from_str(text).unwrap();
        let found = errors(&value);
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}

#[test]
fn broken_copy_of_an_example_is_reported_in_document_order() {
    let mut patient: Value = serde_json::from_str(fixtures::PATIENT_EXAMPLE).unwrap();
    patient["birthDate"] = json!("1974-02-30");
    patient["name"][0]["given"][1] = json!("");
    patient["contact"][0]["foo"] = json!(true);
    patient["text"]["div"] = json!("<div>no namespace</div>");
    assert_eq!(
        expressions(&patient),
        [
            "Patient.text.div",
            "Patient.name[0].given[1]",
            "Patient.birthDate",
            "Patient.contact[0].foo",
        ]
    );
}

// ---- the resource itself ------------------------------------------------------------------

#[test]
fn resource_must_be_an_object_with_a_known_concrete_type() {
    assert_issue(
        &json!([]),
        IssueKind::Structure,
        "Resource",
        "a resource must be a JSON object, found an array",
    );
    assert_issue(
        &json!({"id": "x"}),
        IssueKind::Required,
        "Resource",
        "required element 'resourceType' is missing",
    );
    assert_issue(
        &json!({"resourceType": 1}),
        IssueKind::Structure,
        "Resource",
        "'resourceType' must be a string, found a number",
    );
    assert_issue(
        &json!({"resourceType": "Patients"}),
        IssueKind::Invalid,
        "Resource",
        "unknown resource type 'Patients'",
    );
    assert_issue(
        &json!({"resourceType": "DomainResource"}),
        IssueKind::Invalid,
        "DomainResource",
        "'DomainResource' is an abstract type; a resource must have a concrete type",
    );
    assert_clean(&json!({"resourceType": "Patient"}));
}

// ---- unknown elements ---------------------------------------------------------------------

#[test]
fn unknown_elements_are_reported_with_their_type() {
    assert_issue(
        &json!({"resourceType": "Patient", "foo": 1}),
        IssueKind::Structure,
        "Patient.foo",
        "unknown element 'foo' in Patient",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"family": "A", "foo": "x"}]}),
        IssueKind::Structure,
        "Patient.name[0].foo",
        "unknown element 'foo' in HumanName",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contact": [{"gender": "male", "foo": "x"}]}),
        IssueKind::Structure,
        "Patient.contact[0].foo",
        "unknown element 'foo' in Patient.contact",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "maritalStatus": {"resourceType": "Patient", "text": "x"}}),
        IssueKind::Structure,
        "Patient.maritalStatus.resourceType",
        "unknown element 'resourceType' in CodeableConcept",
    );
    // `_` is for primitives only.
    assert_issue(
        &json!({"resourceType": "Patient", "_name": [{"id": "a"}]}),
        IssueKind::Structure,
        "Patient._name",
        "unknown element '_name' in Patient",
    );
    // Element names are case sensitive.
    assert_issue(
        &json!({"resourceType": "Patient", "BirthDate": "1970"}),
        IssueKind::Structure,
        "Patient.BirthDate",
        "unknown element 'BirthDate' in Patient",
    );
}

#[test]
fn inherited_elements_are_known() {
    assert_clean(&json!({
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"versionId": "1", "lastUpdated": "2020-01-01T00:00:00Z"},
        "implicitRules": "http://example.org/rules",
        "language": "nb",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "extension": [{"url": "http://example.org/e", "valueString": "x"}],
        "modifierExtension": [{"url": "http://example.org/m", "valueBoolean": true}],
        "contact": [{"id": "c1", "extension": [{"url": "http://example.org/e", "valueInteger": 1}],
                     "modifierExtension": [{"url": "http://example.org/m", "valueCode": "a"}],
                     "gender": "female"}],
        "name": [{"id": "n1", "family": "Nordmann"}]
    }));
    // Age, Duration and friends are specializations of Quantity.
    assert_clean(&json!({
        "resourceType": "Condition",
        "subject": {"reference": "Patient/1"},
        "onsetAge": {"value": 52, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}
    }));
}

// ---- JSON kinds and arrays ----------------------------------------------------------------

#[test]
fn arrays_exactly_where_max_is_above_one() {
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"given": "Kari"}]}),
        IssueKind::Structure,
        "Patient.name[0].given",
        "expected an array for 'given' (max cardinality *), found a string",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "telecom": {"system": "phone"}}),
        IssueKind::Structure,
        "Patient.telecom",
        "expected an array for 'telecom' (max cardinality *), found an object",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "birthDate": ["1970"]}),
        IssueKind::Structure,
        "Patient.birthDate",
        "expected a single value for 'birthDate' (max cardinality 1), found an array",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "maritalStatus": [{"text": "x"}]}),
        IssueKind::Structure,
        "Patient.maritalStatus",
        "expected a single value for 'maritalStatus' (max cardinality 1), found an array",
    );
}

#[test]
fn objects_for_complex_types() {
    assert_issue(
        &json!({"resourceType": "Patient", "maritalStatus": "M"}),
        IssueKind::Structure,
        "Patient.maritalStatus",
        "expected an object for 'maritalStatus' (CodeableConcept), found a string",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"family": "A"}, null]}),
        IssueKind::Structure,
        "Patient.name[1]",
        "expected an object for 'name' (HumanName), found null",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contact": ["x"]}),
        IssueKind::Structure,
        "Patient.contact[0]",
        "expected an object for 'contact' (Patient.contact), found a string",
    );
}

#[test]
fn json_kinds_of_primitives() {
    assert_issue(
        &json!({"resourceType": "Patient", "active": "true"}),
        IssueKind::Structure,
        "Patient.active",
        "expected a boolean for 'active', found a string",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "birthDate": 1970}),
        IssueKind::Structure,
        "Patient.birthDate",
        "expected a string for 'birthDate' (date), found a number",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "multipleBirthInteger": "2"}),
        IssueKind::Structure,
        "Patient.multipleBirthInteger",
        "expected a number for 'multipleBirthInteger' (integer), found a string",
    );
    assert_issue(
        &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                "valueQuantity": {"value": "1.5", "unit": "mg"}}),
        IssueKind::Structure,
        "Observation.valueQuantity.value",
        "expected a number for 'value' (decimal), found a string",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "gender": {"code": "male"}}),
        IssueKind::Structure,
        "Patient.gender",
        "expected a string for 'gender' (code), found an object",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "birthDate": null}),
        IssueKind::Structure,
        "Patient.birthDate",
        "null is not allowed for 'birthDate'",
    );
}

#[test]
fn empty_objects_arrays_and_strings() {
    assert_issue(
        &json!({"resourceType": "Patient", "name": []}),
        IssueKind::Structure,
        "Patient.name",
        "empty arrays are not allowed: omit 'name' instead",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{}]}),
        IssueKind::Structure,
        "Patient.name[0]",
        "empty objects are not allowed: an element must have a value or children",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"family": ""}]}),
        IssueKind::Value,
        "Patient.name[0].family",
        "empty strings are not allowed: omit 'family' instead",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contact": [{"id": "c1"}]}),
        IssueKind::Invalid,
        "Patient.contact[0]",
        "an element must have a value or children besides 'id' (ele-1)",
    );
}

// ---- primitive formats --------------------------------------------------------------------

fn patient_with(key: &str, value: Value) -> Value {
    let mut p = json!({"resourceType": "Patient"});
    p[key] = value;
    p
}

fn extension_with(key: &str, value: Value) -> Value {
    let mut e = json!({"url": "http://example.org/e"});
    e[key] = value;
    json!({"resourceType": "Patient", "extension": [e]})
}

#[track_caller]
fn assert_value_error(resource: &Value, expression: &str, message: &str) {
    assert_issue(resource, IssueKind::Value, expression, message);
}

#[test]
fn dates() {
    for ok in ["1970", "1970-12", "1970-12-31", "2000-02-29"] {
        assert_clean(&patient_with("birthDate", json!(ok)));
    }
    assert_value_error(
        &patient_with("birthDate", json!("1970-13-01")),
        "Patient.birthDate",
        "'1970-13-01' is not a valid date",
    );
    assert_value_error(
        &patient_with("birthDate", json!("1970-1-1")),
        "Patient.birthDate",
        "'1970-1-1' is not a valid date",
    );
    assert_value_error(
        &patient_with("birthDate", json!("1970-01-01T00:00:00Z")),
        "Patient.birthDate",
        "'1970-01-01T00:00:00Z' is not a valid date",
    );
    assert_value_error(
        &patient_with("birthDate", json!("1900-02-29")),
        "Patient.birthDate",
        "'1900-02-29' is not a valid date (no such day)",
    );
    assert_value_error(
        &patient_with("birthDate", json!("1970-04-31")),
        "Patient.birthDate",
        "'1970-04-31' is not a valid date (no such day)",
    );
}

#[test]
fn date_times_instants_and_times() {
    for ok in [
        "2015",
        "2015-02",
        "2015-02-07",
        "2015-02-07T13:28:17-05:00",
        "2017-01-01T00:00:00.000Z",
    ] {
        assert_clean(&patient_with("deceasedDateTime", json!(ok)));
    }
    assert_value_error(
        &patient_with("deceasedDateTime", json!("2015-02-07T13:28:17")),
        "Patient.deceasedDateTime",
        "'2015-02-07T13:28:17' is not a valid dateTime",
    );
    assert_value_error(
        &patient_with("deceasedDateTime", json!("2015-02-30T13:28:17Z")),
        "Patient.deceasedDateTime",
        "'2015-02-30T13:28:17Z' is not a valid dateTime (no such day)",
    );
    let obs = |issued: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
               "issued": issued, "valueTime": "10:00:00"})
    };
    assert_clean(&obs("2015-02-07T13:28:17.239+02:00"));
    assert_value_error(
        &obs("2015-02-07"),
        "Observation.issued",
        "'2015-02-07' is not a valid instant",
    );
    assert_value_error(
        &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                "valueTime": "25:00:00"}),
        "Observation.valueTime",
        "'25:00:00' is not a valid time",
    );
}

#[test]
fn ids_codes_and_uris() {
    assert_clean(&patient_with("id", json!("example-1.a")));
    assert_value_error(
        &patient_with("id", json!("a_b")),
        "Patient.id",
        "'a_b' is not a valid id",
    );
    let long = "a".repeat(65);
    assert_value_error(
        &patient_with("id", json!(long)),
        "Patient.id",
        &format!("'{long}' is not a valid id"),
    );
    // Element ids are plain strings.
    assert_clean(&json!({"resourceType": "Patient", "name": [{"id": "name #1", "family": "A"}]}));
    assert_value_error(
        &patient_with("gender", json!("male ")),
        "Patient.gender",
        "'male ' is not a valid code",
    );
    assert_clean(&extension_with("valueCode", json!("two words")));
    assert_value_error(
        &extension_with("valueCode", json!("two  spaces")),
        "Patient.extension[0].valueCode",
        "'two  spaces' is not a valid code",
    );
    assert_value_error(
        &patient_with("implicitRules", json!("http://example.org/a b")),
        "Patient.implicitRules",
        "'http://example.org/a b' is not a valid uri",
    );
    assert_value_error(
        &extension_with("valueCanonical", json!("http://x|1 ")),
        "Patient.extension[0].valueCanonical",
        "'http://x|1 ' is not a valid canonical",
    );
    assert_value_error(
        &json!({"resourceType": "Patient", "extension": [{"url": "http://a b", "valueString": "x"}]}),
        "Patient.extension[0].url",
        "'http://a b' is not a valid uri",
    );
}

#[test]
fn oids_uuids_and_base64() {
    assert_clean(&extension_with(
        "valueOid",
        json!("urn:oid:2.16.578.1.12.4.1.4.1"),
    ));
    assert_value_error(
        &extension_with("valueOid", json!("urn:oid:3.1")),
        "Patient.extension[0].valueOid",
        "'urn:oid:3.1' is not a valid oid",
    );
    assert_clean(&extension_with(
        "valueUuid",
        json!("urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7"),
    ));
    assert_value_error(
        &extension_with("valueUuid", json!("53fefa32-fcbb-4ff8-8a92-55ee120877b7")),
        "Patient.extension[0].valueUuid",
        "'53fefa32-fcbb-4ff8-8a92-55ee120877b7' is not a valid uuid",
    );
    let photo = |data: &str| json!({"resourceType": "Patient", "photo": [{"contentType": "image/png", "data": data}]});
    assert_clean(&photo("iVBORw0K GgoAAAAN"));
    assert_value_error(
        &photo("abc"),
        "Patient.photo[0].data",
        "'abc' is not a valid base64Binary",
    );
    assert_value_error(
        &photo("ab!d"),
        "Patient.photo[0].data",
        "'ab!d' is not a valid base64Binary",
    );
}

#[test]
fn long_values_are_shortened_in_messages() {
    let data = "A".repeat(201);
    let issue = single(&json!({"resourceType": "Patient", "photo": [{"data": data}]}));
    assert_eq!(
        issue.message,
        format!("'{}...' is not a valid base64Binary", "A".repeat(80))
    );
}

#[test]
fn integers() {
    assert_clean(&patient_with(
        "multipleBirthInteger",
        json!(-2147483648_i64),
    ));
    assert_value_error(
        &patient_with("multipleBirthInteger", json!(2147483648_i64)),
        "Patient.multipleBirthInteger",
        "2147483648 is not a valid integer (allowed range -2147483648 to 2147483647)",
    );
    assert_value_error(
        &patient_with("multipleBirthInteger", json!(u64::MAX)),
        "Patient.multipleBirthInteger",
        "18446744073709551615 is not a valid integer (allowed range -2147483648 to 2147483647)",
    );
    assert_value_error(
        &patient_with("multipleBirthInteger", json!(1.5)),
        "Patient.multipleBirthInteger",
        "1.5 is not a valid integer (must be a whole number)",
    );
    assert_value_error(
        &extension_with("valuePositiveInt", json!(0)),
        "Patient.extension[0].valuePositiveInt",
        "0 is not a valid positiveInt (allowed range 1 to 2147483647)",
    );
    assert_value_error(
        &json!({"resourceType": "Patient", "photo": [{"size": -1}]}),
        "Patient.photo[0].size",
        "-1 is not a valid unsignedInt (allowed range 0 to 2147483647)",
    );
    assert_clean(&extension_with("valueDecimal", json!(1e-3)));
}

#[test]
fn control_characters_in_strings_are_a_warning() {
    let issue = single(&json!({"resourceType": "Patient", "name": [{"family": "A\u{0001}B"}]}));
    assert_eq!(issue.severity, Severity::Warning);
    assert_eq!(issue.kind, IssueKind::Value);
    assert_eq!(issue.expression, "Patient.name[0].family");
    assert_clean(&json!({"resourceType": "Patient", "name": [{"text": "line 1\r\n\tline 2"}]}));
}

// ---- primitive extensions (`_name`) -------------------------------------------------------

#[test]
fn single_primitive_extension() {
    assert_clean(
        &json!({"resourceType": "Patient", "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                       "valueDateTime": "1974-12-25T14:35:45-05:00"}]}}),
    );
    // An extension can stand in for a missing value, and counts for cardinality.
    assert_clean(
        &json!({"resourceType": "Observation", "code": {"text": "x"},
        "_status": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                                    "valueCode": "unknown"}]}}),
    );
    assert_issue(
        &json!({"resourceType": "Patient", "birthDate": "1974", "_birthDate": [{"id": "x"}]}),
        IssueKind::Structure,
        "Patient.birthDate",
        "expected a single value for '_birthDate' (max cardinality 1), found an array",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "_birthDate": {"foo": 1}}),
        IssueKind::Structure,
        "Patient.birthDate.foo",
        "unknown element 'foo' in Element",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "_birthDate": {"extension": [{"valueString": "x"}]}}),
        IssueKind::Required,
        "Patient.birthDate.extension[0]",
        "required element 'url' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "_birthDate": {"id": "x"}}),
        IssueKind::Invalid,
        "Patient.birthDate",
        "'birthDate' has neither a value nor extensions (ele-1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "_birthDate": "x"}),
        IssueKind::Structure,
        "Patient.birthDate",
        "expected an object with the id and extensions of 'birthDate' (date), found a string",
    );
}

#[test]
fn repeating_primitive_extensions_align_with_nulls() {
    let ext = json!({"extension": [{"url": "http://example.org/e", "valueString": "x"}]});
    assert_clean(&json!({"resourceType": "Patient", "name": [{
        "given": ["Kari", null, "Ola"], "_given": [null, ext, {"id": "g3"}]}]}));
    // Only extensions, no values at all.
    assert_clean(&json!({"resourceType": "Patient", "name": [{"_given": [ext]}]}));
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"given": ["Kari", null]}]}),
        IssueKind::Structure,
        "Patient.name[0].given[1]",
        "null in 'given' is only allowed where '_given' has an extension at the same position",
    );
    // Both null at one position: reported once, on the value.
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"given": ["Kari", null], "_given": [ext, null]}]}),
        IssueKind::Structure,
        "Patient.name[0].given[1]",
        "null in 'given' is only allowed where '_given' has an extension at the same position",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"given": ["Kari"], "_given": [null, ext]}]}),
        IssueKind::Structure,
        "Patient.name[0].given",
        "'_given' must have as many entries as 'given' (2 vs 1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"_given": [null]}]}),
        IssueKind::Structure,
        "Patient.name[0].given[0]",
        "null in '_given' is only allowed where 'given' has a value at the same position",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "name": [{"given": ["Kari"], "_given": ext}]}),
        IssueKind::Structure,
        "Patient.name[0].given",
        "expected an array for '_given' (max cardinality *), found an object",
    );
    assert_eq!(
        expressions(&json!({"resourceType": "Patient", "name": [{
            "given": ["Kari", "Ola"], "_given": [null, {"extension": [{"url": "http://e"}]}]}]})),
        ["Patient.name[0].given[1].extension[0]"]
    );
}

// ---- choice types -------------------------------------------------------------------------

fn observation(extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

#[test]
fn choice_types() {
    assert_clean(&observation(
        json!({"valueQuantity": {"value": 1, "unit": "mg"},
                                      "effectiveDateTime": "2020-01-01"}),
    ));
    assert_clean(&observation(json!({"valueCodeableConcept": {"text": "x"},
                                      "effectivePeriod": {"start": "2020"}})));
    assert_clean(&observation(
        json!({"valueString": "x", "_valueString": {"id": "a"}}),
    ));
    assert_issue(
        &observation(json!({"valueQuantity": {"value": 1}, "valueString": "x"})),
        IssueKind::Structure,
        "Observation.valueString",
        "'value[x]' allows only one type, but both 'valueQuantity' and 'valueString' are present",
    );
    assert_issue(
        &observation(
            json!({"_valueBoolean": {"extension": [{"url": "http://e", "valueCode": "x"}]},
                            "valueString": "x"}),
        ),
        IssueKind::Structure,
        "Observation.valueString",
        "'value[x]' allows only one type, but both 'valueBoolean' and 'valueString' are present",
    );
    // A type that value[x] does not allow here, and the bare name.
    assert_issue(
        &observation(json!({"valueReference": {"reference": "Patient/1"}})),
        IssueKind::Structure,
        "Observation.valueReference",
        "unknown element 'valueReference' in Observation",
    );
    assert_issue(
        &observation(json!({"value": 1})),
        IssueKind::Structure,
        "Observation.value",
        "unknown element 'value' in Observation",
    );
    assert_issue(
        &observation(json!({"valueQuantity": {"value": 1, "unit": 5}})),
        IssueKind::Structure,
        "Observation.valueQuantity.unit",
        "expected a string for 'unit', found a number",
    );
}

// ---- required elements --------------------------------------------------------------------

#[test]
fn required_elements() {
    assert_issue(
        &json!({"resourceType": "Observation", "code": {"text": "x"}}),
        IssueKind::Required,
        "Observation",
        "required element 'status' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Observation", "status": "final"}),
        IssueKind::Required,
        "Observation",
        "required element 'code' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Bundle"}),
        IssueKind::Required,
        "Bundle",
        "required element 'type' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "link": [{"type": "seealso"}]}),
        IssueKind::Required,
        "Patient.link[0]",
        "required element 'other' is missing (min 1)",
    );
    assert_issue(
        &observation(json!({"component": [{"valueString": "x"}]})),
        IssueKind::Required,
        "Observation.component[0]",
        "required element 'code' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Communication", "status": "completed",
                "payload": [{"id": "p", "extension": [{"url": "http://e", "valueString": "x"}]}]}),
        IssueKind::Required,
        "Communication.payload[0]",
        "required element 'content[x]' is missing (min 1)",
    );
    // Nothing in a Reference is required.
    assert_clean(
        &json!({"resourceType": "Patient", "generalPractitioner": [{"display": "Dr. A"}]}),
    );
    assert_clean(
        &json!({"resourceType": "MedicationStatement", "status": "active",
                         "medicationCodeableConcept": {"text": "x"}, "subject": {"display": "A"}}),
    );
}

// ---- nested resources and recursion -------------------------------------------------------

#[test]
fn contained_resources_are_checked() {
    assert_issue(
        &json!({"resourceType": "Patient", "contained": [
            {"resourceType": "Organization", "id": "o", "name": "A"},
            {"resourceType": "Practitioner", "id": "p", "code": "x"}]}),
        IssueKind::Structure,
        "Patient.contained[1].code",
        "unknown element 'code' in Practitioner",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contained": [{"resourceType": "Observation", "id": "o", "code": {"text": "x"}}]}),
        IssueKind::Required,
        "Patient.contained[0]",
        "required element 'status' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contained": [{"id": "x"}]}),
        IssueKind::Required,
        "Patient.contained[0]",
        "required element 'resourceType' is missing",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contained": [{"resourceType": "Pasient"}]}),
        IssueKind::Invalid,
        "Patient.contained[0]",
        "unknown resource type 'Pasient'",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contained": {"resourceType": "Organization", "name": "x"}}),
        IssueKind::Structure,
        "Patient.contained",
        "expected an array for 'contained' (max cardinality *), found an object",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "o",
            "contained": [{"resourceType": "Organization", "id": "o2"}]}]}),
        IssueKind::Invalid,
        "Patient.contained[0].contained",
        "a contained resource must not contain other resources (dom-2)",
    );
}

#[test]
fn bundle_entries_are_checked() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7",
         "resource": {"resourceType": "Patient", "birthDate": "1970-13-01"}},
        {"resource": {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "contained": [
                {"resourceType": "Organization", "name": "x"}]}}]}},
        {"request": {"method": "GET"}}
    ]});
    assert_eq!(
        issues(&bundle)
            .into_iter()
            .map(|i| (i.expression, i.message))
            .collect::<Vec<_>>(),
        [
            (
                "Bundle.entry[0].resource.birthDate".to_string(),
                "'1970-13-01' is not a valid date".to_string()
            ),
            (
                "Bundle.entry[2].request".to_string(),
                "required element 'url' is missing (min 1)".to_string()
            ),
        ]
    );
}

#[test]
fn parameters_resources_and_parts_are_checked() {
    let parameters = json!({"resourceType": "Parameters", "parameter": [
        {"name": "patient", "resource": {"resourceType": "Patient", "gender": "male "}},
        {"name": "group", "part": [{"name": "a", "valueString": "x"}, {"name": "b", "foo": 1},
                                  {"part": [{"name": "c", "valueInteger": 1}]}]}
    ]});
    assert_eq!(
        expressions(&parameters),
        [
            "Parameters.parameter[0].resource.gender",
            "Parameters.parameter[1].part[1].foo",
            "Parameters.parameter[1].part[2]",
        ]
    );
    let found = issues(&parameters);
    assert_eq!(
        found[1].message,
        "unknown element 'foo' in Parameters.parameter"
    );
    assert_eq!(
        found[2].message,
        "required element 'name' is missing (min 1)"
    );
}

#[test]
fn content_references_recurse() {
    let q = json!({"resourceType": "Questionnaire", "status": "draft", "item": [
        {"linkId": "1", "type": "group", "item": [
            {"linkId": "1.1", "type": "group", "item": [{"type": "string", "text": "deep"}]},
            {"linkId": "1.2", "type": "string", "foo": true}]}]});
    assert_eq!(
        issues(&q)
            .into_iter()
            .map(|i| (i.expression, i.message))
            .collect::<Vec<_>>(),
        [
            (
                "Questionnaire.item[0].item[0].item[0]".to_string(),
                "required element 'linkId' is missing (min 1)".to_string()
            ),
            (
                "Questionnaire.item[0].item[1].foo".to_string(),
                "unknown element 'foo' in Questionnaire.item".to_string()
            ),
        ]
    );
    assert_issue(
        &json!({"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
            {"linkId": "1", "answer": [{"valueString": "x", "item": [{"linkId": "1.1", "answer": [{"valueDate": "2020-02-30"}]}]}]}]}),
        IssueKind::Value,
        "QuestionnaireResponse.item[0].answer[0].item[0].answer[0].valueDate",
        "'2020-02-30' is not a valid date (no such day)",
    );
}

// ---- extensions and narrative -------------------------------------------------------------

#[test]
fn extensions() {
    assert_clean(&json!({"resourceType": "Patient", "extension": [
        {"url": "http://example.org/complex", "extension": [
            {"url": "a", "valueString": "x"}, {"url": "b", "valueCoding": {"code": "c"}}]}]}));
    assert_issue(
        &json!({"resourceType": "Patient", "extension": [{"valueString": "x"}]}),
        IssueKind::Required,
        "Patient.extension[0]",
        "required element 'url' is missing (min 1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "extension": [{"url": "http://e", "valueString": "x", "valueCode": "y"}]}),
        IssueKind::Structure,
        "Patient.extension[0].valueCode",
        "'value[x]' allows only one type, but both 'valueString' and 'valueCode' are present",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "extension": [{"url": "http://e", "valueString": "x",
                                                         "extension": [{"url": "a", "valueString": "y"}]}]}),
        IssueKind::Invalid,
        "Patient.extension[0]",
        "an extension must have either extensions or a value[x], not both (ext-1)",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "modifierExtension": [{"url": "http://e"}]}),
        IssueKind::Invalid,
        "Patient.modifierExtension[0]",
        "an extension must have either extensions or a value[x] (ext-1)",
    );
    // The unknown property is not a value, so ext-1 fails as well.
    assert_eq!(
        issues(
            &json!({"resourceType": "Patient", "extension": [{"url": "http://e", "valueFoo": "x"}]})
        )
        .into_iter()
        .map(|i| (i.expression, i.message))
        .collect::<Vec<_>>(),
        [
            (
                "Patient.extension[0]".to_string(),
                "an extension must have either extensions or a value[x] (ext-1)".to_string()
            ),
            (
                "Patient.extension[0].valueFoo".to_string(),
                "unknown element 'valueFoo' in Extension".to_string()
            ),
        ]
    );
}

fn narrative(div: Value) -> Value {
    json!({"resourceType": "Patient", "text": {"status": "generated", "div": div}})
}

#[test]
fn narrative_div() {
    assert_clean(&narrative(json!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Kari</p></div>"
    )));
    assert_clean(&narrative(json!(
        "<div class=\"a>b\" xmlns = 'http://www.w3.org/1999/xhtml' lang=\"nb\">x</div>"
    )));
    assert_value_error(
        &narrative(json!("<p xmlns=\"http://www.w3.org/1999/xhtml\">x</p>")),
        "Patient.text.div",
        "the narrative must be an XHTML fragment whose root element is <div>",
    );
    assert_value_error(
        &narrative(json!(
            "<division xmlns=\"http://www.w3.org/1999/xhtml\">x</division>"
        )),
        "Patient.text.div",
        "the narrative must be an XHTML fragment whose root element is <div>",
    );
    assert_value_error(
        &narrative(json!("<div>x</div>")),
        "Patient.text.div",
        "the narrative <div> must declare the XHTML namespace (xmlns=\"http://www.w3.org/1999/xhtml\")",
    );
    assert_value_error(
        &narrative(json!("<div xmlns=\"http://www.w3.org/1999/html\">x</div>")),
        "Patient.text.div",
        "the narrative <div> must declare the XHTML namespace (xmlns=\"http://www.w3.org/1999/xhtml\")",
    );
    assert_value_error(
        &narrative(json!("<div xmlns=http://www.w3.org/1999/xhtml>x</div>")),
        "Patient.text.div",
        "the narrative <div> start tag is malformed",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "text": {"status": "generated",
            "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>",
            "_div": {"extension": [{"url": "http://e", "valueString": "x"}]}}}),
        IssueKind::Structure,
        "Patient.text._div",
        "unknown element '_div' in Narrative",
    );
    assert_issue(
        &narrative(json!({"div": "x"})),
        IssueKind::Structure,
        "Patient.text.div",
        "expected a string for 'div' (xhtml), found an object",
    );
    assert_issue(
        &json!({"resourceType": "Patient", "text": {"div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}),
        IssueKind::Required,
        "Patient.text",
        "required element 'status' is missing (min 1)",
    );
}

// ---- ordering -----------------------------------------------------------------------------

#[test]
fn issues_follow_document_order() {
    let obs = json!({
        "resourceType": "Observation",
        "foo": 1,
        "code": {"coding": [{"system": "http://a b", "code": "x"}]},
        "component": [{"valueString": "x", "bar": 2}],
        "issued": "yesterday"
    });
    assert_eq!(
        expressions(&obs),
        [
            "Observation",
            "Observation.foo",
            "Observation.code.coding[0].system",
            "Observation.component[0]",
            "Observation.component[0].bar",
            "Observation.issued",
        ]
    );
}
