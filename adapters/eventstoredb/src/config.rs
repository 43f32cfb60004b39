//! Where the store is and how it names its streams: [`EsdbConfig`], read from a connection
//! string, and [`ConfigError`] for the ways that can fail before any I/O.
//!
//! The connection string is the client's own (`esdb://host:2113?tls=false`,
//! `kurrentdb://…`, `esdb+discover://…` for a cluster, credentials as `user:password@`),
//! plus one parameter of ours, `category=NAME`, removed before the client sees it. Errors and
//! logs name the store by its [`EsdbConfig::location`]: the string without credentials.

use std::fmt;
use std::time::Duration;

use kurrentdb::ClientSettings;
use showdown_store::{BoxError, StreamId};

/// The category stream names start with unless the connection string or
/// [`EsdbConfig::with_category`] says otherwise.
pub const DEFAULT_CATEGORY: &str = "showdown";

/// How long one request may take (a page of a read, an append) unless
/// [`EsdbConfig::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many streams' command indexes (see the crate docs on idempotency) a store keeps in
/// memory unless [`EsdbConfig::with_max_indexed_streams`] says otherwise.
pub const DEFAULT_MAX_INDEXED_STREAMS: usize = 4096;

/// The longest category, in bytes.
pub const MAX_CATEGORY_LEN: usize = 64;

/// The URL schemes the client accepts (`+discover`: find the cluster's nodes by DNS).
const SCHEMES: [&str; 6] = ["esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"];

/// What ends the category in a table's stream name: `showdown-table-7`.
const EVENT_SEPARATOR: &str = "-";

/// What ends the category in a snapshot stream's name: `showdown_snapshots-table-7`. It
/// differs from [`EVENT_SEPARATOR`] at its first byte, so no event stream name is ever a
/// snapshot stream name, whatever the stream ids.
const SNAPSHOT_SEPARATOR: &str = "_snapshots-";

/// A parsed connection string and the store's naming and limits.
#[derive(Clone)]
pub struct EsdbConfig {
    settings: ClientSettings,
    location: String,
    category: String,
    timeout: Duration,
    max_indexed_streams: usize,
}

impl fmt::Debug for EsdbConfig {
    // `ClientSettings` holds the password: show only what is safe.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsdbConfig")
            .field("location", &self.location)
            .field("category", &self.category)
            .field("timeout", &self.timeout)
            .field("max_indexed_streams", &self.max_indexed_streams)
            .finish_non_exhaustive()
    }
}

/// Why a store could not be configured or created. Retrying the same call cannot help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The string is not a connection string the client accepts.
    #[error("`{url}` is not an EventStoreDB connection string")]
    InvalidUrl {
        /// The string, without credentials.
        url: String,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },
    /// The category cannot start stream names.
    #[error("`{category}` cannot be a stream category: {reason}")]
    InvalidCategory {
        /// The category given.
        category: String,
        /// Why not.
        reason: &'static str,
    },
    /// The store was created outside a tokio runtime (the client spawns tasks on it).
    #[error("the EventStoreDB client needs a tokio runtime: create the store inside one")]
    NoRuntime,
    /// The client refused the settings (for example, unreadable certificate files).
    #[error("cannot create an EventStoreDB client for {location}")]
    Client {
        /// The connection string, without credentials.
        location: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
}

