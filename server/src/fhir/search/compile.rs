//! Turns parsed search clauses into SQL over the resource table and the index tables.
//! Every clause is a set of resource positions (`r.seq IN (…)`), so each one uses its
//! index on its own and clauses combine with AND.

use helsebro_mappings::dates::{parse_range, DateRange};
use helsebro_mappings::index::{normalize_string, split_reference, ParamKind};

use super::params::{split_prefix, split_token, unescape, Clause, Modifier, ParsedSearch};
use crate::store::crypto::{is_national_id_system, SearchHasher};
use crate::store::sql::Sql;
use helsebro_profiles::identifiers::check_person_number;

pub struct Scope<'a> {
    pub tenant_id: &'a str,
    pub resource_type: &'a str,
    /// This server's FHIR base: absolute references to it are local references.
    pub base_url: &'a str,
    /// The tenant's keyed hash, by which national identity numbers are indexed.
    pub hasher: &'a SearchHasher,
}

/// `FROM … WHERE …` shared by the page and the count.
fn filter(scope: &Scope, search: &ParsedSearch) -> Sql {
    let mut sql = Sql::new(" FROM resources r WHERE r.tenant_id = ");
    sql.text(scope.tenant_id)
        .push(" AND r.resource_type = ")
        .text(scope.resource_type)
        .push(" AND r.deleted = FALSE");
    // The clause likely to match fewest rows drives (its index yields the candidates);
    // range clauses (dates, quantities) other than the driver check each candidate through
    // their `resource_seq` index, since materializing a year of dates for every query is
    // what made searches slow.
    let driver = search
        .clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.modifier.is_none())
        .min_by_key(|(_, c)| selectivity_rank(c))
        .map(|(i, _)| i);
    let series = series_driver(scope, search);
    if let Some(series) = &series {
        sql.push(" AND ").append(series);
    }
    for (i, clause) in search.clauses.iter().enumerate() {
        // Equality and prefix lookups are cheap to collect whole; ranges are not. Under
        // the series driver every clause only confirms its few candidates.
        let is_range = matches!(clause.param.kind, ParamKind::Date | ParamKind::Quantity);
        let correlated = series.is_some() || (is_range && Some(i) != driver);
        sql.push(" AND ");
        sql.append(&condition(scope, clause, correlated));
    }
    sql
}

/// An Observation search by one patient, one code and date ranges is driven by
/// `search_observation_series`, one index range however many observations the patient
/// and the code have. `None` for any other shape of search.
fn series_driver(scope: &Scope, search: &ParsedSearch) -> Option<Sql> {
    if scope.resource_type != "Observation" {
        return None;
    }
    let plain = |c: &&Clause| c.modifier.is_none() && c.values.len() == 1;
    let single = |name: &str| -> Option<&str> {
        let mut found = search.clauses.iter().filter(|c| c.param.name == name);
        let clause = found.next().filter(plain)?;
        found.next().is_none().then(|| clause.values[0].as_str())
    };
    let patient = series_patient(scope, single("patient")?)?;
    let code = single("code")?;
    let dates: Vec<&Clause> = search
        .clauses
        .iter()
        .filter(|c| c.param.name == "date")
        .collect();
    if dates.is_empty() || !dates.iter().all(plain) {
        return None;
    }
    let mut sql =
        Sql::new("r.seq IN (SELECT resource_seq FROM search_observation_series WHERE tenant_id = ");
    sql.text(scope.tenant_id)
        .push(" AND patient_id = ")
        .text(patient)
        .push(" AND ")
        .append(&token_predicate(scope.hasher, code));
    for date in dates {
        sql.push(" AND (")
            .append(&date_condition("low", "high", &date.values[0]))
            .push(")");
    }
    sql.push(")");
    Some(sql)
}

/// The Patient id of `123`, `Patient/123` or this server's URL for it.
fn series_patient(scope: &Scope, v: &str) -> Option<String> {
    let v = unescape(v);
    let local = v
        .strip_prefix(scope.base_url)
        .map_or(v.as_str(), |rest| rest.trim_start_matches('/'));
    let id = local.strip_prefix("Patient/").unwrap_or(local);
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then(|| id.to_string())
}

