//! The platform's measurement kinds and the codes and units each is written and read with.
//!
//! One table serves both directions: [`KINDS`] says which codings a fresh Observation gets
//! and which codings identify a kind when a client sends one. The codes follow VkpObservation
//! 0.5.2 (`hl7.fhir.no.vkp.observation`, the profile NHN's Pasientens måledata stores) and
//! the core R4 vital-signs profiles it derives from; the Norwegian SNOMED CT extension codes
//! of HL7 Norway's no-domain VitalSigns are recognised as well, so measurements from systems
//! that follow that profile are understood.

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// Norsk laboratoriekodeverk (NPU/NLK, Volven 7280): the third code slice of vkp-Observation.
pub const NLK: &str = "urn:oid:2.16.578.1.12.4.1.1.7280";

/// Canonicals of the VkpObservation profiles (SUSHI derives them from the IG canonical
/// `http://hl7.no/fhir/vkpobservation`).
pub const VKP_OBSERVATION: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation";
pub const VKP_BLOODPRESSURE: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Bloodpressure";
pub const VKP_HEARTRATE: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Heartrate";
pub const VKP_OXYGENSAT: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Oxygensat";
pub const VKP_BODYTEMP: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Bodytemp";
pub const VKP_BODYWEIGHT: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Bodyweight";
pub const VKP_RESPRATE: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Resprate";
pub const VKP_CFS_SCORE: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-CFSscore";
pub const VKP_NEWS2_SCORE: &str =
    "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-NEWS2score";

/// Questionnaire scores that VkpObservation gives a profile of their own, by SNOMED CT code.
pub const SCORE_PROFILES: &[(&str, &str)] = &[
    // CSHA Clinical Frailty Scale score
    ("763264000", VKP_CFS_SCORE),
    // Royal College of Physicians NEWS2 total score
    ("1104051000000101", VKP_NEWS2_SCORE),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeasurementKind {
    BloodPressure,
    HeartRate,
    OxygenSaturation,
    BodyTemperature,
    BodyWeight,
    RespiratoryRate,
    BloodGlucose,
    QuestionnaireScore,
}

impl MeasurementKind {
    pub const ALL: [MeasurementKind; 8] = [
        MeasurementKind::BloodPressure,
        MeasurementKind::HeartRate,
        MeasurementKind::OxygenSaturation,
        MeasurementKind::BodyTemperature,
        MeasurementKind::BodyWeight,
        MeasurementKind::RespiratoryRate,
        MeasurementKind::BloodGlucose,
        MeasurementKind::QuestionnaireScore,
    ];

    pub fn codes(self) -> &'static KindCodes {
        KINDS
            .iter()
            .find(|k| k.kind == self)
            .expect("every kind has a row in KINDS")
    }

    /// Whether the kind is identified by fixed codes; a questionnaire score carries the
    /// questionnaire's own code instead.
    pub fn has_fixed_code(self) -> bool {
        !self.codes().loinc.is_empty()
    }
}

/// A coding written or recognised besides a kind's main LOINC and SNOMED CT codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRef {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

/// A component of a panel (the systolic and diastolic pressures of a blood pressure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentCodes {
    /// The platform's name for the component value.
    pub key: &'static str,
    pub loinc: &'static str,
    pub loinc_display: &'static str,
    pub snomed: &'static str,
    pub snomed_display: &'static str,
    /// SNOMED CT codes that identify the component too, but are not written.
    pub also_snomed: &'static [&'static str],
    /// Allowed UCUM codes; the first is the platform's canonical unit.
    pub ucum: &'static [&'static str],
    pub unit_display: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindCodes {
    pub kind: MeasurementKind,
    /// The platform's name for the kind, e.g. `heart_rate`.
    pub key: &'static str,
    /// Empty for a kind without a fixed code (questionnaire scores).
    pub loinc: &'static str,
    pub loinc_display: &'static str,
    pub snomed: Option<&'static str>,
    pub snomed_display: Option<&'static str>,
    /// Codings written after the LOINC coding, because a profile requires them.
    pub extra_codings: &'static [CodeRef],
    /// Codings that identify the kind when read, but are not written (the display is
    /// informational).
    pub also: &'static [CodeRef],
    /// The observation-category code written with the kind.
    pub category: &'static str,
    pub category_display: &'static str,
    /// Further observation-category codes accepted for the kind.
    pub also_categories: &'static [&'static str],
    /// The profile a fresh Observation of the kind claims.
    pub profile: &'static str,
    /// Allowed UCUM codes; the first is the platform's canonical unit.
    pub ucum: &'static [&'static str],
    /// The human-readable `Quantity.unit` written with the canonical unit.
    pub unit_display: &'static str,
    pub components: &'static [ComponentCodes],
}

