//! Sixty-four bytes at a time: where lines end and where keys stop, as bit
//! masks, so finding the next line end or colon is a shift and a
//! trailing-zero count instead of a data-dependent loop per line.
//!
//! A block is classified once with 16-byte vector compares (`wide`, which is
//! SSE2 on x86-64 and NEON on aarch64, with a portable fallback; this crate
//! stays free of `unsafe`). An AMI header line is about 20 bytes, so one
//! block answers three lines' questions, and the branches that remain depend
//! on the frame's shape (how many lines), not on where in a word a byte sits.

use wide::u8x16;

/// Bytes classified at once.
pub(crate) const BLOCK: usize = 64;
/// Vector width.
const LANES: usize = 16;
/// Filler for a short last block: none of the classified bytes.
const FILLER: u8 = b'a';

/// One block's masks; bit `i` describes the byte at `base + i`.
#[derive(Debug, Clone, Copy, Default)]
struct Masks {
    /// Line feeds whose previous byte (possibly the previous block's last)
    /// is a carriage return: the ends of CRLF lines.
    crlf: u64,
    /// Colons and control bytes (`0x00..=0x1f`, `0x7f`): where a key stops.
    stop: u64,
    /// Carriage returns, for the next block's first byte.
    cr: u64,
}

/// Classifies 64 bytes.
fn classify(block: &[u8; BLOCK], cr_before: bool) -> Masks {
    let newline = u8x16::splat(b'\n');
    let carriage = u8x16::splat(b'\r');
    let colon = u8x16::splat(b':');
    let delete = u8x16::splat(0x7f);
    let below_space = u8x16::splat(0x1f);
    let (mut lf, mut cr, mut stop) = (0u64, 0u64, 0u64);
    for (index, lanes) in block.chunks_exact(LANES).enumerate() {
        let mut bytes = [0u8; LANES];
        bytes.copy_from_slice(lanes);
        let vector = u8x16::new(bytes);
        // `min(v, 0x1f) == v` is `v <= 0x1f`, unsigned.
        let control = vector.min(below_space).cmp_eq(vector) | vector.cmp_eq(delete);
        let shift = index * LANES;
        lf |= mask_of(vector.cmp_eq(newline)) << shift;
        cr |= mask_of(vector.cmp_eq(carriage)) << shift;
        stop |= mask_of(control | vector.cmp_eq(colon)) << shift;
    }
    Masks {
        crlf: lf & ((cr << 1) | u64::from(cr_before)),
        stop,
        cr,
    }
}

/// The sixteen lane flags of a comparison as bits.
fn mask_of(compared: u8x16) -> u64 {
    // `move_mask` sets only the low sixteen bits of its `i32`.
    u64::from(compared.move_mask().cast_unsigned() & 0xffff)
}

/// Answers "where is the next CRLF" and "where does the key stop" over a
/// window, moving forward one block at a time; every query position must be
/// at or after the start of the block the previous query ended in.
#[derive(Debug)]
pub(crate) struct LineFinder<'a> {
    window: &'a [u8],
    /// Offset of the current block in the window.
    base: usize,
    masks: Masks,
}

impl<'a> LineFinder<'a> {
    /// A finder whose first block starts at `from`.
    #[inline]
    pub(crate) fn new(window: &'a [u8], from: usize) -> Self {
        let cr_before = from > 0 && window.get(from - 1) == Some(&b'\r');
        let mut finder = Self {
            window,
            base: from,
            masks: Masks::default(),
        };
        finder.load(cr_before);
        finder
    }

    /// Classifies the block at `base`.
    fn load(&mut self, cr_before: bool) {
        let rest = &self.window[self.base.min(self.window.len())..];
        self.masks = if let Some(block) = rest.first_chunk::<BLOCK>() {
            classify(block, cr_before)
        } else {
            let mut block = [FILLER; BLOCK];
            block[..rest.len()].copy_from_slice(rest);
            classify(&block, cr_before)
        };
    }

    /// Moves to the next block; `false` when the window ends before it.
    fn advance(&mut self) -> bool {
        if self.base + BLOCK >= self.window.len() {
            return false;
        }
        let cr_before = self.masks.cr >> (BLOCK - 1) != 0;
        self.base += BLOCK;
        self.load(cr_before);
        true
    }

    /// The first position at or after `from` set in the CRLF mask (`crlf`)
    /// or the stop mask (a plain flag: inlined, it folds away).
    // Measured: left to the compiler, the per-line lookups became calls and
    // the header scan took twice as long.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn next_set(&mut self, from: usize, crlf: bool) -> Option<usize> {
        debug_assert!(from >= self.base, "queries move forward");
        loop {
            let offset = from.saturating_sub(self.base);
            if offset < BLOCK {
                let mask = if crlf {
                    self.masks.crlf
                } else {
                    self.masks.stop
                };
                let found = mask & (u64::MAX << offset);
                if found != 0 {
                    return Some(self.base + found.trailing_zeros() as usize);
                }
            }
            if !self.advance() {
                return None;
            }
        }
    }

    /// The first colon or control byte at or after `from`.
    #[inline]
    pub(crate) fn next_stop(&mut self, from: usize) -> Option<usize> {
        self.next_set(from, false)
    }

    /// The `\r` of the first `\r\n` whose `\r` is at or after `from`.
    #[inline]
    pub(crate) fn next_crlf(&mut self, from: usize) -> Option<usize> {
        self.next_set(from + 1, true).map(|lf| lf - 1)
    }
}
