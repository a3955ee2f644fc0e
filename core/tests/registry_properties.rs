//! The pending registry driven only through its public API by random
//! operation sequences (duplicate sequences, answers before sending,
//! instants going backwards included), against a model of what must hold:
//! every sweep ends, every accepted action ends exactly once, a duplicate
//! registration changes nothing, and no deadline outlives its entry.

#[path = "support/frames.rs"]
mod frames;
#[path = "support/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use apn_ami_core::correlation::{
    AmiError, Completion, CompletionStrategy, Dispatch, PendingRegistry, RegistryLimits,
};
use apn_ami_core::protocol::Frame;
use frames::{at, epoch, frame};
use harness::seeded_quickcheck;
use quickcheck::{Arbitrary, Gen};

/// Sequences come from a small range so that duplicates are common.
const SEQUENCES: u64 = 6;
/// A small bound, so that refusals are common too.
const MAX_PENDING: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Insert {
        sequence: u64,
        list: bool,
        timeout_ms: u64,
    },
    Sent(u64),
    Respond {
        sequence: u64,
        opens_list: bool,
    },
    Item(u64),
    Complete(u64),
    Expire {
        at_ms: u64,
    },
    FailAll,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        let sequence = u64::arbitrary(g) % SEQUENCES;
        match u8::arbitrary(g) % 9 {
            0 | 1 => Self::Insert {
                sequence,
                list: bool::arbitrary(g),
                timeout_ms: u64::arbitrary(g) % 500,
            },
            2 | 3 => Self::Sent(sequence),
            4 => Self::Respond {
                sequence,
                opens_list: bool::arbitrary(g),
            },
            5 => Self::Item(sequence),
            6 => Self::Complete(sequence),
            7 => Self::Expire {
                at_ms: u64::arbitrary(g) % 800,
            },
            _ => Self::FailAll,
        }
    }
}

/// What the model knows of one accepted registration.
#[derive(Debug)]
struct Live {
    deadline: Instant,
    sent: bool,
    /// Its list passed a cap: it has ended (reported), and is drained
    /// silently until its list completes or its deadline passes.
    overflowed: bool,
}

struct Run {
    registry: PendingRegistry,
    t0: Instant,
    live: BTreeMap<u64, Live>,
    /// Accepted registrations (an id per acceptance) and their endings.
    accepted: u64,
    endings: BTreeMap<u64, u32>,
    /// The acceptance id of each live sequence.
    current: BTreeMap<u64, u64>,
}

impl Run {
    fn new() -> Self {
        let limits = RegistryLimits {
            max_pending: MAX_PENDING,
            max_list_items: 2,
            max_list_bytes: 1 << 20,
        };
        Self {
            registry: PendingRegistry::new(limits),
            t0: epoch(),
            live: BTreeMap::new(),
            accepted: 0,
            endings: BTreeMap::new(),
            current: BTreeMap::new(),
        }
    }

    fn ended(&mut self, completion: &Completion) {
        let sequence = completion.handle.0;
        let id = self
            .current
            .remove(&sequence)
            .unwrap_or_else(|| panic!("{sequence} ended but was not pending"));
        *self.endings.entry(id).or_default() += 1;
        self.live.remove(&sequence);
    }

    fn dispatch(&mut self, sequence: u64, dispatch: &Dispatch) {
        let sent = self.live.get(&sequence).is_some_and(|live| live.sent);
        match dispatch {
            Dispatch::Completed(completion) => {
                assert!(sent, "{sequence} answered before it was sent");
                assert_eq!(completion.handle.0, sequence);
                // A list past its cap reports once, then drains silently:
                // it stays held, but its ending has been given.
                if matches!(completion.result, Err(AmiError::ListTooLong { .. })) {
                    let id = self.current[&sequence];
                    *self.endings.entry(id).or_default() += 1;
                    let live = self.live.get_mut(&sequence).expect("live");
                    assert!(!live.overflowed, "{sequence} overflowed twice");
                    live.overflowed = true;
                } else {
                    self.ended(completion);
                }
            }
            Dispatch::Consumed => assert!(sent, "{sequence} consumed a frame before it was sent"),
            Dispatch::Unmatched(_) => {}
        }
        // Only an overflowed list may leave without a completion.
        if self.live.contains_key(&sequence) && !self.registry.contains(sequence) {
            assert!(self.live[&sequence].overflowed, "{sequence} vanished");
            self.live.remove(&sequence);
            self.current.remove(&sequence);
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Insert {
                sequence,
                list,
                timeout_ms,
            } => self.insert(sequence, list, timeout_ms),
            Op::Sent(sequence) => {
                self.registry.mark_sent(sequence);
                if let Some(live) = self.live.get_mut(&sequence) {
                    live.sent = true;
                }
            }
            Op::Respond {
                sequence,
                opens_list,
            } => {
                let wire = if opens_list {
                    "Response: Success\r\nEventList: start\r\n\r\n"
                } else {
                    "Response: Success\r\n\r\n"
                };
                let dispatch = self.registry.on_response(sequence, frame(wire), self.t0);
                self.dispatch(sequence, &dispatch);
            }
            Op::Item(sequence) => {
                let item = frame("Event: Item\r\nValue: 1\r\n\r\n");
                let dispatch = self.registry.on_event(sequence, item, self.t0);
                self.dispatch(sequence, &dispatch);
            }
            Op::Complete(sequence) => {
                let done = frame("Event: ListComplete\r\nEventList: Complete\r\n\r\n");
                let dispatch = self.registry.on_event(sequence, done, self.t0);
                self.dispatch(sequence, &dispatch);
            }
            Op::Expire { at_ms } => self.expire(at(self.t0, at_ms)),
            Op::FailAll => {
                let mut completions = Vec::new();
                self.registry
                    .fail_all(&AmiError::ConnectionLost, self.t0, |c| completions.push(c));
                self.record_all(&completions);
                self.forget_silent_ones();
            }
        }
        self.check_deadlines();
    }