impl EsdbConfig {
    /// Parses a connection string: the client's format (`esdb://`, `kurrentdb://`, `kdb://`,
    /// each also with `+discover`), with an optional `category=NAME` parameter of ours.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] if the client refuses the string (its message never
    /// contains the password), [`ConfigError::InvalidCategory`] for a bad `category`.
    pub fn parse(url: &str) -> Result<EsdbConfig, ConfigError> {
        let location = redact(url);
        let invalid = |reason: String| ConfigError::InvalidUrl { url: location.clone(), source: reason.into() };
        let Some((scheme, _)) = url.split_once("://") else {
            return Err(invalid("no scheme: it starts with esdb:// or kurrentdb://".to_owned()));
        };
        if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
            return Err(invalid(format!("unknown scheme `{scheme}`: use esdb:// or kurrentdb:// (+discover for DNS)")));
        }
        let (client_url, category) = take_category(url);
        let settings: ClientSettings = client_url.parse().map_err(|e: kurrentdb::ClientSettingsParseError| {
            let mut reason = e.message().to_owned();
            if let Some(cause) = e.error() {
                reason = format!("{reason} ({cause})");
            }
            invalid(scrub(&reason, url))
        })?;
        let config = EsdbConfig {
            settings,
            location,
            category: DEFAULT_CATEGORY.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_indexed_streams: DEFAULT_MAX_INDEXED_STREAMS,
        };
        match category {
            Some(c) => config.with_category(&c),
            None => Ok(config),
        }
    }

    /// Names streams from `category`: a table's events go to `{category}-{stream id}`, its
    /// snapshots to `{category}_snapshots-{stream id}`. The category is 1 to
    /// [`MAX_CATEGORY_LEN`] ASCII letters, digits, `_` or `.`, and does not end in
    /// `_snapshots` (which would mix its streams with another category's snapshots). Two
    /// stores with different categories share a server without seeing each other's streams.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCategory`] if the category breaks those rules.
    pub fn with_category(self, category: &str) -> Result<EsdbConfig, ConfigError> {
        check_category(category)
            .map_err(|reason| ConfigError::InvalidCategory { category: category.to_owned(), reason })?;
        Ok(EsdbConfig { category: category.to_owned(), ..self })
    }

    /// Bounds every request (a read page, an append, a subscription's confirmation).
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> EsdbConfig {
        EsdbConfig { timeout, ..self }
    }

    /// Bounds how many streams' command indexes stay in memory (at least 1). An evicted
    /// index is rebuilt, by reading its stream, at that stream's next append.
    #[must_use]
    pub fn with_max_indexed_streams(self, max: usize) -> EsdbConfig {
        EsdbConfig { max_indexed_streams: max.max(1), ..self }
    }

    /// The connection string without credentials, for errors and logs.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The category stream names start with.
    #[must_use]
    pub fn category(&self) -> &str {
        &self.category
    }

    /// The bound on each request.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The bound on the command indexes kept in memory.
    #[must_use]
    pub const fn max_indexed_streams(&self) -> usize {
        self.max_indexed_streams
    }

    /// The EventStoreDB stream that holds `stream`'s events: `{category}-{stream}`.
    #[must_use]
    pub fn event_stream_name(&self, stream: &StreamId) -> String {
        format!("{}{EVENT_SEPARATOR}{stream}", self.category)
    }

    /// The EventStoreDB stream that holds `stream`'s snapshots:
    /// `{category}_snapshots-{stream}`.
    #[must_use]
    pub fn snapshot_stream_name(&self, stream: &StreamId) -> String {
        format!("{}{SNAPSHOT_SEPARATOR}{stream}", self.category)
    }

    /// The prefix every event stream of this store has (`{category}-`): the server-side
    /// filter of `$all` reads and subscriptions. Snapshot streams and system (`$`) streams
    /// do not have it.
    #[must_use]
    pub fn event_stream_prefix(&self) -> String {
        format!("{}{EVENT_SEPARATOR}", self.category)
    }

    /// The stream id whose events `name` holds, if `name` is one of this store's event
    /// streams.
    #[must_use]
    pub fn stream_id_of(&self, name: &str) -> Option<StreamId> {
        let id = name.strip_prefix(self.category.as_str())?.strip_prefix(EVENT_SEPARATOR)?;
        StreamId::new(id).ok()
    }

    pub(crate) fn settings(&self) -> &ClientSettings {
        &self.settings
    }
}

fn check_category(category: &str) -> Result<(), &'static str> {
    if category.is_empty() {
        return Err("it is empty");
    }
    if category.len() > MAX_CATEGORY_LEN {
        return Err("it is longer than 64 bytes");
    }
    if !category.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        return Err("only ASCII letters, digits, `_` and `.` are allowed");
    }
    if category.ends_with("_snapshots") {
        return Err("it ends in `_snapshots`, the suffix of snapshot streams");
    }
    Ok(())
}

/// Splits `category=…` out of the query string: the string for the client, and the
/// category if given (the last one wins, as the client does with its own parameters).
fn take_category(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_owned(), None) };
    let mut category = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("category") => category = Some(value.to_owned()),
            _ if pair.is_empty() => {}
            _ => kept.push(pair),
        }
    }
    let client_url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    (client_url, category)
}

/// The connection string without its credentials (`user:password@` in the authority), so
/// that it can name the store in errors and logs.
#[must_use]
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rfind('@').map_or(authority, |at| &authority[at + 1..]);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{tail}"),
        None => format!("{host}{tail}"),
    }
}

