//! Norwegian identifier checks: person numbers (fødselsnummer, D-nummer, H-nummer, felles
//! hjelpenummer), HPR numbers and organisation numbers.
//!
//! The systems are those of the HL7 Norway no-basis 2.2.x profiles and NamingSystems. The
//! check-digit rules come from Skatteetaten (person numbers, including the 2032 change) and
//! Brønnøysundregistrene (organisation numbers); see `shared/reference/norway.md` §1.

use std::fmt;

/// Fødselsnummer, issued by Skatteetaten (Folkeregisteret).
pub const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
/// D-nummer, issued by Skatteetaten to people without a fødselsnummer.
pub const DNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
/// Felles hjelpenummer, issued by Norsk helsenett.
pub const FHN_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.3";
/// no-basis-Patient's local H-number slice fixes `system` to this literal, not to an OID.
pub const HNR_SYSTEM: &str = "HNR";
/// Helsepersonellregisteret (HPR) number.
pub const HPR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
/// Organisasjonsnummer in Enhetsregisteret (the ENH slice of no-basis-Organization).
pub const ORGNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
/// The NamingSystem's alternative id for the organisation number.
pub const ORGNR_ALIAS_SYSTEM: &str = "http://data.brreg.no/begrep/28155";

const PERSON_NUMBER_LENGTH: usize = 11;
const ORGNR_LENGTH: usize = 9;
const HPR_MIN_LENGTH: usize = 4;
const HPR_MAX_LENGTH: usize = 9;

const K1_WEIGHTS: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
// From 2032 k1 is no longer computed but tested: the weighted sum that includes k1 itself
// (weight 1) may leave remainder 0, 1, 2 or 3. Remainder 0 is exactly the old rule.
const K1_WEIGHTS_2032: [u32; 10] = [3, 7, 6, 1, 8, 9, 4, 5, 2, 1];
const K1_2032_MAX_REMAINDER: u32 = 3;
const K2_WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const ORGNR_WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

// The individual-number ranges tie a person number to a century, but synthetic populations do
// not reliably follow them, so the date only has to exist in some year Folkeregisteret can
// encode.
const EARLIEST_BIRTH_YEAR: u32 = 1854;
const LATEST_BIRTH_YEAR: u32 = 2039;

/// Which kind of national person identifier a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NationalIdKind {
    /// Fødselsnummer.
    Fnr,
    /// D-nummer: day + 40.
    Dnr,
    /// Local H-nummer: month + 40.
    Hnr,
    /// Felles hjelpenummer from Norsk helsenett: first digit 8 or 9.
    Fhn,
}

impl NationalIdKind {
    /// Every kind, in the order no-basis-Patient lists the slices.
    pub const ALL: [NationalIdKind; 4] = [
        NationalIdKind::Fnr,
        NationalIdKind::Fhn,
        NationalIdKind::Dnr,
        NationalIdKind::Hnr,
    ];

    /// The short code used as slice name and in `Identifier.type` (Volven 8327).
    pub fn code(&self) -> &'static str {
        match self {
            NationalIdKind::Fnr => "FNR",
            NationalIdKind::Dnr => "DNR",
            NationalIdKind::Hnr => "HNR",
            NationalIdKind::Fhn => "FHN",
        }
    }

    /// The `Identifier.system` no-basis-Patient requires for this kind.
    pub fn system(&self) -> &'static str {
        match self {
            NationalIdKind::Fnr => FNR_SYSTEM,
            NationalIdKind::Dnr => DNR_SYSTEM,
            NationalIdKind::Hnr => HNR_SYSTEM,
            NationalIdKind::Fhn => FHN_SYSTEM,
        }
    }

    /// The kind an `Identifier.system` demands, or `None` for any other system. Only the exact
    /// no-basis systems count: the NamingSystems' alternative URIs are not used in the profile
    /// slices, and matching them would silently change which identifiers get checked.
    pub fn from_system(system: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.system() == system)
    }

    /// The Norwegian name, as people who read error messages know it.
    pub fn name(&self) -> &'static str {
        match self {
            NationalIdKind::Fnr => "fødselsnummer",
            NationalIdKind::Dnr => "D-nummer",
            NationalIdKind::Hnr => "H-nummer",
            NationalIdKind::Fhn => "felles hjelpenummer",
        }
    }
}

impl fmt::Display for NationalIdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// A person number that passed [`check_person_number`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalId {
    pub kind: NationalIdKind,
    pub value: String,
    /// True for Tenor (month + 80) and NHN reserved test data (month + 65) numbers.
    pub synthetic: bool,
}

/// Why an identifier value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("expected exactly {expected} digits, found {found} characters")]
    WrongLength { expected: usize, found: usize },
    #[error("expected {min} to {max} digits, found {found} characters")]
    LengthOutOfRange {
        min: usize,
        max: usize,
        found: usize,
    },
    #[error("only the ASCII digits 0-9 are allowed (no spaces, separators or other digit forms)")]
    NotDigits,
    #[error("the first check digit (mod 11) does not match")]
    FirstCheckDigit,
    #[error("the second check digit (mod 11) does not match")]
    SecondCheckDigit,
    #[error("the check digit (mod 11) does not match")]
    CheckDigit,
    #[error(
        "the first six digits are not a real birth date (DDMMYY; day + 40 for D-numbers, \
         month + 40 for H-numbers, month + 65 or + 80 for synthetic test numbers)"
    )]
    InvalidDate,
    #[error("synthetic test numbers (month + 65 or + 80) are accepted only for test tenants")]
    SyntheticNotAllowed,
    #[error("the identifier system requires kind {expected}, but the value is of kind {found}")]
    WrongKind {
        expected: NationalIdKind,
        found: NationalIdKind,
    },
    #[error(
        "an organisation number starts with 8 or 9 (or 3 for synthetic test organisations), \
         not {found}"
    )]
    InvalidFirstDigit { found: char },
    #[error("a number consisting only of zeros is never issued")]
    AllZeros,
}

