//! [`Outbound`]: the bytes waiting for the socket, under a hard limit.

use std::collections::VecDeque;

/// A connection's outbound bytes. The runtime writes what the socket takes
/// from [`Outbound::pending`] and reports it with [`Outbound::consume`];
/// partial writes are the normal case. Appending past the limit fails, and
/// the session then drops the connection rather than grow.
///
/// Each appended action leaves a marker (where its bytes end, its ActionID
/// sequence), so the session learns when an action's last byte went to the
/// socket: only then can an answer to it be genuine.
#[derive(Clone, Default)]
pub(crate) struct Outbound {
    bytes: Vec<u8>,
    /// Bytes at the front already written.
    written: usize,
    /// Bytes written since the start, across buffer reclaims.
    written_total: u64,
    /// `(written_total at the action's end, its sequence)`, in write order.
    markers: VecDeque<(u64, u64)>,
}

impl Outbound {
    /// Bytes not yet written.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() - self.written
    }

    /// The unwritten bytes, if any.
    pub(crate) fn pending(&self) -> Option<&[u8]> {
        (self.len() > 0).then(|| &self.bytes[self.written..])
    }

    /// Records that the socket took `count` bytes (capped at what is
    /// pending); `sent` hears the sequence of every action whose last byte
    /// is now written.
    pub(crate) fn consume(&mut self, count: usize, mut sent: impl FnMut(u64)) -> usize {
        let count = count.min(self.len());
        self.written += count;
        self.written_total += count as u64;
        while let Some(&(end, sequence)) = self.markers.front() {
            if end > self.written_total {
                break;
            }
            self.markers.pop_front();
            sent(sequence);
        }
        if self.written == self.bytes.len() {
            self.bytes.clear();
            self.written = 0;
        }
        count
    }

    /// Appends the action with ActionID sequence `sequence` with `write`,
    /// unless the result would pass `limit` bytes pending; then nothing is
    /// appended and `false` is returned.
    pub(crate) fn append(
        &mut self,
        limit: usize,
        sequence: u64,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> bool {
        if self.written > 0 && self.written >= self.bytes.len() / 2 {
            // Reclaim the written half rather than grow.
            self.bytes.drain(..self.written);
            self.written = 0;
        }
        let before = self.bytes.len();
        write(&mut self.bytes);
        if self.len() > limit {
            self.bytes.truncate(before);
            return false;
        }
        let end = self.written_total + self.len() as u64;
        self.markers.push_back((end, sequence));
        true
    }

    /// Heap bytes held.
    pub(crate) fn heap_size(&self) -> usize {
        self.bytes.capacity() + self.markers.capacity() * size_of::<(u64, u64)>()
    }

    /// Forgets every byte and frees the buffer.
    pub(crate) fn terminate(&mut self) {
        *self = Self::default();
    }
}

impl std::fmt::Debug for Outbound {
    /// Lengths only: the bytes may hold a plain login's secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("pending_bytes", &self.len())
            .field("capacity", &self.bytes.capacity())
            .finish_non_exhaustive()
    }
}
