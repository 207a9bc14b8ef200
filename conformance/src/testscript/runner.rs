//! Running one script: fixtures, autocreate, setup, tests, teardown (always), autodelete;
//! what each action came to goes into the record the TestReport is written from.

use std::collections::HashMap;

use super::asserts;
use super::fixtures;
use super::http;
use super::operations;
use super::report::{ActionRecord, Kind, Record, TestRecord, Verdict};
use super::script::{Action, Coding, LoadedScript, Operation};
use super::state::State;
use super::RunOptions;

/// What a run produced: its record and the messages of what failed and what warned.
pub struct Run {
    pub record: Record,
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
}

pub async fn run(loaded: &LoadedScript, options: &RunOptions, client: &reqwest::Client) -> Run {
    let script = &loaded.script;
    let mut state = State {
        base: options.base.trim_end_matches('/').to_string(),
        token: options.token.clone(),
        client: client.clone(),
        fixtures: HashMap::new(),
        server_ids: HashMap::new(),
        responses: HashMap::new(),
        requests: HashMap::new(),
        last: None,
        variables: script.variable.clone(),
        overrides: options.variables.clone(),
        profiles: script
            .profile
            .iter()
            .filter_map(|p| Some((p.id.clone()?, p.reference.clone()?)))
            .collect(),
    };
    state.fixtures = fixtures::load(script, loaded.folder(), &state).await;
    let mut run = Run {
        record: Record::default(),
        failures: Vec::new(),
        warnings: Vec::new(),
    };

    let mut setup = Vec::new();
    for fixture in script.fixture.iter().filter(|f| f.autocreate) {
        if let Some(id) = &fixture.id {
            setup.push(autocreate(id, &mut state).await);
        }
    }
    let actions = script.setup.as_ref().map(|s| s.action.as_slice());
    setup.extend(perform_all(actions.unwrap_or_default(), &mut state).await);
    let setup_ok = !setup.iter().any(|a| a.verdict.fails());
    note(&mut run, "setup", &setup);
    run.record.setup = setup;

    for (i, test) in script.test.iter().enumerate() {
        let name = test
            .name
            .clone()
            .or_else(|| test.id.clone())
            .unwrap_or_else(|| format!("test {}", i + 1));
        let actions = if setup_ok {
            perform_all(&test.action, &mut state).await
        } else {
            // Touchstone's rule: a failed setup skips the tests; teardown still runs.
            skipped(&test.action)
        };
        note(&mut run, &format!("test '{name}'"), &actions);
        run.record.tests.push(TestRecord {
            name,
            description: test.description.clone(),
            actions,
        });
    }

    let actions = script.teardown.as_ref().map(|s| s.action.as_slice());
    let mut teardown = perform_all(actions.unwrap_or_default(), &mut state).await;
    for fixture in script.fixture.iter().filter(|f| f.autodelete) {
        if let Some(id) = &fixture.id {
            teardown.push(autodelete(id, &mut state).await);
        }
    }
    note(&mut run, "teardown", &teardown);
    run.record.teardown = teardown;
    run
}

fn note(run: &mut Run, phase: &str, actions: &[ActionRecord]) {
    for (i, a) in actions.iter().enumerate() {
        let line = format!("{phase} action {}: {}", i + 1, a.message);
        if a.verdict.fails() {
            run.failures.push(line);
        } else if a.verdict == Verdict::Warning {
            run.warnings.push(line);
        }
    }
}

fn skipped(actions: &[Action]) -> Vec<ActionRecord> {
    actions
        .iter()
        .map(|a| ActionRecord {
            kind: if a.operation.is_some() {
                Kind::Operation
            } else {
                Kind::Assert
            },
            verdict: Verdict::Skip,
            message: "skipped: the setup failed".into(),
            detail: None,
        })
        .collect()
}

