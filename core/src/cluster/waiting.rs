//! The cluster's queue of actions waiting for a server: actions submitted
//! with [`SubmitOptions::wait_for_server`] while no server could take them.
//! They go to the first server that becomes eligible, whichever it is, or
//! end at their own deadline. Bounded in count; their bytes count in the
//! cluster's heap.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::engine::{Cluster, ClusterHandle, ClusterOutput, ServerId};
use crate::connection::SubmitOptions;
use crate::correlation::{ActionHandle, AmiError, Bound, deadline_after};
use crate::observe::{Level, LogRecord};
use crate::protocol::Action;

/// One waiting action.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) action: Action,
    /// The routing key of a `Route::Key` submission.
    pub(super) key: Option<Vec<u8>>,
    pub(super) options: SubmitOptions,
    pub(super) submitted: Instant,
    pub(super) deadline: Instant,
    /// The action's whole time limit, as its `Timeout` reports it.
    pub(super) timeout: Duration,
}

/// What the cluster must remember of an action that waited, once a
/// server took it: its cluster-wide number, its time in the queue and its
/// whole time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dispatched {
    pub(super) id: u64,
    pub(super) waited: Duration,
    pub(super) timeout: Duration,
}

/// The queue. Numbers are given in submission order, so the `BTreeMap`
/// hands actions out in the order they were submitted.
#[derive(Debug)]
pub(super) struct WaitQueue {
    held: BTreeMap<u64, Held>,
    deadlines: BTreeSet<(Instant, u64)>,
    bytes: usize,
    limit: usize,
    next_id: u64,
    /// Taken actions still pending on a server, by (server index, the
    /// session's handle). Bounded: an entry leaves when its action ends,
    /// and every accepted action ends.
    dispatched: HashMap<(usize, u64), Dispatched>,
    timeouts: u64,
    refused: u64,
}

