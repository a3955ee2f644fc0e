//! What each server has waiting, kept up to date as it changes, so the
//! cluster's per-event and per-action work does not grow with the number
//! of servers: which servers have bytes, events or log records waiting
//! (taken in turn), each server's next deadline, its heap bytes, and which
//! servers may take an action.

use std::collections::BTreeSet;
use std::time::Instant;

/// Servers with something of one kind waiting, served in turn: after a
/// server is served, the search starts at the next one, so a busy server
/// cannot starve the others.
#[derive(Debug, Default)]
pub(super) struct Turns {
    ready: BTreeSet<usize>,
    /// Whether each server is in `ready` (grown on demand), so the common
    /// call, which changes nothing, searches nothing.
    member: Vec<bool>,
    next: usize,
}

impl Turns {
    /// Records whether `index` has something waiting.
    pub(super) fn set(&mut self, index: usize, waiting: bool) {
        if self.member.len() <= index {
            self.member.resize(index + 1, false);
        }
        if self.member[index] == waiting {
            return;
        }
        self.member[index] = waiting;
        if waiting {
            self.ready.insert(index);
        } else {
            self.ready.remove(&index);
        }
    }

    /// The server whose turn it is, if any has something waiting.
    pub(super) fn current(&self) -> Option<usize> {
        self.ready
            .range(self.next..)
            .next()
            .or_else(|| self.ready.first())
            .copied()
    }

    /// `index` was served: the next turn starts after it.
    pub(super) fn served(&mut self, index: usize) {
        self.next = index + 1;
    }
}

/// Every server's next deadline, earliest first.
#[derive(Debug, Default)]
pub(super) struct Deadlines {
    by_time: BTreeSet<(Instant, usize)>,
    of: Vec<Option<Instant>>,
}

impl Deadlines {
    pub(super) fn new(servers: usize) -> Self {
        Self {
            by_time: BTreeSet::new(),
            of: vec![None; servers],
        }
    }

    pub(super) fn set(&mut self, index: usize, deadline: Option<Instant>) {
        if self.of[index] == deadline {
            return;
        }
        if let Some(old) = self.of[index] {
            self.by_time.remove(&(old, index));
        }
        if let Some(new) = deadline {
            self.by_time.insert((new, index));
        }
        self.of[index] = deadline;
    }

    pub(super) fn earliest(&self) -> Option<Instant> {
        self.by_time.first().map(|&(deadline, _)| deadline)
    }

    /// The servers whose deadline is at or before `now`, earliest first.
    pub(super) fn due(&self, now: Instant) -> Vec<usize> {
        self.by_time
            .iter()
            .take_while(|&&(deadline, _)| deadline <= now)
            .map(|&(_, index)| index)
            .collect()
    }
}

/// Every server's heap bytes and their sum.
#[derive(Debug, Default)]
pub(super) struct HeapBytes {
    of: Vec<usize>,
    total: usize,
}

impl HeapBytes {
    pub(super) fn new(servers: usize) -> Self {
        Self {
            of: vec![0; servers],
            total: 0,
        }
    }

    pub(super) fn set(&mut self, index: usize, bytes: usize) {
        self.total = self.total - self.of[index] + bytes;
        self.of[index] = bytes;
    }

    pub(super) const fn total(&self) -> usize {
        self.total
    }
}
