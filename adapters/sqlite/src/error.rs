//! Driver errors as sources of [`showdown_store::StoreError`]s, without saying things twice.

use std::fmt;
use std::sync::Arc;

use showdown_store::BoxError;

/// A driver error as a boxed source. sqlx's `Error::Database` prints its cause in its own
/// message and again as its source; the database's error alone says it once.
pub(crate) fn driver(e: sqlx::Error) -> BoxError {
    match e {
        sqlx::Error::Database(db) => db,
        e => Box::new(e),
    }
}

/// A driver error shared by every request of a failed group, so that each can carry it as
/// its source. Transparent: it shows the driver's message and source chain (unwrapping
/// `Error::Database`, as [`driver`] does).
#[derive(Debug, Clone)]
pub(crate) struct SharedError(pub Arc<sqlx::Error>);

impl SharedError {
    fn inner(&self) -> &(dyn std::error::Error + 'static) {
        match &*self.0 {
            sqlx::Error::Database(db) => db.as_error(),
            e => e,
        }
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner(), f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner().source()
    }
}

/// Why a file could not be opened or created: names the file, and the directory when it is
/// the directory that is missing.
#[derive(Debug, thiserror::Error)]
#[error("cannot open or create the database file {path}{hint}")]
pub(crate) struct OpenError {
    /// The file.
    pub path: String,
    /// `: the directory … does not exist`, or nothing.
    pub hint: String,
    /// The driver's error.
    #[source]
    pub source: BoxError,
}