impl WaitQueue {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            held: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            bytes: 0,
            limit,
            next_id: 0,
            dispatched: HashMap::new(),
            timeouts: 0,
            refused: 0,
        }
    }

    /// Holds an action until a server can take it or `timeout` passes.
    ///
    /// # Errors
    /// [`Bound::WaitingForServer`] when the queue is full.
    pub(super) fn hold(
        &mut self,
        action: Action,
        key: Option<&[u8]>,
        options: SubmitOptions,
        timeout: Duration,
        now: Instant,
    ) -> Result<u64, AmiError> {
        if self.held.len() >= self.limit {
            self.refused += 1;
            return Err(AmiError::Rejected {
                bound: Bound::WaitingForServer,
                depth: self.held.len(),
                limit: self.limit,
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        let deadline = deadline_after(now, timeout);
        self.bytes += held_size(&action, key);
        self.deadlines.insert((deadline, id));
        self.held.insert(
            id,
            Held {
                action,
                key: key.map(<[u8]>::to_vec),
                options,
                submitted: now,
                deadline,
                timeout,
            },
        );
        Ok(id)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.held.len()
    }

    /// The earliest deadline of a waiting action.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// The oldest waiting action, left in the queue.
    fn oldest(&self) -> Option<&Held> {
        self.held.first_key_value().map(|(_, held)| held)
    }

    /// The oldest waiting action, taken out of the queue.
    pub(super) fn pop_oldest(&mut self) -> Option<(u64, Held)> {
        let (id, held) = self.held.pop_first()?;
        self.forget(id, &held);
        Some((id, held))
    }

    /// The waiting actions whose deadline has come, taken out.
    pub(super) fn pop_expired(&mut self, now: Instant) -> Option<(u64, Held)> {
        let &(deadline, id) = self.deadlines.first()?;
        if deadline > now {
            return None;
        }
        let held = self
            .held
            .remove(&id)
            .expect("every deadline has its action");
        self.forget(id, &held);
        self.timeouts += 1;
        Some((id, held))
    }

    fn forget(&mut self, id: u64, held: &Held) {
        self.deadlines.remove(&(held.deadline, id));
        self.bytes -= held_size(&held.action, held.key.as_deref());
    }

    /// Remembers that the waiting action `dispatched.id` went to `server`
    /// under the session's handle `sequence`.
    pub(super) fn remember(&mut self, server: usize, sequence: u64, dispatched: Dispatched) {
        self.dispatched.insert((server, sequence), dispatched);
    }

    /// Whether an ending of `server`'s action `sequence` belongs to an
    /// action that waited (then it is forgotten, as it ended).
    pub(super) fn ended(&mut self, server: usize, sequence: u64) -> Option<Dispatched> {
        if self.dispatched.is_empty() {
            return None;
        }
        self.dispatched.remove(&(server, sequence))
    }

    /// Heap bytes held: the actions, their keys and the bookkeeping.
    pub(super) fn heap_size(&self) -> usize {
        self.bytes
            + self.held.len() * (size_of::<Held>() + size_of::<u64>())
            + self.deadlines.len() * size_of::<(Instant, u64)>()
            + self.dispatched.capacity() * size_of::<((usize, u64), Dispatched)>()
    }

    /// Waiting actions that ended at their deadline, ever.
    pub(super) const fn timeouts(&self) -> u64 {
        self.timeouts
    }

    /// Actions refused because the queue was full, ever.
    pub(super) const fn refused(&self) -> u64 {
        self.refused
    }
}

impl Cluster {
    /// Holds an action no server can take now until one can.
    pub(super) fn hold(
        &mut self,
        action: Action,
        key: Option<&[u8]>,
        options: SubmitOptions,
        now: Instant,
    ) -> Result<ClusterHandle, AmiError> {
        let timeout = options.timeout.unwrap_or(self.wait_timeout);
        let name = action.name().to_owned();
        match self.waiting.hold(action, key, options, timeout, now) {
            Ok(id) => Ok(ClusterHandle {
                server: None,
                action: ActionHandle(id),
            }),
            Err(error) => {
                self.logs.push(
                    LogRecord::new(
                        Level::Warn,
                        "action refused: the queue of actions waiting for a server is full",
                    )
                    .text("action", name)
                    .count("waiting", self.waiting.len() as u64),
                );
                Err(error)
            }
        }
    }

    /// Gives the waiting actions, oldest first, to the servers that can
    /// take them now, as the routing strategy picks; those past their
    /// deadline end first. Does nothing unless a server became eligible.
    pub(super) fn dispatch_waiting(&mut self, now: Instant) {
        if !std::mem::take(&mut self.dispatch_due) {
            return;
        }
        self.expire_waiting(now);
        while let Some(oldest) = self.waiting.oldest() {
            let key = oldest.key.as_deref();
            let Some(index) = self.router.choose(&self.eligible, key) else {
                // No longer anyone: they wait for the next server.
                return;
            };
            let Some((id, held)) = self.waiting.pop_oldest() else {
                return;
            };
            let waited = now.saturating_duration_since(held.submitted);
            let options = SubmitOptions {
                // Not expired, so some time is left.
                timeout: Some(held.deadline.saturating_duration_since(now)),
                wait_for_server: Some(false),
                ..held.options
            };
            let session = &mut self.servers[index].session;
            match session.submit(held.action, options, now) {
                Ok(handle) => {
                    session.counters_mut().routed_actions += 1;
                    let dispatched = Dispatched {
                        id,
                        waited,
                        timeout: held.timeout,
                    };
                    self.waiting.remember(index, handle.0, dispatched);
                }
                Err(error) => self.push_output(ClusterOutput::Completed {
                    handle: ClusterHandle {
                        server: None,
                        action: ActionHandle(id),
                    },
                    server: Some(ServerId(index)),
                    result: Err(error),
                    latency: waited,
                }),
            }
            self.after(ServerId(index));
        }
    }

    /// Ends the waiting actions whose deadline has come (`Timeout`).
    pub(super) fn expire_waiting(&mut self, now: Instant) {
        let mut expired = 0_u64;
        while let Some((id, held)) = self.waiting.pop_expired(now) {
            expired += 1;
            self.end_waiting(
                id,
                &held,
                AmiError::Timeout {
                    after: held.timeout,
                },
                now,
            );
        }
        if expired > 0 {
            self.logs.push(
                LogRecord::new(
                    Level::Warn,
                    "actions reached their deadline while waiting for a server",
                )
                .count("actions", expired)
                .count("still_waiting", self.waiting.len() as u64),
            );
        }
    }

    /// Ends every waiting action (`ShuttingDown`): the cluster is stopping
    /// and no server will take them.
    pub(super) fn end_all_waiting(&mut self, now: Instant) {
        while let Some((id, held)) = self.waiting.pop_oldest() {
            self.end_waiting(id, &held, AmiError::ShuttingDown, now);
        }
    }

    fn end_waiting(&mut self, id: u64, held: &Held, error: AmiError, now: Instant) {
        self.push_output(ClusterOutput::Completed {
            handle: ClusterHandle {
                server: None,
                action: ActionHandle(id),
            },
            server: None,
            result: Err(error),
            latency: now.saturating_duration_since(held.submitted),
        });
    }
}

fn held_size(action: &Action, key: Option<&[u8]>) -> usize {
    action.encoded_len(None) + key.map_or(0, <[u8]>::len)
}