async fn perform_all(actions: &[Action], state: &mut State) -> Vec<ActionRecord> {
    let mut out = Vec::new();
    for action in actions {
        if let Some(op) = &action.operation {
            out.push(operation(op, state).await);
        } else if let Some(assert) = &action.assert {
            let outcome = asserts::evaluate(assert, state).await;
            out.push(ActionRecord {
                kind: Kind::Assert,
                verdict: outcome.verdict,
                message: outcome.message,
                detail: None,
            });
        }
    }
    out
}

/// Performs `op`: the exchange becomes the latest (and is kept under its responseId and
/// requestId). An operation passes when the server answered at all; what it answered is
/// for the asserts to judge.
async fn operation(op: &Operation, state: &mut State) -> ActionRecord {
    let error = |message: String| ActionRecord {
        kind: Kind::Operation,
        verdict: Verdict::Error,
        message,
        detail: None,
    };
    let request = match operations::build(op, state) {
        Ok(r) => r,
        Err(why) => {
            state.last = None;
            return error(format!("operation {}: {why}", op.code().unwrap_or("url")));
        }
    };
    let (method, url) = (request.method.clone(), request.url.clone());
    match http::send(&state.client, request).await {
        Err(why) => {
            state.last = None;
            error(why)
        }
        Ok(exchange) => {
            let message = format!("{method} {url} → {}", exchange.status);
            if let Some(id) = &op.response_id {
                state.responses.insert(id.clone(), exchange.clone());
            }
            if let Some(id) = &op.request_id {
                state.requests.insert(id.clone(), exchange.clone());
            }
            state.last = Some(exchange);
            ActionRecord {
                kind: Kind::Operation,
                verdict: Verdict::Pass,
                message,
                detail: Some(url),
            }
        }
    }
}

fn coded(code: &str) -> Option<Coding> {
    Some(Coding {
        system: Some("http://terminology.hl7.org/CodeSystem/testscript-operation-codes".into()),
        code: Some(code.into()),
    })
}

/// `autocreate`: the fixture is created on the server, and later operations that target it
/// use the id the server gave.
async fn autocreate(fixture_id: &str, state: &mut State) -> ActionRecord {
    let op = Operation {
        kind: coded("create"),
        source_id: Some(fixture_id.to_string()),
        ..Default::default()
    };
    let mut record = operation(&op, state).await;
    let created = state.last.as_ref().and_then(|e| {
        if !(200..300).contains(&e.status) {
            return None;
        }
        let json = e.body.json.as_ref();
        let from_body = json.and_then(|j| {
            let t = j.get("resourceType")?.as_str()?;
            let id = j.get("id")?.as_str()?;
            Some(format!("{t}/{id}"))
        });
        from_body.or_else(|| {
            let location = e.response_header("location").first()?.to_string();
            let relative = location.strip_prefix(&state.base).unwrap_or(&location);
            let mut parts = relative.trim_start_matches('/').split('/');
            Some(format!("{}/{}", parts.next()?, parts.next()?))
        })
    });
    match created {
        Some(id) => {
            record.message = format!("autocreate '{fixture_id}': {} ({id})", record.message);
            state.server_ids.insert(fixture_id.to_string(), id);
        }
        None if record.verdict == Verdict::Pass => {
            record.verdict = Verdict::Error;
            record.message = format!("autocreate '{fixture_id}' failed: {}", record.message);
        }
        None => record.message = format!("autocreate '{fixture_id}': {}", record.message),
    }
    record
}

/// `autodelete`, after the teardown's own operations.
async fn autodelete(fixture_id: &str, state: &mut State) -> ActionRecord {
    let op = Operation {
        kind: coded("delete"),
        target_id: Some(fixture_id.to_string()),
        ..Default::default()
    };
    let mut record = operation(&op, state).await;
    let status = state.last.as_ref().map(|e| e.status);
    if record.verdict == Verdict::Pass && !matches!(status, Some(200..=299 | 404 | 410)) {
        record.verdict = Verdict::Error;
    }
    record.message = format!("autodelete '{fixture_id}': {}", record.message);
    record
}
