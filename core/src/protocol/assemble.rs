//! A frame's one allocation: the header block's bytes copied once, the
//! keys lowercased in the copy, the span table behind the bytes.

use wide::u8x16;

use super::blocks::{HeaderMasks, mask_of};
use super::frame::{Frame, FrameKind, SPAN_BYTES, Span, offset_u32};

/// Vector width for lowering keys.
const LANES: usize = 16;

/// A frame from a whole header block `content` and its masks, and how
/// many of its lines were no header (skipped; their bytes kept as they came).
///
/// The bytes are copied once, the keys lowercased in the copy from the
/// masks, and the span table appended behind them (room is made for every
/// line, so nothing moves unless a line was skipped).
pub(crate) fn assemble_block(kind: FrameKind, content: &[u8], masks: &HeaderMasks) -> (Frame, u64) {
    let table_at = content.len();
    let mut storage = Vec::with_capacity(table_at + masks.line_count(table_at) * SPAN_BYTES);
    storage.extend_from_slice(content);
    masks.lower_keys(&mut storage);
    let read = masks.read_headers(content, &mut storage);
    let frame = Frame::from_parts(
        kind,
        storage.into_boxed_slice(),
        offset_u32(table_at),
        read.action_id,
        None,
    );
    (frame, read.malformed)
}

/// A frame from its bytes and every header's span (a legacy Command
/// answer's headers, read line by line): each key lowered in the copy in
/// turn.
pub(crate) fn assemble(
    kind: FrameKind,
    content: &[u8],
    spans: &[Span],
    action_id: Option<u32>,
    body: Option<(u32, u32)>,
) -> Frame {
    let mut storage = Vec::with_capacity(content.len() + spans.len() * SPAN_BYTES);
    storage.extend_from_slice(content);
    for span in spans {
        lowercase_key(
            &mut storage,
            content,
            span.key_start as usize,
            span.key_end as usize,
        );
    }
    for span in spans {
        storage.extend_from_slice(&span.to_bytes());
    }
    let table_at = offset_u32(content.len());
    Frame::from_parts(kind, storage.into_boxed_slice(), table_at, action_id, body)
}

/// Lowercases the key `[start, end)` of `content` into `copy` (a copy of
/// `content`), up to its first `(`, sixteen bytes at a time.
///
/// Bytes are loaded from `content` and stored into `copy`, never loaded
/// back: a load that overlaps a fresh narrower store stalls the pipeline. A
/// store may spill past the key; the spilled bytes are the original content,
/// and the next key's own store (keys come in order) comes after it.
#[inline]
fn lowercase_key(copy: &mut [u8], content: &[u8], start: usize, end: usize) {
    let mut at = start;
    while at < end {
        let (lowered, stored, key_ends) = if let Some(bytes) = content[at..].first_chunk() {
            let (lowered, key_ends) = lower_lanes(u8x16::new(*bytes), end - at);
            (lowered, LANES, key_ends)
        } else {
            // Fewer than sixteen bytes left in the frame: pad a copy.
            let stored = content.len() - at;
            let mut bytes = [0; LANES];
            bytes[..stored].copy_from_slice(&content[at..]);
            let (lowered, _) = lower_lanes(u8x16::new(bytes), end - at);
            (lowered, stored, true)
        };
        copy[at..at + stored].copy_from_slice(&lowered.as_array_ref()[..stored]);
        if key_ends {
            return;
        }
        at += LANES;
    }
}

/// `A..=Z` lowered in the lanes before `remaining` and before the first
/// `(`; and whether the key ends within these lanes.
fn lower_lanes(vector: u8x16, remaining: usize) -> (u8x16, bool) {
    let paren = mask_of(vector.cmp_eq(u8x16::splat(b'('))).trailing_zeros() as usize;
    let count = remaining.min(paren).min(LANES);
    let in_key = u8x16::new(LANES_BELOW[count]);
    let upper = vector.max(u8x16::splat(b'A')).cmp_eq(vector)
        & vector.min(u8x16::splat(b'Z')).cmp_eq(vector);
    let lowered = vector | (upper & in_key & u8x16::splat(0x20));
    (lowered, count < LANES || remaining == LANES)
}

/// Entry `n`: all bits set in the lanes below `n`.
const LANES_BELOW: [[u8; LANES]; LANES + 1] = {
    let mut table = [[0; LANES]; LANES + 1];
    let mut count = 0;
    while count <= LANES {
        let mut lane = 0;
        while lane < count {
            table[count][lane] = u8::MAX;
            lane += 1;
        }
        count += 1;
    }
    table
};
