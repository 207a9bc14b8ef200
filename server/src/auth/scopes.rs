//! SMART App Launch scopes (SMART 2.x, with scopes v1 and v2): parsing, canonical form and
//! evaluation. Pure: no I/O, no async.
//!
//! Clinical scopes look like `<context>/<type>.<permissions>[?<query>]`:
//! - context: `patient`, `user` or `system`;
//! - type: a FHIR resource type name (`[A-Z][A-Za-z]+`) or `*`;
//! - permissions: v1 `read` (r, s), `write` (c, u, d) or `*` (c, r, u, d, s), or v2 letters, a
//!   non-empty subsequence of `cruds` in that order;
//! - query (v2 permissions only): `name=value&name2=value2`, percent-decoded the way the
//!   search interaction decodes request queries (`application/x-www-form-urlencoded`, so `+`
//!   is a space), except that malformed escapes and non-UTF-8 bytes are errors here.
//!
//! The other scopes SMART defines become flags. Any other scope is kept as an unknown string
//! (servers ignore scopes they don't know, and must not grant them); a scope that looks
//! clinical but is malformed is an error naming it.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

/// The context a clinical scope applies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Patient,
    User,
    System,
}

impl Context {
    /// The scope prefix: `patient`, `user` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Context> {
        match prefix {
            "patient" => Some(Context::Patient),
            "user" => Some(Context::User),
            "system" => Some(Context::System),
            _ => None,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One SMART v2 permission. Declared in `cruds` order, so a `BTreeSet<Permission>` iterates
/// in the order the letters must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Permission {
    /// All permissions, in `cruds` order.
    pub const ALL: [Permission; 5] = [
        Permission::Create,
        Permission::Read,
        Permission::Update,
        Permission::Delete,
        Permission::Search,
    ];

    /// The v2 letter: `c`, `r`, `u`, `d` or `s`.
    pub fn letter(self) -> char {
        match self {
            Permission::Create => 'c',
            Permission::Read => 'r',
            Permission::Update => 'u',
            Permission::Delete => 'd',
            Permission::Search => 's',
        }
    }

    fn from_letter(letter: char) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.letter() == letter)
    }
}

/// One clinical scope, e.g. `patient/Observation.rs?category=...`.
#[derive(Debug, Clone)]
pub struct ClinicalScope {
    pub context: Context,
    /// `None` is the wildcard type `*`.
    pub resource_type: Option<String>,
    pub permissions: BTreeSet<Permission>,
    /// Percent-decoded `(name, value)` pairs in the order written; empty = no restriction.
    pub query: Vec<(String, String)>,
    /// Written in v1 (`read`, `write`, `*`): an app gets its scopes back in its own
    /// spelling. The spelling does not change what the scope means, nor equality.
    pub spelled_v1: bool,
}

impl PartialEq for ClinicalScope {
    fn eq(&self, other: &Self) -> bool {
        self.context == other.context
            && self.resource_type == other.resource_type
            && self.permissions == other.permissions
            && self.query == other.query
    }
}

impl Eq for ClinicalScope {}

impl ClinicalScope {
    /// Parses one clinical scope. Unlike [`Scopes::parse`], anything that is not a valid
    /// clinical scope is an error.
    pub fn parse(scope: &str) -> Result<ClinicalScope, ScopeError> {
        let error = |reason: String| ScopeError {
            scope: scope.to_string(),
            reason,
        };
        let Some((prefix, rest)) = scope.split_once('/') else {
            return Err(error(
                "expected `<context>/<type>.<permissions>`".to_string(),
            ));
        };
        let context = Context::from_prefix(prefix).ok_or_else(|| {
            error(format!(
                "unknown context `{prefix}` (expected `patient`, `user` or `system`)"
            ))
        })?;
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let Some((type_name, permissions)) = path.split_once('.') else {
            return Err(error(
                "missing `.<permissions>` after the resource type".to_string(),
            ));
        };
        let resource_type = if type_name == "*" {
            None
        } else if type_name.is_empty() {
            return Err(error("missing resource type".to_string()));
        } else if is_resource_type_name(type_name) {
            Some(type_name.to_string())
        } else {
            return Err(error(format!(
                "`{type_name}` is not a resource type name or `*`"
            )));
        };
        let (permissions, v1) = parse_permissions(permissions).map_err(error)?;
        let query = match query {
            None => Vec::new(),
            Some(_) if v1 => {
                return Err(error(
                    "a query is only allowed with v2 permissions (letters from `cruds`)"
                        .to_string(),
                ))
            }
            Some(query) => parse_query(query).map_err(error)?,
        };
        Ok(ClinicalScope {
            context,
            resource_type,
            permissions,
            query,
            spelled_v1: v1,
        })
    }

    /// Whether this scope names `resource_type`, itself or through `*`.
    pub fn applies_to(&self, resource_type: &str) -> bool {
        self.resource_type
            .as_deref()
            .is_none_or(|own| own == resource_type)
    }

