//! A complete header block, sixty-four bytes at a time: where its lines end,
//! where their keys stop and which key bytes are capitals, as bit masks, so
//! reading a line is a trailing-zero count and a shift instead of a
//! data-dependent loop, and lowercasing the keys touches only their capitals.
//!
//! The masks are built as a frame's bytes arrive, until they show the blank
//! line that ends its header block (two CRLF line ends two bytes apart);
//! only then are its lines read, so every line is whole. Bytes are
//! classified once, block by block, with 16-byte vector compares (`wide`: SSE2 on x86-64,
//! NEON on aarch64, a portable fallback elsewhere; this crate stays free of
//! `unsafe`), then its lines are read off the masks in order. An AMI header
//! line is about 20 bytes, so one block answers three lines' questions, and
//! the branches that remain depend on the frame's shape, not on where in a
//! word a byte sits.

use wide::u8x16;

use super::frame::{Span, offset_u32};
use super::line::{HeaderAt, split_header};

/// Bytes classified at once.
const BLOCK: usize = 64;
/// Vector width.
const LANES: usize = 16;
/// Filler for a short last block: none of the classified bytes.
const FILLER: u8 = b'a';
/// The ASCII case bit: set, a capital letter is lowercase.
const CASE_BIT: u8 = 0x20;

/// One block's masks; bit `i` describes the block's byte `i`.
#[derive(Debug, Clone, Copy, Default)]
struct Masks {
    /// Line feeds whose previous byte (possibly the previous block's last)
    /// is a carriage return: the ends of CRLF lines.
    crlf: u64,
    /// Where a key may stop: colons, control bytes (`0x00..=0x1f`, `0x7f`)
    /// and `(` (where a key stops being lowercased).
    stop: u64,
    /// `A..=Z`: the bytes a key lowercases.
    upper: u64,
}

/// Classifies 64 bytes.
fn classify(block: &[u8; BLOCK], cr_before: bool) -> Masks {
    let newline = u8x16::splat(b'\n');
    let carriage = u8x16::splat(b'\r');
    let colon = u8x16::splat(b':');
    let paren = u8x16::splat(b'(');
    let delete = u8x16::splat(0x7f);
    let below_space = u8x16::splat(0x1f);
    let letters = u8x16::splat(b'Z' - b'A');
    let (mut lf, mut cr, mut stop, mut upper) = (0u64, 0u64, 0u64, 0u64);
    let (lanes, _) = block.as_chunks::<LANES>();
    for (index, lanes) in lanes.iter().enumerate() {
        let vector = u8x16::new(*lanes);
        // `min(v, n) == v` is `v <= n`, unsigned; `A..=Z` moved to `0..=25`.
        let control = vector.min(below_space).cmp_eq(vector) | vector.cmp_eq(delete);
        let from_a = vector - u8x16::splat(b'A');
        let shift = index * LANES;
        lf |= mask_of(vector.cmp_eq(newline)) << shift;
        cr |= mask_of(vector.cmp_eq(carriage)) << shift;
        stop |= mask_of(control | vector.cmp_eq(colon) | vector.cmp_eq(paren)) << shift;
        upper |= mask_of(from_a.min(letters).cmp_eq(from_a)) << shift;
    }
    Masks {
        crlf: lf & ((cr << 1) | u64::from(cr_before)),
        stop,
        upper,
    }
}

/// The sixteen lane flags of a comparison as bits.
pub(crate) fn mask_of(compared: u8x16) -> u64 {
    // `move_mask` sets only the low sixteen bits of its `i32`.
    u64::from(compared.move_mask().cast_unsigned() & 0xffff)
}

