//! [`PendingRegistry`]: one server's actions in flight, each ending exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::error::{AmiError, Bound};
use super::response::Response;
use super::strategy::CompletionStrategy;
use crate::protocol::Frame;

/// Default cap on concurrent pending actions of one server.
pub const DEFAULT_MAX_PENDING: usize = 4096;
/// Default cap on the items of one event list.
pub const DEFAULT_MAX_LIST_ITEMS: usize = 100_000;
/// Default cap on the bytes of one event list's items.
pub const DEFAULT_MAX_LIST_BYTES: usize = 32 * 1024 * 1024;

/// The registry's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryLimits {
    /// Concurrent pending actions; one more is [`AmiError::Rejected`].
    pub max_pending: usize,
    /// Items of one list; one more fails it with [`AmiError::ListTooLong`].
    pub max_list_items: usize,
    /// Heap bytes of one list's items; past it, [`AmiError::ListTooLong`].
    pub max_list_bytes: usize,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        Self {
            max_pending: DEFAULT_MAX_PENDING,
            max_list_items: DEFAULT_MAX_LIST_ITEMS,
            max_list_bytes: DEFAULT_MAX_LIST_BYTES,
        }
    }
}

/// Names one pending action of one server: its ActionID's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionHandle(pub u64);

/// An action's one and only ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Which action.
    pub handle: ActionHandle,
    /// Its answer, or why there is none.
    pub result: Result<Response, AmiError>,
    /// From submission to this ending.
    pub latency: Duration,
}

/// What became of a frame offered to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// It ended an action.
    Completed(Completion),
    /// It belonged to an action that goes on (a list item or start), or to
    /// one already failed whose list is being discarded.
    Consumed,
    /// No pending action wants it; it is handed back.
    Unmatched(Frame),
}

/// A list being collected: the response that opened it, items so far and
/// their heap bytes.
#[derive(Debug)]
struct Listing {
    response: Frame,
    items: Vec<Frame>,
    bytes: usize,
}

#[derive(Debug)]
enum Progress {
    /// Waiting for the response.
    Awaiting,
    /// The response opened a list. Boxed: entries sit in a B-tree whose
    /// nodes shift them on every removal, and most actions are no lists,
    /// so a small entry is cheaper to move.
    Listing(Box<Listing>),
    /// The list passed its cap: the caller was told, the rest is dropped
    /// until the list completes or the deadline passes.
    Overflowed,
}

#[derive(Debug)]
struct Entry {
    strategy: CompletionStrategy,
    /// Whether the action's bytes have been handed to the socket: only
    /// then can an answer to it be genuine.
    sent: bool,
    submitted: Instant,
    deadline: Instant,
    timeout: Duration,
    progress: Progress,
}

/// One server's pending actions, keyed by ActionID sequence.
///
/// Bounded: at most `max_pending` entries, each list capped in items and
/// bytes. Every entry ends exactly once: by its response (or its list's
/// completing event), by [`PendingRegistry::expire`], or by
/// [`PendingRegistry::fail_all`]. Deadlines sit in an ordered set, so the
/// earliest one is found without scanning the entries.
#[derive(Debug)]
pub struct PendingRegistry {
    limits: RegistryLimits,
    entries: BTreeMap<u64, Entry>,
    deadlines: BTreeSet<(Instant, u64)>,
    list_bytes: usize,
    /// Sent `Headerless` entries still awaiting their answer.
    headerless_sent: usize,
}

impl PendingRegistry {
    /// An empty registry with these bounds.
    #[must_use]
    pub const fn new(limits: RegistryLimits) -> Self {
        Self {
            limits,
            entries: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            list_bytes: 0,
            headerless_sent: 0,
        }
    }

    /// Entries held, including failed lists still being discarded.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the action with ActionID sequence `sequence` is pending.
    #[must_use]
    pub fn contains(&self, sequence: u64) -> bool {
        self.entries.contains_key(&sequence)
    }

    /// The earliest deadline of any entry.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Heap bytes of the list items held (frames and the vectors holding
    /// them), for memory budgets.
    #[must_use]
    pub const fn list_bytes(&self) -> usize {
        self.list_bytes
    }

