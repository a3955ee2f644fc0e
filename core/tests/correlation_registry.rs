//! The pending registry with injected instants: completion strategies, event
//! lists and their caps, the pending limit, timeouts, and failing everything
//! at once. Every test checks that each action ends exactly once.

#[path = "support/frames.rs"]
mod frames;

use std::time::Duration;

use apn_ami_core::correlation::{
    ActionHandle, AmiError, Bound, Completion, CompletionStrategy, Dispatch, PendingRegistry,
    RegistryLimits,
};
use frames::{at, epoch, frame, register};

const SECOND: Duration = Duration::from_secs(1);

fn registry() -> PendingRegistry {
    PendingRegistry::new(RegistryLimits::default())
}

fn completed(dispatch: Dispatch) -> Completion {
    match dispatch {
        Dispatch::Completed(completion) => completion,
        other => panic!("expected a completion, got {other:?}"),
    }
}

#[test]
fn single_response_completes_with_latency() {
    let t0 = epoch();
    let mut pending = registry();
    let handle = register(&mut pending, 1, CompletionStrategy::Single, SECOND, t0);
    assert_eq!(handle, ActionHandle(1));
    assert_eq!(pending.len(), 1);
    assert_eq!(pending.next_deadline(), Some(at(t0, 1000)));

    let pong = frame("Response: Success\r\nActionID: x\r\nPing: Pong\r\n\r\n");
    let done = completed(pending.on_response(1, pong.clone(), at(t0, 7)));
    assert_eq!(done.handle, ActionHandle(1));
    assert_eq!(done.latency, Duration::from_millis(7));
    let response = done.result.unwrap();
    assert_eq!(response.frame(), &pong);
    assert!(response.items().is_empty());
    assert!(response.complete_event().is_none());
    assert!(pending.is_empty());
    assert_eq!(pending.next_deadline(), None);
}

#[test]
fn responses_nobody_waits_for_are_handed_back() {
    let t0 = epoch();
    let mut pending = registry();
    let stray = frame("Response: Success\r\nActionID: pbx:1:99\r\n\r\n");
    assert_eq!(
        pending.on_response(99, stray.clone(), t0),
        Dispatch::Unmatched(stray.clone())
    );
    assert_eq!(
        pending.on_event(99, stray.clone(), t0),
        Dispatch::Unmatched(stray)
    );
}

#[test]
fn events_of_an_action_awaiting_its_response_are_handed_back() {
    let t0 = epoch();
    let mut pending = registry();
    register(&mut pending, 3, CompletionStrategy::Single, SECOND, t0);
    let early = frame("Event: Newchannel\r\nActionID: pbx:1:3\r\n\r\n");
    assert_eq!(
        pending.on_event(3, early.clone(), t0),
        Dispatch::Unmatched(early)
    );
    assert_eq!(pending.len(), 1, "still waiting for its response");
}

#[test]
fn event_list_collects_items_in_order_until_complete() {
    let t0 = epoch();
    let mut pending = registry();
    register(&mut pending, 42, CompletionStrategy::List, SECOND, t0);
    let start = frame(
        "Response: Success\r\nActionID: a\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n",
    );
    assert_eq!(
        pending.on_response(42, start.clone(), at(t0, 1)),
        Dispatch::Consumed
    );
    let items: Vec<_> = (0..3)
        .map(|n| {
            frame(&format!(
                "Event: CoreShowChannel\r\nActionID: a\r\nChannel: PJSIP/{n}\r\n\r\n"
            ))
        })
        .collect();
    for item in &items {
        assert_eq!(
            pending.on_event(42, item.clone(), at(t0, 2)),
            Dispatch::Consumed
        );
    }
    assert!(pending.list_bytes() > 0);
    let end = frame(
        "Event: CoreShowChannelsComplete\r\nActionID: a\r\nEventList: COMPLETE\r\nListItems: 3\r\n\r\n",
    );
    let done = completed(pending.on_event(42, end.clone(), at(t0, 5)));
    assert_eq!(done.latency, Duration::from_millis(5));
    let response = done.result.unwrap();
    assert_eq!(response.frame(), &start);
    assert_eq!(response.items(), items.as_slice());
    assert_eq!(response.complete_event(), Some(&end));
    assert!(response.is_success());
    assert!(pending.is_empty());
    assert_eq!(pending.list_bytes(), 0);
}

#[test]
fn a_list_is_detected_from_the_response_even_for_single_actions() {
    let t0 = epoch();
    let mut pending = registry();
    register(&mut pending, 1, CompletionStrategy::Single, SECOND, t0);
    let start = frame("Response: Success\r\nActionID: a\r\nEventList: Start\r\n\r\n");
    assert_eq!(pending.on_response(1, start, t0), Dispatch::Consumed);
    let end = frame(
        "Event: FAXSessionsComplete\r\nActionID: a\r\nEventList: Complete\r\nListItems: 0\r\n\r\n",
    );
    let response = completed(pending.on_event(1, end, t0)).result.unwrap();
    assert!(response.items().is_empty(), "an empty list");
}

