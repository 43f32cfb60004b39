//! Showdown's event store on postgres (in progress).
