//! The assert operators, comparing what was found (a list of strings: one per value) with
//! what is expected (`value`, or what the compare-to source gives).
//! - `equals`/`notEquals`: the lists are (not) the same.
//! - `in`/`notIn`: the expected value is a comma-separated list; every found value is in
//!   it (and something was found) / no found value is in it.
//! - `greaterThan`/`lessThan`: one value each; as numbers when both are numbers, else as
//!   text (which orders FHIR dates and instants of equal precision).
//! - `empty`/`notEmpty`: nothing (or only empty text) was found / something was.
//! - `contains`/`notContains`: some found value has / none has the expected text in it.
//! - `eval`: only for FHIRPath asserts, where the expression itself must be true.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
    Empty,
    NotEmpty,
    Contains,
    NotContains,
    Eval,
}

impl Operator {
    /// The script's `operator`; `equals` when it has none.
    pub fn parse(code: Option<&str>) -> Result<Self, String> {
        Ok(match code.map(str::trim) {
            None | Some("equals") => Operator::Equals,
            Some("notEquals") => Operator::NotEquals,
            Some("in") => Operator::In,
            Some("notIn") => Operator::NotIn,
            Some("greaterThan") => Operator::GreaterThan,
            Some("lessThan") => Operator::LessThan,
            Some("empty") => Operator::Empty,
            Some("notEmpty") => Operator::NotEmpty,
            Some("contains") => Operator::Contains,
            Some("notContains") => Operator::NotContains,
            Some("eval") => Operator::Eval,
            Some(other) => return Err(format!("unknown operator '{other}'")),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "notEquals",
            Operator::In => "in",
            Operator::NotIn => "notIn",
            Operator::GreaterThan => "greaterThan",
            Operator::LessThan => "lessThan",
            Operator::Empty => "empty",
            Operator::NotEmpty => "notEmpty",
            Operator::Contains => "contains",
            Operator::NotContains => "notContains",
            Operator::Eval => "eval",
        }
    }

    /// Whether the operator compares with an expected value at all.
    pub fn needs_expected(self) -> bool {
        !matches!(self, Operator::Empty | Operator::NotEmpty | Operator::Eval)
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn order(actual: &str, expected: &str) -> std::cmp::Ordering {
    match (number(actual), number(expected)) {
        (Some(a), Some(e)) => a.partial_cmp(&e).unwrap_or(std::cmp::Ordering::Equal),
        _ => actual.cmp(expected),
    }
}

/// Whether `actual` satisfies `op` against `expected`.
pub fn holds(op: Operator, actual: &[String], expected: &[String]) -> Result<bool, String> {
    let one = |list: &[String], what: &str| -> Result<Option<String>, String> {
        match list {
            [] => Ok(None),
            [v] => Ok(Some(v.clone())),
            _ => Err(format!(
                "{} needs one {what} value, found {}",
                op.name(),
                list.len()
            )),
        }
    };
    let listed = || -> Vec<String> {
        expected
            .iter()
            .flat_map(|e| e.split(','))
            .map(|e| e.trim().to_string())
            .collect()
    };
    Ok(match op {
        Operator::Equals => actual == expected,
        Operator::NotEquals => actual != expected,
        Operator::In => {
            let list = listed();
            !actual.is_empty() && actual.iter().all(|a| list.contains(a))
        }
        Operator::NotIn => {
            let list = listed();
            !actual.iter().any(|a| list.contains(a))
        }
        Operator::GreaterThan | Operator::LessThan => {
            let (Some(a), Some(e)) = (one(actual, "found")?, one(expected, "expected")?) else {
                return Ok(false);
            };
            let wanted = if op == Operator::GreaterThan {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Less
            };
            order(&a, &e) == wanted
        }
        Operator::Empty => actual.iter().all(|a| a.is_empty()),
        Operator::NotEmpty => actual.iter().any(|a| !a.is_empty()),
        Operator::Contains | Operator::NotContains => {
            let Some(e) = one(expected, "expected")? else {
                return Err(format!("{} needs a value", op.name()));
            };
            let found = actual.iter().any(|a| a.contains(&e));
            found == (op == Operator::Contains)
        }
        Operator::Eval => return Err("eval applies to FHIRPath expressions only".into()),
    })
}

/// `'a'`, `'a', 'b'` or `nothing`: how found and expected values read in messages.
pub fn show(values: &[String]) -> String {
    if values.is_empty() {
        return "nothing".into();
    }
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "expected response code 201, got '400'" and the like.
pub fn failure(what: &str, op: Operator, actual: &[String], expected: &[String]) -> String {
    let wanted = match op {
        Operator::Equals => show(expected),
        Operator::Empty | Operator::NotEmpty => op.name().to_string(),
        _ => format!("{} {}", op.name(), show(expected)),
    };
    format!("expected {what} {wanted}, got {}", show(actual))
}