/// Classifies and checks an 11-digit person number. allow_synthetic: accept Tenor (month+80)
/// and NHN reserved test data (month+65) numbers.
///
/// A first digit of 8 or 9 makes it a felles hjelpenummer (no date, old check-digit rule only);
/// 4–7 a D-nummer; otherwise month + 40 makes it an H-nummer and anything else a fødselsnummer.
/// Check digits are tested before the date so that a typo is reported as such.
pub fn check_person_number(
    value: &str,
    allow_synthetic: bool,
) -> Result<NationalId, IdentifierError> {
    let digits: [u8; PERSON_NUMBER_LENGTH] = ascii_digits(value)?;

    if digits[0] >= 8 {
        check_fhn_check_digits(&digits)?;
        return Ok(NationalId {
            kind: NationalIdKind::Fhn,
            value: value.to_owned(),
            synthetic: false,
        });
    }

    check_person_check_digits(&digits)?;
    let (kind, synthetic) = decode_birth_date(&digits)?;
    if synthetic && !allow_synthetic {
        return Err(IdentifierError::SyntheticNotAllowed);
    }
    Ok(NationalId {
        kind,
        value: value.to_owned(),
        synthetic,
    })
}

/// Checks `value` against the kind its system demands (FNR system accepts only fødselsnummer,
/// DNR only D-nummer, HNR only H-nummer, FHN only felles hjelpenummer).
/// Returns None when `system` is not one of the four national person-identifier systems.
pub fn check_national_identifier(
    system: &str,
    value: &str,
    allow_synthetic: bool,
) -> Option<Result<NationalId, IdentifierError>> {
    let expected = NationalIdKind::from_system(system)?;
    Some(check_person_number(value, allow_synthetic).and_then(|id| {
        if id.kind == expected {
            Ok(id)
        } else {
            Err(IdentifierError::WrongKind {
                expected,
                found: id.kind,
            })
        }
    }))
}

/// Checks a Helsepersonellregisteret number.
///
/// HPR numbers are believed to end in a mod-11 check digit (weights 2, 3, 4, 5, 6, 7, 2, 3, …
/// from the right), but the exact algorithm is not publicly documented with certainty.
/// Rejecting a real practitioner's number would block clinical work, while a mistyped one is
/// caught by the HPR lookup anyway, so only the shape is checked here.
pub fn check_hpr_number(value: &str) -> Result<(), IdentifierError> {
    let found = value.chars().count();
    if !(HPR_MIN_LENGTH..=HPR_MAX_LENGTH).contains(&found) {
        return Err(IdentifierError::LengthOutOfRange {
            min: HPR_MIN_LENGTH,
            max: HPR_MAX_LENGTH,
            found,
        });
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdentifierError::NotDigits);
    }
    if value.bytes().all(|b| b == b'0') {
        return Err(IdentifierError::AllZeros);
    }
    Ok(())
}

/// Checks an organisasjonsnummer: 9 digits, mod-11 check digit over the first 8.
///
/// Real units start with 8 or 9. The first digit 3 is accepted too, because synthetic test
/// organisations start with it: JFT's test municipality 312229544 has a correct check digit
/// (3·3 + 1·2 + 2·7 + 2·6 + 2·5 + 9·4 + 5·3 + 4·2 = 106; 106 mod 11 = 7; 11 − 7 = 4).
pub fn check_organisation_number(value: &str) -> Result<(), IdentifierError> {
    let digits: [u8; ORGNR_LENGTH] = ascii_digits(value)?;
    if !matches!(digits[0], 3 | 8 | 9) {
        return Err(IdentifierError::InvalidFirstDigit {
            found: char::from(b'0' + digits[0]),
        });
    }
    if mod11_check_digit(weighted_sum(&digits[..8], &ORGNR_WEIGHTS)) != Some(digits[8]) {
        return Err(IdentifierError::CheckDigit);
    }
    Ok(())
}

/// True for both spellings of the organisation number system.
pub fn is_organisation_number_system(system: &str) -> bool {
    system == ORGNR_SYSTEM || system == ORGNR_ALIAS_SYSTEM
}

/// Checks any identifier whose system this module knows: the four person-number systems, HPR
/// and both organisation number systems. Returns None for other systems.
pub fn check_identifier(
    system: &str,
    value: &str,
    allow_synthetic: bool,
) -> Option<Result<(), IdentifierError>> {
    if let Some(result) = check_national_identifier(system, value, allow_synthetic) {
        return Some(result.map(|_| ()));
    }
    if system == HPR_SYSTEM {
        return Some(check_hpr_number(value));
    }
    if is_organisation_number_system(system) {
        return Some(check_organisation_number(value));
    }
    None
}

