//! [`DriverError`]: a driver error with what the store was doing, printed once.

use std::fmt;
use std::sync::Arc;

/// An error from the PostgreSQL driver, kept as the `source` of a
/// [`showdown_store::StoreError::Unavailable`], with what the store was doing.
///
/// Its message includes the driver's (which already includes the driver's own causes), and
/// it has no `source` of its own, so an error chain prints each cause once. The driver's
/// error is still there: [`DriverError::sqlx`].
#[derive(Clone)]
pub struct DriverError {
    context: &'static str,
    error: Arc<sqlx::Error>,
}

impl DriverError {
    pub(crate) fn new(context: &'static str, error: sqlx::Error) -> DriverError {
        DriverError { context, error: Arc::new(error) }
    }

    /// What the store was doing ("appending", "reading all streams", …).
    #[must_use]
    pub fn context(&self) -> &'static str {
        self.context
    }

    /// The driver's error.
    #[must_use]
    pub fn sqlx(&self) -> &sqlx::Error {
        &self.error
    }

    /// The SQLSTATE code, if the database returned the error.
    #[must_use]
    pub fn code(&self) -> Option<String> {
        sqlstate(&self.error)
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.error)
    }
}

impl fmt::Debug for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverError").field("context", &self.context).field("error", &self.error).finish()
    }
}

impl std::error::Error for DriverError {}

/// The SQLSTATE of a database error.
pub(crate) fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned())
}

pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    sqlstate(error).as_deref() == Some("23505")
}

/// Whether a transaction that failed with `error` (before `COMMIT`) may succeed if tried
/// again from the start: a lost connection, or a race with another process.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(_) => {
            matches!(
                sqlstate(error).as_deref(),
                // serialization_failure, deadlock_detected, unique_violation, lock_not_available,
                // and the connection / operator-intervention classes (a restarting server).
                Some("40001" | "40P01" | "23505" | "55P03")
            ) || sqlstate(error).is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
        }
        _ => false,
    }
}

/// Whether a failed call certainly rolled back: the database reported an error of severity
/// `ERROR` (which aborts the transaction before its commit). A lost connection, or a
/// `FATAL` error (a terminated backend), may come after the commit.
pub(crate) fn rolled_back(error: &sqlx::Error) -> bool {
    use sqlx::postgres::{PgDatabaseError, PgSeverity};
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
        .is_some_and(|e| matches!(e.severity(), PgSeverity::Error))
}
