//! Chips: whole units of money, never floats.
//!
//! Every amount on the table is a [`Chips`] value. Arithmetic is checked: the operators
//! panic on overflow or underflow, which would be a bug in the rules (amounts coming from
//! outside are validated with the `checked_*` methods before they reach an operator).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// An amount of chips, in the table's smallest unit.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct Chips(pub u64);

impl Chips {
    /// No chips.
    pub const ZERO: Chips = Chips(0);

    /// The stack that stands for an unknown (`inf`) starting stack in a replay: large enough
    /// that nobody is ever all in, small enough that ten of them still fit in a `u64`.
    pub const UNBOUNDED: Chips = Chips(1 << 60);

    /// The amount as a plain number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this is zero chips.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The sum, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, other: Chips) -> Option<Chips> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Chips(v)),
            None => None,
        }
    }

    /// The difference, or `None` if `other` is larger.
    #[must_use]
    pub const fn checked_sub(self, other: Chips) -> Option<Chips> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Chips(v)),
            None => None,
        }
    }

    /// The difference, or zero if `other` is larger.
    #[must_use]
    pub const fn saturating_sub(self, other: Chips) -> Chips {
        Chips(self.0.saturating_sub(other.0))
    }
}

impl Add for Chips {
    type Output = Chips;
    #[inline]
    fn add(self, other: Chips) -> Chips {
        Chips(self.0.checked_add(other.0).expect("chip arithmetic overflowed"))
    }
}

impl Sub for Chips {
    type Output = Chips;
    #[inline]
    fn sub(self, other: Chips) -> Chips {
        Chips(self.0.checked_sub(other.0).expect("chip arithmetic went below zero"))
    }
}

impl AddAssign for Chips {
    #[inline]
    fn add_assign(&mut self, other: Chips) {
        *self = *self + other;
    }
}

impl SubAssign for Chips {
    #[inline]
    fn sub_assign(&mut self, other: Chips) {
        *self = *self - other;
    }
}

impl Sum for Chips {
    fn sum<I: Iterator<Item = Chips>>(iter: I) -> Chips {
        iter.fold(Chips::ZERO, Add::add)
    }
}

impl fmt::Display for Chips {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Chips {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_arithmetic_reports_overflow_instead_of_wrapping() {
        assert_eq!(Chips(u64::MAX).checked_add(Chips(1)), None);
        assert_eq!(Chips(1).checked_sub(Chips(2)), None);
        assert_eq!(Chips(5).checked_sub(Chips(2)), Some(Chips(3)));
        assert_eq!(Chips(1).saturating_sub(Chips(2)), Chips::ZERO);
    }

    #[test]
    #[should_panic(expected = "below zero")]
    fn operators_panic_rather_than_wrap() {
        let _ = Chips(1) - Chips(2);
    }

    #[test]
    fn ten_unbounded_stacks_fit() {
        let total: Chips = std::iter::repeat_n(Chips::UNBOUNDED, 10).sum();
        assert!(total.checked_add(Chips::UNBOUNDED).is_some());
    }
}