/// Parses exactly `N` ASCII digits. The length is counted in characters, not bytes, so that
/// eleven non-ASCII digits are reported as `NotDigits` rather than as a length error.
fn ascii_digits<const N: usize>(value: &str) -> Result<[u8; N], IdentifierError> {
    let found = value.chars().count();
    if found != N {
        return Err(IdentifierError::WrongLength { expected: N, found });
    }
    let mut digits = [0u8; N];
    for (digit, byte) in digits.iter_mut().zip(value.bytes()) {
        if !byte.is_ascii_digit() {
            return Err(IdentifierError::NotDigits);
        }
        *digit = byte - b'0';
    }
    Ok(digits)
}

fn weighted_sum(digits: &[u8], weights: &[u32]) -> u32 {
    digits
        .iter()
        .zip(weights)
        .map(|(&d, &w)| u32::from(d) * w)
        .sum()
}

/// The classic mod-11 check digit: 11 − (sum mod 11), where 11 becomes 0 and 10 means no
/// digit can make the number valid.
fn mod11_check_digit(sum: u32) -> Option<u8> {
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        // Below 10 here, so the narrowing cannot truncate.
        k => Some(k as u8),
    }
}

fn k1_matches_old_rule(digits: &[u8; PERSON_NUMBER_LENGTH]) -> bool {
    mod11_check_digit(weighted_sum(&digits[..9], &K1_WEIGHTS)) == Some(digits[9])
}

fn k1_matches_2032_rule(digits: &[u8; PERSON_NUMBER_LENGTH]) -> bool {
    weighted_sum(&digits[..10], &K1_WEIGHTS_2032) % 11 <= K1_2032_MAX_REMAINDER
}

// k2 is the same under both rules: the 2032 form (weights ending in 1, remainder 0) is the old
// formula rewritten.
fn k2_matches(digits: &[u8; PERSON_NUMBER_LENGTH]) -> bool {
    mod11_check_digit(weighted_sum(&digits[..10], &K2_WEIGHTS)) == Some(digits[10])
}

/// Fødselsnummer, D- and H-numbers: numbers issued before and after 2032 live side by side,
/// so both k1 rules are accepted.
fn check_person_check_digits(digits: &[u8; PERSON_NUMBER_LENGTH]) -> Result<(), IdentifierError> {
    if !(k1_matches_old_rule(digits) || k1_matches_2032_rule(digits)) {
        return Err(IdentifierError::FirstCheckDigit);
    }
    if !k2_matches(digits) {
        return Err(IdentifierError::SecondCheckDigit);
    }
    Ok(())
}

/// Felles hjelpenummer is issued by NHN, not Skatteetaten, so the 2032 change does not apply.
fn check_fhn_check_digits(digits: &[u8; PERSON_NUMBER_LENGTH]) -> Result<(), IdentifierError> {
    if !k1_matches_old_rule(digits) {
        return Err(IdentifierError::FirstCheckDigit);
    }
    if !k2_matches(digits) {
        return Err(IdentifierError::SecondCheckDigit);
    }
    Ok(())
}

/// Decodes DDMMYY with its offsets and returns the kind it implies and whether it is synthetic.
/// Expects a first digit of 0–7.
fn decode_birth_date(
    digits: &[u8; PERSON_NUMBER_LENGTH],
) -> Result<(NationalIdKind, bool), IdentifierError> {
    let two = |i: usize| u32::from(digits[i]) * 10 + u32::from(digits[i + 1]);
    let (day_field, month_field, year) = (two(0), two(2), two(4));

    let (day, d_number) = if day_field >= 40 {
        (day_field - 40, true)
    } else {
        (day_field, false)
    };
    let (month, h_number, synthetic) = match month_field {
        1..=12 => (month_field, false, false),
        41..=52 => (month_field - 40, true, false),
        66..=77 => (month_field - 65, false, true),
        81..=92 => (month_field - 80, false, true),
        _ => return Err(IdentifierError::InvalidDate),
    };
    let kind = match (d_number, h_number) {
        // No issuer combines the two offsets, so such a value is not a person number.
        (true, true) => return Err(IdentifierError::InvalidDate),
        (true, false) => NationalIdKind::Dnr,
        (false, true) => NationalIdKind::Hnr,
        (false, false) => NationalIdKind::Fnr,
    };
    if !is_real_birth_date(day, month, year) {
        return Err(IdentifierError::InvalidDate);
    }
    Ok((kind, synthetic))
}

/// True when DD.MM exists in at least one year between 1854 and 2039 ending in `two_digit_year`.
fn is_real_birth_date(day: u32, month: u32, two_digit_year: u32) -> bool {
    if day == 0 || !(1..=12).contains(&month) {
        return false;
    }
    [1800, 1900, 2000]
        .into_iter()
        .map(|century| century + two_digit_year)
        .filter(|year| (EARLIEST_BIRTH_YEAR..=LATEST_BIRTH_YEAR).contains(year))
        .any(|year| day <= days_in_month(month, year))
}

fn days_in_month(month: u32, year: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 31,
    }
}

