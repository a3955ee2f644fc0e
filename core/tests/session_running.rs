//! A logged-in session with injected instants: correlation, timeouts,
//! connection loss, bounds (pending, outbound, events, memory), partial
//! writes, heartbeat and shutdown.

#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use std::fmt::Write as _;
use std::time::Duration;

use apn_ami_core::connection::{
    AuthMethod, CloseReason, SessionOutput, SessionState, SubmitOptions,
};
use apn_ami_core::correlation::{AmiError, Bound, RegistryLimits};
use apn_ami_core::observe::{FieldValue, Level, Outcome};
use apn_ami_core::protocol::Action;
use rig::{Rig, config};

fn ready() -> Rig {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.log_in();
    rig
}

fn ping() -> Action {
    Action::new("Ping").unwrap()
}

#[test]
fn an_action_is_written_answered_and_completed_once() {
    let mut rig = ready();
    let handle = rig.submit(ping()).unwrap();
    let sent = rig.written();
    assert_eq!(sent.len(), 1);
    rig.ms = 12;
    rig.answer(&sent[0], "Ping: Pong\r\n");
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, handle);
    assert_eq!(done[0].latency, Duration::from_millis(12));
    assert_eq!(
        done[0]
            .result
            .as_ref()
            .unwrap()
            .frame()
            .get("ping")
            .unwrap(),
        "Pong"
    );
    assert_eq!(rig.session.metrics().actions(Outcome::Success), 1);
    assert_eq!(rig.session.pending(), 0);
    // The same response again resolves nothing.
    rig.answer(&sent[0], "Ping: Pong\r\n");
    assert!(rig.completions().is_empty());
}

#[test]
fn list_actions_and_events_are_told_apart() {
    let mut rig = ready();
    rig.submit(Action::new("CoreShowChannels").unwrap())
        .unwrap();
    let sent = rig.written();
    let id = sent[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\n\
         Event: Newchannel\r\nChannel: PJSIP/9\r\n\r\n\
         Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/1\r\n\r\n\
         Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"
    ));
    let done = rig.completions();
    let response = done[0].result.as_ref().unwrap();
    assert_eq!(response.items().len(), 1);
    assert_eq!(response.items()[0].get("channel").unwrap(), "PJSIP/1");
    let events: Vec<_> = rig
        .outputs
        .iter()
        .filter_map(|output| match output {
            SessionOutput::Event(event) => Some(event.first_value().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        ["Newchannel"],
        "an unrelated event goes to the event queue"
    );
}

#[test]
fn actions_time_out_at_their_deadline() {
    let mut rig = ready();
    let default = rig.submit(ping()).unwrap();
    let now = rig.now();
    let quick = rig
        .session
        .submit(
            ping(),
            SubmitOptions {
                timeout: Some(Duration::from_millis(200)),
                ..SubmitOptions::default()
            },
            now,
        )
        .unwrap();
    rig.written();
    assert_eq!(
        rig.session.poll_timeout(),
        Some(rig.t0 + Duration::from_millis(200))
    );
    rig.tick(200);
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, quick);
    assert_eq!(
        done[0].result,
        Err(AmiError::Timeout {
            after: Duration::from_millis(200)
        })
    );
    rig.tick(30_000);
    let done = rig.completions();
    assert_eq!(done[0].handle, default);
    assert_eq!(rig.session.metrics().actions(Outcome::Timeout), 2);
}

#[test]
fn connection_loss_fails_every_pending_action_at_once() {
    let mut rig = ready();
    let handles: Vec<_> = (0..5).map(|_| rig.submit(ping()).unwrap()).collect();
    rig.written();
    rig.ms = 50;
    let now = rig.now();
    rig.session.handle_disconnected(now);
    rig.drain();
    let done = rig.completions();
    let ended: Vec<_> = done.iter().map(|c| c.handle).collect();
    assert_eq!(ended, handles);
    assert!(
        done.iter()
            .all(|c| c.result == Err(AmiError::ConnectionLost))
    );
    assert_eq!(rig.session.state(), SessionState::Disconnected);
    assert_eq!(rig.session.pending(), 0);
    assert_eq!(rig.session.metrics().actions(Outcome::ConnectionLost), 5);
    // A late answer after the loss is ignored.
    rig.server_says("Response: Success\r\nActionID: pbx1:000000ab:3\r\n\r\n");
    assert!(rig.completions().is_empty());
}

