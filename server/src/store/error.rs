#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Another writer changed the same resource at the same time.
    #[error("the resource was changed concurrently")]
    Conflict,
    /// A key is missing or does not open what it should: the master key is wrong, or a
    /// sealed value was tampered with.
    #[error("encryption at rest: {0}")]
    Crypto(String),
    /// The change would break a rule of the records (e.g. erasing a patient while a
    /// document about them is on its way).
    #[error("{0}")]
    Refused(String),
}

impl StoreError {
    /// Unique-constraint violations mean a concurrent writer won the race.
    pub fn from_write(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict;
            }
        }
        StoreError::Database(e)
    }
}