impl KindCodes {
    pub fn accepts_unit(&self, code: &str) -> bool {
        self.ucum.contains(&code)
    }

    pub fn accepts_category(&self, code: &str) -> bool {
        self.category == code || self.also_categories.contains(&code)
    }

    /// Whether `system|code` identifies this kind.
    pub fn matches(&self, system: &str, code: &str) -> bool {
        if code.is_empty() {
            return false;
        }
        (system == LOINC && self.loinc == code)
            || (system == SNOMED && self.snomed == Some(code))
            || self
                .extra_codings
                .iter()
                .chain(self.also)
                .any(|c| c.system == system && c.code == code)
    }

    /// The `Quantity.unit` text for a UCUM code of this kind.
    pub fn unit_display_for(&self, ucum: &str) -> String {
        if self.ucum.first() == Some(&ucum) {
            self.unit_display.to_string()
        } else {
            ucum.to_string()
        }
    }
}

impl ComponentCodes {
    pub fn matches(&self, system: &str, code: &str) -> bool {
        (system == LOINC && self.loinc == code)
            || (system == SNOMED && (self.snomed == code || self.also_snomed.contains(&code)))
    }
}

pub const SYSTOLIC: ComponentCodes = ComponentCodes {
    key: "systolic",
    loinc: "8480-6",
    loinc_display: "Systolic blood pressure",
    // VkpObservation-Bloodpressure fixes 271649006; no-domain VitalSigns uses the Norwegian
    // extension code.
    snomed: "271649006",
    snomed_display: "Systolic blood pressure (observable entity)",
    also_snomed: &["4471000202106"],
    ucum: &["mm[Hg]"],
    unit_display: "mmHg",
};

pub const DIASTOLIC: ComponentCodes = ComponentCodes {
    key: "diastolic",
    loinc: "8462-4",
    loinc_display: "Diastolic blood pressure",
    snomed: "271650006",
    snomed_display: "Diastolic blood pressure (observable entity)",
    also_snomed: &["4481000202108"],
    ucum: &["mm[Hg]"],
    unit_display: "mmHg",
};