/// A guess at how few rows a clause matches, lowest first, from its kind alone.
fn selectivity_rank(clause: &Clause) -> u8 {
    match (clause.param.name, clause.param.kind) {
        ("_id", _) => 0,
        (_, ParamKind::Reference) => 1,
        // Name prefixes split a population finely; many tokens (gender, status, active)
        // have a handful of values.
        (_, ParamKind::String) => 2,
        (_, ParamKind::TokenQuantity) => 3,
        (_, ParamKind::Token) => 4,
        (_, ParamKind::Quantity) => 5,
        (_, ParamKind::Date) => 6,
    }
}

/// Selects `seq, json` of one page plus one more row, which tells whether a next page exists.
pub fn page(scope: &Scope, search: &ParsedSearch) -> Sql {
    let mut sql = Sql::new("SELECT r.seq, r.json");
    sql.append(&filter(scope, search));
    if let Some(cursor) = search.cursor {
        sql.push(" AND r.seq > ").int(cursor);
    }
    sql.push(" ORDER BY r.seq LIMIT ")
        .int(search.count as i64 + 1);
    sql
}

pub fn count(scope: &Scope, search: &ParsedSearch) -> Sql {
    let mut sql = Sql::new("SELECT COUNT(*)");
    sql.append(&filter(scope, search));
    sql
}

/// `SELECT r.seq` of every match, for callers that combine searches (a bulk export ORs
/// the `_typeFilter`s of a type as `r.seq IN (…) OR r.seq IN (…)`).
pub fn matching(scope: &Scope, search: &ParsedSearch) -> Sql {
    let mut sql = Sql::new("SELECT r.seq");
    sql.append(&filter(scope, search));
    sql
}

/// `correlated`: test each candidate row (`EXISTS … resource_seq = r.seq`) instead of
/// collecting every matching row (`r.seq IN …`).
fn condition(scope: &Scope, clause: &Clause, correlated: bool) -> Sql {
    match clause.param.name {
        "_id" => return id_condition(clause),
        "_lastUpdated" => {
            return any_of(clause, |v| {
                date_condition("r.last_updated", "r.last_updated", v)
            })
        }
        _ => {}
    }
    let table = match clause.param.kind {
        ParamKind::Token => "search_token",
        ParamKind::String => "search_string",
        ParamKind::Date => "search_date",
        ParamKind::Reference => "search_reference",
        ParamKind::Quantity => "search_quantity",
        ParamKind::TokenQuantity => "search_token_quantity",
    };
    let index_rows = |predicate: Option<Sql>| {
        let mut sql = if correlated {
            let mut s = Sql::new("EXISTS (SELECT 1 FROM ");
            s.push(table)
                .push(" WHERE resource_seq = r.seq AND tenant_id = ");
            s
        } else {
            let mut s = Sql::new("r.seq IN (SELECT resource_seq FROM ");
            s.push(table).push(" WHERE tenant_id = ");
            s
        };
        sql.text(scope.tenant_id)
            .push(" AND resource_type = ")
            .text(scope.resource_type)
            .push(" AND param = ")
            .text(clause.param.name);
        if let Some(p) = predicate {
            sql.push(" AND (").append(&p).push(")");
        }
        sql.push(")");
        sql
    };
    match clause.modifier {
        Some(Modifier::Missing) => {
            let present = index_rows(None);
            if clause.values.iter().any(|v| v == "true") {
                let mut sql = Sql::new("NOT ");
                sql.append(&present);
                sql
            } else {
                present
            }
        }
        Some(Modifier::Not) => {
            let mut sql = Sql::new("NOT ");
            sql.append(&index_rows(Some(alternatives(clause, |v| {
                token_predicate(scope.hasher, v)
            }))));
            sql
        }
        _ => {
            let predicate = match clause.param.kind {
                ParamKind::Token => alternatives(clause, |v| token_predicate(scope.hasher, v)),
                ParamKind::String => alternatives(clause, |v| string_predicate(clause.modifier, v)),
                ParamKind::Date => alternatives(clause, |v| date_condition("low", "high", v)),
                ParamKind::Reference => {
                    alternatives(clause, |v| reference_predicate(scope, clause, v))
                }
                ParamKind::Quantity => {
                    alternatives(clause, |v| quantity_predicate("system", "code", "unit", v))
                }
                ParamKind::TokenQuantity => alternatives(clause, token_quantity_predicate),
            };
            index_rows(Some(predicate))
        }
    }
}