    /// Registers the action with ActionID sequence `sequence`, due `timeout`
    /// after `now`. It takes no answer until [`PendingRegistry::mark_sent`].
    ///
    /// # Errors
    /// [`AmiError::Rejected`] with [`Bound::PendingActions`] when the registry
    /// is full; [`AmiError::AlreadyPending`] when `sequence` is pending
    /// already (the first registration is kept untouched). Nothing is
    /// registered on error.
    pub fn insert(
        &mut self,
        sequence: u64,
        strategy: CompletionStrategy,
        timeout: Duration,
        now: Instant,
    ) -> Result<ActionHandle, AmiError> {
        if self.entries.contains_key(&sequence) {
            return Err(AmiError::AlreadyPending { sequence });
        }
        if self.entries.len() >= self.limits.max_pending {
            return Err(AmiError::Rejected {
                bound: Bound::PendingActions,
                depth: self.entries.len(),
                limit: self.limits.max_pending,
            });
        }
        let deadline = super::deadline_after(now, timeout);
        self.deadlines.insert((deadline, sequence));
        self.entries.insert(
            sequence,
            Entry {
                strategy,
                sent: false,
                submitted: now,
                deadline,
                timeout,
                progress: Progress::Awaiting,
            },
        );
        Ok(ActionHandle(sequence))
    }

    /// Records that the action's last byte went to the socket, so answers
    /// to it are taken from now on. Unknown sequences are ignored.
    pub fn mark_sent(&mut self, sequence: u64) {
        if let Some(entry) = self.entries.get_mut(&sequence) {
            if !entry.sent && entry.strategy == CompletionStrategy::Headerless {
                self.headerless_sent += 1;
            }
            entry.sent = true;
        }
    }

    /// How many sent actions await a headerless answer
    /// ([`CompletionStrategy::Headerless`]).
    #[must_use]
    pub const fn headerless_due(&self) -> usize {
        self.headerless_sent
    }

    /// The sent action a headerless answer belongs to: the oldest one
    /// awaiting it (AMI answers in order on one connection).
    #[must_use]
    pub fn headerless_owner(&self) -> Option<u64> {
        if self.headerless_sent == 0 {
            return None;
        }
        self.entries
            .iter()
            .find(|(_, entry)| entry.sent && entry.strategy == CompletionStrategy::Headerless)
            .map(|(&sequence, _)| sequence)
    }

    /// Whether `sequence` is pending and not yet sent.
    #[must_use]
    pub fn is_unsent(&self, sequence: u64) -> bool {
        self.entries.get(&sequence).is_some_and(|entry| !entry.sent)
    }

    /// Offers a response frame whose ActionID carries `sequence`. A frame
    /// naming an action not yet sent is handed back: it cannot be its answer.
    pub fn on_response(&mut self, sequence: u64, frame: Frame, now: Instant) -> Dispatch {
        let Some(entry) = self.entries.get_mut(&sequence).filter(|entry| entry.sent) else {
            return Dispatch::Unmatched(frame);
        };
        if !matches!(entry.progress, Progress::Awaiting) {
            // A second response to one action: not ours to interpret.
            return Dispatch::Unmatched(frame);
        }
        let opens_list = !matches!(
            entry.strategy,
            CompletionStrategy::Follows | CompletionStrategy::Headerless
        ) && frame
            .get("eventlist")
            .is_some_and(|value| value.eq_ignore_ascii_case("start"));
        if opens_list {
            entry.progress = Progress::Listing(Box::new(Listing {
                response: frame,
                items: Vec::new(),
                bytes: 0,
            }));
            return Dispatch::Consumed;
        }
        let submitted = entry.submitted;
        self.remove(sequence);
        Dispatch::Completed(Completion {
            handle: ActionHandle(sequence),
            result: Ok(Response::new(frame, Vec::new(), None)),
            latency: now.saturating_duration_since(submitted),
        })
    }

