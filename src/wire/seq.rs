//! TCP sequence numbers: modular 32-bit arithmetic (RFC 9293 §3.4).
//!
//! Deliberately no `PartialOrd`: "before" is not transitive across the whole space. Use
//! [`SeqNum::before`] / [`SeqNum::after`] like Linux's `before()`/`after()`.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// `self` comes strictly before `other` (within 2^31).
    #[inline]
    pub fn before(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    /// `self` comes strictly after `other` (within 2^31).
    #[inline]
    pub fn after(self, other: SeqNum) -> bool {
        other.before(self)
    }

    /// `lo <= self < lo + len`, wrapping.
    #[inline]
    pub fn in_window(self, lo: SeqNum, len: u32) -> bool {
        self.0.wrapping_sub(lo.0) < len
    }

    /// Not `std::ops::Add`: deliberate, so wrapping math reads explicitly at call sites.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// Distance `self - other`, wrapping.
    #[inline]
    pub fn diff(self, other: SeqNum) -> u32 {
        self.0.wrapping_sub(other.0)
    }
}

impl core::fmt::Display for SeqNum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::SeqNum;

    #[test]
    fn wraps() {
        assert!(SeqNum(0xffff_fff0).before(SeqNum(5)));
        assert!(SeqNum(5).after(SeqNum(0xffff_fff0)));
        assert!(!SeqNum(7).before(SeqNum(7)));
        assert!(SeqNum(3).in_window(SeqNum(0xffff_fffe), 10));
        assert!(!SeqNum(12).in_window(SeqNum(0xffff_fffe), 10));
        assert_eq!(SeqNum(2).diff(SeqNum(0xffff_ffff)), 3);
    }
}