fn alternatives(clause: &Clause, one: impl Fn(&str) -> Sql) -> Sql {
    let mut sql = Sql::default();
    for (i, v) in clause.values.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(").append(&one(v)).push(")");
    }
    sql
}

fn any_of(clause: &Clause, one: impl Fn(&str) -> Sql) -> Sql {
    let mut sql = Sql::new("(");
    sql.append(&alternatives(clause, one)).push(")");
    sql
}

fn id_condition(clause: &Clause) -> Sql {
    let mut sql = Sql::new("r.id IN (");
    for (i, v) in clause.values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(unescape(v));
    }
    sql.push(")");
    sql
}

/// National identity numbers are matched by their keyed hash: by system, or, without one,
/// when the value is shaped like one (valid check digits), also as written.
fn token_predicate(hasher: &SearchHasher, v: &str) -> Sql {
    let mut sql = Sql::default();
    match split_token(v) {
        (None, code) if check_person_number(&code, true).is_ok() => {
            sql.push("code = ")
                .text(code.clone())
                .push(" OR code = ")
                .text(hasher.hash(&code));
            sql
        }
        (Some(system), code) if is_national_id_system(&system) && !code.is_empty() => {
            sql.push("code = ")
                .text(hasher.hash(&code))
                .push(" AND system = ")
                .text(system);
            sql
        }
        _ => plain_token_predicate(v),
    }
}

/// A token as written: `code`, `system|code`, `|code` or `system|`.
fn plain_token_predicate(v: &str) -> Sql {
    let mut sql = Sql::default();
    match split_token(v) {
        (None, code) => {
            sql.push("code = ").text(code);
        }
        (Some(system), code) if system.is_empty() => {
            sql.push("system IS NULL AND code = ").text(code);
        }
        (Some(system), code) if code.is_empty() => {
            sql.push("system = ").text(system);
        }
        (Some(system), code) => {
            sql.push("code = ")
                .text(code)
                .push(" AND system = ")
                .text(system);
        }
    }
    sql
}

/// `123`, `Patient/123`, or this server's absolute URL for it; other URLs match as written.
fn reference_predicate(scope: &Scope, clause: &Clause, v: &str) -> Sql {
    let v = unescape(v);
    let local = v
        .strip_prefix(scope.base_url)
        .map(|rest| rest.trim_start_matches('/'))
        .unwrap_or(&v);
    let mut sql = Sql::default();
    let (ty, id, url) = split_reference(local);
    match (ty, id, url) {
        (Some(t), Some(i), None) => {
            sql.push("target_id = ")
                .text(i)
                .push(" AND target_type = ")
                .text(t);
        }
        (_, _, Some(u)) if u.contains('/') || u.contains(':') => {
            sql.push("url = ").text(u);
        }
        _ => {
            sql.push("target_id = ").text(local);
            if let [only] = clause.param.targets {
                sql.push(" AND target_type = ").text(*only);
            }
        }
    }
    sql
}

