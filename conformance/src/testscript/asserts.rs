//! Evaluating one `assert`. An assert checks one thing (tst-5/6); which one is the first
//! of its elements present, in the order below. It reads the latest exchange, or the
//! response, request or fixture its `sourceId` names; `direction: request` reads the
//! request instead of the response.

use serde_json::Value;

use super::fhirpath;
use super::http::{self, header_values, Exchange};
use super::minimum_id;
use super::operations::mime;
use super::operators::{failure, holds, show, Operator};
use super::paths;
use super::report::Verdict;
use super::script::Assert;
use super::state::State;
use super::variables::substitute;

/// What an assert came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub message: String,
}

enum Checked {
    Pass(String),
    Fail(String),
}

/// The R4 `assert-response-code-types` codes.
pub fn response_code(name: &str) -> Option<u16> {
    Some(match name {
        "okay" => 200,
        "created" => 201,
        "noContent" => 204,
        "notModified" => 304,
        "bad" => 400,
        "forbidden" => 403,
        "notFound" => 404,
        "methodNotAllowed" => 405,
        "conflict" => 409,
        "gone" => 410,
        "preconditionFailed" => 412,
        "unprocessable" => 422,
        _ => return None,
    })
}

pub async fn evaluate(assert: &Assert, state: &State) -> Outcome {
    let (verdict, message) = match check(assert, state).await {
        Ok(Checked::Pass(m)) => (Verdict::Pass, m),
        Ok(Checked::Fail(m)) => (Verdict::Fail, m),
        Err(m) => (Verdict::Error, m),
    };
    // A warningOnly assert that does not hold is reported, and does not fail the script.
    let verdict = match verdict {
        Verdict::Fail | Verdict::Error if assert.warning_only => Verdict::Warning,
        v => v,
    };
    // The label names the assert; descriptions are sentences, too long for a message.
    let message = match assert.label.as_deref() {
        Some(label) if verdict != Verdict::Pass => format!("{label}: {message}"),
        _ => message,
    };
    Outcome { verdict, message }
}

fn compare(
    what: &str,
    op: Operator,
    actual: Vec<String>,
    expected: Vec<String>,
) -> Result<Checked, String> {
    Ok(if holds(op, &actual, &expected)? {
        Checked::Pass(format!("{what}: {}", show(&actual)))
    } else {
        Checked::Fail(failure(what, op, &actual, &expected))
    })
}

/// The expected values from `value`, when the operator needs one.
fn expected(op: Operator, value: &Option<String>, what: &str) -> Result<Vec<String>, String> {
    if !op.needs_expected() {
        return Ok(Vec::new());
    }
    value
        .clone()
        .map(|v| vec![v])
        .ok_or_else(|| format!("the {what} assert ({}) has no value", op.name()))
}

fn request_side(assert: &Assert) -> bool {
    assert.direction.as_deref() == Some("request")
}