/// `message` with every copy of `url` replaced by its redacted form and any leftover
/// credentials masked: the client's parse errors quote the string they were given.
fn scrub(message: &str, url: &str) -> String {
    let mut out = message.replace(url, &redact(url));
    if let Some((_, rest)) = url.split_once("://") {
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some((_, password)) = userinfo.split_once(':')
                && !password.is_empty()
            {
                out = out.replace(password, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_credentials_only() {
        let cases = [
            ("esdb://admin:changeit@localhost:2113?tls=false", "esdb://localhost:2113?tls=false"),
            ("esdb://localhost:2113?tls=false", "esdb://localhost:2113?tls=false"),
            ("kurrentdb://u:p%40ss@h1:1,h2:2/?tls=true", "kurrentdb://h1:1,h2:2/?tls=true"),
            ("esdb+discover://user@cluster.example:2113", "esdb+discover://cluster.example:2113"),
            ("esdb://host?note=a@b", "esdb://host?note=a@b"),
            ("admin:secret@host:2113", "host:2113"),
            ("", ""),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn parses_esdb_and_kurrentdb_urls() {
        for url in ["esdb://localhost:2113?tls=false", "kurrentdb://localhost:2113?tls=false", "kdb://localhost"] {
            let config = EsdbConfig::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(config.location(), url);
            assert_eq!(config.category(), DEFAULT_CATEGORY);
            assert_eq!(config.timeout(), DEFAULT_TIMEOUT);
        }
        let config = EsdbConfig::parse("esdb://localhost:1234?tls=false").expect("valid");
        assert!(!config.settings().is_secure_mode_enabled());
        assert_eq!(config.settings().hosts()[0].port, 1234);
        let cluster = EsdbConfig::parse("esdb://a:1111,b:2222,c:3333?tls=false").expect("gossip seeds");
        assert_eq!(cluster.settings().hosts().len(), 3);
    }

    #[test]
    fn location_has_no_password_and_credentials_reach_the_client() {
        let config = EsdbConfig::parse("esdb://admin:changeit@localhost:2113?tls=false").expect("valid");
        assert_eq!(config.location(), "esdb://localhost:2113?tls=false");
        assert!(!format!("{config:?}").contains("changeit"), "Debug must not show the password");
        assert!(config.settings().default_authenticated_user().is_some(), "the client still gets the credentials");
    }

    #[test]
    fn category_parameter_is_ours_and_removed() {
        let config = EsdbConfig::parse("esdb://localhost:2113?category=poker_eu&tls=false").expect("valid");
        assert_eq!(config.category(), "poker_eu");
        assert!(!config.settings().is_secure_mode_enabled(), "the other parameters still reach the client");
        assert_eq!(take_category("esdb://h?category=a"), ("esdb://h".to_owned(), Some("a".to_owned())));
        assert_eq!(
            take_category("esdb://h?tls=false&Category=b&x=1"),
            ("esdb://h?tls=false&x=1".to_owned(), Some("b".to_owned()))
        );
        assert_eq!(take_category("esdb://h"), ("esdb://h".to_owned(), None));
        match EsdbConfig::parse("esdb://localhost?category=bad-name") {
            Err(ConfigError::InvalidCategory { category, .. }) => assert_eq!(category, "bad-name"),
            other => panic!("a category with `-` must be refused, got {other:?}"),
        }
    }

    #[test]
    fn bad_urls_give_clear_errors_without_the_password() {
        let cases = [
            "localhost:2113",
            "postgres://localhost/db",
            "esdb://",
            "esdb://admin:hunter2@localhost:notaport",
            "esdb://admin:hunter2@localhost:2113?nodePreference=sideways",
            "esdb://localhost:2113/some/path",
        ];
        for url in cases {
            match EsdbConfig::parse(url) {
                Err(e @ ConfigError::InvalidUrl { .. }) => {
                    let text =
                        format!("{e}: {}", std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default());
                    assert!(!text.contains("hunter2"), "{url}: the error shows the password: {text}");
                    assert!(text.contains("is not an EventStoreDB connection string"), "{text}");
                }
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
        let e = EsdbConfig::parse("postgres://localhost/db").expect_err("wrong scheme");
        let source = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains("unknown scheme `postgres`"), "{source}");
    }

    #[test]
    fn categories() {
        for good in ["showdown", "a", "poker.eu_1", &"x".repeat(MAX_CATEGORY_LEN)] {
            assert_eq!(check_category(good), Ok(()), "{good}");
        }
        for bad in ["", "a-b", "$all", "a b", "tables_snapshots", "é", &"x".repeat(MAX_CATEGORY_LEN + 1)] {
            assert!(check_category(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn stream_names_round_trip_and_never_collide() {
        let config = EsdbConfig::parse("esdb://localhost?tls=false").expect("valid");
        let id = StreamId::new("table-7").expect("valid id");
        assert_eq!(config.event_stream_name(&id), "showdown-table-7");
        assert_eq!(config.snapshot_stream_name(&id), "showdown_snapshots-table-7");
        assert_eq!(config.stream_id_of("showdown-table-7"), Some(id.clone()));
        assert_eq!(config.stream_id_of("showdown_snapshots-table-7"), None, "snapshot streams hold no events");
        assert_eq!(config.stream_id_of("$all"), None);
        assert_eq!(config.stream_id_of("showdown-"), None, "not a valid stream id");
        assert_eq!(config.stream_id_of("other-table-7"), None);
        assert!(config.event_stream_name(&id).starts_with(&config.event_stream_prefix()));
        assert!(!config.snapshot_stream_name(&id).starts_with(&config.event_stream_prefix()));
        // A stream id that looks like a snapshot stream's tail still maps to an event stream.
        let tricky = StreamId::new("_snapshots-x").expect("valid id");
        assert_ne!(config.event_stream_name(&tricky), config.snapshot_stream_name(&StreamId::new("x").expect("id")));
        // `$`-leading ids are fine: the category keeps them out of the system namespace.
        let dollar = StreamId::new("$weird").expect("valid id");
        assert_eq!(config.event_stream_name(&dollar), "showdown-$weird");
    }
}
