//! Hand evaluator (helper fills this in).