async fn check(a: &Assert, state: &State) -> Result<Checked, String> {
    let op = Operator::parse(a.operator.as_deref())?;
    let value = a
        .value
        .as_deref()
        .map(|v| substitute(state, v))
        .transpose()?;
    let source = a.source_id.as_deref();
    let exchange = || state.exchange(source);
    let body_json = || -> Result<&Value, String> {
        state
            .body(source)?
            .json
            .as_ref()
            .ok_or_else(|| "the body is not a FHIR resource".to_string())
    };

    if let Some(name) = &a.response {
        let code = response_code(name).ok_or_else(|| format!("unknown response '{name}'"))?;
        let actual = vec![exchange()?.status.to_string()];
        return compare(
            &format!("response code ({name})"),
            op,
            actual,
            vec![code.to_string()],
        );
    }
    if let Some(code) = &a.response_code {
        let code = substitute(state, code)?;
        let actual = vec![exchange()?.status.to_string()];
        return compare("response code", op, actual, vec![code]);
    }
    if let Some(format) = &a.content_type {
        let e = exchange()?;
        let actual = if request_side(a) {
            http::media_type(
                header_values(&e.request.headers, "content-type")
                    .first()
                    .copied(),
            )
        } else {
            e.media_type()
        };
        // Equality-like operators compare MIME types (`xml` is application/fhir+xml);
        // contains and the like compare the text as written.
        let expected = match op {
            Operator::Equals | Operator::NotEquals | Operator::In | Operator::NotIn => format
                .split(',')
                .map(|f| mime(f).to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(","),
            _ => format.to_ascii_lowercase(),
        };
        return compare(
            "content type",
            op,
            actual.into_iter().collect(),
            vec![expected],
        );
    }
    if let Some(field) = &a.header_field {
        let e = exchange()?;
        let headers = if request_side(a) {
            &e.request.headers
        } else {
            &e.headers
        };
        let actual = header_values(headers, field)
            .into_iter()
            .map(String::from)
            .collect();
        let side = if request_side(a) {
            "request"
        } else {
            "response"
        };
        let what = format!("{side} header {field}");
        return compare(&what, op, actual, expected(op, &value, &what)?);
    }
    if let Some(rtype) = &a.resource {
        let actual = state
            .body(source)?
            .resource_type()
            .map(String::from)
            .into_iter()
            .collect();
        return compare("resource type", op, actual, vec![rtype.clone()]);
    }
    if let Some(method) = &a.request_method {
        let actual = vec![exchange()?.request.method.to_ascii_lowercase()];
        return compare(
            "request method",
            op,
            actual,
            vec![method.to_ascii_lowercase()],
        );
    }
    if let Some(url) = &a.request_url {
        let url = substitute(state, url)?;
        let actual = vec![exchange()?.request.url.clone()];
        return compare("request URL", op, actual, vec![url]);
    }
    if let Some(id) = &a.minimum_id {
        let minimum = state
            .body(Some(id))?
            .json
            .as_ref()
            .ok_or_else(|| format!("minimumId '{id}' is not a resource"))?;
        let missing = minimum_id::missing(minimum, body_json()?);
        return Ok(if missing.is_empty() {
            Checked::Pass(format!("the response holds all of '{id}'"))
        } else {
            Checked::Fail(format!(
                "the response lacks what '{id}' has: {}",
                missing.join(", ")
            ))
        });
    }
    if let Some(id) = &a.validate_profile_id {
        let url = state
            .profiles
            .get(id)
            .ok_or_else(|| format!("no profile with id '{id}'"))?;
        let errors = validate_profile(body_json()?, url);
        return Ok(if errors.is_empty() {
            Checked::Pass(format!("valid against {url}"))
        } else {
            Checked::Fail(format!("not valid against {url}: {}", errors.join("; ")))
        });
    }
    if let Some(check) = a.navigation_links {
        if !check {
            return Ok(Checked::Pass("navigation links not checked".into()));
        }
        let accept = state.exchange(source).ok().and_then(|e| {
            header_values(&e.request.headers, "accept")
                .first()
                .map(|s| s.to_string())
        });
        return navigation_links(body_json()?, state, accept).await;
    }
    if a.expression.is_some() || a.compare_to_source_expression.is_some() {
        return expression(a, op, &value, body_json()?, state);
    }
    if a.path.is_some() || a.compare_to_source_path.is_some() {
        return path(a, op, &value, state);
    }
    Err("the assert checks nothing the engine knows".into())
}

/// A FHIRPath assert. With `compareToSourceId`, the expression's values on the response
/// are compared with `compareToSourceExpression`'s on the source (either expression
/// stands for the other when only one is given, as Touchstone reads it). Without a value
/// to compare, or with `eval`, the expression must be true.
fn expression(
    a: &Assert,
    op: Operator,
    value: &Option<String>,
    json: &Value,
    state: &State,
) -> Result<Checked, String> {
    let expr = a
        .expression
        .as_deref()
        .or(a.compare_to_source_expression.as_deref())
        .unwrap_or_default();
    if let Some(source_id) = &a.compare_to_source_id {
        let source_expr = a.compare_to_source_expression.as_deref().unwrap_or(expr);
        let source = state
            .body(Some(source_id))?
            .json
            .as_ref()
            .ok_or_else(|| format!("'{source_id}' is not a resource"))?;
        let expected = fhirpath::strings(source_expr, source)?;
        let actual = fhirpath::strings(expr, json)?;
        return compare(&format!("'{expr}'"), op, actual, expected);
    }
    if op == Operator::Eval || (a.operator.is_none() && value.is_none()) {
        return Ok(if fhirpath::boolean(expr, json)? {
            Checked::Pass(format!("'{expr}' is true"))
        } else {
            Checked::Fail(format!("expected '{expr}' to be true, it is not"))
        });
    }
    let actual = fhirpath::strings(expr, json)?;
    let what = format!("'{expr}'");
    compare(&what, op, actual, expected(op, value, &what)?)
}

/// A `path` assert: the first value the path selects, as XPath's `string()` would give.
fn path(
    a: &Assert,
    op: Operator,
    value: &Option<String>,
    state: &State,
) -> Result<Checked, String> {
    let path = a
        .path
        .as_deref()
        .or(a.compare_to_source_path.as_deref())
        .unwrap_or_default();
    let actual: Vec<String> = paths::first(state.body(a.source_id.as_deref())?, path)?
        .into_iter()
        .collect();
    let what = format!("'{path}'");
    if let Some(source_id) = &a.compare_to_source_id {
        let source_path = a.compare_to_source_path.as_deref().unwrap_or(path);
        let expected = paths::first(state.body(Some(source_id))?, source_path)?
            .into_iter()
            .collect();
        return compare(&what, op, actual, expected);
    }
    compare(&what, op, actual, expected(op, value, &what)?)
}

/// The errors of validating `resource` against `url`. A core R4 definition
/// (`http://hl7.org/fhir/StructureDefinition/Patient`) is the R4 structure check for a
/// resource of that type; other profiles go through the profile validator.
pub fn validate_profile(resource: &Value, url: &str) -> Vec<String> {
    use helsebro_profiles::validate::{validate, Severity};
    let core = url
        .strip_prefix("http://hl7.org/fhir/StructureDefinition/")
        .filter(|t| !t.contains('/') && !t.contains('|'));
    let mut errors = Vec::new();
    let issues = match core {
        Some(rtype) => {
            let actual = resource.get("resourceType").and_then(Value::as_str);
            if actual != Some(rtype) {
                errors.push(format!(
                    "the resource is a {}, not a {rtype}",
                    actual.unwrap_or("non-resource")
                ));
            }
            helsebro_profiles::structure::check_resource(resource)
                .into_iter()
                .filter(|i| matches!(i.severity, helsebro_profiles::structure::Severity::Error))
                .map(|i| format!("{}: {}", i.expression, i.message))
                .collect::<Vec<_>>()
        }
        None => validate(resource, Some(url))
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| format!("{}: {}", i.expression, i.message))
            .collect(),
    };
    errors.extend(issues);
    errors
}

