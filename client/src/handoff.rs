//! The event hand-off: a small bounded slot between the driver and the one
//! consumer of events, so the driver takes events out of the core's
//! drop-oldest queues only as fast as the application takes them.
//!
//! The slot holds at most `capacity` events; the consumer swaps the whole
//! slot out at once (one lock per batch, not per event). So at most two
//! batches live outside the core: the slot and the consumer's current one.
//! When the application lags, events stay in the core's queues and are
//! dropped there, oldest first, and counted: the one place they drop.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use apn_ami_core::correlation::MAX_SERVER_KEY_LEN;
use apn_ami_core::protocol::Frame;

/// A server key held inline (keys are at most
/// [`MAX_SERVER_KEY_LEN`] ASCII bytes): handing an event to another thread
/// then touches no shared reference count.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct InlineKey {
    bytes: [u8; MAX_SERVER_KEY_LEN],
    len: u8,
}

impl InlineKey {
    pub(crate) fn new(key: &str) -> Self {
        let mut bytes = [0; MAX_SERVER_KEY_LEN];
        let len = key.len().min(MAX_SERVER_KEY_LEN);
        bytes[..len].copy_from_slice(&key.as_bytes()[..len]);
        Self {
            bytes,
            // At most 32: fits.
            len: u8::try_from(len).unwrap_or(u8::MAX),
        }
    }

    fn as_str(&self) -> &str {
        // Built from a `&str` cut at a length a validated (ASCII) key has.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for InlineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event and the server it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    server: InlineKey,
    frame: Frame,
}

impl ServerEvent {
    pub(crate) const fn new(server: InlineKey, frame: Frame) -> Self {
        Self { server, frame }
    }

    /// The server's key.
    #[must_use]
    pub fn server(&self) -> &str {
        self.server.as_str()
    }

    /// The event frame.
    #[must_use]
    pub const fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The event frame, owned.
    #[must_use]
    pub fn into_frame(self) -> Frame {
        self.frame
    }
}

#[derive(Debug, Default)]
struct Slot {
    events: VecDeque<ServerEvent>,
    /// The driver, waiting for room.
    producer: Option<Waker>,
    /// The consumer, waiting for events.
    consumer: Option<Waker>,
    /// Whether a consumer holds the stream.
    attached: bool,
    /// The driver ended: no event will come.
    closed: bool,
    /// Events a consumer let go unread when it detached, per server; the
    /// driver counts them as dropped.
    abandoned: Vec<InlineKey>,
}

/// The shared slot.
#[derive(Debug)]
pub(crate) struct Handoff {
    slot: Mutex<Slot>,
    capacity: usize,
}

impl Handoff {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            slot: Mutex::new(Slot::default()),
            capacity: capacity.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding this lock leaves a plain queue behind, which
        // stays consistent; keep using it.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Room for this many events now; with none, the driver's waker is kept
    /// and woken when the consumer takes a batch. With no consumer attached
    /// there is never room: events stay (and drop) in the core.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<usize> {
        let mut slot = self.lock();
        if slot.closed {
            return Poll::Pending;
        }
        if !slot.attached {
            // Woken when a consumer attaches.
            slot.producer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let room = self.capacity.saturating_sub(slot.events.len());
        if room == 0 {
            slot.producer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(room)
    }

    /// Whether a consumer is attached and the slot is full (it is behind).
    pub(crate) fn is_full(&self) -> bool {
        let slot = self.lock();
        slot.attached && !slot.closed && slot.events.len() >= self.capacity
    }

    /// Puts events in the slot (the driver never exceeds the room it got).
    /// The consumer is not woken yet: see [`Handoff::wake_consumer`].
    pub(crate) fn push(&self, events: impl IntoIterator<Item = ServerEvent>) {
        self.lock().events.extend(events);
    }

    /// Wakes a waiting consumer if the slot holds at least `at_least`
    /// events. The driver wakes it once half a slot has gathered, and
    /// whenever it stops for now (so an event never waits on the next
    /// read): a consumer on another thread costs a context switch per wake,
    /// which every small read's worth of events would otherwise pay.
    pub(crate) fn wake_consumer(&self, at_least: usize) {
        let mut slot = self.lock();
        if slot.events.len() >= at_least.max(1)
            && let Some(waker) = slot.consumer.take()
        {
            waker.wake();
        }
    }

    /// The slot's size at which the driver wakes the consumer mid-turn.
    pub(crate) const fn wake_at(&self) -> usize {
        self.capacity.div_ceil(2)
    }

    /// Attaches the one consumer; `false` if one is attached already.
    pub(crate) fn attach(&self) -> bool {
        let mut slot = self.lock();
        if std::mem::replace(&mut slot.attached, true) {
            return false;
        }
        if let Some(waker) = slot.producer.take() {
            waker.wake();
        }
        true
    }

    /// The driver ended: the consumer sees the end after the last event.
    pub(crate) fn close(&self) {
        let mut slot = self.lock();
        slot.closed = true;
        if let Some(waker) = slot.consumer.take() {
            waker.wake();
        }
    }

    /// Swaps the slot's events into `batch` (which must be empty); `None`
    /// at the end of the stream.
    fn poll_batch(&self, cx: &mut Context<'_>, batch: &mut VecDeque<ServerEvent>) -> Poll<bool> {
        let mut slot = self.lock();
        if slot.events.is_empty() {
            if slot.closed {
                return Poll::Ready(false);
            }
            slot.consumer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        std::mem::swap(&mut slot.events, batch);
        if let Some(waker) = slot.producer.take() {
            waker.wake();
        }
        Poll::Ready(true)
    }

    fn detach(&self, unread: VecDeque<ServerEvent>) {
        let mut slot = self.lock();
        slot.attached = false;
        let events = std::mem::take(&mut slot.events);
        slot.abandoned
            .extend(unread.into_iter().chain(events).map(|event| event.server));
        if let Some(waker) = slot.producer.take() {
            waker.wake();
        }
    }

    /// The servers of events a consumer let go unread, one entry an event,
    /// since the last call: they count as dropped.
    pub(crate) fn take_abandoned(&self) -> Vec<InlineKey> {
        std::mem::take(&mut self.lock().abandoned)
    }
}

/// The client's events, as fast as the application takes them: a
/// [`futures_core::Stream`] of [`ServerEvent`]s, also usable with
/// [`EventStream::next`] directly.
///
/// One stream per client. While nobody holds it (or it is not polled),
/// events wait in each server's bounded queue and the oldest are dropped
/// and counted (`ami_dropped_events_total`); responses are never affected.
/// Dropping it counts the events it held unread as dropped, and leaves the
/// rest to the core's queues.
#[derive(Debug)]
pub struct EventStream {
    handoff: Arc<Handoff>,
    batch: VecDeque<ServerEvent>,
}

impl EventStream {
    pub(crate) fn new(handoff: Arc<Handoff>) -> Self {
        Self {
            handoff,
            batch: VecDeque::new(),
        }
    }

    /// The next event; `None` once the client has shut down.
    pub async fn next(&mut self) -> Option<ServerEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The next event, polled.
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<ServerEvent>> {
        if let Some(event) = self.batch.pop_front() {
            return Poll::Ready(Some(event));
        }
        match self.handoff.poll_batch(cx, &mut self.batch) {
            Poll::Ready(true) => Poll::Ready(self.batch.pop_front()),
            Poll::Ready(false) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl futures_core::Stream for EventStream {
    type Item = ServerEvent;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<ServerEvent>> {
        self.get_mut().poll_event(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.handoff.detach(std::mem::take(&mut self.batch));
    }
}