#[test]
fn a_list_action_answered_with_an_error_ends_at_once() {
    let t0 = epoch();
    let mut pending = registry();
    register(&mut pending, 1, CompletionStrategy::List, SECOND, t0);
    let refused = frame("Response: Error\r\nActionID: a\r\nMessage: No endpoints found\n\r\n\r\n");
    let response = completed(pending.on_response(1, refused, t0))
        .result
        .unwrap();
    assert!(!response.is_success());
    assert_eq!(
        response.message().unwrap().as_bytes(),
        b"No endpoints found\n"
    );
    assert!(pending.is_empty());
}

#[test]
fn follows_never_waits_for_a_list() {
    let t0 = epoch();
    let mut pending = registry();
    register(&mut pending, 1, CompletionStrategy::Follows, SECOND, t0);
    let odd = frame("Response: Success\r\nActionID: a\r\nEventList: start\r\nOutput: x\r\n\r\n");
    assert!(matches!(
        pending.on_response(1, odd, t0),
        Dispatch::Completed(_)
    ));
}

#[test]
fn a_second_response_to_a_listing_action_is_not_taken() {
    let t0 = epoch();
    let mut pending = registry();
    register(&mut pending, 1, CompletionStrategy::List, SECOND, t0);
    let start = frame("Response: Success\r\nActionID: a\r\nEventList: start\r\n\r\n");
    pending.on_response(1, start.clone(), t0);
    assert_eq!(
        pending.on_response(1, start.clone(), t0),
        Dispatch::Unmatched(start)
    );
}

#[test]
fn pending_limit_rejects_with_the_depth_then_frees_a_slot() {
    let t0 = epoch();
    let limits = RegistryLimits {
        max_pending: 2,
        ..RegistryLimits::default()
    };
    let mut pending = PendingRegistry::new(limits);
    register(&mut pending, 1, CompletionStrategy::Single, SECOND, t0);
    register(&mut pending, 2, CompletionStrategy::Single, SECOND, t0);
    let rejected = pending
        .insert(3, CompletionStrategy::Single, SECOND, t0)
        .unwrap_err();
    assert_eq!(
        rejected,
        AmiError::Rejected {
            bound: Bound::PendingActions,
            depth: 2,
            limit: 2
        }
    );
    assert_eq!(
        rejected.to_string(),
        "rejected: PendingActions at its limit of 2 (depth 2)"
    );
    assert_eq!(pending.len(), 2, "nothing registered");
    pending.on_response(1, frame("Response: Success\r\n\r\n"), t0);
    assert!(
        pending
            .insert(3, CompletionStrategy::Single, SECOND, t0)
            .is_ok()
    );
}

fn list_registry(limits: RegistryLimits) -> (PendingRegistry, std::time::Instant) {
    let t0 = epoch();
    let mut pending = PendingRegistry::new(limits);
    register(&mut pending, 7, CompletionStrategy::List, SECOND, t0);
    pending.on_response(
        7,
        frame("Response: Success\r\nEventList: start\r\n\r\n"),
        t0,
    );
    (pending, t0)
}

fn item(n: usize) -> apn_ami_core::protocol::Frame {
    frame(&format!(
        "Event: Status\r\nActionID: a\r\nChannel: PJSIP/{n}\r\n\r\n"
    ))
}

#[test]
fn a_list_past_its_item_cap_fails_once_then_is_drained_silently() {
    let limits = RegistryLimits {
        max_list_items: 2,
        ..RegistryLimits::default()
    };
    let (mut pending, t0) = list_registry(limits);
    assert_eq!(pending.on_event(7, item(0), t0), Dispatch::Consumed);
    assert_eq!(pending.on_event(7, item(1), t0), Dispatch::Consumed);
    let failed = completed(pending.on_event(7, item(2), at(t0, 3)));
    assert_eq!(
        failed.result,
        Err(AmiError::ListTooLong {
            max_items: 2,
            max_bytes: limits.max_list_bytes
        })
    );
    assert_eq!(failed.latency, Duration::from_millis(3));
    assert_eq!(
        pending.list_bytes(),
        0,
        "the collected items are freed at once"
    );
    assert_eq!(
        pending.on_event(7, item(3), t0),
        Dispatch::Consumed,
        "the rest is dropped"
    );
    let end = frame("Event: StatusComplete\r\nActionID: a\r\nEventList: Complete\r\n\r\n");
    assert_eq!(
        pending.on_event(7, end, t0),
        Dispatch::Consumed,
        "no second ending"
    );
    assert!(pending.is_empty());
}

#[test]
fn a_list_past_its_byte_cap_fails() {
    let one = item(0).heap_size();
    // The items' vector counts too: its first growth makes room for four.
    let slots = 4 * size_of::<apn_ami_core::protocol::Frame>();
    let limits = RegistryLimits {
        max_list_bytes: one * 2 + slots + one / 2,
        ..RegistryLimits::default()
    };
    let (mut pending, t0) = list_registry(limits);
    assert_eq!(pending.on_event(7, item(0), t0), Dispatch::Consumed);
    assert_eq!(
        pending.list_bytes(),
        one + slots,
        "the frame and the vector"
    );
    assert_eq!(pending.on_event(7, item(1), t0), Dispatch::Consumed);
    let failed = completed(pending.on_event(7, item(2), t0));
    assert!(matches!(failed.result, Err(AmiError::ListTooLong { .. })));
}