    /// Whether this single scope grants everything `requested` asks for: same context, same
    /// or wildcard type, a superset of permissions, and no query or the same query (the same
    /// pairs, in any order).
    pub fn covers(&self, requested: &ClinicalScope) -> bool {
        self.context == requested.context
            && match (&self.resource_type, &requested.resource_type) {
                (None, _) => true,
                (Some(own), Some(asked)) => own == asked,
                (Some(_), None) => false,
            }
            && self.permissions.is_superset(&requested.permissions)
            && (self.query.is_empty() || same_query(&self.query, &requested.query))
    }

    /// The canonical form. Scopes spelled in v1 (`read`, `write`, `*`) are written so again,
    /// everything else as v2 letters; query names and values are
    /// percent-encoded where needed so that the form parses back to an equal scope. A scope
    /// with no permissions has no valid form (parsing never produces one).
    pub fn to_scope_string(&self) -> String {
        let mut out = String::new();
        out.push_str(self.context.as_str());
        out.push('/');
        out.push_str(self.resource_type.as_deref().unwrap_or("*"));
        out.push('.');
        match v1_name(&self.permissions) {
            Some(name) if self.query.is_empty() && self.spelled_v1 => out.push_str(name),
            _ => out.extend(self.permissions.iter().map(|p| p.letter())),
        }
        for (i, (name, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            percent_encode(name, &mut out);
            out.push('=');
            percent_encode(value, &mut out);
        }
        out
    }
}

impl fmt::Display for ClinicalScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_scope_string())
    }
}

/// A parsed `scope` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// In the order written, without exact duplicates.
    pub clinical: Vec<ClinicalScope>,
    pub openid: bool,
    pub fhir_user: bool,
    pub profile: bool,
    pub launch: bool,
    pub launch_patient: bool,
    pub launch_encounter: bool,
    pub offline_access: bool,
    pub online_access: bool,
    /// Scopes this server does not know, in the order written, without duplicates.
    pub unknown: Vec<String>,
}

/// A scope that looks clinical but is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope `{scope}`: {reason}")]
pub struct ScopeError {
    pub scope: String,
    pub reason: String,
}

/// What a token may do with one resource type and permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Denied,
    /// Allowed for every resource of the type (within the context's compartment).
    All,
    /// Allowed only for resources matching at least one of these query restrictions.
    Matching(Vec<Vec<(String, String)>>),
}

/// The flag scopes, in canonical order.
const FLAGS: [&str; 8] = [
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
];

impl Scopes {
    /// Parses a space-separated `scope` parameter (any ASCII whitespace separates). Fails on
    /// the first scope that looks clinical but is malformed; unknown scopes are kept in
    /// [`Scopes::unknown`].
    pub fn parse(space_separated: &str) -> Result<Scopes, ScopeError> {
        let mut scopes = Scopes::default();
        for scope in space_separated.split_ascii_whitespace() {
            if let Some(flag) = scopes.flag_mut(scope) {
                *flag = true;
            } else if looks_clinical(scope) {
                let clinical = ClinicalScope::parse(scope)?;
                if !scopes.clinical.contains(&clinical) {
                    scopes.clinical.push(clinical);
                }
            } else if !scopes.unknown.iter().any(|known| known == scope) {
                scopes.unknown.push(scope.to_string());
            }
        }
        Ok(scopes)
    }