/// The masks of the header block being read, from the frame's first byte,
/// kept while the frame's bytes arrive. Whole blocks are classified once
/// however the bytes are chunked; a short last block is classified again
/// when more come.
///
/// Per block of 64 bytes: its CRLF line ends; each line's *first* key stop
/// (one bit per line, so reading a line never searches); and the capital
/// letters before it (what lowercasing the keys changes). Both come from
/// one subtraction: `stops - starts` borrows from each line start up to
/// the first stop at or after it, setting every bit in between (the key,
/// or its part before a `(`) and clearing exactly that stop (a line's CR
/// is a stop, so no borrow runs into the next line); a borrow out of the
/// block's top is a line whose key runs on into the next block.
#[derive(Debug, Default)]
pub(crate) struct HeaderMasks {
    blocks: Vec<BlockLines>,
    /// Whether the last block was short (filled out with [`FILLER`]).
    short_last: bool,
    /// The borrow out of the last whole block: a line started before its
    /// end has not reached its key stop yet.
    borrow: bool,
}

/// What reading a block's lines needs.
#[derive(Debug, Clone, Copy)]
struct BlockLines {
    /// CRLF line ends (the LF's bit).
    ends: u64,
    /// Each line's first key stop.
    first_stops: u64,
    /// Capital letters in keys, before any `(`.
    key_capitals: u64,
}

impl HeaderMasks {
    /// Heap bytes held.
    pub(crate) fn heap_size(&self) -> usize {
        self.blocks.capacity() * size_of::<BlockLines>()
    }

    /// Forgets the masks, for a new frame.
    pub(crate) fn clear(&mut self) {
        self.blocks.clear();
        self.short_last = false;
        self.borrow = false;
    }

    /// Frees the scratch.
    pub(crate) fn release(&mut self) {
        self.clear();
        self.blocks = Vec::new();
    }

    /// Classifies `window` (the frame's bytes so far, from its first byte,
    /// which is no line feed) on from where the last call stopped, up to the
    /// blank line that ends the header block. Returns the block's end
    /// (through its last line's CRLF) once the blank line is there.
    pub(crate) fn find_block_end(&mut self, window: &[u8]) -> Option<usize> {
        if self.short_last {
            self.blocks.pop();
            self.short_last = false;
        }
        let mut at = self.blocks.len() * BLOCK;
        while at < window.len() {
            let cr_before = at > 0 && window[at - 1] == b'\r';
            let rest = &window[at..];
            let masks = if let Some(bytes) = rest.first_chunk::<BLOCK>() {
                classify(bytes, cr_before)
            } else {
                let mut bytes = [FILLER; BLOCK];
                bytes[..rest.len()].copy_from_slice(rest);
                self.short_last = true;
                classify(&bytes, cr_before)
            };
            let ends_before = self.blocks.last().map_or(0, |block| block.ends);
            // Lines start at the frame's first byte and after each line end.
            let starts = (masks.crlf << 1) | (ends_before >> (BLOCK - 1)) | u64::from(at == 0);
            // A line still looking for its stop starts nowhere in this block
            // (its line end would have come first), so the two never add up.
            let (less_starts, borrowed) = masks.stop.overflowing_sub(starts);
            let (less_carry, carried) = less_starts.overflowing_sub(u64::from(self.borrow));
            if !self.short_last {
                self.borrow = borrowed || carried;
            }
            // A blank line: a CRLF line end two bytes after another.
            let blank = masks.crlf & ((masks.crlf << 2) | (ends_before >> (BLOCK - 2)));
            self.blocks.push(BlockLines {
                ends: masks.crlf,
                first_stops: masks.stop & !less_carry,
                key_capitals: masks.upper & less_carry & !masks.stop,
            });
            if blank != 0 {
                // `blank` marks the blank line's LF; the block ends at its CR.
                return Some(at + blank.trailing_zeros() as usize - 1);
            }
            at += BLOCK;
        }
        None
    }

    /// How many lines the header block ending at `block_end` has.
    pub(crate) fn line_count(&self, block_end: usize) -> usize {
        let whole = block_end / BLOCK;
        let within_last = self.blocks.get(whole).map_or(0, |block| {
            (block.ends & !(u64::MAX << (block_end % BLOCK))).count_ones()
        });
        let whole: u32 = self.blocks[..whole]
            .iter()
            .map(|block| block.ends.count_ones())
            .sum();
        (whole + within_last) as usize
    }