    /// Offers an event frame whose ActionID carries `sequence`: a list item
    /// or a list's completing event. Events of actions not in a list are
    /// handed back (an `OriginateResponse`, a `UserEvent` echo).
    pub fn on_event(&mut self, sequence: u64, frame: Frame, now: Instant) -> Dispatch {
        let Some(entry) = self.entries.get_mut(&sequence).filter(|entry| entry.sent) else {
            return Dispatch::Unmatched(frame);
        };
        let completes = frame
            .get("eventlist")
            .is_some_and(|value| value.eq_ignore_ascii_case("complete"));
        match (&mut entry.progress, completes) {
            (Progress::Awaiting, _) => Dispatch::Unmatched(frame),
            (Progress::Overflowed, false) => Dispatch::Consumed,
            (Progress::Listing(listing), false) => {
                let Listing { items, bytes, .. } = &mut **listing;
                let size = frame.heap_size();
                if items.len() < self.limits.max_list_items
                    && *bytes + size <= self.limits.max_list_bytes
                {
                    // The vector's own growth is held memory too.
                    let before = items.capacity();
                    items.push(frame);
                    let held = size + (items.capacity() - before) * size_of::<Frame>();
                    *bytes += held;
                    self.list_bytes += held;
                    return Dispatch::Consumed;
                }
                let dropped = std::mem::replace(&mut entry.progress, Progress::Overflowed);
                let latency = now.saturating_duration_since(entry.submitted);
                self.release(&dropped);
                Dispatch::Completed(Completion {
                    handle: ActionHandle(sequence),
                    result: Err(AmiError::ListTooLong {
                        max_items: self.limits.max_list_items,
                        max_bytes: self.limits.max_list_bytes,
                    }),
                    latency,
                })
            }
            (_, true) => {
                let ended = self.remove(sequence);
                match ended.map(|entry| (entry.submitted, entry.progress)) {
                    Some((submitted, Progress::Listing(listing))) => {
                        let Listing {
                            response, items, ..
                        } = *listing;
                        Dispatch::Completed(Completion {
                            handle: ActionHandle(sequence),
                            result: Ok(Response::new(response, items, Some(frame))),
                            latency: now.saturating_duration_since(submitted),
                        })
                    }
                    // An overflowed list ends silently: its caller was told.
                    _ => Dispatch::Consumed,
                }
            }
        }
    }

    /// Ends the pending action `sequence` with `error` now (its answer is
    /// known to be lost); `None` when it is not pending.
    pub fn fail(&mut self, sequence: u64, error: AmiError, now: Instant) -> Option<Completion> {
        self.end_with(sequence, now, |_| error)
    }

    /// Ends every entry whose deadline is at or before `now` with
    /// [`AmiError::Timeout`], earliest first.
    ///
    /// Each turn takes the earliest deadline out of the set before ending
    /// its entry, so the sweep ends whatever the state.
    pub fn expire(&mut self, now: Instant, mut sink: impl FnMut(Completion)) {
        while let Some(due) = self
            .deadlines
            .first()
            .copied()
            .filter(|&(deadline, _)| deadline <= now)
        {
            self.deadlines.remove(&due);
            if let Some(completion) = self.end_with(due.1, now, |entry| AmiError::Timeout {
                after: entry.timeout,
            }) {
                sink(completion);
            }
        }
    }

    /// Ends every entry with `error` (the connection was lost, or the
    /// shutdown's grace period ended), in sequence order, and frees them.
    pub fn fail_all(&mut self, error: &AmiError, now: Instant, sink: impl FnMut(Completion)) {
        self.fail_all_except(error, now, |_| false, sink);
        self.entries = BTreeMap::new();
        self.deadlines = BTreeSet::new();
    }

    /// Ends with `error`, in sequence order, every entry but those `keep`
    /// names (actions never written, which can still wait for the next
    /// connection until their own deadline).
    pub fn fail_all_except(
        &mut self,
        error: &AmiError,
        now: Instant,
        keep: impl Fn(u64) -> bool,
        mut sink: impl FnMut(Completion),
    ) {
        let ending: Vec<u64> = self
            .entries
            .keys()
            .copied()
            .filter(|&sequence| !keep(sequence))
            .collect();
        for sequence in ending {
            if let Some(completion) = self.end_with(sequence, now, |_| error.clone()) {
                sink(completion);
            }
        }
    }

    /// Removes an entry and reports its failure, unless it already reported
    /// one (an overflowed list), in which case it ends silently.
    fn end_with(
        &mut self,
        sequence: u64,
        now: Instant,
        error: impl FnOnce(&Entry) -> AmiError,
    ) -> Option<Completion> {
        let entry = self.remove(sequence)?;
        if matches!(entry.progress, Progress::Overflowed) {
            return None;
        }
        Some(Completion {
            handle: ActionHandle(sequence),
            result: Err(error(&entry)),
            latency: now.saturating_duration_since(entry.submitted),
        })
    }

    fn remove(&mut self, sequence: u64) -> Option<Entry> {
        let entry = self.entries.remove(&sequence)?;
        self.deadlines.remove(&(entry.deadline, sequence));
        if entry.sent && entry.strategy == CompletionStrategy::Headerless {
            self.headerless_sent -= 1;
        }
        self.release(&entry.progress);
        Some(entry)
    }

    fn release(&mut self, progress: &Progress) {
        if let Progress::Listing(listing) = progress {
            self.list_bytes -= listing.bytes;
        }
    }
}
