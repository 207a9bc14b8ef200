//! The record of a run and the R4 TestReport written from it.

use serde_json::{json, Map, Value};

/// TestReport's `report-action-result-codes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Skip,
    Fail,
    Warning,
    Error,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Skip => "skip",
            Verdict::Fail => "fail",
            Verdict::Warning => "warning",
            Verdict::Error => "error",
        }
    }

    /// Whether the verdict fails the script (a warning does not).
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Error)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Operation,
    Assert,
}

#[derive(Debug, Clone)]
pub struct ActionRecord {
    pub kind: Kind,
    pub verdict: Verdict,
    pub message: String,
    /// The URL an operation called.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TestRecord {
    pub name: String,
    pub description: Option<String>,
    pub actions: Vec<ActionRecord>,
}

#[derive(Debug, Clone, Default)]
pub struct Record {
    pub setup: Vec<ActionRecord>,
    pub tests: Vec<TestRecord>,
    pub teardown: Vec<ActionRecord>,
}

impl Record {
    fn actions(&self) -> impl Iterator<Item = &ActionRecord> {
        self.setup
            .iter()
            .chain(self.tests.iter().flat_map(|t| t.actions.iter()))
            .chain(self.teardown.iter())
    }

    /// Asserts that passed (warnings are not passes).
    pub fn passed(&self) -> usize {
        self.actions()
            .filter(|a| a.kind == Kind::Assert && a.verdict == Verdict::Pass)
            .count()
    }

    /// Failed and erroneous asserts and operations.
    pub fn failed(&self) -> usize {
        self.actions().filter(|a| a.verdict.fails()).count()
    }

    /// 0–100: asserts that held (warnings count as held) among all evaluated.
    fn score(&self) -> f64 {
        let asserts: Vec<_> = self
            .actions()
            .filter(|a| a.kind == Kind::Assert && a.verdict != Verdict::Skip)
            .collect();
        if asserts.is_empty() {
            return 100.0;
        }
        let held = asserts.iter().filter(|a| !a.verdict.fails()).count();
        (held as f64 * 1000.0 / asserts.len() as f64).round() / 10.0
    }
}

fn action(a: &ActionRecord) -> Value {
    let mut inner = Map::new();
    inner.insert("result".into(), json!(a.verdict.code()));
    if !a.message.is_empty() {
        inner.insert("message".into(), json!(a.message));
    }
    if let Some(detail) = &a.detail {
        inner.insert("detail".into(), json!(detail));
    }
    let key = match a.kind {
        Kind::Operation => "operation",
        Kind::Assert => "assert",
    };
    json!({ key: Value::Object(inner) })
}

/// The R4 TestReport of a finished run.
pub fn test_report(id: &str, name: &str, base: &str, record: &Record) -> Value {
    let issued = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut report = json!({
        "resourceType": "TestReport",
        "id": id,
        "name": name,
        "status": "completed",
        "testScript": { "reference": format!("TestScript/{id}") },
        "result": if record.failed() == 0 { "pass" } else { "fail" },
        "score": record.score(),
        "tester": "Helsebro TestScript engine",
        "issued": issued,
        "participant": [{ "type": "server", "uri": base }],
    });
    let Some(fields) = report.as_object_mut() else {
        return report;
    };
    // setup, test.action and teardown.action are 1..* in R4: empty parts are left out.
    if !record.setup.is_empty() {
        fields.insert(
            "setup".into(),
            json!({ "action": record.setup.iter().map(action).collect::<Vec<_>>() }),
        );
    }
    let tests: Vec<Value> = record
        .tests
        .iter()
        .filter(|t| !t.actions.is_empty())
        .map(|t| {
            let mut test = json!({
                "name": t.name,
                "action": t.actions.iter().map(action).collect::<Vec<_>>(),
            });
            if let (Some(d), Some(obj)) = (&t.description, test.as_object_mut()) {
                obj.insert("description".into(), json!(d));
            }
            test
        })
        .collect();
    if !tests.is_empty() {
        fields.insert("test".into(), Value::Array(tests));
    }
    if !record.teardown.is_empty() {
        fields.insert(
            "teardown".into(),
            json!({ "action": record.teardown.iter().map(action).collect::<Vec<_>>() }),
        );
    }
    report
}