    /// Lowercases, in `copy` (a copy of the header block
    /// [`HeaderMasks::find_block_end`] found), every line's bytes before its
    /// first key stop: the key of each header, up to any `(`. A line that
    /// turns out to be no header is lowercased too; the reader puts its
    /// bytes back.
    ///
    /// One bit at a time: a frame's keys hold about two capitals each,
    /// fewer than the words a branch-free pass over the whole block
    /// would touch (measured slower too).
    pub(crate) fn lower_keys(&self, copy: &mut [u8]) {
        for (bytes, block) in copy.chunks_mut(BLOCK).zip(&self.blocks) {
            // The last block may run past the header block.
            let mut capitals = block.key_capitals & (u64::MAX >> (BLOCK - bytes.len()));
            while capitals != 0 {
                bytes[capitals.trailing_zeros() as usize] |= CASE_BIT;
                capitals &= capitals - 1;
            }
        }
    }

    /// Reads the lines of `block` (the header block
    /// [`HeaderMasks::find_block_end`] found) in order: each header's span
    /// is appended to `storage` (the block's copy, keys lowered by
    /// [`HeaderMasks::lower_keys`]); a line that is no header gets its
    /// original bytes back in the copy and is counted.
    pub(crate) fn read_headers(&self, block: &[u8], storage: &mut Vec<u8>) -> HeaderLines {
        let blocks = &self.blocks[..];
        let (mut ends_index, mut ends) = (0, blocks[0].ends);
        let (mut stops_index, mut stops) = (0, blocks[0].first_stops);
        let (mut headers, mut malformed, mut action_id) = (0, 0, None);
        let mut start = 0;
        while start < block.len() {
            // The line's end and its key's stop: the first of each not yet read.
            while ends == 0 {
                ends_index += 1;
                ends = blocks[ends_index].ends;
            }
            let end = ends_index * BLOCK + ends.trailing_zeros() as usize - 1;
            ends &= ends - 1;
            while stops == 0 {
                stops_index += 1;
                stops = blocks[stops_index].first_stops;
            }
            let stop = stops_index * BLOCK + stops.trailing_zeros() as usize;
            stops &= stops - 1;
            if let Some(header) = header_at(block, start, stop, end) {
                if action_id.is_none() && header.is_action_id(&block[start..]) {
                    action_id = Some(offset_u32(headers));
                }
                let key_end = start + header.key_end;
                let value_start = start + header.value_start;
                storage
                    .extend_from_slice(&Span::of_line(start, end, key_end, value_start).to_bytes());
                headers += 1;
            } else {
                storage[start..end].copy_from_slice(&block[start..end]);
                malformed += 1;
            }
            start = end + 2;
        }
        HeaderLines {
            action_id,
            malformed,
        }
    }
}

/// What [`HeaderMasks::read_headers`] read.
pub(crate) struct HeaderLines {
    /// Index of the first `ActionID` header.
    pub(crate) action_id: Option<u32>,
    /// Lines that were no header.
    pub(crate) malformed: u64,
}

/// The header on the line `[start, end)` of `block` whose first key stop
/// is at `stop`, or `None` when the line is no header.
#[inline]
fn header_at(block: &[u8], start: usize, stop: usize, end: usize) -> Option<HeaderAt> {
    match block[stop] {
        b':' if stop > start && block[start] != b' ' => {
            let key_end = stop - start;
            // A colon is before the line's `\r`: the byte after it exists.
            let value_start = key_end + 1 + usize::from(block[stop + 1] == b' ');
            Some(HeaderAt {
                key_end,
                value_start,
            })
        }
        // A key with a `(` (rare): its colon is further on.
        b'(' => split_header(&block[start..end]).map(|(key_end, value_start)| HeaderAt {
            key_end,
            value_start,
        }),
        // A control byte before any colon, or an empty key.
        _ => None,
    }
}
