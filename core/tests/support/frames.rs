//! Builders for correlation and session tests: frames from wire text, and
//! instants as offsets from one epoch.

// Each test file uses its own part.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use apn_ami_core::protocol::{Frame, Parser, ParserConfig};

/// The one real instant the tests read; every other instant is an offset
/// from it, so results never depend on the wall clock.
#[allow(clippy::disallowed_methods)] // the tests' single clock read
pub(crate) fn epoch() -> Instant {
    Instant::now()
}

/// `epoch + ms` milliseconds.
pub(crate) fn at(epoch: Instant, ms: u64) -> Instant {
    epoch + Duration::from_millis(ms)
}

/// Parses exactly one server frame from its wire text.
pub(crate) fn frame(wire: &str) -> Frame {
    let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).expect("valid");
    let mut frames = Vec::new();
    parser
        .feed(wire.as_bytes(), |item| frames.extend(item.into_frame()))
        .expect("valid frame");
    assert_eq!(frames.len(), 1, "one frame in {wire:?}");
    frames.remove(0)
}

/// Registers an action and marks its bytes sent, as a session does once
/// the socket took them: from then on answers to it are taken.
pub(crate) fn register(
    registry: &mut apn_ami_core::correlation::PendingRegistry,
    sequence: u64,
    strategy: apn_ami_core::correlation::CompletionStrategy,
    timeout: Duration,
    now: Instant,
) -> apn_ami_core::correlation::ActionHandle {
    let handle = registry
        .insert(sequence, strategy, timeout, now)
        .expect("registered");
    registry.mark_sent(sequence);
    handle
}