/// `[prefix]number[|system|code]`: `eq` honours the value's precision (5.4 is [5.35, 5.45)),
/// `||code` matches either the UCUM code or the unit text.
fn quantity_predicate(system_col: &str, code_col: &str, unit_col: &str, v: &str) -> Sql {
    let parts: Vec<String> = v.splitn(3, '|').map(unescape).collect();
    let (prefix, number) = split_prefix(&parts[0]);
    let value: f64 = number
        .parse()
        .expect("quantities are validated while parsing");
    let decimals = number.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
    let half = 0.5 * 10f64.powi(-decimals);
    let mut sql = Sql::default();
    match prefix {
        "ne" => {
            sql.push("(value < ")
                .float(value - half)
                .push(" OR value >= ")
                .float(value + half)
                .push(")");
        }
        "gt" | "sa" => {
            sql.push("value > ").float(value);
        }
        "lt" | "eb" => {
            sql.push("value < ").float(value);
        }
        "ge" => {
            sql.push("value >= ").float(value);
        }
        "le" => {
            sql.push("value <= ").float(value);
        }
        "ap" => {
            let slack = (value * 0.1).abs();
            sql.push("value >= ")
                .float(value - slack)
                .push(" AND value <= ")
                .float(value + slack);
        }
        _ => {
            sql.push("value >= ")
                .float(value - half)
                .push(" AND value < ")
                .float(value + half);
        }
    }
    match (
        parts.get(1).map(String::as_str),
        parts.get(2).map(String::as_str),
    ) {
        (Some(system), Some(code)) if !system.is_empty() && !code.is_empty() => {
            sql.push(" AND ").push(system_col).push(" = ").text(system);
            sql.push(" AND ").push(code_col).push(" = ").text(code);
        }
        (_, Some(code)) if !code.is_empty() => {
            sql.push(" AND (").push(code_col).push(" = ").text(code);
            sql.push(" OR ")
                .push(unit_col)
                .push(" = ")
                .text(code)
                .push(")");
        }
        _ => {}
    }
    sql
}

/// `token$quantity`, both parts on the same element.
fn token_quantity_predicate(v: &str) -> Sql {
    let (token, quantity) = v.split_once('$').unwrap_or((v, ""));
    let mut sql = plain_token_predicate(token);
    if !quantity.is_empty() {
        sql.push(" AND ").append(&quantity_predicate(
            "unit_system",
            "unit_code",
            "unit",
            quantity,
        ));
    }
    sql
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn string_predicate(modifier: Option<Modifier>, v: &str) -> Sql {
    let v = unescape(v);
    let mut sql = Sql::default();
    match modifier {
        Some(Modifier::Exact) => {
            sql.push("exact = ").text(v);
        }
        Some(Modifier::Contains) => {
            sql.push("normalized LIKE ")
                .text(format!("%{}%", like_escape(&normalize_string(&v))))
                .push(" ESCAPE '\\'");
        }
        _ => {
            // A range rather than LIKE 'x%': both backends use the index for it (binary
            // order: PostgreSQL's column is COLLATE "C"), whatever the LIKE settings.
            let prefix = normalize_string(&v);
            sql.push("normalized >= ")
                .text(prefix.clone())
                .push(" AND normalized < ")
                .text(format!("{prefix}\u{10FFFF}"));
        }
    }
    sql
}

/// Compares the indexed range `[low, high]` with the parameter's range, as the FHIR search
/// spec defines each prefix for ranges.
fn date_condition(low: &str, high: &str, v: &str) -> Sql {
    let (prefix, date) = split_prefix(v);
    let DateRange { low: vl, high: vh } =
        parse_range(date).expect("date values are validated while parsing");
    let mut sql = Sql::default();
    let within = |sql: &mut Sql| {
        sql.push("(").push(low).push(" >= ").int(vl);
        sql.push(" AND ").push(high).push(" <= ").int(vh).push(")");
    };
    match prefix {
        "ne" => {
            sql.push("(").push(low).push(" < ").int(vl);
            sql.push(" OR ").push(high).push(" > ").int(vh).push(")");
        }
        "gt" => {
            sql.push(high).push(" > ").int(vh);
        }
        "lt" => {
            sql.push(low).push(" < ").int(vl);
        }
        "ge" => {
            sql.push("(").push(high).push(" > ").int(vh).push(" OR ");
            within(&mut sql);
            sql.push(")");
        }
        "le" => {
            sql.push("(").push(low).push(" < ").int(vl).push(" OR ");
            within(&mut sql);
            sql.push(")");
        }
        "sa" => {
            sql.push(low).push(" > ").int(vh);
        }
        "eb" => {
            sql.push(high).push(" < ").int(vl);
        }
        "ap" => {
            // Approximately: within 10 % of the distance to now, at least a day.
            let now = crate::store::now_micros();
            let slack = ((now - vl).abs() / 10).max(86_400_000_000);
            sql.push(low).push(" <= ").int(vh.saturating_add(slack));
            sql.push(" AND ")
                .push(high)
                .push(" >= ")
                .int(vl.saturating_sub(slack));
        }
        _ => within(&mut sql),
    }
    sql
}
