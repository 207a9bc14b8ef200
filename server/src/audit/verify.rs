//! `helsebro audit verify`: walks each tenant's chain and reports the first broken link.

use crate::store::audit::chain_hash;
use crate::store::{Store, StoreError};

/// Rows read at a time.
const BATCH: i64 = 1000;

#[derive(Debug, PartialEq, Eq)]
pub enum ChainState {
    /// Every row links to the one before and the head names the last: `rows` checked.
    Intact { rows: u64 },
    /// The first row (by `seq`) whose link or content does not match.
    Broken { seq: i64, id: String, why: String },
}

pub async fn verify_tenant(store: &Store, tenant_id: &str) -> Result<ChainState, StoreError> {
    // Rows removed by retention leave the hash their successor follows.
    let mut expected_prev = store.audit_base(tenant_id).await?;
    let mut last_seq = 0i64;
    let mut last_id = String::new();
    let mut rows = 0u64;
    loop {
        let batch = store.audit_chain(tenant_id, last_seq, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            if row.prev_hash != expected_prev {
                return Ok(ChainState::Broken {
                    seq: row.seq,
                    id: row.record.id,
                    why: "does not follow the row before it (a row was removed or reordered)"
                        .into(),
                });
            }
            if chain_hash(&row.prev_hash, &row.record) != row.hash {
                return Ok(ChainState::Broken {
                    seq: row.seq,
                    id: row.record.id,
                    why: "its content does not match its hash (it was edited)".into(),
                });
            }
            expected_prev = row.hash;
            last_seq = row.seq;
            last_id = row.record.id;
            rows += 1;
        }
    }
    match store.audit_head(tenant_id).await? {
        Some((id, hash)) if id == last_id && hash == expected_prev => {
            Ok(ChainState::Intact { rows })
        }
        None if rows == 0 => Ok(ChainState::Intact { rows }),
        // Retention removed every row: the base is the last removed row's hash.
        Some((_, hash)) if rows == 0 && hash == expected_prev => Ok(ChainState::Intact { rows }),
        _ => Ok(ChainState::Broken {
            seq: last_seq,
            id: String::new(),
            why: "the chain ends before the last row written (rows were removed at the end)".into(),
        }),
    }
}
