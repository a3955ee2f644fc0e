//! Eight bytes at a time: short searches that a vector search would cost
//! more to set up than to run.
//!
//! An AMI line is short (a 10-byte key, a 15-byte value); these helpers
//! treat a `u64` as eight byte lanes ("SIMD within a register"). The first
//! set lane of a mask is always the first matching byte. `scan_tests` checks
//! them against the scalar definitions on generated input.

const LANES: usize = 8;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Loads eight bytes at `at` (the caller guarantees they exist).
pub(crate) fn load(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; LANES];
    word.copy_from_slice(&bytes[at..at + LANES]);
    u64::from_le_bytes(word)
}

/// High bit set in the first lane equal to `byte`, and perhaps in later
/// lanes: the borrow of the classic zero-byte test can only flag lanes after
/// a true match. Valid where only the first set lane is read.
pub(crate) const fn first_lane_equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ (ONES * byte as u64);
    diff.wrapping_sub(ONES) & !diff & HIGH
}

/// Index of the first set lane of a mask.
pub(crate) const fn first_lane(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Whether at least one full word starts at `at`.
pub(crate) const fn has_word(len: usize, at: usize) -> bool {
    at + LANES <= len
}

/// Lanes in a word.
pub(crate) const WORD: usize = LANES;