// A match rather than `u32::is_multiple_of`, which needs Rust 1.87 (the workspace says 1.85).
fn is_leap_year(year: u32) -> bool {
    match (year % 4, year % 100, year % 400) {
        (_, _, 0) => true,
        (_, 0, _) => false,
        (0, _, _) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Independent of the module's own arithmetic, so that a shared mistake cannot make a
    // generated vector and the checker agree by accident.
    fn digit_sum(digits: &str, weights: &[u32]) -> u32 {
        digits
            .chars()
            .zip(weights)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum()
    }

    fn classic_check_digit(digits: &str, weights: &[u32]) -> Option<u32> {
        match 11 - digit_sum(digits, weights) % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    }

    /// Appends k1 and k2 by the pre-2032 rule, or None when either would be 10.
    fn try_with_check_digits(nine: &str) -> Option<String> {
        assert_eq!(nine.len(), 9);
        let k1 = classic_check_digit(nine, &[3, 7, 6, 1, 8, 9, 4, 5, 2])?;
        let ten = format!("{nine}{k1}");
        let k2 = classic_check_digit(&ten, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])?;
        Some(format!("{ten}{k2}"))
    }

    fn with_check_digits(nine: &str) -> String {
        try_with_check_digits(nine).unwrap_or_else(|| panic!("{nine} has no valid check digits"))
    }

    /// Appends a k1 that leaves the given 2032-rule remainder, then the matching k2.
    fn with_2032_remainder(nine: &str, remainder: u32) -> Option<String> {
        let sum = digit_sum(nine, &[3, 7, 6, 1, 8, 9, 4, 5, 2]);
        let k1 = (remainder + 11 - sum % 11) % 11;
        if k1 > 9 {
            return None;
        }
        let ten = format!("{nine}{k1}");
        let k2 = classic_check_digit(&ten, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])?;
        Some(format!("{ten}{k2}"))
    }

    fn replace_digit(value: &str, index: usize, digit: char) -> String {
        value
            .chars()
            .enumerate()
            .map(|(i, c)| if i == index { digit } else { c })
            .collect()
    }

    fn ok(value: &str, allow_synthetic: bool) -> NationalId {
        check_person_number(value, allow_synthetic)
            .unwrap_or_else(|e| panic!("{value} should be valid: {e}"))
    }

    fn err(value: &str, allow_synthetic: bool) -> IdentifierError {
        match check_person_number(value, allow_synthetic) {
            Ok(id) => panic!("{value} should be rejected, got {id:?}"),
            Err(e) => e,
        }
    }

    // --- constants and kinds -------------------------------------------------------------

    #[test]
    fn systems_match_the_no_basis_profiles() {
        assert_eq!(FNR_SYSTEM, "urn:oid:2.16.578.1.12.4.1.4.1");
        assert_eq!(DNR_SYSTEM, "urn:oid:2.16.578.1.12.4.1.4.2");
        assert_eq!(FHN_SYSTEM, "urn:oid:2.16.578.1.12.4.1.4.3");
        assert_eq!(HNR_SYSTEM, "HNR");
        assert_eq!(HPR_SYSTEM, "urn:oid:2.16.578.1.12.4.1.4.4");
        assert_eq!(ORGNR_SYSTEM, "urn:oid:2.16.578.1.12.4.1.4.101");
        assert_eq!(ORGNR_ALIAS_SYSTEM, "http://data.brreg.no/begrep/28155");
    }

    #[test]
    fn kind_codes_and_systems() {
        assert_eq!(NationalIdKind::Fnr.code(), "FNR");
        assert_eq!(NationalIdKind::Dnr.code(), "DNR");
        assert_eq!(NationalIdKind::Hnr.code(), "HNR");
        assert_eq!(NationalIdKind::Fhn.code(), "FHN");
        assert_eq!(NationalIdKind::Fnr.system(), FNR_SYSTEM);
        assert_eq!(NationalIdKind::Dnr.system(), DNR_SYSTEM);
        assert_eq!(NationalIdKind::Hnr.system(), HNR_SYSTEM);
        assert_eq!(NationalIdKind::Fhn.system(), FHN_SYSTEM);
        for kind in NationalIdKind::ALL {
            assert_eq!(NationalIdKind::from_system(kind.system()), Some(kind));
            assert!(kind.to_string().contains(kind.code()));
        }
        assert_eq!(NationalIdKind::from_system(HPR_SYSTEM), None);
        assert_eq!(NationalIdKind::from_system(ORGNR_SYSTEM), None);
        assert_eq!(
            NationalIdKind::from_system("http://hl7.no/fhir/NamingSystem/FNR"),
            None
        );
        assert_eq!(NationalIdKind::from_system("hnr"), None);
        assert_eq!(NationalIdKind::from_system(""), None);
    }

    // --- test-vector helpers ---------------------------------------------------------------

    #[test]
    fn helper_reproduces_the_reference_vectors() {
        for known in ["13116900216", "02850097219", "11845599620", "13717404089"] {
            assert_eq!(with_check_digits(&known[..9]), known);
        }
        // The no-basis-Patient example is not what the check digits of its first nine give.
        assert_ne!(
            try_with_check_digits("130574448").as_deref(),
            Some("13057444850")
        );
    }

    #[test]
    fn hand_computed_d_number() {
        // D-nummer for 13 January 1980 (day 13 + 40 = 53), individual number 123:
        //   k1: 5·3 + 3·7 + 0·6 + 1·1 + 8·8 + 0·9 + 1·4 + 2·5 + 3·2
        //     = 15 + 21 + 0 + 1 + 64 + 0 + 4 + 10 + 6 = 121; 121 mod 11 = 0; 11 − 0 = 11 → k1 = 0
        //   k2: 5·5 + 3·4 + 0·3 + 1·2 + 8·7 + 0·6 + 1·5 + 2·4 + 3·3 + 0·2
        //     = 25 + 12 + 0 + 2 + 56 + 0 + 5 + 8 + 9 + 0 = 117; 117 mod 11 = 7; 11 − 7 = 4 → k2 = 4
        assert_eq!(with_check_digits("530180123"), "53018012304");
        let id = ok("53018012304", false);
        assert_eq!(id.kind, NationalIdKind::Dnr);
        assert!(!id.synthetic);
    }

    // --- valid numbers of every kind -------------------------------------------------------

    #[test]
    fn valid_fodselsnummer() {
        let id = ok("13116900216", false);
        assert_eq!(
            id,
            NationalId {
                kind: NationalIdKind::Fnr,
                value: "13116900216".to_owned(),
                synthetic: false,
            }
        );
        // Allowing synthetic numbers must not mark real ones as synthetic.
        assert!(!ok("13116900216", true).synthetic);
    }

    #[test]
    fn valid_d_numbers_cover_first_digits_four_to_seven() {
        // 1 Jan (41), 13 Jan (53), 29 Feb 2000 (69), 31 Dec (71).
        for nine in ["410180123", "530180124", "690200123", "711280123"] {
            let value = with_check_digits(nine);
            assert_eq!(ok(&value, false).kind, NationalIdKind::Dnr, "{value}");
        }
    }

    #[test]
    fn valid_h_numbers() {
        assert_eq!(with_check_digits("135180123"), "13518012341");
        let id = ok("13518012341", false);
        assert_eq!(id.kind, NationalIdKind::Hnr);
        assert!(!id.synthetic);
        // January (41) and December (52) are the edges of the H range.
        for nine in ["014180120", "315280120"] {
            let value = with_check_digits(nine);
            assert_eq!(ok(&value, false).kind, NationalIdKind::Hnr, "{value}");
        }
    }

    #[test]
    fn valid_felles_hjelpenummer() {
        assert_eq!(with_check_digits("812345678"), "81234567802");
        let id = ok("81234567802", false);
        assert_eq!(id.kind, NationalIdKind::Fhn);
        assert!(!id.synthetic);
        // No date is encoded, so digits that would be an impossible date are fine.
        let nines = with_check_digits("999999999");
        assert_eq!(nines, "99999999928");
        assert_eq!(ok(&nines, false).kind, NationalIdKind::Fhn);
    }

    #[test]
    fn synthetic_numbers_from_the_reference() {
        // 02850097219 and 11845599620: Tenor, month + 80. 13717404089: NHN, month + 65.
        for value in ["02850097219", "11845599620", "13717404089"] {
            assert_eq!(
                err(value, false),
                IdentifierError::SyntheticNotAllowed,
                "{value}"
            );
            let id = ok(value, true);
            assert_eq!(id.kind, NationalIdKind::Fnr, "{value}");
            assert!(id.synthetic, "{value}");
        }
    }

    #[test]
    fn synthetic_month_ranges_have_both_edges() {
        // January and December with + 65 (66, 77) and + 80 (81, 92).
        for nine in ["016680120", "317780120", "018180120", "319280120"] {
            let value = with_check_digits(nine);
            assert_eq!(
                err(&value, false),
                IdentifierError::SyntheticNotAllowed,
                "{value}"
            );
            assert!(ok(&value, true).synthetic, "{value}");
        }
    }

    #[test]
    fn synthetic_d_numbers() {
        // Day + 40 together with month + 65 (NHN) and month + 80 (Tenor).
        for nine in ["537180123", "538180120"] {
            let value = with_check_digits(nine);
            assert_eq!(
                err(&value, false),
                IdentifierError::SyntheticNotAllowed,
                "{value}"
            );
            let id = ok(&value, true);
            assert_eq!(id.kind, NationalIdKind::Dnr, "{value}");
            assert!(id.synthetic, "{value}");
        }
        assert_eq!(with_check_digits("537180123"), "53718012321");
    }

    // --- the 2032 check-digit rule ---------------------------------------------------------

    #[test]
    fn rule_2032_accepts_remainders_zero_to_three() {
        for remainder in 0..=3 {
            let value = with_2032_remainder("131169002", remainder)
                .unwrap_or_else(|| panic!("no k1 gives remainder {remainder}"));
            assert_eq!(ok(&value, false).kind, NationalIdKind::Fnr, "{value}");
        }
        // D-numbers are issued by Skatteetaten too and follow the same change.
        let dnr = with_2032_remainder("530180123", 2).unwrap();
        assert_eq!(ok(&dnr, false).kind, NationalIdKind::Dnr);
    }

    #[test]
    fn rule_2032_rejects_remainder_four_and_up() {
        let mut tried = 0;
        for remainder in 4..=10 {
            if let Some(value) = with_2032_remainder("131169002", remainder) {
                assert_eq!(
                    err(&value, true),
                    IdentifierError::FirstCheckDigit,
                    "{value}"
                );
                tried += 1;
            }
        }
        assert!(tried >= 4);
    }

    #[test]
    fn felles_hjelpenummer_uses_only_the_old_rule() {
        let value = with_2032_remainder("812345678", 1).unwrap();
        assert_eq!(err(&value, true), IdentifierError::FirstCheckDigit);
    }

    #[test]
    fn old_and_new_k1_rules_agree_on_remainder_zero() {
        let digits: [u8; 11] = ascii_digits("13116900216").unwrap();
        assert!(k1_matches_old_rule(&digits));
        assert!(k1_matches_2032_rule(&digits));
        let digits: [u8; 11] = ascii_digits("13057444850").unwrap();
        assert!(!k1_matches_old_rule(&digits));
        assert!(k1_matches_2032_rule(&digits));
    }

    // --- rejections ------------------------------------------------------------------------

    #[test]
    fn no_basis_example_fails_mod_11() {
        // Its k1 is wrong by the old rule but leaves remainder 2, which the 2032 rule allows,
        // so the failure surfaces at k2.
        assert_eq!(err("13057444850", true), IdentifierError::SecondCheckDigit);
    }

    #[test]
    fn first_check_digit_mismatch() {
        // k1 = 5 instead of 1 leaves remainder 4, outside both rules.
        assert_eq!(err("13116900256", true), IdentifierError::FirstCheckDigit);
        assert_eq!(err("81234567902", true), IdentifierError::FirstCheckDigit);
    }

    #[test]
    fn second_check_digit_mismatch() {
        for k2 in ['0', '1', '2', '3', '4', '5', '7', '8', '9'] {
            let value = replace_digit("13116900216", 10, k2);
            assert_eq!(
                err(&value, true),
                IdentifierError::SecondCheckDigit,
                "{value}"
            );
        }
        assert_eq!(err("81234567803", true), IdentifierError::SecondCheckDigit);
    }

    #[test]
    fn every_single_digit_typo_in_the_first_nine_is_caught() {
        let valid = "13116900216";
        for index in 0..9 {
            for digit in '0'..='9' {
                let value = replace_digit(valid, index, digit);
                if value != valid {
                    assert!(check_person_number(&value, true).is_err(), "{value}");
                }
            }
        }
    }

    #[test]
    fn wrong_length() {
        let cases = [
            ("13116900216 ", 12),
            (" 13116900216", 12),
            ("1311690021", 10),
            ("131169002160", 12),
            ("", 0),
        ];
        for (value, found) in cases {
            assert_eq!(
                err(value, true),
                IdentifierError::WrongLength {
                    expected: 11,
                    found
                },
                "{value:?}"
            );
        }
    }

    #[test]
    fn not_digits() {
        for value in [
            "1311690021a",
            "131169 0216",
            "131169-0216",
            "+3116900216",
            // Arabic-Indic and full-width digits: eleven characters, none of them ASCII.
            "١٣١١٦٩٠٠٢١٦",
            "１３１１６９００２１６",
        ] {
            assert_eq!(err(value, true), IdentifierError::NotDigits, "{value:?}");
        }
    }

    #[test]
    fn invalid_dates() {
        let nines = [
            "001180123", // day 0
            "321180123", // day 32
            "310480123", // 31 April
            "300280123", // 30 February
            "290201123", // 29 February 1901/2001: never a leap year
            "130080123", // month 0
            "131380123", // month 13
            "134080123", // month 40
            "135380123", // month 53 (H range ends at 52)
            "136580123", // month 65
            "137880123", // month 78 (NHN range ends at 77)
            "138080123", // month 80
            "139380123", // month 93 (Tenor range ends at 92)
            "401180123", // D-number with day 0
            "721180123", // D-number with day 32
            "535180123", // D-number and H-number at once
        ];
        for nine in nines {
            // Some bases have no valid check digits; the last individual digit does not affect
            // the date, so try others until one works.
            let value = ('0'..='9')
                .find_map(|last| try_with_check_digits(&replace_digit(nine, 8, last)))
                .unwrap_or_else(|| panic!("no check digits for {nine}"));
            assert_eq!(err(&value, true), IdentifierError::InvalidDate, "{value}");
        }
    }

    #[test]
    fn leap_days_use_any_century_in_range() {
        // 2000 is a leap year although 1900 is not; 1904 and 2004 both are.
        for nine in ["290200123", "290204123", "690200124"] {
            let value = with_check_digits(nine);
            assert!(check_person_number(&value, false).is_ok(), "{value}");
        }
        assert!(is_real_birth_date(29, 2, 0));
        assert!(is_real_birth_date(29, 2, 96));
        assert!(!is_real_birth_date(29, 2, 1));
        assert!(!is_real_birth_date(29, 2, 99));
        assert!(is_real_birth_date(31, 12, 39));
        assert!(is_real_birth_date(1, 1, 54));
        assert!(!is_real_birth_date(31, 11, 54));
        assert!(!is_real_birth_date(0, 1, 54));
        assert!(!is_real_birth_date(1, 13, 54));
    }

    #[test]
    fn leap_year_rule() {
        assert!(is_leap_year(2000));
        assert!(is_leap_year(1856));
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2023));
    }

    // --- system-directed checks ------------------------------------------------------------

    #[test]
    fn national_identifier_accepts_the_matching_kind() {
        let fnr = "13116900216";
        let dnr = "53018012304";
        let hnr = "13518012341";
        let fhn = "81234567802";
        let cases = [
            (FNR_SYSTEM, fnr, NationalIdKind::Fnr),
            (DNR_SYSTEM, dnr, NationalIdKind::Dnr),
            (HNR_SYSTEM, hnr, NationalIdKind::Hnr),
            (FHN_SYSTEM, fhn, NationalIdKind::Fhn),
        ];
        for (system, value, kind) in cases {
            let id = check_national_identifier(system, value, false)
                .expect("known system")
                .unwrap_or_else(|e| panic!("{system} {value}: {e}"));
            assert_eq!(id.kind, kind);
            assert_eq!(id.value, value);
        }
    }

    #[test]
    fn national_identifier_rejects_every_other_kind() {
        let samples = [
            (NationalIdKind::Fnr, "13116900216"),
            (NationalIdKind::Dnr, "53018012304"),
            (NationalIdKind::Hnr, "13518012341"),
            (NationalIdKind::Fhn, "81234567802"),
        ];
        for expected in NationalIdKind::ALL {
            for (found, value) in samples {
                let result = check_national_identifier(expected.system(), value, true).unwrap();
                if found == expected {
                    assert!(result.is_ok());
                } else {
                    assert_eq!(
                        result,
                        Err(IdentifierError::WrongKind { expected, found }),
                        "{value} in {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn national_identifier_passes_on_number_errors_and_synthetic_policy() {
        assert_eq!(
            check_national_identifier(FNR_SYSTEM, "13057444850", true),
            Some(Err(IdentifierError::SecondCheckDigit))
        );
        assert_eq!(
            check_national_identifier(FNR_SYSTEM, "02850097219", false),
            Some(Err(IdentifierError::SyntheticNotAllowed))
        );
        let id = check_national_identifier(FNR_SYSTEM, "02850097219", true)
            .unwrap()
            .unwrap();
        assert!(id.synthetic);
        let synthetic_dnr = with_check_digits("538180120");
        assert!(
            check_national_identifier(DNR_SYSTEM, &synthetic_dnr, true)
                .unwrap()
                .unwrap()
                .synthetic
        );
        assert_eq!(
            check_national_identifier(DNR_SYSTEM, "13116900216 ", true),
            Some(Err(IdentifierError::WrongLength {
                expected: 11,
                found: 12
            }))
        );
    }

    #[test]
    fn national_identifier_ignores_other_systems() {
        for system in [
            HPR_SYSTEM,
            ORGNR_SYSTEM,
            ORGNR_ALIAS_SYSTEM,
            "http://hl7.no/fhir/NamingSystem/FNR",
            "urn:oid:2.16.578.1.12.4.1.4.5",
            "",
        ] {
            assert_eq!(check_national_identifier(system, "13116900216", true), None);
        }
    }

    #[test]
    fn check_identifier_dispatches_on_system() {
        assert_eq!(
            check_identifier(FNR_SYSTEM, "13116900216", false),
            Some(Ok(()))
        );
        assert_eq!(
            check_identifier(HNR_SYSTEM, "13116900216", false),
            Some(Err(IdentifierError::WrongKind {
                expected: NationalIdKind::Hnr,
                found: NationalIdKind::Fnr
            }))
        );
        assert_eq!(
            check_identifier(HPR_SYSTEM, "565501872", false),
            Some(Ok(()))
        );
        assert_eq!(
            check_identifier(HPR_SYSTEM, "0000", false),
            Some(Err(IdentifierError::AllZeros))
        );
        assert_eq!(
            check_identifier(ORGNR_SYSTEM, "974760673", false),
            Some(Ok(()))
        );
        assert_eq!(
            check_identifier(ORGNR_ALIAS_SYSTEM, "974760674", false),
            Some(Err(IdentifierError::CheckDigit))
        );
        assert_eq!(
            check_identifier("urn:oid:2.16.578.1.12.4.1.2", "8142987", false),
            None
        );
    }

    // --- HPR -------------------------------------------------------------------------------

    #[test]
    fn hpr_accepts_four_to_nine_digits() {
        for value in ["1234", "0123", "1234567", "565501872", "999999999"] {
            assert_eq!(check_hpr_number(value), Ok(()), "{value}");
        }
    }

    #[test]
    fn hpr_rejections() {
        assert_eq!(
            check_hpr_number("123"),
            Err(IdentifierError::LengthOutOfRange {
                min: 4,
                max: 9,
                found: 3
            })
        );
        assert_eq!(
            check_hpr_number("1234567890"),
            Err(IdentifierError::LengthOutOfRange {
                min: 4,
                max: 9,
                found: 10
            })
        );
        assert_eq!(
            check_hpr_number(""),
            Err(IdentifierError::LengthOutOfRange {
                min: 4,
                max: 9,
                found: 0
            })
        );
        assert_eq!(
            check_hpr_number("1234567 "),
            Err(IdentifierError::NotDigits)
        );
        assert_eq!(check_hpr_number("12a4"), Err(IdentifierError::NotDigits));
        assert_eq!(
            check_hpr_number("１２３４"),
            Err(IdentifierError::NotDigits)
        );
        assert_eq!(check_hpr_number("0000"), Err(IdentifierError::AllZeros));
        assert_eq!(
            check_hpr_number("000000000"),
            Err(IdentifierError::AllZeros)
        );
    }

    // --- organisation numbers --------------------------------------------------------------

    #[test]
    fn organisation_numbers_from_the_reference() {
        // 974760673: 9·3 + 7·2 + 4·7 + 7·6 + 6·5 + 0·4 + 6·3 + 7·2 = 173; 173 mod 11 = 8; 11 − 8 = 3.
        for value in ["974760673", "983044778", "312229544"] {
            assert_eq!(check_organisation_number(value), Ok(()), "{value}");
        }
    }

    #[test]
    fn organisation_number_check_digit() {
        for last in '0'..='9' {
            let value = replace_digit("974760673", 8, last);
            let expected = if last == '3' {
                Ok(())
            } else {
                Err(IdentifierError::CheckDigit)
            };
            assert_eq!(check_organisation_number(&value), expected, "{value}");
        }
        // 9·3 + 7·2 + 4·7 + 7·6 + 6·5 + 0·4 + 6·3 + 9·2 = 177; 177 mod 11 = 1, so the check digit
        // would be 10 and no final digit can make this valid.
        assert_eq!(
            classic_check_digit("97476069", &[3, 2, 7, 6, 5, 4, 3, 2]),
            None
        );
        for last in '0'..='9' {
            let value = format!("97476069{last}");
            assert_eq!(
                check_organisation_number(&value),
                Err(IdentifierError::CheckDigit),
                "{value}"
            );
        }
        // 9·3 + 7·2 + 4·7 + 7·6 + 6·5 + 0·4 + 6·3 + 3·2 = 165 = 15·11, so 11 − 0 = 11 becomes 0.
        assert_eq!(check_organisation_number("974760630"), Ok(()));
        assert_eq!(
            check_organisation_number("974760631"),
            Err(IdentifierError::CheckDigit)
        );
    }

    #[test]
    fn organisation_number_first_digit() {
        // 123456785 has a correct check digit (138 mod 11 = 6; 11 − 6 = 5) but cannot be issued.
        assert_eq!(
            classic_check_digit("12345678", &[3, 2, 7, 6, 5, 4, 3, 2]),
            Some(5)
        );
        assert_eq!(
            check_organisation_number("123456785"),
            Err(IdentifierError::InvalidFirstDigit { found: '1' })
        );
        for first in ['0', '2', '4', '5', '6', '7'] {
            let base = replace_digit("12345678", 0, first);
            let Some(k) = classic_check_digit(&base, &[3, 2, 7, 6, 5, 4, 3, 2]) else {
                continue;
            };
            assert_eq!(
                check_organisation_number(&format!("{base}{k}")),
                Err(IdentifierError::InvalidFirstDigit { found: first })
            );
        }
    }

    #[test]
    fn organisation_number_shape() {
        assert_eq!(
            check_organisation_number("97476067"),
            Err(IdentifierError::WrongLength {
                expected: 9,
                found: 8
            })
        );
        assert_eq!(
            check_organisation_number("974 760 673"),
            Err(IdentifierError::WrongLength {
                expected: 9,
                found: 11
            })
        );
        assert_eq!(
            check_organisation_number("974760673 "),
            Err(IdentifierError::WrongLength {
                expected: 9,
                found: 10
            })
        );
        assert_eq!(
            check_organisation_number("97476067x"),
            Err(IdentifierError::NotDigits)
        );
        assert_eq!(
            check_organisation_number("９７４７６０６７３"),
            Err(IdentifierError::NotDigits)
        );
    }

    #[test]
    fn organisation_number_systems() {
        assert!(is_organisation_number_system(ORGNR_SYSTEM));
        assert!(is_organisation_number_system(ORGNR_ALIAS_SYSTEM));
        assert!(!is_organisation_number_system(HPR_SYSTEM));
    }

    // --- messages --------------------------------------------------------------------------

    #[test]
    fn every_error_has_a_distinct_message() {
        let errors = [
            IdentifierError::WrongLength {
                expected: 11,
                found: 12,
            },
            IdentifierError::LengthOutOfRange {
                min: 4,
                max: 9,
                found: 3,
            },
            IdentifierError::NotDigits,
            IdentifierError::FirstCheckDigit,
            IdentifierError::SecondCheckDigit,
            IdentifierError::CheckDigit,
            IdentifierError::InvalidDate,
            IdentifierError::SyntheticNotAllowed,
            IdentifierError::WrongKind {
                expected: NationalIdKind::Fnr,
                found: NationalIdKind::Dnr,
            },
            IdentifierError::InvalidFirstDigit { found: '1' },
            IdentifierError::AllZeros,
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        for (i, message) in messages.iter().enumerate() {
            assert!(!message.is_empty());
            assert!(!messages[..i].contains(message), "duplicate: {message}");
        }
        assert_eq!(
            messages[0],
            "expected exactly 11 digits, found 12 characters"
        );
        assert_eq!(
            messages[4],
            "the second check digit (mod 11) does not match"
        );
        assert_eq!(
            messages[7],
            "synthetic test numbers (month + 65 or + 80) are accepted only for test tenants"
        );
        assert_eq!(
            messages[8],
            "the identifier system requires kind fødselsnummer (FNR), but the value is of kind D-nummer (DNR)"
        );
    }
}