#[test]
fn pending_limit_rejects_and_warns_with_the_depth() {
    let mut settings = config(AuthMethod::Plain);
    settings.registry = RegistryLimits {
        max_pending: 3,
        ..RegistryLimits::default()
    };
    let mut rig = Rig::new(settings);
    rig.log_in();
    for _ in 0..3 {
        rig.submit(ping()).unwrap();
    }
    let refused = rig.submit(ping()).unwrap_err();
    assert_eq!(
        refused,
        AmiError::Rejected {
            bound: Bound::PendingActions,
            depth: 3,
            limit: 3
        }
    );
    let warning = rig
        .logs
        .iter()
        .find(|r| r.level == Level::Warn)
        .expect("a warning");
    assert_eq!(warning.field("depth"), Some(&FieldValue::Count(3)));
    assert_eq!(warning.server_key.as_deref(), Some("pbx1"));
    assert_eq!(warning.server_host.as_deref(), Some("127.0.0.1:5038"));
    assert_eq!(rig.session.metrics().counters.rejected_actions, 1);
    assert_eq!(rig.session.metrics().actions(Outcome::Rejected), 1);
}

#[test]
fn the_pre_login_queue_is_bounded() {
    let mut settings = config(AuthMethod::Plain);
    settings.max_queued_before_login = 2;
    let mut rig = Rig::new(settings);
    rig.submit(ping()).unwrap();
    rig.submit(ping()).unwrap();
    assert_eq!(
        rig.submit(ping()).unwrap_err(),
        AmiError::Rejected {
            bound: Bound::QueuedBeforeLogin,
            depth: 2,
            limit: 2
        }
    );
}

#[test]
fn partial_writes_of_one_byte_at_a_time() {
    let mut rig = ready();
    for n in 0..3 {
        rig.submit(
            Action::builder("UserEvent")
                .header("UserEvent", format!("n{n}"))
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let total = rig.session.poll_transmit().unwrap().len();
    let before = rig.session.metrics().counters.bytes_sent;
    let sent = rig.written_in_pieces(1);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].get("userevent").unwrap(), "n2");
    assert_eq!(
        rig.session.metrics().counters.bytes_sent - before,
        total as u64
    );
    assert!(rig.session.poll_transmit().is_none());
}

#[test]
fn a_full_outbound_buffer_drops_the_connection_instead_of_growing() {
    let mut settings = config(AuthMethod::Plain);
    settings.max_outbound_bytes = 200;
    let mut rig = Rig::new(settings);
    rig.log_in();
    let mut handles = Vec::new();
    while rig.outputs.is_empty() {
        handles.push(rig.submit(ping()).unwrap());
    }
    assert!(
        handles.len() > 3 && handles.len() < 10,
        "{} pings",
        handles.len()
    );
    assert_eq!(
        rig.outputs[0],
        SessionOutput::Close {
            reason: CloseReason::OutboundFull
        },
        "the close comes first, then every ending"
    );
    let done = rig.completions();
    assert_eq!(
        done.len(),
        handles.len(),
        "every action, the last one included, ends"
    );
    assert!(
        done.iter()
            .all(|c| c.result == Err(AmiError::ConnectionLost))
    );
    assert!(rig.session.poll_transmit().is_none());
    assert!(
        rig.logs
            .iter()
            .any(|r| r.level == Level::Error && r.message.contains("outbound buffer full"))
    );
}