    fn insert(&mut self, sequence: u64, list: bool, timeout_ms: u64) {
        let strategy = if list {
            CompletionStrategy::List
        } else {
            CompletionStrategy::Single
        };
        let timeout = Duration::from_millis(timeout_ms);
        let result = self.registry.insert(sequence, strategy, timeout, self.t0);
        if self.live.contains_key(&sequence) {
            assert_eq!(result, Err(AmiError::AlreadyPending { sequence }));
        } else if self.live.len() < MAX_PENDING {
            result.expect("room and a fresh sequence");
            self.live.insert(
                sequence,
                Live {
                    deadline: at(self.t0, timeout_ms),
                    sent: false,
                    overflowed: false,
                },
            );
            self.accepted += 1;
            self.current.insert(sequence, self.accepted);
        } else {
            assert!(
                matches!(result, Err(AmiError::Rejected { .. })),
                "{result:?}"
            );
        }
    }

    fn expire(&mut self, now: Instant) {
        let mut completions = Vec::new();
        self.registry.expire(now, |c| completions.push(c));
        self.record_all(&completions);
        // Overflowed lists whose deadline passed end silently.
        let silent: Vec<u64> = self
            .live
            .iter()
            .filter(|(_, live)| live.deadline <= now)
            .map(|(&sequence, _)| sequence)
            .collect();
        for sequence in silent {
            assert!(
                !self.registry.contains(sequence),
                "{sequence} outlived its deadline"
            );
            assert!(self.live[&sequence].overflowed, "{sequence} ended silently");
            self.live.remove(&sequence);
            self.current.remove(&sequence);
        }
    }

    fn record_all(&mut self, completions: &[Completion]) {
        for completion in completions {
            assert!(completion.result.is_err(), "{completion:?}");
            self.ended(completion);
        }
    }

    /// After `fail_all`, whatever the model still holds ended silently
    /// (overflowed lists, whose one ending was the overflow).
    fn forget_silent_ones(&mut self) {
        assert!(self.registry.is_empty());
        self.live.clear();
        self.current.clear();
    }

    /// The registry's earliest deadline is the model's: every live entry
    /// has its deadline, and no deadline is left without its entry.
    fn check_deadlines(&self) {
        assert_eq!(self.registry.len(), self.live.len(), "{:?}", self.live);
        let earliest = self.live.values().map(|live| live.deadline).min();
        assert_eq!(self.registry.next_deadline(), earliest);
    }
}

#[test]
fn random_operations_end_every_action_exactly_once_and_every_sweep_ends() {
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(ops: Vec<Op>) -> bool {
        let mut run = Run::new();
        for op in &ops {
            run.apply(op);
        }
        run.apply(&Op::FailAll);
        assert!(run.registry.next_deadline().is_none());
        for id in 1..=run.accepted {
            let endings = run.endings.get(&id).copied().unwrap_or(0);
            // Overflowed lists end once (the overflow); everyone else once.
            assert_eq!(endings, 1, "acceptance {id} ended {endings} times: {ops:?}");
        }
        true
    }
    seeded_quickcheck(2_000).quickcheck(property as fn(Vec<Op>) -> bool);
}

#[test]
fn a_second_registration_of_a_pending_sequence_is_refused_and_changes_nothing() {
    let t0 = epoch();
    let mut registry = PendingRegistry::new(RegistryLimits::default());
    registry
        .insert(
            7,
            CompletionStrategy::Single,
            Duration::from_millis(100),
            t0,
        )
        .expect("first");
    assert_eq!(
        registry.insert(7, CompletionStrategy::List, Duration::from_secs(9), t0),
        Err(AmiError::AlreadyPending { sequence: 7 })
    );
    assert_eq!(registry.len(), 1);
    assert_eq!(registry.next_deadline(), Some(at(t0, 100)));
    let mut endings = Vec::new();
    registry.expire(at(t0, 10_000), |c| endings.push(c));
    assert_eq!(endings.len(), 1, "one ending: {endings:?}");
    assert_eq!(
        endings[0].result,
        Err(AmiError::Timeout {
            after: Duration::from_millis(100)
        }),
        "the first registration's timeout"
    );
    assert!(registry.is_empty());
    assert_eq!(registry.next_deadline(), None);
}

#[test]
fn an_answer_naming_an_unsent_action_completes_nothing() {
    let t0 = epoch();
    let mut registry = PendingRegistry::new(RegistryLimits::default());
    registry
        .insert(3, CompletionStrategy::List, Duration::from_secs(1), t0)
        .expect("registered");
    let forged: Frame = frame("Response: Success\r\nEventList: start\r\n\r\n");
    assert_eq!(
        registry.on_response(3, forged.clone(), t0),
        Dispatch::Unmatched(forged)
    );
    let item = frame("Event: Item\r\n\r\n");
    assert_eq!(
        registry.on_event(3, item.clone(), t0),
        Dispatch::Unmatched(item)
    );
    assert!(registry.is_unsent(3));
    registry.mark_sent(3);
    assert!(!registry.is_unsent(3));
    let genuine = frame("Response: Success\r\n\r\n");
    assert!(matches!(
        registry.on_response(3, genuine, t0),
        Dispatch::Completed(_)
    ));
}