pub const KINDS: &[KindCodes] = &[
    KindCodes {
        kind: MeasurementKind::BloodPressure,
        key: "blood_pressure",
        loinc: "85354-9",
        loinc_display: "Blood pressure panel with all children optional",
        snomed: Some("75367002"),
        snomed_display: Some("Blood pressure (observable entity)"),
        extra_codings: &[],
        also: &[],
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &[],
        profile: VKP_BLOODPRESSURE,
        ucum: &["mm[Hg]"],
        unit_display: "mmHg",
        components: &[SYSTOLIC, DIASTOLIC],
    },
    KindCodes {
        kind: MeasurementKind::HeartRate,
        key: "heart_rate",
        loinc: "8867-4",
        loinc_display: "Heart rate",
        snomed: Some("364075005"),
        snomed_display: Some("Heart rate (observable entity)"),
        extra_codings: &[],
        also: &[CodeRef {
            // no-domain VitalSigns' pulse profile: the same LOINC code, a pulse rate in SNOMED
            system: SNOMED,
            code: "78564009",
            display: "Pulse rate (observable entity)",
        }],
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &[],
        profile: VKP_HEARTRATE,
        ucum: &["/min"],
        unit_display: "/min",
        components: &[],
    },
    KindCodes {
        kind: MeasurementKind::OxygenSaturation,
        key: "oxygen_saturation",
        loinc: "59408-5",
        loinc_display: "Oxygen saturation in Arterial blood by Pulse oximetry",
        snomed: Some("431314004"),
        snomed_display: Some("Peripheral oxygen saturation (observable entity)"),
        // The core oxygensat profile, parent of vkp-Observation-Oxygensat, requires 2708-6.
        extra_codings: &[CodeRef {
            system: LOINC,
            code: "2708-6",
            display: "Oxygen saturation in Arterial blood",
        }],
        also: &[],
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &[],
        profile: VKP_OXYGENSAT,
        ucum: &["%"],
        unit_display: "%",
        components: &[],
    },
    KindCodes {
        kind: MeasurementKind::BodyTemperature,
        key: "body_temperature",
        loinc: "8310-5",
        loinc_display: "Body temperature",
        snomed: Some("276885007"),
        snomed_display: Some("Core body temperature (observable entity)"),
        extra_codings: &[],
        also: &[],
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &[],
        profile: VKP_BODYTEMP,
        // The core ucum-bodytemp value set.
        ucum: &["Cel", "[degF]"],
        unit_display: "°C",
        components: &[],
    },
    KindCodes {
        kind: MeasurementKind::BodyWeight,
        key: "body_weight",
        loinc: "29463-7",
        loinc_display: "Body weight",
        snomed: Some("27113001"),
        snomed_display: Some("Body weight (observable entity)"),
        extra_codings: &[],
        also: &[CodeRef {
            system: LOINC,
            code: "3141-9",
            display: "Body weight Measured",
        }],
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &[],
        profile: VKP_BODYWEIGHT,
        // The core ucum-bodyweight value set.
        ucum: &["kg", "g", "[lb_av]"],
        unit_display: "kg",
        components: &[],
    },
    KindCodes {
        kind: MeasurementKind::RespiratoryRate,
        key: "respiratory_rate",
        loinc: "9279-1",
        loinc_display: "Respiratory rate",
        snomed: Some("86290005"),
        snomed_display: Some("Respiratory rate (observable entity)"),
        extra_codings: &[],
        also: &[CodeRef {
            // no-domain VitalSigns' respiration rate profile
            system: SNOMED,
            code: "271625008",
            display: "Rate of spontaneous respiration (observable entity)",
        }],
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &[],
        profile: VKP_RESPRATE,
        ucum: &["/min"],
        unit_display: "/min",
        components: &[],
    },
    KindCodes {
        kind: MeasurementKind::BloodGlucose,
        key: "blood_glucose",
        // VkpObservation's glucose example codes it so, with the NLK code beside.
        loinc: "15074-8",
        loinc_display: "Glucose [Moles/volume] in Blood",
        snomed: Some("434912009"),
        snomed_display: Some("Blood glucose concentration (observable entity)"),
        extra_codings: &[CodeRef {
            system: NLK,
            code: "NPU02187",
            display: "B—Glukose",
        }],
        also: &[],
        // VkpObservation files a home glucose measurement as a vital sign; a laboratory
        // result is the same measurement.
        category: "vital-signs",
        category_display: "Vital Signs",
        also_categories: &["laboratory"],
        profile: VKP_OBSERVATION,
        // UCUM knows both `L` and `l` for litre; the VkpObservation example writes `mmol/l`.
        ucum: &["mmol/L", "mmol/l"],
        unit_display: "mmol/L",
        components: &[],
    },
    KindCodes {
        kind: MeasurementKind::QuestionnaireScore,
        key: "questionnaire_score",
        loinc: "",
        loinc_display: "",
        snomed: None,
        snomed_display: None,
        extra_codings: &[],
        also: &[],
        category: "survey",
        category_display: "Survey",
        also_categories: &[],
        profile: VKP_OBSERVATION,
        ucum: &["{score}"],
        unit_display: "{score}",
        components: &[],
    },
];

