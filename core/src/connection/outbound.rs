//! [`Outbound`]: the bytes waiting for the socket, under a hard limit.

/// A connection's outbound bytes. The runtime writes what the socket takes
/// from [`Outbound::pending`] and reports it with [`Outbound::consume`];
/// partial writes are the normal case. Appending past the limit fails, and
/// the session then drops the connection rather than grow.
#[derive(Clone, Default)]
pub(crate) struct Outbound {
    bytes: Vec<u8>,
    /// Bytes at the front already written.
    written: usize,
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

    /// Records that the socket took `count` bytes (capped at what is pending).
    pub(crate) fn consume(&mut self, count: usize) -> usize {
        let count = count.min(self.len());
        self.written += count;
        if self.written == self.bytes.len() {
            self.bytes.clear();
            self.written = 0;
        }
        count
    }

    /// Appends with `write`, unless the result would pass `limit` bytes
    /// pending; then nothing is appended and `false` is returned.
    pub(crate) fn append(&mut self, limit: usize, write: impl FnOnce(&mut Vec<u8>)) -> bool {
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
        true
    }

    /// Heap bytes held.
    pub(crate) fn heap_size(&self) -> usize {
        self.bytes.capacity()
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
