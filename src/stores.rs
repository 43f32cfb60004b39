//! Store URLs: which [`EventStore`] a `--store URL` names, and opening it.
//!
//! `sqlite:PATH` (the embedded default, `sqlite:showdown.db`), `postgres://…` (or
//! `postgresql://…`), `esdb://…` (or `kurrentdb://…`, `esdb+discover://…`) and `memory:`.
//! Each backend is a cargo feature of this crate (all on by default); a URL of a backend
//! left out of the build says so.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use showdown_store::{BoxError, EventStore, MemoryStore};

/// The store `showdown` uses when no `--store` is given.
pub const DEFAULT_STORE: &str = "sqlite:showdown.db";

/// A parsed store URL.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StoreUrl {
    /// `memory:`: in this process, gone when it ends.
    Memory,
    /// `sqlite:PATH`: one file.
    Sqlite(String),
    /// `postgres://…`: the whole URL.
    Postgres(String),
    /// `esdb://…`: the whole URL.
    EventStoreDb(String),
}

/// Why a store URL is refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreUrlError {
    /// A scheme no backend has.
    #[error(
        "unknown store URL `{url}`: expected sqlite:PATH (e.g. {DEFAULT_STORE}), postgres://USER@HOST/DB, esdb://HOST:PORT or memory:"
    )]
    UnknownScheme {
        /// The URL given.
        url: String,
    },
    /// `sqlite:` without a path.
    #[error("the store URL `{url}` has no path: expected sqlite:PATH, e.g. {DEFAULT_STORE}")]
    MissingPath {
        /// The URL given.
        url: String,
    },
    /// A backend this build was made without.
    #[error("this build of showdown has no {backend} store: rebuild with `--features {feature}`")]
    NotBuilt {
        /// The backend's name.
        backend: &'static str,
        /// The cargo feature that adds it.
        feature: &'static str,
    },
}

impl FromStr for StoreUrl {
    type Err = StoreUrlError;

    fn from_str(url: &str) -> Result<StoreUrl, StoreUrlError> {
        let url = url.trim();
        if url == "memory:" || url == "memory://" {
            return Ok(StoreUrl::Memory);
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StoreUrlError::MissingPath { url: url.to_owned() });
            }
            return Ok(StoreUrl::Sqlite(path.to_owned()));
        }
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(StoreUrl::Postgres(url.to_owned())),
            Some("esdb" | "esdb+discover" | "kurrentdb" | "kurrentdb+discover" | "kdb") => {
                Ok(StoreUrl::EventStoreDb(url.to_owned()))
            }
            _ => Err(StoreUrlError::UnknownScheme { url: url.to_owned() }),
        }
    }
}

impl fmt::Display for StoreUrl {
    /// The URL, without a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Memory => f.write_str("memory:"),
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{path}"),
            StoreUrl::Postgres(url) | StoreUrl::EventStoreDb(url) => f.write_str(&redact(url)),
        }
    }
}

/// A URL with its password (in the user info, or a `password=` query parameter) replaced
/// by `***`.
#[must_use]
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            format!("{user}:***@{host}")
        }
        _ => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL is refused.
    #[error(transparent)]
    Url(#[from] StoreUrlError),
    /// The backend could not be reached or set up.
    #[error("cannot open the store {url}")]
    Store {
        /// The URL, without a password.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
}

/// Opens the store a URL names (creating a SQLite file and running migrations as needed).
///
/// # Errors
/// [`OpenError::Url`] for a URL no backend of this build takes, [`OpenError::Store`] when
/// the backend cannot be reached or set up.
pub async fn open(url: &str) -> Result<Arc<dyn EventStore>, OpenError> {
    let parsed: StoreUrl = url.parse()?;
    let shown = parsed.to_string();
    let failed = |source: BoxError| OpenError::Store { url: shown.clone(), source };
    match parsed {
        StoreUrl::Memory => Ok(Arc::new(MemoryStore::new())),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => {
            Ok(Arc::new(showdown_sqlite::SqliteStore::open(&path).await.map_err(|e| failed(e.into()))?))
        }
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => {
            Ok(Arc::new(showdown_postgres::PostgresStore::connect(&url).await.map_err(|e| failed(e.into()))?))
        }
        #[cfg(feature = "eventstoredb")]
        StoreUrl::EventStoreDb(url) => {
            // The client connects lazily: ask the server once, so a server that is down
            // is reported here, naming the URL.
            let store = showdown_eventstoredb::EventStoreDbStore::open(&url).map_err(|e| failed(e.into()))?;
            store.ping().await.map_err(|e| failed(e.into()))?;
            Ok(Arc::new(store))
        }
        #[allow(unreachable_patterns)]
        other => {
            let _ = failed;
            Err(not_built(&other).into())
        }
    }
}

#[allow(dead_code)]
fn not_built(url: &StoreUrl) -> StoreUrlError {
    match url {
        StoreUrl::Sqlite(_) => StoreUrlError::NotBuilt { backend: "SQLite", feature: "sqlite" },
        StoreUrl::Postgres(_) => StoreUrlError::NotBuilt { backend: "Postgres", feature: "postgres" },
        StoreUrl::EventStoreDb(_) | StoreUrl::Memory => {
            StoreUrlError::NotBuilt { backend: "EventStoreDB", feature: "eventstoredb" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!("memory:".parse(), Ok(StoreUrl::Memory));
        assert_eq!("sqlite:showdown.db".parse(), Ok(StoreUrl::Sqlite("showdown.db".into())));
        assert_eq!("sqlite:///tmp/a b.db".parse(), Ok(StoreUrl::Sqlite("/tmp/a b.db".into())));
        assert_eq!("postgres://u@h/db".parse(), Ok(StoreUrl::Postgres("postgres://u@h/db".into())));
        assert_eq!("postgresql://h/db".parse(), Ok(StoreUrl::Postgres("postgresql://h/db".into())));
        assert_eq!("esdb://h:2113?tls=false".parse(), Ok(StoreUrl::EventStoreDb("esdb://h:2113?tls=false".into())));
    }

    #[test]
    fn bad_urls_say_what_was_expected() {
        for bad in ["mysql://h/db", "showdown.db", "", "http://x", "sqlite"] {
            let e = bad.parse::<StoreUrl>().unwrap_err();
            assert!(matches!(e, StoreUrlError::UnknownScheme { .. }), "{bad}: {e:?}");
            let message = e.to_string();
            assert!(message.contains(bad) && message.contains("sqlite:PATH") && message.contains("memory:"));
        }
        let e = "sqlite:".parse::<StoreUrl>().unwrap_err();
        assert_eq!(e, StoreUrlError::MissingPath { url: "sqlite:".into() });
    }

    #[test]
    fn passwords_never_show() {
        let url: StoreUrl = "postgres://admin:s3cret@db:5432/x?sslmode=disable".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://admin:***@db:5432/x?sslmode=disable");
        assert_eq!(redact("esdb://admin:changeit@h:2113"), "esdb://admin:***@h:2113");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db?sslmode=off&password=p@x"), "postgres://h/db?sslmode=off&password=***");
    }
}