#[test]
fn an_overflowed_list_that_never_completes_ends_silently_at_its_deadline() {
    let limits = RegistryLimits {
        max_list_items: 0,
        ..RegistryLimits::default()
    };
    let (mut pending, t0) = list_registry(limits);
    assert!(matches!(
        pending.on_event(7, item(0), t0),
        Dispatch::Completed(_)
    ));
    let mut endings = Vec::new();
    pending.expire(at(t0, 1000), |completion| endings.push(completion));
    assert!(endings.is_empty(), "it already ended once");
    assert!(pending.is_empty());
}

#[test]
fn expiry_ends_due_actions_earliest_first_and_only_those() {
    let t0 = epoch();
    let mut pending = registry();
    register(
        &mut pending,
        1,
        CompletionStrategy::Single,
        Duration::from_millis(300),
        t0,
    );
    register(
        &mut pending,
        2,
        CompletionStrategy::Single,
        Duration::from_millis(100),
        t0,
    );
    register(
        &mut pending,
        3,
        CompletionStrategy::Single,
        Duration::from_millis(200),
        t0,
    );
    register(
        &mut pending,
        4,
        CompletionStrategy::Single,
        Duration::from_millis(900),
        t0,
    );
    assert_eq!(pending.next_deadline(), Some(at(t0, 100)));

    let mut endings = Vec::new();
    pending.expire(at(t0, 99), |completion| endings.push(completion));
    assert!(endings.is_empty(), "nothing is due yet");
    pending.expire(at(t0, 300), |completion| endings.push(completion));
    let handles: Vec<_> = endings.iter().map(|c| c.handle.0).collect();
    assert_eq!(
        handles,
        [2, 3, 1],
        "earliest deadline first, the deadline itself included"
    );
    assert_eq!(
        endings[0].result,
        Err(AmiError::Timeout {
            after: Duration::from_millis(100)
        })
    );
    assert_eq!(endings[0].latency, Duration::from_millis(300));
    assert_eq!(pending.next_deadline(), Some(at(t0, 900)));
    assert_eq!(pending.len(), 1);
    // A late response to an expired action is not taken.
    let late = frame("Response: Success\r\n\r\n");
    assert_eq!(
        pending.on_response(2, late.clone(), at(t0, 301)),
        Dispatch::Unmatched(late)
    );
}

#[test]
fn fail_all_ends_everything_once_in_sequence_order() {
    let t0 = epoch();
    let limits = RegistryLimits {
        max_list_items: 1,
        ..RegistryLimits::default()
    };
    let mut pending = PendingRegistry::new(limits);
    for sequence in [5, 1, 3] {
        register(
            &mut pending,
            sequence,
            CompletionStrategy::Single,
            SECOND,
            t0,
        );
    }
    // 8 is collecting a list, 9 overflowed (already told).
    for sequence in [8, 9] {
        register(&mut pending, sequence, CompletionStrategy::List, SECOND, t0);
        pending.on_response(
            sequence,
            frame("Response: Success\r\nEventList: start\r\n\r\n"),
            t0,
        );
    }
    pending.on_event(8, item(0), t0);
    pending.on_event(9, item(0), t0);
    assert!(matches!(
        pending.on_event(9, item(1), t0),
        Dispatch::Completed(_)
    ));

    let mut endings = Vec::new();
    pending.fail_all(&AmiError::ConnectionLost, at(t0, 10), |completion| {
        endings.push(completion);
    });
    let handles: Vec<_> = endings.iter().map(|c| c.handle.0).collect();
    assert_eq!(handles, [1, 3, 5, 8]);
    assert!(
        endings
            .iter()
            .all(|c| c.result == Err(AmiError::ConnectionLost))
    );
    assert!(
        endings
            .iter()
            .all(|c| c.latency == Duration::from_millis(10))
    );
    assert!(pending.is_empty());
    assert_eq!(pending.list_bytes(), 0);
    assert_eq!(pending.next_deadline(), None);
    let mut again = 0;
    pending.fail_all(&AmiError::ShuttingDown, t0, |_| again += 1);
    assert_eq!(again, 0, "nothing ends twice");
}

#[test]
fn error_messages() {
    assert_eq!(
        AmiError::Timeout { after: SECOND }.to_string(),
        "no answer within 1s"
    );
    assert_eq!(
        AmiError::ConnectionLost.to_string(),
        "the connection was lost while the action was pending"
    );
    assert_eq!(
        AmiError::ShuttingDown.to_string(),
        "the client is shutting down"
    );
    assert!(
        AmiError::ListTooLong {
            max_items: 1,
            max_bytes: 2
        }
        .to_string()
        .contains("cap of 1 items")
    );
    assert_eq!(
        AmiError::AlreadyPending { sequence: 7 }.to_string(),
        "an action with ActionID sequence 7 is already pending"
    );
}
