//! [`EventQueue`]: one server's events between the socket and the
//! application, bounded, dropping the oldest when full.

use std::collections::VecDeque;

use crate::protocol::Frame;

/// Bounded, drop-oldest. Responses never pass through here: only events.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventQueue {
    events: VecDeque<Frame>,
    bytes: usize,
}

impl EventQueue {
    /// Queues `event`; when `capacity` events wait already, drops the oldest
    /// and returns `true`.
    pub(crate) fn push(&mut self, event: Frame, capacity: usize) -> bool {
        let mut dropped = false;
        if self.events.len() >= capacity {
            if let Some(oldest) = self.events.pop_front() {
                self.bytes -= oldest.heap_size();
            }
            dropped = true;
        }
        self.bytes += event.heap_size();
        self.events.push_back(event);
        dropped
    }

    /// The oldest event.
    pub(crate) fn pop(&mut self) -> Option<Frame> {
        let event = self.events.pop_front()?;
        self.bytes -= event.heap_size();
        Some(event)
    }

    /// Events waiting.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Heap bytes of the events and the queue.
    pub(crate) fn heap_size(&self) -> usize {
        self.bytes + self.events.capacity() * size_of::<Frame>()
    }

    /// Drops every event and frees the queue.
    pub(crate) fn terminate(&mut self) {
        *self = Self::default();
    }
}
