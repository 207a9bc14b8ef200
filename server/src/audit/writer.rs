//! Group commit for the log rows of reads: rows from concurrent requests are appended in
//! one transaction, and each request waits for that commit before it answers. A read is
//! never answered without its row on disk, and many reads share one commit.

use tokio::sync::{mpsc, oneshot};

use crate::store::audit::AuditRecord;
use crate::store::Store;

/// Rows appended per transaction at the most.
const BATCH: usize = 256;

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<(AuditRecord, Waiter)>,
}

#[derive(Debug, thiserror::Error)]
#[error("the access log could not be written: {0}")]
pub struct AuditError(pub String);

impl AuditLog {
    /// Starts the writer on the current runtime.
    pub fn start(store: Store) -> AuditLog {
        let (sender, receiver) = mpsc::channel(10_000);
        tokio::spawn(run(store, receiver));
        AuditLog { sender }
    }

    /// Appends `record` and waits until it is committed.
    pub async fn append(&self, record: AuditRecord) -> Result<(), AuditError> {
        let (done, wait) = oneshot::channel();
        self.sender
            .send((record, done))
            .await
            .map_err(|_| AuditError("the writer has stopped".into()))?;
        wait.await
            .map_err(|_| AuditError("the writer has stopped".into()))?
            .map_err(AuditError)
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<(AuditRecord, Waiter)>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (records, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let result = async {
            let mut tx = store.begin_write().await?;
            tx.append_audit(&records).await?;
            tx.commit().await
        }
        .await
        .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = records.len(), "access log rows not written");
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}