    /// The canonical space-separated form: clinical scopes (each as
    /// [`ClinicalScope::to_scope_string`] writes it), then the flags in the order SMART lists
    /// them, then the unknown scopes. `Scopes::parse` of it gives back an equal value.
    pub fn to_scope_string(&self) -> String {
        let clinical = self.clinical.iter().map(ClinicalScope::to_scope_string);
        let flags = FLAGS
            .into_iter()
            .filter(|name| self.flag(name))
            .map(str::to_string);
        let unknown = self.unknown.iter().cloned();
        clinical
            .chain(flags)
            .chain(unknown)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What the scopes of `context` allow for `resource_type` and `permission`: `All` when a
    /// matching scope has no query, otherwise `Matching` with the distinct queries of the
    /// matching scopes, `Denied` when none matches. Scopes of other contexts never count.
    pub fn grant(&self, context: Context, resource_type: &str, permission: Permission) -> Grant {
        let mut queries: Vec<Vec<(String, String)>> = Vec::new();
        let matching = self.clinical.iter().filter(|scope| {
            scope.context == context
                && scope.applies_to(resource_type)
                && scope.permissions.contains(&permission)
        });
        for scope in matching {
            if scope.query.is_empty() {
                return Grant::All;
            }
            if !queries.contains(&scope.query) {
                queries.push(scope.query.clone());
            }
        }
        if queries.is_empty() {
            Grant::Denied
        } else {
            Grant::Matching(queries)
        }
    }

    /// The contexts that have any clinical scope.
    pub fn contexts(&self) -> BTreeSet<Context> {
        self.clinical.iter().map(|scope| scope.context).collect()
    }

    /// True when every scope in `requested` is covered by `self` (a refresh may only narrow).
    /// A clinical scope is covered when a single granted scope covers it (see
    /// [`ClinicalScope::covers`]); a requested scope that only the union of several granted
    /// scopes covers is refused. Flags are covered when also set in `self`, unknown scopes
    /// when also present in `self`.
    pub fn covers(&self, requested: &Scopes) -> bool {
        requested
            .clinical
            .iter()
            .all(|asked| self.clinical.iter().any(|own| own.covers(asked)))
            && FLAGS
                .into_iter()
                .all(|name| !requested.flag(name) || self.flag(name))
            && requested
                .unknown
                .iter()
                .all(|asked| self.unknown.contains(asked))
    }

    /// What remains of `self` within `allowed` (e.g. what a client is registered for): the
    /// clinical scopes of `self` that a single scope of `allowed` covers, the flags set in
    /// both, and the unknown scopes present in both. Scopes that are not covered are dropped
    /// whole, not narrowed (`patient/*.read` within `patient/Observation.read` is dropped).
    pub fn restrict_to(&self, allowed: &Scopes) -> Scopes {
        Scopes {
            clinical: self
                .clinical
                .iter()
                .filter(|own| allowed.clinical.iter().any(|scope| scope.covers(own)))
                .cloned()
                .collect(),
            openid: self.openid && allowed.openid,
            fhir_user: self.fhir_user && allowed.fhir_user,
            profile: self.profile && allowed.profile,
            launch: self.launch && allowed.launch,
            launch_patient: self.launch_patient && allowed.launch_patient,
            launch_encounter: self.launch_encounter && allowed.launch_encounter,
            offline_access: self.offline_access && allowed.offline_access,
            online_access: self.online_access && allowed.online_access,
            unknown: self
                .unknown
                .iter()
                .filter(|scope| allowed.unknown.contains(scope))
                .cloned()
                .collect(),
        }
    }

    fn flag(&self, name: &str) -> bool {
        match name {
            "openid" => self.openid,
            "fhirUser" => self.fhir_user,
            "profile" => self.profile,
            "launch" => self.launch,
            "launch/patient" => self.launch_patient,
            "launch/encounter" => self.launch_encounter,
            "offline_access" => self.offline_access,
            "online_access" => self.online_access,
            _ => false,
        }
    }

    fn flag_mut(&mut self, name: &str) -> Option<&mut bool> {
        match name {
            "openid" => Some(&mut self.openid),
            "fhirUser" => Some(&mut self.fhir_user),
            "profile" => Some(&mut self.profile),
            "launch" => Some(&mut self.launch),
            "launch/patient" => Some(&mut self.launch_patient),
            "launch/encounter" => Some(&mut self.launch_encounter),
            "offline_access" => Some(&mut self.offline_access),
            "online_access" => Some(&mut self.online_access),
            _ => None,
        }
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_scope_string())
    }
}

/// Whether a scope that is not a flag must parse as a clinical scope. It does when its
/// prefix (before the first `/`) is a context, and when it has the shape
/// `<letters or digits>/<no slash>.<...>` — `foo/Patient.read`, `/Patient.read` — unless the
/// prefix is `launch` (other launch contexts are unknown scopes, not errors). URLs and
/// other scope strings with several `/` or a `:` before the first `/` stay unknown.
fn looks_clinical(scope: &str) -> bool {
    let Some((prefix, rest)) = scope.split_once('/') else {
        return false;
    };
    if Context::from_prefix(prefix).is_some() {
        return true;
    }
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    prefix != "launch"
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        && !path.contains('/')
        && path.contains('.')
}

/// `[A-Z][A-Za-z]+`.
fn is_resource_type_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && name.len() >= 2
        && bytes.all(|b| b.is_ascii_alphabetic())
}

