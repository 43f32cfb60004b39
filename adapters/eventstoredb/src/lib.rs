//! Showdown's event store on eventstoredb (in progress).
