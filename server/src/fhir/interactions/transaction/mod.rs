//! `POST [base]` with a batch or transaction Bundle.
//!
//! A transaction's writes run in one database transaction (`writes`): all commit or none
//! does, and the answer to a failure is that entry's OperationOutcome, naming it. Its GET
//! entries are authorized before anything is written and run after the commit, as the
//! spec orders them last; what they find (a 404, say) is their entry's answer. A batch runs
//! each entry on its own, a write as a transaction of one, and answers each. Every entry
//! leaves its own access-log row: a write's in its transaction, the others through the
//! log's writer before the answer leaves.

mod entry;
mod outcome;
mod reads;
mod references;
mod writes;

use axum::body::Body;
use axum::http::StatusCode;
use tokio::task::JoinSet;

use crate::audit::AuditNote;
use crate::fhir::bundle::{Bundle, Entry};
use crate::fhir::error::ApiError;
use crate::fhir::format::{parse_resource, request_format, FhirResponse, Rendered};
use crate::fhir::Ctx;
use crate::store::audit::AuditRecord;
use entry::{Kind, Request, Verb};
use outcome::{Answer, Return};

pub use entry::MAX_ENTRIES;

pub async fn handle(mut ctx: Ctx, body: Body) -> Rendered {
    let result = process(&mut ctx, body).await;
    ctx.render(result)
}

async fn process(ctx: &mut Ctx, body: Body) -> Result<FhirResponse, ApiError> {
    ctx.note_interaction("transaction");
    ctx.negotiated()?;
    ctx.access()?;
    let bytes = ctx.body(body).await?;
    let bundle = parse_resource(&bytes, request_format(&ctx.headers, &bytes)?)?;
    let parsed = entry::parse_bundle(bundle, ctx.base())?;
    ctx.note_interaction(parsed.kind.code());
    let (answers, rows) = match parsed.kind {
        Kind::Transaction => transaction(ctx, parsed.entries).await?,
        Kind::Batch => batch(ctx, parsed.entries).await,
    };
    append_rows(ctx, rows).await?;
    ctx.audited_in_write();

    let returns = Return::of(ctx.prefer("return").as_deref());
    let mut bundle = Bundle::new(match parsed.kind {
        Kind::Transaction => "transaction-response",
        Kind::Batch => "batch-response",
    });
    bundle.entry = answers
        .into_iter()
        .map(|a| outcome::entry(ctx.base(), a, returns))
        .collect::<Vec<Entry>>();
    Ok(FhirResponse::new(StatusCode::OK, Some(bundle.to_json())))
}

/// The entries' answers in Bundle order, and the log rows still to append.
type Answered = (Vec<Answer>, Vec<AuditRecord>);

async fn transaction(
    ctx: &Ctx,
    entries: Vec<Result<Request, ApiError>>,
) -> Result<Answered, ApiError> {
    let mut requests = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        requests.push(entry.map_err(|error| ApiError::InEntry {
            index,
            error: Box::new(error),
        })?);
    }
    let count = requests.len();
    let (gets, writes): (Vec<Request>, Vec<Request>) =
        requests.into_iter().partition(|r| r.verb == Verb::Get);
    for r in &gets {
        ctx.authorize(r.served, reads::permission(r))
            .map_err(|error| ApiError::InEntry {
                index: r.index,
                error: Box::new(error),
            })?;
    }
    let mut answers: Vec<Option<Answer>> = (0..count).map(|_| None).collect();
    // Reads only: no write transaction (nor SQLite's writer lock) to take.
    let done = if writes.is_empty() {
        Vec::new()
    } else {
        writes::run(ctx, writes, Kind::Transaction).await?
    };
    for done in done {
        answers[done.index] = Some(Answer {
            result: Ok(done.response),
            location: done.location,
            last_updated: done.last_updated,
            write: true,
        });
    }
    let mut rows = Vec::new();
    for r in &gets {
        let (result, note) = reads::run(ctx, r).await;
        rows.push(read_row(&note, &result));
        answers[r.index] = Some(read_answer(result));
    }
    let answers = answers
        .into_iter()
        .map(|a| a.expect("every entry answered"))
        .collect();
    Ok((answers, rows))
}

