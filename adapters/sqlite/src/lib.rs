//! Showdown's event store on sqlite (in progress).