#[test]
fn event_queue_overflow_drops_the_oldest_with_an_exact_count_and_a_warning() {
    let mut settings = config(AuthMethod::Plain);
    settings.event_queue_capacity = 100;
    let mut rig = Rig::new(settings);
    rig.log_in();
    let mut flood = String::new();
    for n in 0..250 {
        write!(flood, "Event: Newstate\r\nSeq: {n}\r\n\r\n").unwrap();
    }
    let now = rig.now();
    rig.session.handle_input(flood.as_bytes(), now);
    assert_eq!(rig.session.metrics().counters.dropped_events, 150);
    assert_eq!(rig.session.metrics().counters.event_queue_depth, 100);
    while let Some(record) = rig.session.poll_log() {
        rig.logs.push(record);
    }
    let warning = rig
        .logs
        .iter()
        .find(|r| r.message.contains("event queue full"))
        .expect("warned");
    assert_eq!(warning.level, Level::Warn);
    assert_eq!(warning.field("queue_depth"), Some(&FieldValue::Count(100)));
    assert_eq!(
        warning.field("dropped"),
        Some(&FieldValue::Count(1)),
        "the first drop is reported at once"
    );
    let mut kept = Vec::new();
    while let Some(SessionOutput::Event(event)) = rig.session.poll_output() {
        kept.push(
            event
                .get("seq")
                .unwrap()
                .to_string()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(
        kept,
        (150..250).collect::<Vec<_>>(),
        "the newest 100 survive, in order"
    );
    // The rest of the burst reaches the log when the queue has drained,
    // before the once-a-second report would have come.
    while let Some(record) = rig.session.poll_log() {
        rig.logs.push(record);
    }
    let summary = rig
        .logs
        .iter()
        .rev()
        .find(|r| r.message.contains("drops since the last report"))
        .expect("the burst's end is reported");
    assert_eq!(summary.field("dropped"), Some(&FieldValue::Count(149)));
    assert_eq!(
        summary.field("burst_ended"),
        Some(&FieldValue::Text("queue drained".to_owned()))
    );
    let reports = rig.logs.len();
    rig.tick(1_000);
    assert!(
        !rig.logs[reports..]
            .iter()
            .any(|r| r.field("dropped").is_some()),
        "each drop is reported once"
    );
    rig.tick(2_000);
    assert_eq!(
        rig.session.poll_timeout().map(|t| t > rig.now()),
        Some(true)
    );
}

#[test]
fn responses_are_never_dropped_by_an_event_flood() {
    let mut settings = config(AuthMethod::Plain);
    settings.event_queue_capacity = 10;
    let mut rig = Rig::new(settings);
    rig.log_in();
    let handle = rig.submit(ping()).unwrap();
    let sent = rig.written();
    let id = sent[0].action_id().unwrap().to_string();
    let mut flood = String::new();
    for n in 0..1000 {
        write!(flood, "Event: VarSet\r\nValue: {n}\r\n\r\n").unwrap();
        if n == 500 {
            write!(
                flood,
                "Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n"
            )
            .unwrap();
        }
    }
    rig.server_says(&flood);
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, handle);
    assert!(done[0].result.is_ok());
    assert_eq!(rig.session.metrics().counters.dropped_events, 990);
}

#[test]
fn heartbeat_degrades_then_closes_and_a_pong_restores() {
    let mut rig = ready();
    assert_eq!(
        rig.session.poll_timeout(),
        Some(rig.t0 + Duration::from_secs(15))
    );
    rig.tick(15_000);
    let ping = rig.written();
    assert_eq!(ping[0].first_value(), "Ping");
    rig.tick(20_000);
    assert_eq!(rig.session.state(), SessionState::Degraded);
    assert_eq!(rig.session.metrics().counters.heartbeat_failures, 1);
    // The next ping is answered: healthy again.
    rig.tick(30_000);
    let ping = rig.written();
    rig.ms = 30_010;
    rig.answer(&ping[0], "Ping: Pong\r\n");
    assert_eq!(rig.session.state(), SessionState::Ready);
    // Three misses in a row close the connection and fail what is pending.
    let now = rig.now();
    let long = SubmitOptions {
        timeout: Some(Duration::from_secs(600)),
        ..SubmitOptions::default()
    };
    let pending = rig
        .session
        .submit(Action::new("CoreSettings").unwrap(), long, now)
        .unwrap();
    for round in 1..=3u64 {
        rig.tick(30_000 + round * 15_000);
        rig.written();
        rig.tick(30_000 + round * 15_000 + 5_000);
    }
    assert_eq!(rig.session.metrics().counters.heartbeat_failures, 4);
    assert!(rig.outputs.contains(&SessionOutput::Close {
        reason: CloseReason::HeartbeatDead
    }));
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, pending);
    assert_eq!(done[0].result, Err(AmiError::ConnectionLost));
    assert_eq!(rig.session.state(), SessionState::Disconnected);
}

