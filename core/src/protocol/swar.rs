//! Eight bytes at a time: the hot path of header scanning.
//!
//! An AMI line is short (a 10-byte key, a 15-byte value); a SIMD search per
//! line costs more in setup than the line itself. These helpers treat a `u64`
//! as eight byte lanes ("SIMD within a register") with exact per-lane masks:
//! no lane's result leaks into its neighbour, so the first set lane is always
//! the first matching byte. `scan_tests` checks them against the scalar
//! definitions on generated input.

const LANES: usize = 8;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Loads eight bytes at `at` (the caller guarantees they exist).
pub(crate) fn load(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; LANES];
    word.copy_from_slice(&bytes[at..at + LANES]);
    u64::from_le_bytes(word)
}

/// Stores eight bytes at `at`.
pub(crate) fn store(bytes: &mut [u8], at: usize, word: u64) {
    bytes[at..at + LANES].copy_from_slice(&word.to_le_bytes());
}

/// High bit set in every lane equal to `byte`.
pub(crate) const fn lanes_equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ (ONES * byte as u64);
    // A lane is zero iff neither its low seven bits nor its high bit are set.
    !(((diff & LOW7) + LOW7) | diff) & HIGH
}

/// High bit set in the first lane equal to `byte`, and perhaps in later
/// lanes: the borrow of the classic zero-byte test can only flag lanes after
/// a true match. Cheaper than [`lanes_equal`]; valid where only the first set
/// lane is read.
pub(crate) const fn first_lane_equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ (ONES * byte as u64);
    diff.wrapping_sub(ONES) & !diff & HIGH
}

/// High bit set in every lane whose low seven bits are at least `floor`.
const fn low7_at_least(word: u64, floor: u8) -> u64 {
    ((word & LOW7) + ONES * (0x80 - floor as u64)) & HIGH
}

/// High bit set in every lane holding `A..=Z`; bytes from `0x80` up are
/// never letters, whatever their low seven bits.
const fn lanes_upper(word: u64) -> u64 {
    low7_at_least(word, b'A') & !low7_at_least(word, b'Z' + 1) & !word
}

/// Index of the first set lane of a mask.
pub(crate) const fn first_lane(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// A mask of the lanes below `count` (0..=8).
const fn lanes_below(count: usize) -> u64 {
    if count >= LANES {
        u64::MAX
    } else {
        (1u64 << (count * 8)) - 1
    }
}

/// Lowercases `A..=Z` in the lanes below `count`.
pub(crate) const fn lowercase_below(word: u64, count: usize) -> u64 {
    word | ((lanes_upper(word) & lanes_below(count)) >> 2)
}

/// Whether at least one full word starts at `at`.
pub(crate) const fn has_word(len: usize, at: usize) -> bool {
    at + LANES <= len
}

/// Lanes in a word.
pub(crate) const WORD: usize = LANES;
