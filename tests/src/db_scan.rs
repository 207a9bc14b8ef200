//! What a database holds, for tests that show something is not (or no longer) there:
//! every row of every table as text, and the raw SQLite files.

use sqlx::AnyPool;
use sqlx::Row;

use crate::Backend;

/// Every row of every table, one line each.
pub async fn dump(backend: Backend, pool: &AnyPool) -> String {
    let mut out = String::new();
    match backend {
        Backend::Sqlite => {
            let tables: Vec<String> =
                sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
                    .expect("list tables")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            for t in tables {
                let columns: Vec<String> =
                    sqlx::query(&format!("SELECT name FROM pragma_table_info('{t}')"))
                        .fetch_all(pool)
                        .await
                        .expect("list columns")
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                let row = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let rows = sqlx::query(&format!("SELECT {row} FROM \"{t}\""))
                    .fetch_all(pool)
                    .await
                    .expect("read table");
                for r in rows {
                    out.push_str(&r.get::<String, _>(0));
                    out.push('\n');
                }
            }
        }
        Backend::Postgres => {
            let tables: Vec<String> =
                sqlx::query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                    .fetch_all(pool)
                    .await
                    .expect("list tables")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            for t in tables {
                let rows = sqlx::query(&format!("SELECT t::text FROM \"{t}\" t"))
                    .fetch_all(pool)
                    .await
                    .expect("read table");
                for r in rows {
                    out.push_str(&r.get::<String, _>(0));
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Where any of `secrets` is in the SQLite database file or its write-ahead log.
pub fn in_sqlite_files(database_url: &str, secrets: &[&str]) -> Option<String> {
    let path = database_url.trim_start_matches("sqlite://").to_string();
    for file in [path.clone(), format!("{path}-wal")] {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for secret in secrets {
            if let Some(at) = bytes
                .windows(secret.len())
                .position(|w| w == secret.as_bytes())
            {
                let around = String::from_utf8_lossy(
                    &bytes[at.saturating_sub(300)..(at + 100).min(bytes.len())],
                )
                .into_owned();
                return Some(format!(
                    "{secret} in {file} at {at} (page {}): {around}",
                    at / 4096
                ));
            }
        }
    }
    None
}