#[test]
fn pings_go_out_whatever_other_traffic_flows() {
    let mut rig = ready();
    for second in 1..=15u64 {
        rig.ms = second * 1000;
        rig.submit(ping()).unwrap();
        let sent = rig.written();
        rig.answer(&sent[0], "Ping: Pong\r\n");
        rig.tick(second * 1000);
    }
    let heartbeat = rig.written();
    assert_eq!(heartbeat.len(), 1, "the 15 s heartbeat ping");
}

#[test]
fn shutdown_lets_pending_actions_finish_then_logs_off() {
    let mut rig = ready();
    let pending = rig.submit(ping()).unwrap();
    let sent = rig.written();
    let now = rig.now();
    rig.session.shutdown(now);
    rig.drain();
    assert_eq!(rig.session.state(), SessionState::Closing);
    assert!(
        rig.written().is_empty(),
        "Logoff waits for the pending action"
    );
    assert_eq!(rig.submit(ping()).unwrap_err(), AmiError::ShuttingDown);
    rig.answer(&sent[0], "Ping: Pong\r\n");
    let done = rig.completions();
    assert_eq!(done[0].handle, pending);
    let logoff = rig.written();
    assert_eq!(logoff[0].first_value(), "Logoff");
    let id = logoff[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n"
    ));
    assert_eq!(
        rig.outputs,
        [SessionOutput::Close {
            reason: CloseReason::Shutdown
        }]
    );
    let now = rig.now();
    rig.session.handle_disconnected(now);
    rig.drain();
    assert_eq!(rig.session.heap_size(), 0, "everything released");
}

#[test]
fn shutdown_grace_fails_what_is_still_pending_and_closes_without_goodbye() {
    let mut rig = ready();
    let stuck = rig.submit(ping()).unwrap();
    rig.written();
    let now = rig.now();
    rig.session.shutdown(now);
    rig.tick(4_999);
    assert!(rig.completions().is_empty());
    rig.tick(5_000);
    let done = rig.completions();
    assert_eq!(done[0].handle, stuck);
    assert_eq!(done[0].result, Err(AmiError::ShuttingDown));
    assert_eq!(rig.written()[0].first_value(), "Logoff");
    assert_eq!(
        rig.session.poll_timeout(),
        Some(rig.t0 + Duration::from_secs(10))
    );
    rig.tick(10_000);
    assert_eq!(
        rig.outputs,
        [SessionOutput::Close {
            reason: CloseReason::Shutdown
        }]
    );
    assert_eq!(rig.session.poll_timeout(), None, "nothing left to wait for");
}

#[test]
fn shutdown_before_login_fails_queued_actions_and_closes() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.connect();
    let queued = rig.submit(ping()).unwrap();
    let now = rig.now();
    rig.session.shutdown(now);
    rig.drain();
    let done = rig.completions();
    assert_eq!(done[0].handle, queued);
    assert_eq!(done[0].result, Err(AmiError::ShuttingDown));
    assert_eq!(
        rig.outputs,
        [SessionOutput::Close {
            reason: CloseReason::Shutdown
        }]
    );
    rig.session.handle_connected(now);
    rig.drain();
    assert_eq!(
        rig.outputs.len(),
        2,
        "a late connect is closed again at once"
    );
}

