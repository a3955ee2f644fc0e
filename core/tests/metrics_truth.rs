//! Metrics count what their help says: refusals are counted by outcome but
//! stay out of the latency histogram and out of `routed_actions`, and the
//! drops of a burst shorter than the reporting interval reach the log with
//! their count when the burst ends.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use std::fmt::Write as _;

use apn_ami_core::cluster::{Route, Routing, ServerId};
use apn_ami_core::connection::AuthMethod;
use apn_ami_core::observe::{FieldValue, Outcome};
use apn_ami_core::protocol::Action;
use cluster_rig::{ClusterRig, cluster_config};
use rig::{Rig, config};

#[test]
fn refusals_are_counted_by_outcome_but_have_no_latency_and_were_not_routed() {
    let mut config = cluster_config(1, Routing::RoundRobin);
    config.servers[0].session.registry.max_pending = 1;
    let mut rig = ClusterRig::new(config, 5);
    rig.tick(0);
    rig.behaviour[0] = cluster_rig::Behaviour::Mute;
    let server = ServerId(0);
    let now = rig.now();
    rig.cluster
        .submit(
            Action::new("Ping").unwrap(),
            Route::Server(server),
            apn_ami_core::connection::SubmitOptions::default(),
            now,
        )
        .expect("one pending fits");
    for _ in 0..5 {
        assert!(
            rig.ping(Route::Server(server)).is_err(),
            "the bound is full"
        );
    }
    let metrics = rig.cluster.session(server).unwrap().metrics();
    assert_eq!(metrics.actions(Outcome::Rejected), 5);
    assert_eq!(
        metrics.latency_count(),
        0,
        "nothing has ended; refusals have no latency"
    );
    assert_eq!(metrics.counters.routed_actions, 1, "only the accepted one");
    let text = rig.cluster.metrics_text();
    assert!(
        text.contains(
            "ami_action_latency_seconds_count{server_key=\"pbx0\",server_host=\"127.0.0.1:5038\"} 0"
        ),
        "{text}"
    );
}

fn flood(rig: &mut Rig, count: usize) {
    let mut events = String::new();
    for n in 0..count {
        write!(events, "Event: VarSet\r\nValue: {n}\r\n\r\n").unwrap();
    }
    let now = rig.now();
    rig.session.handle_input(events.as_bytes(), now);
}

fn burst_end(rig: &Rig) -> Option<(u64, String)> {
    rig.logs
        .iter()
        .find(|r| r.message.contains("drops since the last report"))
        .map(|r| {
            let dropped = match r.field("dropped") {
                Some(FieldValue::Count(count)) => *count,
                other => panic!("{other:?}"),
            };
            (dropped, r.field("burst_ended").unwrap().to_string())
        })
}

#[test]
fn a_short_burst_of_drops_is_reported_with_its_count_when_the_connection_closes() {
    let mut settings = config(AuthMethod::Plain);
    settings.event_queue_capacity = 10;
    let mut rig = Rig::new(settings);
    rig.log_in();
    flood(&mut rig, 60);
    let now = rig.now();
    rig.session.handle_disconnected(now);
    rig.drain();
    // 50 dropped: the first at once, the other 49 when the burst ended.
    assert_eq!(burst_end(&rig), Some((49, "connection closed".to_owned())));
}

#[test]
fn a_short_burst_of_drops_is_reported_with_its_count_at_shutdown() {
    let mut settings = config(AuthMethod::Plain);
    settings.event_queue_capacity = 10;
    let mut rig = Rig::new(settings);
    rig.log_in();
    flood(&mut rig, 30);
    let now = rig.now();
    rig.session.shutdown(now);
    rig.drain();
    assert_eq!(burst_end(&rig), Some((19, "shutdown".to_owned())));
}

#[test]
fn a_damaged_block_is_counted_logged_and_costs_no_frame_after_it() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.log_in();
    let damaged = b"Ev\xffent: OriginateResponse\r\nActionID: 42\r\nResponse: Failure\r\n\r\n";
    let now = rig.now();
    rig.session.handle_input(damaged, now);
    rig.session
        .handle_input(b"Event: FullyBooted\r\nStatus: ok\r\n\r\n", now);
    rig.drain();
    let counters = rig.session.metrics().counters;
    assert_eq!(counters.resyncs, 1);
    assert_eq!(counters.bytes_skipped, damaged.len() as u64);
    let warned = rig
        .logs
        .iter()
        .find(|r| r.message.contains("damaged bytes skipped"))
        .expect("the skip is logged");
    assert_eq!(warned.field("blocks"), Some(&FieldValue::Count(1)));
    let text = apn_ami_core::observe::render_prometheus(&[rig.session.metrics()]);
    assert!(
        text.contains("ami_resyncs_total{server_key="),
        "exported: {text}"
    );
}
