//! A frame's one allocation, built as its lines are read: the header
//! block's bytes copied once, each key lowercased in the copy as its line is
//! found (while the bytes are still in cache), each span appended to the
//! table behind the bytes. No scratch table, no second pass.

use wide::u8x16;

use super::blocks::mask_of;
use super::frame::{Frame, FrameKind, SPAN_BYTES, Span};

/// Vector width for lowering keys.
const LANES: usize = 16;

/// Builds one frame: its bytes, then its span table, in one buffer.
pub(crate) struct FrameBuilder<'c> {
    content: &'c [u8],
    storage: Vec<u8>,
    headers: usize,
}

impl<'c> FrameBuilder<'c> {
    /// A frame of `content` with room for `headers_at_most` headers (an
    /// exact count keeps the buffer from being reallocated at the end).
    pub(crate) fn new(content: &'c [u8], headers_at_most: usize) -> Self {
        let mut storage = Vec::with_capacity(content.len() + headers_at_most * SPAN_BYTES);
        storage.extend_from_slice(content);
        Self {
            content,
            storage,
            headers: 0,
        }
    }

    /// Headers added so far.
    pub(crate) const fn headers(&self) -> usize {
        self.headers
    }

    /// Adds a header (in wire order): lowercases its key in the copy, up
    /// to its first `(`, and appends its span.
    #[inline]
    pub(crate) fn push(&mut self, span: Span) {
        let copy = &mut self.storage[..self.content.len()];
        lowercase_key(
            copy,
            self.content,
            span.key_start as usize,
            span.key_end as usize,
        );
        self.storage.extend_from_slice(&span.to_bytes());
        self.headers += 1;
    }

    /// The copy of the content, to lowercase keys in place before any
    /// span is added.
    pub(crate) fn copy_mut(&mut self) -> &mut [u8] {
        &mut self.storage[..self.content.len()]
    }

    /// Adds a header (in wire order) whose key the caller has lowercased.
    #[inline]
    pub(crate) fn push_lowered(&mut self, span: Span) {
        self.storage.extend_from_slice(&span.to_bytes());
        self.headers += 1;
    }

    /// Puts back the original bytes of `[start, end)` (a line that is no
    /// header, lowercased along with the keys).
    pub(crate) fn restore(&mut self, start: usize, end: usize) {
        self.storage[start..end].copy_from_slice(&self.content[start..end]);
    }

    /// The frame.
    pub(crate) fn finish(
        self,
        kind: FrameKind,
        action_id: Option<u32>,
        body: Option<(u32, u32)>,
    ) -> Frame {
        // The parser caps frames far below 4 GiB, so offsets fit in u32.
        let table_at = u32::try_from(self.content.len()).unwrap_or(u32::MAX);
        Frame::from_parts(
            kind,
            self.storage.into_boxed_slice(),
            table_at,
            action_id,
            body,
        )
    }
}

/// A frame from its bytes and every header's span.
pub(crate) fn assemble(
    kind: FrameKind,
    content: &[u8],
    spans: &[Span],
    action_id: Option<u32>,
    body: Option<(u32, u32)>,
) -> Frame {
    let mut builder = FrameBuilder::new(content, spans.len());
    for &span in spans {
        builder.push(span);
    }
    builder.finish(kind, action_id, body)
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
