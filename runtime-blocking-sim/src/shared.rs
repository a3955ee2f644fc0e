//! [`SharedNode`]: a [`FakeAsterisk`] shared between a test and the task
//! that serves its current connection — the runtime-neutral half of the
//! runtimes' in-memory connectors (tokio's and smol's serve loops differ
//! only in their I/O and timers).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::{FakeAsterisk, NodeConfig, NodeStats};

#[derive(Debug)]
struct Inner {
    node: Mutex<FakeAsterisk>,
    refuse: AtomicBool,
    /// Bumped by each connect and each forced drop: a serving task whose
    /// generation is stale stops.
    generation: AtomicU64,
    /// When each connection attempt came, refused ones included.
    attempts: Mutex<Vec<Instant>>,
    /// Set by a change from outside; the serving task takes it.
    changed: AtomicBool,
    /// The serving task, to wake after a change.
    waiter: Mutex<Option<Waker>>,
}

/// One fake node, cheap to clone, shared by a test (which changes it and
/// reads its stats) and the task serving its connection.
#[derive(Debug, Clone)]
pub struct SharedNode {
    inner: Arc<Inner>,
}

/// What the serving task does next.
#[derive(Debug)]
pub struct Turn {
    /// Bytes to write to the client (already consumed from the node).
    pub output: Option<Vec<u8>>,
    /// Whether the node wants the connection closed.
    pub close: bool,
    /// When the node's next timer is due.
    pub deadline: Option<Instant>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SharedNode {
    /// A node with these settings; `seed` drives its challenges and calls.
    #[must_use]
    pub fn new(config: NodeConfig, seed: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                node: Mutex::new(FakeAsterisk::new(config, seed)),
                refuse: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                attempts: Mutex::new(Vec::new()),
                changed: AtomicBool::new(false),
                waiter: Mutex::new(None),
            }),
        }
    }

    /// The node itself, locked.
    pub fn lock(&self) -> MutexGuard<'_, FakeAsterisk> {
        lock(&self.inner.node)
    }

    /// Changes the node (mute it, make it send calls, switch its Command
    /// format) and wakes its connection.
    pub fn with<R>(&self, change: impl FnOnce(&mut FakeAsterisk) -> R) -> R {
        let result = change(&mut self.lock());
        self.notify();
        result
    }

    /// Refuses (or accepts again) new connections, as a stopped Asterisk.
    pub fn refuse_connections(&self, refuse: bool) {
        self.inner.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Drops the current connection, as a crashed Asterisk.
    pub fn drop_connection(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.lock().on_disconnect();
        self.notify();
    }

    /// When each connection attempt came, refused ones included: the
    /// client's reconnect pacing, as the server sees it.
    #[must_use]
    pub fn attempts(&self) -> Vec<Instant> {
        lock(&self.inner.attempts).clone()
    }

    /// What the node observed.
    #[must_use]
    pub fn stats(&self) -> NodeStats {
        self.lock().stats()
    }

    /// A connection attempt at `now`: its generation, or
    /// `ConnectionRefused` while the node refuses connections.
    ///
    /// # Errors
    /// `ConnectionRefused` while the node refuses connections.
    pub fn open(&self, now: Instant) -> io::Result<u64> {
        lock(&self.inner.attempts).push(now);
        if self.inner.refuse.load(Ordering::SeqCst) {
            return Err(io::Error::from(io::ErrorKind::ConnectionRefused));
        }
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.lock().on_connect(now);
        Ok(generation)
    }

    /// Whether the connection of `generation` is still the node's.
    #[must_use]
    pub fn is_current(&self, generation: u64) -> bool {
        self.inner.generation.load(Ordering::SeqCst) == generation
    }

    /// What the serving task of `generation` does next; `None` when its
    /// connection is no longer the node's.
    #[must_use]
    pub fn turn(&self, generation: u64) -> Option<Turn> {
        let mut node = self.lock();
        let output = node.poll_transmit().map(<[u8]>::to_vec);
        if let Some(output) = &output {
            node.consume(output.len());
        }
        let turn = Turn {
            output,
            close: node.wants_close(),
            deadline: node.poll_timeout(),
        };
        drop(node);
        self.is_current(generation).then_some(turn)
    }

    /// The serving task of `generation` ended: the node sees a disconnect,
    /// unless a newer connection took its place.
    pub fn closed(&self, generation: u64) {
        if self.is_current(generation) {
            self.lock().on_disconnect();
        }
    }

    /// Resolves after the next change from outside (or at once if one came
    /// since the last); for the serving task.
    #[must_use]
    pub fn changed(&self) -> Changed<'_> {
        Changed { node: self }
    }

    fn notify(&self) {
        self.inner.changed.store(true, Ordering::SeqCst);
        if let Some(waker) = lock(&self.inner.waiter).take() {
            waker.wake();
        }
    }
}

/// See [`SharedNode::changed`].
#[derive(Debug)]
pub struct Changed<'a> {
    node: &'a SharedNode,
}

impl Future for Changed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.node.inner;
        if inner.changed.swap(false, Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *lock(&inner.waiter) = Some(cx.waker().clone());
        // A change between the first look and storing the waker.
        if inner.changed.swap(false, Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