/// The permissions and whether they were written in v1 form.
fn parse_permissions(text: &str) -> Result<(BTreeSet<Permission>, bool), String> {
    let v1: &[Permission] = match text {
        "read" => &[Permission::Read, Permission::Search],
        "write" => &[Permission::Create, Permission::Update, Permission::Delete],
        "*" => &Permission::ALL,
        "" => return Err("missing permissions after `.`".to_string()),
        _ => {
            let mut permissions = BTreeSet::new();
            let mut last: Option<Permission> = None;
            for letter in text.chars() {
                let permission = Permission::from_letter(letter).ok_or_else(|| {
                    format!(
                        "unknown permission `{text}` (expected `read`, `write`, `*` or \
                         letters from `cruds`)"
                    )
                })?;
                if last.is_some_and(|last| permission <= last) {
                    return Err(format!(
                        "permission letters `{text}` must follow the order `cruds` without \
                         repeats"
                    ));
                }
                last = Some(permission);
                permissions.insert(permission);
            }
            return Ok((permissions, false));
        }
    };
    Ok((v1.iter().copied().collect(), true))
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    if query.is_empty() {
        return Err("empty query after `?`".to_string());
    }
    query
        .split('&')
        .map(|pair| {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(format!("query part `{pair}` is not `name=value`"));
            };
            let name = percent_decode(name)?;
            let value = percent_decode(value)?;
            if name.is_empty() {
                return Err(format!("query part `{pair}` has no name"));
            }
            if value.is_empty() {
                return Err(format!("query parameter `{name}` has no value"));
            }
            Ok((name, value))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (a space), as the search interaction does, but strictly:
/// a malformed escape or bytes that are not UTF-8 are errors.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3);
                let Some(&[high, low]) = hex else {
                    return Err(format!("malformed percent-escape in `{text}`"));
                };
                let (Some(high), Some(low)) = (hex_value(high), hex_value(low)) else {
                    return Err(format!("malformed percent-escape in `{text}`"));
                };
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{text}` does not decode to UTF-8"))
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Escapes what would not survive [`percent_decode`] inside a query or would split the
/// scope string: `%`, `&`, `=`, `+`, `#`, whitespace, controls and non-ASCII. Everything else
/// (`:`, `/`, `|`, `,`, ...) stays readable.
fn percent_encode(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_graphic() && !matches!(byte, b'%' | b'&' | b'=' | b'+' | b'#') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

fn same_query(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// The v1 name of a permission set, if it has one.
fn v1_name(permissions: &BTreeSet<Permission>) -> Option<&'static str> {
    use Permission::*;
    let letters: Vec<Permission> = permissions.iter().copied().collect();
    match letters.as_slice() {
        [Read, Search] => Some("read"),
        [Create, Update, Delete] => Some("write"),
        [Create, Read, Update, Delete, Search] => Some("*"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn perms(list: &[Permission]) -> BTreeSet<Permission> {
        list.iter().copied().collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn parse(text: &str) -> Scopes {
        Scopes::parse(text).unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
    }

    fn only_clinical(text: &str) -> ClinicalScope {
        let scopes = parse(text);
        assert_eq!(scopes.clinical.len(), 1, "{scopes:?}");
        scopes.clinical[0].clone()
    }

    fn parse_error(text: &str) -> ScopeError {
        match Scopes::parse(text) {
            Ok(scopes) => panic!("`{text}` should not parse, got {scopes:?}"),
            Err(e) => e,
        }
    }

    const VITALS: &str = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs";

    // ---- parsing: v1 ----

    #[test]
    fn v1_read_is_read_and_search() {
        let scope = only_clinical("patient/Observation.read");
        assert_eq!(
            scope,
            ClinicalScope {
                context: Context::Patient,
                resource_type: Some("Observation".to_string()),
                permissions: perms(&[Read, Search]),
                query: vec![],
                spelled_v1: true,
            }
        );
    }

    #[test]
    fn v1_write_is_create_update_delete() {
        let scope = only_clinical("user/Patient.write");
        assert_eq!(scope.context, Context::User);
        assert_eq!(scope.resource_type.as_deref(), Some("Patient"));
        assert_eq!(scope.permissions, perms(&[Create, Update, Delete]));
    }

    #[test]
    fn v1_star_is_everything() {
        let scope = only_clinical("system/Encounter.*");
        assert_eq!(scope.context, Context::System);
        assert_eq!(scope.permissions, perms(&Permission::ALL));
    }

    #[test]
    fn v1_and_v2_spellings_of_the_same_set_are_equal() {
        assert_eq!(
            only_clinical("patient/Observation.read"),
            only_clinical("patient/Observation.rs")
        );
        assert_eq!(
            only_clinical("patient/Observation.write"),
            only_clinical("patient/Observation.cud")
        );
        assert_eq!(
            only_clinical("patient/Observation.*"),
            only_clinical("patient/Observation.cruds")
        );
    }

    // ---- parsing: v2 ----

    #[test]
    fn v2_letters() {
        assert_eq!(
            only_clinical("patient/Observation.rs").permissions,
            perms(&[Read, Search])
        );
        assert_eq!(
            only_clinical("patient/Observation.r").permissions,
            perms(&[Read])
        );
        assert_eq!(
            only_clinical("patient/Observation.s").permissions,
            perms(&[Search])
        );
        assert_eq!(
            only_clinical("patient/Observation.cud").permissions,
            perms(&[Create, Update, Delete])
        );
        assert_eq!(
            only_clinical("patient/Observation.cruds").permissions,
            perms(&Permission::ALL)
        );
        assert_eq!(
            only_clinical("user/Observation.cd").permissions,
            perms(&[Create, Delete])
        );
    }

    #[test]
    fn v2_letters_out_of_order_or_repeated_are_errors() {
        for scope in [
            "patient/Observation.sr",
            "patient/Observation.rr",
            "patient/Observation.rsr",
            "patient/Observation.scrud",
            "patient/Observation.crudss",
        ] {
            let error = parse_error(scope);
            assert_eq!(error.scope, scope);
            assert!(error.reason.contains("order"), "{scope}: {}", error.reason);
        }
    }

    #[test]
    fn wildcard_type_is_none() {
        let scope = only_clinical("patient/*.rs");
        assert_eq!(scope.resource_type, None);
        assert_eq!(scope.permissions, perms(&[Read, Search]));
        assert!(scope.applies_to("Observation"));
        assert!(scope.applies_to("Patient"));
        let scope = only_clinical("system/*.*");
        assert_eq!(scope.resource_type, None);
        assert_eq!(scope.permissions, perms(&Permission::ALL));
    }

    #[test]
    fn granular_query_with_pipe() {
        let scope = only_clinical(&format!("patient/Observation.rs?category={VITALS}"));
        assert_eq!(scope.query, pairs(&[("category", VITALS)]));
        assert_eq!(scope.permissions, perms(&[Read, Search]));
    }

    #[test]
    fn granular_query_is_percent_decoded() {
        let scope = only_clinical(
            "patient/Observation.rs?category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Cvital-signs",
        );
        assert_eq!(scope.query, pairs(&[("category", VITALS)]));
        let scope = only_clinical("user/Condition.r?code%3Atext=heart+failure%20acute&x=%C3%A6");
        assert_eq!(
            scope.query,
            pairs(&[("code:text", "heart failure acute"), ("x", "æ")])
        );
    }

    #[test]
    fn granular_query_with_several_parameters_keeps_order() {
        let scope = only_clinical("patient/Observation.rs?status=final&category=laboratory");
        assert_eq!(
            scope.query,
            pairs(&[("status", "final"), ("category", "laboratory")])
        );
    }

    #[test]
    fn granular_query_on_wildcard_type() {
        let scope = only_clinical("patient/*.r?_security=N");
        assert_eq!(scope.resource_type, None);
        assert_eq!(scope.query, pairs(&[("_security", "N")]));
    }

    #[test]
    fn value_may_contain_question_mark_and_equals() {
        let scope = only_clinical("patient/Observation.s?note=a?b=c");
        assert_eq!(scope.query, pairs(&[("note", "a?b=c")]));
    }

    // ---- parsing: flags and unknown scopes ----

    #[test]
    fn flags() {
        let scopes = parse(
            "openid fhirUser profile launch launch/patient launch/encounter offline_access online_access",
        );
        assert_eq!(
            scopes,
            Scopes {
                clinical: vec![],
                openid: true,
                fhir_user: true,
                profile: true,
                launch: true,
                launch_patient: true,
                launch_encounter: true,
                offline_access: true,
                online_access: true,
                unknown: vec![],
            }
        );
    }

    type FlagGetter = fn(&Scopes) -> bool;

    #[test]
    fn each_flag_sets_only_its_field() {
        let cases: [(&str, FlagGetter); 8] = [
            ("openid", |s| s.openid),
            ("fhirUser", |s| s.fhir_user),
            ("profile", |s| s.profile),
            ("launch", |s| s.launch),
            ("launch/patient", |s| s.launch_patient),
            ("launch/encounter", |s| s.launch_encounter),
            ("offline_access", |s| s.offline_access),
            ("online_access", |s| s.online_access),
        ];
        for (name, get) in cases {
            let scopes = parse(name);
            assert!(get(&scopes), "{name}");
            let mut expected = Scopes::default();
            *expected.flag_mut(name).unwrap() = true;
            assert_eq!(scopes, expected, "{name}");
            assert_eq!(scopes.to_scope_string(), name);
        }
    }

    #[test]
    fn unknown_scopes_are_kept_not_errors() {
        let scopes = parse(
            "openid email launch/practitioner https://api.example.com/x.read api://helse/Read.all OpenID Patient.read",
        );
        assert!(scopes.openid);
        assert!(scopes.clinical.is_empty());
        assert_eq!(
            scopes.unknown,
            vec![
                "email",
                "launch/practitioner",
                "https://api.example.com/x.read",
                "api://helse/Read.all",
                "OpenID",
                "Patient.read",
            ]
        );
    }

    #[test]
    fn empty_and_whitespace() {
        assert_eq!(parse(""), Scopes::default());
        assert_eq!(parse("   "), Scopes::default());
        let scopes = parse("  openid   patient/Patient.read\tlaunch\n");
        assert!(scopes.openid && scopes.launch);
        assert_eq!(scopes.clinical.len(), 1);
    }

    #[test]
    fn duplicates_are_dropped() {
        let scopes = parse(
            "patient/Observation.read patient/Observation.rs foo foo openid openid patient/Observation.r",
        );
        assert_eq!(
            scopes.clinical,
            vec![
                only_clinical("patient/Observation.rs"),
                only_clinical("patient/Observation.r"),
            ]
        );
        assert_eq!(scopes.unknown, vec!["foo"]);
    }

    // ---- parsing: malformed clinical scopes ----

    fn assert_malformed(scope: &str, reason_part: &str) {
        let error = parse_error(&format!("openid {scope} launch"));
        assert_eq!(error.scope, scope);
        assert!(
            error.reason.contains(reason_part),
            "`{scope}`: reason `{}` should mention `{reason_part}`",
            error.reason
        );
        assert!(error
            .to_string()
            .starts_with(&format!("invalid scope `{scope}`: ")));
        assert_eq!(ClinicalScope::parse(scope), Err(error));
    }

    #[test]
    fn unknown_permission_letter() {
        assert_malformed("patient/Observation.rx", "unknown permission");
        assert_malformed("patient/Observation.Read", "unknown permission");
        assert_malformed("patient/Observation.READ", "unknown permission");
        assert_malformed("patient/Observation.r.s", "unknown permission");
        assert_malformed("patient/Observation.**", "unknown permission");
    }

    #[test]
    fn unknown_context() {
        assert_malformed("foo/Patient.read", "unknown context `foo`");
        assert_malformed("Patient/Observation.read", "unknown context `Patient`");
        assert_malformed("/Patient.read", "unknown context ``");
        assert_malformed("practitioner/Observation.rs", "unknown context");
    }

    #[test]
    fn missing_or_invalid_type() {
        assert_malformed("patient/.read", "missing resource type");
        assert_malformed("patient/observation.read", "not a resource type");
        assert_malformed("patient/O.read", "not a resource type");
        assert_malformed("patient/Obs3rvation.read", "not a resource type");
        assert_malformed("patient/Observation/x.read", "not a resource type");
        assert_malformed("patient/**.read", "not a resource type");
    }

    #[test]
    fn missing_permissions() {
        assert_malformed("patient/Observation", "missing `.<permissions>`");
        assert_malformed("patient/Observation.", "missing permissions");
        assert_malformed("patient/Observation.?code=x", "missing permissions");
        assert_malformed("user/*", "missing `.<permissions>`");
    }

    #[test]
    fn v1_permission_with_query() {
        assert_malformed(
            "patient/Observation.read?category=laboratory",
            "only allowed with v2",
        );
        assert_malformed(
            "patient/Observation.write?category=laboratory",
            "only allowed with v2",
        );
        assert_malformed(
            "patient/Observation.*?category=laboratory",
            "only allowed with v2",
        );
    }

    #[test]
    fn malformed_queries() {
        assert_malformed("patient/Observation.rs?", "empty query");
        assert_malformed("patient/Observation.rs?category", "not `name=value`");
        assert_malformed("patient/Observation.rs?=laboratory", "no name");
        assert_malformed("patient/Observation.rs?category=", "no value");
        assert_malformed("patient/Observation.rs?a=1&&b=2", "not `name=value`");
        assert_malformed("patient/Observation.rs?a=1&", "not `name=value`");
        assert_malformed("patient/Observation.rs?a=%zz", "percent-escape");
        assert_malformed("patient/Observation.rs?a=%4", "percent-escape");
        assert_malformed("patient/Observation.rs?a=%+1", "percent-escape");
        assert_malformed("patient/Observation.rs?a=%FF", "UTF-8");
    }

    #[test]
    fn first_malformed_scope_fails_the_whole_string() {
        let error = parse_error("patient/Patient.read patient/Observation.rx user/x.read");
        assert_eq!(error.scope, "patient/Observation.rx");
    }

    // ---- grant ----

    #[test]
    fn grant_all_for_unrestricted_scope() {
        let scopes = parse("patient/Observation.rs");
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Read),
            Grant::All
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Search),
            Grant::All
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Create),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Update),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Delete),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Patient", Read),
            Grant::Denied
        );
    }

    #[test]
    fn grant_does_not_cross_contexts() {
        let scopes = parse("patient/Observation.read");
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Read),
            Grant::All
        );
        assert_eq!(
            scopes.grant(Context::User, "Observation", Read),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::System, "Observation", Read),
            Grant::Denied
        );
        let scopes = parse("system/*.*");
        assert_eq!(
            scopes.grant(Context::System, "Observation", Delete),
            Grant::All
        );
        assert_eq!(
            scopes.grant(Context::User, "Observation", Read),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Read),
            Grant::Denied
        );
    }

    #[test]
    fn grant_through_wildcard_type() {
        let scopes = parse("user/*.read patient/Observation.c");
        assert_eq!(scopes.grant(Context::User, "Observation", Read), Grant::All);
        assert_eq!(scopes.grant(Context::User, "CarePlan", Search), Grant::All);
        assert_eq!(
            scopes.grant(Context::User, "CarePlan", Create),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Create),
            Grant::All
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Read),
            Grant::Denied
        );
    }

    #[test]
    fn grant_matching_for_query_scopes() {
        let scopes = parse(&format!(
            "patient/Observation.rs?category={VITALS} patient/Observation.rs?category=laboratory patient/Observation.r?category=laboratory"
        ));
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Search),
            Grant::Matching(vec![
                pairs(&[("category", VITALS)]),
                pairs(&[("category", "laboratory")]),
            ])
        );
        // The same query from two scopes appears once.
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Read),
            Grant::Matching(vec![
                pairs(&[("category", VITALS)]),
                pairs(&[("category", "laboratory")]),
            ])
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Observation", Create),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::User, "Observation", Read),
            Grant::Denied
        );
        assert_eq!(
            scopes.grant(Context::Patient, "Condition", Read),
            Grant::Denied
        );
    }

    #[test]
    fn grant_unrestricted_scope_wins_over_query_scope() {
        // Order must not matter: All whether the unrestricted scope comes first or last.
        for text in [
            "patient/Observation.rs?category=laboratory patient/*.r",
            "patient/*.r patient/Observation.rs?category=laboratory",
        ] {
            let scopes = parse(text);
            assert_eq!(
                scopes.grant(Context::Patient, "Observation", Read),
                Grant::All,
                "{text}"
            );
            assert_eq!(
                scopes.grant(Context::Patient, "Observation", Search),
                Grant::Matching(vec![pairs(&[("category", "laboratory")])]),
                "{text}"
            );
        }
    }

    #[test]
    fn grant_with_no_clinical_scopes_is_denied() {
        let scopes = parse("openid fhirUser launch/patient");
        for context in [Context::Patient, Context::User, Context::System] {
            for permission in Permission::ALL {
                assert_eq!(scopes.grant(context, "Patient", permission), Grant::Denied);
            }
        }
    }

    // ---- contexts ----

    #[test]
    fn contexts_lists_those_with_clinical_scopes() {
        assert!(parse("openid launch/patient").contexts().is_empty());
        assert_eq!(
            parse("patient/Observation.rs patient/Patient.r openid").contexts(),
            BTreeSet::from([Context::Patient])
        );
        assert_eq!(
            parse("system/*.rs user/Observation.r patient/Patient.r").contexts(),
            BTreeSet::from([Context::Patient, Context::User, Context::System])
        );
    }

    // ---- covers ----

    #[test]
    fn covers_itself_and_nothing() {
        let granted = parse(&format!(
            "openid fhirUser offline_access patient/*.read user/Observation.rs?category={VITALS} custom"
        ));
        assert!(granted.covers(&granted));
        assert!(granted.covers(&Scopes::default()));
        assert!(!Scopes::default().covers(&granted));
    }

    #[test]
    fn covers_narrower_permissions_and_types() {
        let granted = parse("patient/*.* user/Observation.read");
        assert!(granted.covers(&parse("patient/Observation.rs")));
        assert!(granted.covers(&parse("patient/Observation.r patient/Condition.cud")));
        assert!(granted.covers(&parse("patient/*.read")));
        assert!(granted.covers(&parse("user/Observation.r")));
        assert!(granted.covers(&parse("user/Observation.s")));
    }

    #[test]
    fn covers_refuses_broader_requests() {
        let granted = parse("patient/Observation.read user/Observation.r");
        // More permissions.
        assert!(!granted.covers(&parse("patient/Observation.rus")));
        assert!(!granted.covers(&parse("patient/Observation.*")));
        assert!(!granted.covers(&parse("user/Observation.rs")));
        // Wildcard type where only one type was granted.
        assert!(!granted.covers(&parse("patient/*.read")));
        // Another type.
        assert!(!granted.covers(&parse("patient/Condition.r")));
        // Another context.
        assert!(!granted.covers(&parse("system/Observation.r")));
        assert!(!parse("patient/*.*").covers(&parse("user/Observation.r")));
        // One uncovered scope among covered ones.
        assert!(!granted.covers(&parse("patient/Observation.r patient/Condition.r")));
    }

    #[test]
    fn covers_needs_one_granted_scope_with_all_permissions() {
        let granted = parse("patient/Observation.r patient/Observation.s");
        assert!(granted.covers(&parse("patient/Observation.r")));
        assert!(granted.covers(&parse("patient/Observation.s")));
        assert!(!granted.covers(&parse("patient/Observation.rs")));
    }

    #[test]
    fn covers_with_queries() {
        let unrestricted = parse("patient/Observation.rs");
        let restricted = parse("patient/Observation.rs?category=laboratory&status=final");
        // Adding a query to an unrestricted scope narrows it.
        assert!(unrestricted.covers(&restricted));
        // Dropping the query widens it.
        assert!(!restricted.covers(&unrestricted));
        // The same query, in any order, with fewer permissions.
        assert!(restricted.covers(&parse(
            "patient/Observation.s?status=final&category=laboratory"
        )));
        // A different value, a different parameter, or a subset of the parameters.
        assert!(!restricted.covers(&parse(
            "patient/Observation.rs?category=vital-signs&status=final"
        )));
        assert!(!restricted.covers(&parse("patient/Observation.rs?category=laboratory&code=x")));
        assert!(!restricted.covers(&parse("patient/Observation.rs?category=laboratory")));
        // A query scope on a wildcard type covers the same query on one type, not another query.
        let wildcard = parse("patient/*.rs?_security=N");
        assert!(wildcard.covers(&parse("patient/Observation.r?_security=N")));
        assert!(!wildcard.covers(&parse("patient/Observation.r?_security=R")));
        assert!(!wildcard.covers(&parse("patient/Observation.r")));
    }

    #[test]
    fn covers_compares_decoded_queries() {
        let granted = parse(&format!("patient/Observation.rs?category={VITALS}"));
        assert!(granted.covers(&parse(
            "patient/Observation.rs?category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Cvital-signs"
        )));
    }

    #[test]
    fn covers_flags_and_unknown() {
        let granted = parse("openid fhirUser launch/patient offline_access custom");
        assert!(granted.covers(&parse("openid launch/patient")));
        assert!(granted.covers(&parse("custom")));
        assert!(!granted.covers(&parse("profile")));
        assert!(!granted.covers(&parse("launch")));
        assert!(!granted.covers(&parse("launch/encounter")));
        assert!(!granted.covers(&parse("online_access")));
        assert!(!granted.covers(&parse("openid other")));
        assert!(!parse("launch/patient").covers(&parse("launch")));
        assert!(!parse("launch").covers(&parse("launch/patient")));
    }

    // ---- restrict_to ----

    #[test]
    fn restrict_to_keeps_covered_clinical_scopes() {
        let requested = parse(&format!(
            "patient/Observation.rs?category={VITALS} patient/Observation.cud patient/*.read user/Patient.r system/*.rs"
        ));
        let registered = parse("patient/Observation.* user/*.read");
        let kept = requested.restrict_to(&registered);
        assert_eq!(
            kept.clinical,
            vec![
                only_clinical(&format!("patient/Observation.rs?category={VITALS}")),
                only_clinical("patient/Observation.cud"),
                only_clinical("user/Patient.r"),
            ]
        );
        assert!(registered.covers(&kept));
    }

    #[test]
    fn restrict_to_drops_contexts_not_registered() {
        let requested = parse("patient/Patient.read user/Patient.read system/Patient.read");
        let kept = requested.restrict_to(&parse("user/*.*"));
        assert_eq!(kept.contexts(), BTreeSet::from([Context::User]));
        assert_eq!(kept.clinical, vec![only_clinical("user/Patient.read")]);
    }

    #[test]
    fn restrict_to_keeps_flags_and_unknown_in_both() {
        let requested = parse("openid fhirUser launch offline_access custom other");
        let registered = parse("openid launch online_access profile other patient/*.read");
        let kept = requested.restrict_to(&registered);
        assert_eq!(
            kept,
            Scopes {
                openid: true,
                launch: true,
                unknown: vec!["other".to_string()],
                ..Scopes::default()
            }
        );
    }

    #[test]
    fn restrict_to_does_not_widen_query_scopes() {
        let requested = parse("patient/Observation.rs");
        let registered = parse("patient/Observation.rs?category=laboratory");
        assert_eq!(requested.restrict_to(&registered), Scopes::default());
    }

    #[test]
    fn restrict_to_nothing_allowed_is_empty() {
        let requested = parse("openid patient/*.read custom");
        assert_eq!(requested.restrict_to(&Scopes::default()), Scopes::default());
    }

    // ---- canonical form ----

    #[test]
    fn canonical_form() {
        let scopes = parse(&format!(
            "custom online_access launch/patient patient/Observation.read user/Patient.rs openid system/*.* patient/Condition.write patient/Observation.rs?category={VITALS} user/Encounter.cruds patient/Observation.cd"
        ));
        // `user/Patient.rs` and `user/Encounter.cruds` are the same sets as `read` and `*`,
        // but each scope keeps the spelling the app used.
        assert_eq!(
            scopes.to_scope_string(),
            format!(
                "patient/Observation.read user/Patient.rs system/*.* patient/Condition.write patient/Observation.rs?category={VITALS} user/Encounter.cruds patient/Observation.cd openid launch/patient online_access custom"
            )
        );
    }

    #[test]
    fn canonical_query_encodes_only_what_it_must() {
        let scope = only_clinical(
            "patient/Observation.rs?code%3Atext=heart+failure&x=a%26b%3Dc%2Bd%25e%23f&y=%C3%A6&z=a%2Cb%7Cc",
        );
        assert_eq!(
            scope.query,
            pairs(&[
                ("code:text", "heart failure"),
                ("x", "a&b=c+d%e#f"),
                ("y", "æ"),
                ("z", "a,b|c"),
            ])
        );
        assert_eq!(
            scope.to_scope_string(),
            "patient/Observation.rs?code:text=heart%20failure&x=a%26b%3Dc%2Bd%25e%23f&y=%C3%A6&z=a,b|c"
        );
        assert_eq!(scope.to_string(), scope.to_scope_string());
    }

    #[test]
    fn round_trip() {
        for text in [
            "",
            "openid",
            "patient/Observation.read",
            "patient/*.rs?category=laboratory&status=final user/*.write system/Patient.*",
            "user/Observation.s?code%3Atext=a+b%26c&x=%C3%A6%20%7C",
            "launch launch/encounter fhirUser profile offline_access online_access openid",
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
            "patient/Observation.c patient/Observation.u patient/Observation.d patient/Observation.crus",
            "https://api.example.com/scope email launch/practitioner patient/Patient.cruds",
        ] {
            let scopes = parse(text);
            let canonical = scopes.to_scope_string();
            assert_eq!(parse(&canonical), scopes, "`{text}` → `{canonical}`");
            assert_eq!(parse(&canonical).to_scope_string(), canonical);
            assert_eq!(scopes.to_string(), canonical);
        }
    }

    #[test]
    fn round_trip_of_constructed_query_values() {
        let scope = ClinicalScope {
            context: Context::User,
            resource_type: Some("Observation".to_string()),
            permissions: perms(&[Read]),
            query: pairs(&[("a b", "x\ty\n?z=&%+#"), ("næ", "ø|/:")]),
            spelled_v1: false,
        };
        let scopes = Scopes {
            clinical: vec![scope],
            ..Scopes::default()
        };
        let canonical = scopes.to_scope_string();
        assert!(!canonical.contains(char::is_whitespace), "{canonical}");
        assert_eq!(parse(&canonical), scopes);
    }

    #[test]
    fn v2_set_with_query_stays_v2() {
        let scope = only_clinical("patient/Observation.rs?category=laboratory");
        assert_eq!(
            scope.to_scope_string(),
            "patient/Observation.rs?category=laboratory"
        );
        let scope = only_clinical("patient/Observation.cruds?category=laboratory");
        assert_eq!(
            scope.to_scope_string(),
            "patient/Observation.cruds?category=laboratory"
        );
    }
}
