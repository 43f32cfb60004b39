//! The shuffled deck (helper fills this in).