#[test]
fn the_memory_budget_closes_the_connection() {
    let mut settings = config(AuthMethod::Plain);
    settings.memory_budget_bytes = 300_000;
    let mut rig = Rig::new(settings);
    rig.log_in();
    let pending = rig.submit(ping()).unwrap();
    rig.written();
    let mut flood = String::new();
    for n in 0..2_000 {
        write!(flood, "Event: VarSet\r\nVariable: X\r\nValue: {n}\r\n\r\n").unwrap();
    }
    rig.server_says(&flood);
    assert!(rig.outputs.contains(&SessionOutput::Close {
        reason: CloseReason::MemoryBudget
    }));
    assert_eq!(rig.session.metrics().counters.memory_budget_closes, 1);
    let done = rig.completions();
    assert_eq!(done[0].handle, pending);
    assert_eq!(done[0].result, Err(AmiError::ConnectionLost));
    assert!(rig.logs.iter().any(|r| r.message.contains("memory budget")));
    assert!(rig.session.heap_size() <= 300_000);
}

#[test]
fn a_rejected_actions_headers_are_logged_redacted() {
    let mut settings = config(AuthMethod::Plain);
    settings.registry = RegistryLimits {
        max_pending: 1,
        ..RegistryLimits::default()
    };
    settings.redactor = apn_ami_core::observe::Redactor::new(["PIN"]);
    let mut rig = Rig::new(settings);
    rig.log_in();
    rig.submit(ping()).unwrap();
    let originate = Action::builder("Originate")
        .header("Channel", "PJSIP/100")
        .variable("PIN", "4711")
        .variable("QUEUE", "sales")
        .header("Secret", "not-for-logs")
        .build()
        .unwrap();
    rig.submit(originate).unwrap_err();
    let warning = rig
        .logs
        .iter()
        .find(|r| r.message.contains("rejected"))
        .unwrap();
    let headers = warning.field("headers").unwrap().to_string();
    assert_eq!(
        headers,
        "Channel: PJSIP/100; Variable: PIN=********; Variable: QUEUE=sales; Secret: ********"
    );
    let everything = format!("{:?}", rig.logs);
    assert!(!everything.contains("4711") && !everything.contains("not-for-logs"));
}

#[test]
fn a_timeout_is_logged_with_its_action_id() {
    let mut rig = ready();
    rig.submit(ping()).unwrap();
    let id = rig.written()[0].action_id().unwrap().to_string();
    rig.tick(30_000);
    let record = rig
        .logs
        .iter()
        .find(|r| r.message == "action timed out")
        .unwrap();
    assert_eq!(record.action_id.as_deref(), Some(id.as_str()));
    assert_eq!(record.level, Level::Warn);
}

#[test]
fn a_ping_answered_with_an_error_is_a_missed_heartbeat() {
    let mut rig = ready();
    rig.tick(15_000);
    let ping = rig.written();
    assert_eq!(ping[0].first_value(), "Ping");
    let id = ping[0].action_id().unwrap().to_string();
    // Any error but "shutting down" (which drains, see draining.rs).
    rig.server_says(&format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Permission denied\r\n\r\n"
    ));
    assert_eq!(rig.session.state(), SessionState::Degraded);
    assert_eq!(rig.session.metrics().counters.heartbeat_failures, 1);
    assert!(rig.logs.iter().any(|record| {
        record.message == "heartbeat answered with an error; connection degraded"
            && record
                .fields
                .iter()
                .any(|(_, value)| value.to_string() == "Permission denied")
    }));
    // No second miss is counted for the same ping at its deadline.
    rig.tick(20_000);
    assert_eq!(rig.session.metrics().counters.heartbeat_failures, 1);
    // Two more error answers in a row reach the limit of three: closed.
    for round in 1..=2u64 {
        rig.tick(15_000 + round * 15_000);
        let ping = rig.written();
        let id = ping[0].action_id().unwrap().to_string();
        rig.server_says(&format!(
            "Response: Error\r\nActionID: {id}\r\nMessage: Permission denied\r\n\r\n"
        ));
    }
    assert_eq!(rig.session.metrics().counters.heartbeat_failures, 3);
    assert!(rig.outputs.contains(&SessionOutput::Close {
        reason: CloseReason::HeartbeatDead
    }));
}