async fn batch(ctx: &Ctx, entries: Vec<Result<Request, ApiError>>) -> Answered {
    let mut answers = Vec::with_capacity(entries.len());
    let mut rows = Vec::new();
    for entry in entries {
        let request = match entry {
            Ok(r) => r,
            Err(e) => {
                rows.push(refused_row(ctx, "batch", None, &e));
                answers.push(failed(e));
                continue;
            }
        };
        if request.verb == Verb::Get {
            let (result, note) = reads::run(ctx, &request).await;
            rows.push(read_row(&note, &result));
            answers.push(read_answer(result));
            continue;
        }
        let (subtype, entity) = write_note(&request);
        match writes::run(ctx, vec![request], Kind::Batch).await {
            Ok(mut done) => {
                let done = done.pop().expect("one answer per entry");
                answers.push(Answer {
                    result: Ok(done.response),
                    location: done.location,
                    last_updated: done.last_updated,
                    write: true,
                });
            }
            Err(e) => {
                // The entry is answered on its own: its index is its place in the Bundle.
                let e = match e {
                    ApiError::InEntry { error, .. } => *error,
                    other => other,
                };
                rows.push(refused_row(ctx, subtype, Some(entity), &e));
                answers.push(failed(e));
            }
        }
    }
    (answers, rows)
}

fn failed(e: ApiError) -> Answer {
    Answer {
        result: Err(e),
        location: None,
        last_updated: None,
        write: true,
    }
}

fn read_answer(result: Result<FhirResponse, ApiError>) -> Answer {
    Answer {
        result,
        location: None,
        last_updated: None,
        write: false,
    }
}

/// The interaction and entity a write entry's log row names when it is refused.
fn write_note(r: &Request) -> (&'static str, String) {
    let subtype = match r.verb {
        Verb::Post => "create",
        Verb::Put => "update",
        Verb::Delete => "delete",
        Verb::Get => "read",
    };
    let entity = match &r.target {
        entry::Target::Instance(id) | entry::Target::Version(id, _) => {
            format!("{}/{id}", r.served.name())
        }
        // Parameter names would do, but a refused write's type says enough.
        entry::Target::Type | entry::Target::Query(_) => r.served.name().to_string(),
    };
    (subtype, entity)
}

fn read_row(note: &AuditNote, result: &Result<FhirResponse, ApiError>) -> AuditRecord {
    let status = match result {
        Ok(r) => r.status.as_u16(),
        Err(e) => e.status().as_u16(),
    };
    crate::audit::layer::row_of(note, status, "read", None)
}

fn refused_row(
    ctx: &Ctx,
    subtype: &'static str,
    entity: Option<String>,
    e: &ApiError,
) -> AuditRecord {
    let note = AuditNote {
        agent: ctx.agent(),
        ..Default::default()
    };
    crate::audit::layer::row_of(&note, e.status().as_u16(), subtype, entity)
}

/// Appends the rows of entries that did not log in a write transaction, concurrently, so
/// that they share the log writer's commits. Without them nothing is answered.
async fn append_rows(ctx: &Ctx, rows: Vec<AuditRecord>) -> Result<(), ApiError> {
    let mut appends = JoinSet::new();
    for row in rows {
        let log = ctx.state.audit.clone();
        appends.spawn(async move { log.append(row).await });
    }
    while let Some(done) = appends.join_next().await {
        if let Err(e) = done
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            tracing::error!(error = %e, "Bundle refused: an entry's access log row was not written");
            return Err(ApiError::Unavailable(
                "the access log cannot be written just now, so nothing is returned; try again"
                    .into(),
            ));
        }
    }
    Ok(())
}