pub fn kind_by_key(key: &str) -> Option<&'static KindCodes> {
    KINDS.iter().find(|k| k.key == key)
}

/// The kind a coding identifies, by its LOINC, SNOMED CT or other recognised code.
pub fn kind_of_coding(system: &str, code: &str) -> Option<&'static KindCodes> {
    KINDS.iter().find(|k| k.matches(system, code))
}

/// The blood pressure component a coding identifies.
pub fn component_of_coding(system: &str, code: &str) -> Option<&'static ComponentCodes> {
    MeasurementKind::BloodPressure
        .codes()
        .components
        .iter()
        .find(|c| c.matches(system, code))
}

/// Whether a UCUM code is a dimensionless score unit: `1` or an annotation alone such as
/// `{score}`, which is how questionnaire instruments write their totals.
pub fn is_score_unit(code: &str) -> bool {
    code == "1" || (code.starts_with('{') && code.ends_with('}') && !code[1..].contains('{'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_a_unique_key() {
        for kind in MeasurementKind::ALL {
            assert_eq!(KINDS.iter().filter(|k| k.kind == kind).count(), 1);
            assert_eq!(kind_by_key(kind.codes().key).unwrap().kind, kind);
            assert!(!kind.codes().ucum.is_empty());
        }
        assert_eq!(KINDS.len(), MeasurementKind::ALL.len());
    }

    #[test]
    fn codings_identify_their_kind() {
        let k = |s, c| kind_of_coding(s, c).map(|k| k.kind);
        assert_eq!(k(LOINC, "85354-9"), Some(MeasurementKind::BloodPressure));
        assert_eq!(k(SNOMED, "75367002"), Some(MeasurementKind::BloodPressure));
        assert_eq!(k(LOINC, "8867-4"), Some(MeasurementKind::HeartRate));
        assert_eq!(k(LOINC, "59408-5"), Some(MeasurementKind::OxygenSaturation));
        assert_eq!(k(LOINC, "2708-6"), Some(MeasurementKind::OxygenSaturation));
        assert_eq!(
            k(SNOMED, "431314004"),
            Some(MeasurementKind::OxygenSaturation)
        );
        assert_eq!(k(LOINC, "8310-5"), Some(MeasurementKind::BodyTemperature));
        assert_eq!(k(LOINC, "29463-7"), Some(MeasurementKind::BodyWeight));
        assert_eq!(k(LOINC, "9279-1"), Some(MeasurementKind::RespiratoryRate));
        assert_eq!(
            k(SNOMED, "271625008"),
            Some(MeasurementKind::RespiratoryRate)
        );
        assert_eq!(k(LOINC, "15074-8"), Some(MeasurementKind::BloodGlucose));
        assert_eq!(k(NLK, "NPU02187"), Some(MeasurementKind::BloodGlucose));
        // A code in the wrong system, an unknown code and the empty code identify nothing.
        assert_eq!(k(SNOMED, "8867-4"), None);
        assert_eq!(k(LOINC, "9272-6"), None);
        assert_eq!(k(LOINC, ""), None);
        assert_eq!(k("", ""), None);
    }

    #[test]
    fn blood_pressure_components_with_norwegian_extension_codes() {
        assert_eq!(component_of_coding(LOINC, "8480-6"), Some(&SYSTOLIC));
        assert_eq!(
            component_of_coding(SNOMED, "4471000202106"),
            Some(&SYSTOLIC)
        );
        assert_eq!(component_of_coding(SNOMED, "271650006"), Some(&DIASTOLIC));
        assert_eq!(
            component_of_coding(SNOMED, "4481000202108"),
            Some(&DIASTOLIC)
        );
        assert_eq!(component_of_coding(LOINC, "8478-0"), None);
    }

    #[test]
    fn score_units() {
        assert!(is_score_unit("{score}"));
        assert!(is_score_unit("1"));
        assert!(!is_score_unit("kg"));
        assert!(!is_score_unit("{a}/{b}"));
    }
}
