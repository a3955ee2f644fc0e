//! A worker's view of every lease, kept by one watch on the leases bucket
//! instead of one read per server per round: a round then costs NATS calls
//! only for the leases the worker holds or takes, so hundreds of servers
//! cost what a few do.
//!
//! The view only says when to *try*: taking a lease is a `create` that
//! NATS refuses while the lease exists, and renewing is an `update` at the
//! worker's own revision, so a stale view costs a refused call, never a
//! second owner.
//!
//! A lease that expires (the bucket's `max_age`) leaves no trace in a
//! watch, so the view estimates each lease's end: `lease_ttl` after it was
//! written, by the entry's own time. Holders renew every `lease_ttl / 5`,
//! so a live holder's lease never reaches its estimated end; a dead one's
//! does, about when NATS drops it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::kv;
use futures_util::StreamExt;
use tokio::time::Instant;

/// One lease as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    holder: String,
    revision: u64,
    ends: Instant,
}

/// Every lease as the watch has shown it, and the watch.
pub(crate) struct LeaseView {
    /// What the watch showed (kept apart from the watch, which cannot be
    /// shared between threads, so a round can borrow it across awaits).
    pub(crate) leases: Leases,
    watch: Option<kv::Watch>,
}

/// Every lease as last seen.
pub(crate) struct Leases {
    ttl: Duration,
    seen: BTreeMap<String, Seen>,
}

impl LeaseView {
    /// An empty view of leases lasting `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            leases: Leases {
                ttl,
                seen: BTreeMap::new(),
            },
            watch: None,
        }
    }

    /// Whether a watch is running (else the next round starts one).
    pub(crate) fn watching(&self) -> bool {
        self.watch.is_some()
    }

    /// Starts the watch when none runs: every lease's last value first,
    /// then each change.
    pub(crate) async fn ensure_watch(&mut self, leases: &kv::Store) {
        if self.watch.is_some() {
            return;
        }
        match leases.watch_with_history(">").await {
            Ok(watch) => self.watch = Some(watch),
            Err(error) => {
                log::warn!(target: "apn_ami::bridge", "cannot watch the leases: {error}");
            }
        }
    }

    /// Waits for the next change and applies it. A watch that fails or
    /// ends is dropped; the next round starts another, which replays the
    /// last value of every lease.
    pub(crate) async fn next_change(&mut self) {
        let Some(watch) = self.watch.as_mut() else {
            return std::future::pending().await;
        };
        match watch.next().await {
            Some(Ok(entry)) => {
                let age = age_of(entry.created);
                self.leases.apply(
                    &entry.key,
                    entry.operation,
                    &entry.value,
                    entry.revision,
                    Instant::now(),
                    age,
                );
            }
            Some(Err(error)) => {
                log::warn!(target: "apn_ami::bridge", "lease watch failed ({error}); starting another");
                self.watch = None;
            }
            None => {
                log::warn!(target: "apn_ami::bridge", "lease watch ended; starting another");
                self.watch = None;
            }
        }
    }
}

impl Leases {
    /// Applies one entry, seen at `now`, written `age` ago.
    fn apply(
        &mut self,
        key: &str,
        operation: kv::Operation,
        value: &[u8],
        revision: u64,
        now: Instant,
        age: Duration,
    ) {
        if self
            .seen
            .get(key)
            .is_some_and(|seen| seen.revision > revision)
        {
            return;
        }
        if operation == kv::Operation::Put {
            self.seen.insert(
                key.to_owned(),
                Seen {
                    holder: String::from_utf8_lossy(value).into_owned(),
                    revision,
                    ends: now + self.ttl.saturating_sub(age),
                },
            );
        } else {
            self.seen.remove(key);
        }
    }

    /// Who holds `key`'s lease and at which revision, unless it is free or
    /// has reached its estimated end by `now`.
    pub(crate) fn holder(&self, key: &str, now: Instant) -> Option<(&str, u64)> {
        self.seen
            .get(key)
            .filter(|seen| seen.ends > now)
            .map(|seen| (seen.holder.as_str(), seen.revision))
    }
}

/// How long ago NATS stored an entry, by the wall clock (zero if the
/// clocks disagree the other way).
fn age_of(created: time::OffsetDateTime) -> Duration {
    // The entry's time is NATS's wall clock; only the wall clock compares.
    let elapsed = time::OffsetDateTime::now_utc() - created;
    Duration::try_from(elapsed).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn a_lease_is_held_until_its_estimated_end() {
        let start = Instant::now();
        let mut view = LeaseView::new(TTL).leases;
        assert_eq!(view.holder("pbx-1", start), None);
        view.apply("pbx-1", kv::Operation::Put, b"w1", 5, start, Duration::ZERO);
        assert_eq!(view.holder("pbx-1", start + TTL / 2), Some(("w1", 5)));
        // Not renewed: gone for the view when NATS drops it.
        assert_eq!(view.holder("pbx-1", start + TTL), None);
        // Renewed: held again, at the new revision.
        view.apply(
            "pbx-1",
            kv::Operation::Put,
            b"w1",
            9,
            start + TTL / 5,
            Duration::ZERO,
        );
        assert_eq!(view.holder("pbx-1", start + TTL), Some(("w1", 9)));
    }

    #[test]
    fn an_old_entry_from_the_history_ends_sooner() {
        let start = Instant::now();
        let mut view = LeaseView::new(TTL).leases;
        view.apply(
            "pbx-1",
            kv::Operation::Put,
            b"w2",
            3,
            start,
            Duration::from_secs(8),
        );
        assert_eq!(
            view.holder("pbx-1", start + Duration::from_secs(1)),
            Some(("w2", 3))
        );
        assert_eq!(view.holder("pbx-1", start + Duration::from_secs(2)), None);
        // Older than the lease: already free.
        view.apply(
            "pbx-2",
            kv::Operation::Put,
            b"w2",
            4,
            start,
            Duration::from_secs(60),
        );
        assert_eq!(view.holder("pbx-2", start), None);
    }

    #[test]
    fn deletes_free_a_lease_and_older_revisions_change_nothing() {
        let start = Instant::now();
        let mut view = LeaseView::new(TTL).leases;
        view.apply("pbx-1", kv::Operation::Put, b"w1", 7, start, Duration::ZERO);
        view.apply("pbx-1", kv::Operation::Put, b"w3", 6, start, Duration::ZERO);
        assert_eq!(view.holder("pbx-1", start), Some(("w1", 7)));
        view.apply(
            "pbx-1",
            kv::Operation::Delete,
            b"",
            8,
            start,
            Duration::ZERO,
        );
        assert_eq!(view.holder("pbx-1", start), None);
        view.apply(
            "pbx-1",
            kv::Operation::Put,
            b"w3",
            10,
            start,
            Duration::ZERO,
        );
        view.apply(
            "pbx-1",
            kv::Operation::Purge,
            b"",
            11,
            start,
            Duration::ZERO,
        );
        assert_eq!(view.holder("pbx-1", start), None);
    }
}