/// `navigationLinks`. R4 defines it only as "whether or not the test execution performs
/// validation on the bundle navigation links"; what is validated here comes from R4's
/// paging rules (http.html#paging: `first`, `previous`, `next`, `last`; search.html: the
/// searchset carries its `self` link): the body is a Bundle with a `self` link, every
/// link is an absolute URL, and each paging link answers 200 with a Bundle. Links the
/// server has no use for (no `next` on the last page) are not required.
async fn navigation_links(
    json: &Value,
    state: &State,
    accept: Option<String>,
) -> Result<Checked, String> {
    if json.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Ok(Checked::Fail(
            "navigation links: the body is not a Bundle".into(),
        ));
    }
    let links: Vec<(String, String)> = json
        .get("link")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|l| {
            let text = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (text("relation"), text("url"))
        })
        .collect();
    let mut problems = Vec::new();
    if !links.iter().any(|(r, _)| r == "self") {
        problems.push("no self link".to_string());
    }
    for (relation, url) in &links {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.push(format!(
                "the {relation} link is not an absolute URL: '{url}'"
            ));
            continue;
        }
        if !matches!(
            relation.as_str(),
            "first" | "previous" | "prev" | "next" | "last"
        ) {
            continue;
        }
        let accept = accept.clone().unwrap_or_else(|| mime("json"));
        let request = state.get(url, &accept);
        match http::send(&state.client, request).await {
            Ok(Exchange {
                status: 200, body, ..
            }) if body.resource_type() == Some("Bundle") => {}
            Ok(e) => problems.push(format!(
                "the {relation} link answered {} {}",
                e.status,
                e.body.resource_type().unwrap_or("without a Bundle")
            )),
            Err(why) => problems.push(format!("the {relation} link: {why}")),
        }
    }
    let relations: Vec<String> = links.iter().map(|(r, _)| r.clone()).collect();
    Ok(if problems.is_empty() {
        Checked::Pass(format!("navigation links: {}", relations.join(", ")))
    } else {
        Checked::Fail(format!("navigation links: {}", problems.join("; ")))
    })
}
