//! PHH hand histories (helper fills this in).
