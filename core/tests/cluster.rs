//! The cluster with injected instants: connecting, routing by health,
//! explicit targeting, reconnects with backoff and breaker, isolation of
//! 100 servers, shutdown and the client-wide memory budget.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;

use std::fmt::Write as _;

use apn_ami_core::cluster::{ClusterOutput, Route, Routing, ServerId};
use apn_ami_core::connection::SessionState;
use apn_ami_core::correlation::AmiError;
use apn_ami_core::health::HealthState;
use cluster_rig::{Behaviour, ClusterRig, cluster_config};

fn healthy(rig: &ClusterRig) -> Vec<bool> {
    (0..rig.cluster.len())
        .map(|i| rig.cluster.health(ServerId(i)) == Some(HealthState::Healthy))
        .collect()
}

#[test]
fn every_server_connects_and_logs_in_at_start() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::RoundRobin), 1);
    assert_eq!(
        rig.cluster.poll_timeout(),
        Some(rig.t0),
        "connects are due at once"
    );
    assert!(
        healthy(&rig).iter().all(|h| !h),
        "nothing is healthy before the facts"
    );
    rig.tick(0);
    assert_eq!(
        rig.connects,
        [(0, ServerId(0)), (0, ServerId(1)), (0, ServerId(2))]
    );
    assert_eq!(healthy(&rig), [true, true, true]);
}

#[test]
fn round_robin_spreads_over_healthy_servers_only() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::RoundRobin), 1);
    rig.tick(0);
    let servers: Vec<_> = (0..6)
        .map(|_| rig.ping(Route::Any).unwrap().server.unwrap().0)
        .collect();
    assert_eq!(servers, [0, 1, 2, 0, 1, 2]);
    let now = rig.now();
    rig.behaviour[1] = Behaviour::Refuse;
    rig.cluster.handle_disconnected(ServerId(1), now);
    rig.pump();
    let servers: Vec<_> = (0..4)
        .map(|_| rig.ping(Route::Any).unwrap().server.unwrap().0)
        .collect();
    assert!(servers.iter().all(|&s| s != 1), "{servers:?}");
    assert!(rig.completed.iter().all(|(_, result)| result.is_ok()));
}

#[test]
fn no_healthy_server_is_a_typed_error_and_counted() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 1);
    assert_eq!(rig.ping(Route::Any).unwrap_err(), AmiError::NoHealthyServer);
    assert_eq!(
        rig.ping(Route::Key(b"acct")).unwrap_err(),
        AmiError::NoHealthyServer
    );
    assert_eq!(rig.cluster.no_healthy_server_count(), 2);
    assert!(
        rig.logs
            .iter()
            .any(|r| r.message.contains("no healthy server"))
    );
    assert!(
        rig.cluster
            .metrics_text()
            .contains("ami_no_healthy_server_total 2")
    );
}

#[test]
fn explicit_targeting_fails_fast_unless_the_server_is_healthy() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::RoundRobin), 1);
    assert_eq!(
        rig.ping(Route::Server(ServerId(0))).unwrap_err(),
        AmiError::ServerUnavailable
    );
    rig.tick(0);
    assert_eq!(
        rig.ping(Route::Server(ServerId(2))).unwrap().server,
        Some(ServerId(2))
    );
    assert_eq!(
        rig.ping(Route::Server(ServerId(7))).unwrap_err(),
        AmiError::UnknownServer { index: 7 }
    );
    // Open server 1's breaker: five failed connects.
    rig.behaviour[1] = Behaviour::Refuse;
    let now = rig.now();
    rig.cluster.handle_disconnected(ServerId(1), now);
    rig.run_until(20_000);
    assert!(matches!(
        rig.cluster
            .session(ServerId(1))
            .map(apn_ami_core::connection::Session::state),
        Some(SessionState::Disconnected)
    ));
    assert_eq!(
        rig.cluster.health(ServerId(1)),
        Some(HealthState::CircuitOpen)
    );
    assert_eq!(
        rig.ping(Route::Server(ServerId(1))).unwrap_err(),
        AmiError::CircuitOpen
    );
}

#[test]
fn reconnects_back_off_with_jitter_and_the_breaker_holds_them() {
    let mut rig = ClusterRig::new(cluster_config(1, Routing::RoundRobin), 7);
    rig.behaviour[0] = Behaviour::Refuse;
    rig.run_until(120_000);
    let times: Vec<u64> = rig.connects.iter().map(|(ms, _)| *ms).collect();
    assert!(times.len() >= 6, "{times:?}");
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 100, "attempts {times:?}");
        assert!(pair[1] - pair[0] <= 300_000, "attempts {times:?}");
    }
    // After five failures the breaker opened: the sixth attempt is its probe,
    // at least the 5 s cool-down after the fifth.
    assert!(times[5] - times[4] >= 5_000, "{times:?}");
    let text = rig.cluster.metrics_text();
    assert!(
        text.contains(&format!(
            "ami_reconnects_total{{server_key=\"pbx0\",server_host=\"127.0.0.1:5038\"}} {}",
            times.len() - 1
        )),
        "{text}"
    );
    // The server comes back: the probe succeeds and the breaker closes.
    rig.behaviour[0] = Behaviour::Up;
    rig.run_until(600_000);
    assert_eq!(rig.cluster.health(ServerId(0)), Some(HealthState::Healthy));
    assert!(text.contains("ami_circuit_state"));
}

#[test]
fn sticky_routing_keeps_a_key_on_one_server() {
    let mut rig = ClusterRig::new(cluster_config(4, Routing::Sticky), 1);
    rig.tick(0);
    for call in ["PJSIP/100-0001", "PJSIP/200-0002", "acct-77"] {
        let first = rig.ping(Route::Key(call.as_bytes())).unwrap().server;
        for _ in 0..5 {
            assert_eq!(
                rig.ping(Route::Key(call.as_bytes())).unwrap().server,
                first,
                "{call}"
            );
        }
    }
}

#[test]
fn failover_prefers_the_first_healthy_server_in_its_order() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::Failover(vec![2, 0, 1])), 1);
    rig.tick(0);
    assert_eq!(rig.ping(Route::Any).unwrap().server, Some(ServerId(2)));
    let now = rig.now();
    rig.behaviour[2] = Behaviour::Refuse;
    rig.cluster.handle_disconnected(ServerId(2), now);
    rig.pump();
    assert_eq!(rig.ping(Route::Any).unwrap().server, Some(ServerId(0)));
}

#[test]
fn a_silent_server_degrades_is_avoided_then_reset() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 1);
    rig.behaviour[0] = Behaviour::Mute;
    rig.tick(0);
    rig.run_until(20_000);
    assert_eq!(
        rig.cluster.health(ServerId(0)),
        Some(HealthState::Degraded),
        "a heartbeat went unanswered"
    );
    let servers: Vec<_> = (0..4)
        .map(|_| rig.ping(Route::Any).unwrap().server.unwrap().0)
        .collect();
    assert_eq!(servers, [1, 1, 1, 1], "routing avoids the degraded server");
    rig.run_until(60_000);
    assert!(rig.outputs.iter().any(|o| matches!(
        o,
        ClusterOutput::Close {
            server: ServerId(0),
            ..
        }
    )));
    assert!(
        rig.connects
            .iter()
            .filter(|(_, s)| *s == ServerId(0))
            .count()
            >= 2,
        "reset and reconnected"
    );
}

#[test]
fn a_hundred_servers_one_flooded_one_failing_the_rest_unaffected() {
    let mut config = cluster_config(100, Routing::RoundRobin);
    for server in &mut config.servers {
        server.session.event_queue_capacity = 1_000;
    }
    let mut rig = ClusterRig::new(config, 3);
    rig.behaviour[13] = Behaviour::Refuse;
    rig.tick(0);
    rig.flood(ServerId(42), 20_000);
    let mut handles = Vec::new();
    for server in (0..100).filter(|&s| s != 13) {
        for _ in 0..10 {
            handles.push(rig.ping(Route::Server(ServerId(server))).unwrap());
        }
    }
    rig.flood(ServerId(42), 20_000);
    rig.run_until(5_000);
    assert_eq!(
        rig.completed.len(),
        handles.len(),
        "every action of the 99 ended"
    );
    for (handle, result) in &rig.completed {
        assert_eq!(
            result.as_deref(),
            Ok(format!("Success Ping done on pbx{}", handle.server.unwrap().0).as_str())
        );
    }
    let flooded = rig.cluster.session(ServerId(42)).unwrap();
    // Each flood of 20 000 keeps the newest 1 000 (the queue is drained in
    // between): exactly 2 × 19 000 dropped.
    assert_eq!(
        flooded.metrics().counters.dropped_events,
        38_000,
        "the flood's drop count is exact"
    );
    for server in (0..100).filter(|&s| s != 42) {
        assert_eq!(
            rig.cluster
                .session(ServerId(server))
                .unwrap()
                .metrics()
                .counters
                .dropped_events,
            0
        );
    }
    assert!(
        !rig.cluster.health(ServerId(13)).unwrap().is_eligible(),
        "the failing server is out"
    );
    assert!(healthy(&rig).iter().enumerate().all(|(i, &h)| h || i == 13));
}

#[test]
fn events_are_drained_fairly_across_servers() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::RoundRobin), 1);
    rig.tick(0);
    let now = rig.now();
    let mut flood = String::new();
    for n in 0..50 {
        write!(flood, "Event: Newstate\r\nSeq: {n}\r\n\r\n").unwrap();
    }
    rig.cluster.handle_input(ServerId(0), flood.as_bytes(), now);
    rig.cluster
        .handle_input(ServerId(2), b"Event: Hangup\r\n\r\n", now);
    let mut order = Vec::new();
    while let Some(output) = rig.cluster.poll_output() {
        if let ClusterOutput::Event { server, .. } = output {
            order.push(server.0);
        }
    }
    assert_eq!(order.len(), 51);
    assert!(
        order[..3].contains(&2),
        "server 2's event is not stuck behind 50 of server 0's: {order:?}"
    );
}

#[test]
fn shutdown_logs_off_everywhere_and_never_reconnects() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 1);
    rig.tick(0);
    let now = rig.now();
    rig.cluster.shutdown(now);
    rig.pump();
    let closes = rig
        .outputs
        .iter()
        .filter(|o| matches!(o, ClusterOutput::Close { .. }))
        .count();
    assert_eq!(closes, 2, "both logged off and closed");
    assert_eq!(rig.ping(Route::Any).unwrap_err(), AmiError::ShuttingDown);
    let connects = rig.connects.len();
    rig.run_until(120_000);
    assert_eq!(
        rig.connects.len(),
        connects,
        "no reconnect after a shutdown"
    );
    assert_eq!(rig.cluster.poll_timeout(), None);
}

#[test]
fn the_client_memory_budget_triggers_an_emergency_shutdown() {
    let mut config = cluster_config(2, Routing::RoundRobin);
    config.memory_budget_bytes = 400_000;
    let mut rig = ClusterRig::new(config, 1);
    rig.tick(0);
    rig.ping(Route::Server(ServerId(1))).unwrap();
    rig.flood(ServerId(0), 5_000);
    let emergency = rig
        .outputs
        .iter()
        .find(|o| matches!(o, ClusterOutput::EmergencyShutdown { .. }));
    assert!(
        emergency.is_some(),
        "{:?}",
        rig.outputs.iter().rev().take(3).collect::<Vec<_>>()
    );
    assert!(
        rig.logs
            .iter()
            .any(|r| r.message.contains("emergency shutdown"))
    );
    assert_eq!(rig.ping(Route::Any).unwrap_err(), AmiError::ShuttingDown);
    assert!(rig.cluster.heap_size() <= 400_000);
}

#[test]
fn configuration_errors_are_typed() {
    use apn_ami_core::cluster::{Cluster, ClusterConfig, ClusterConfigError};
    let t0 = frames::epoch();
    assert_eq!(
        Cluster::new(ClusterConfig::new(Vec::new()), 1, t0).unwrap_err(),
        ClusterConfigError::NoServers
    );
    let mut twice = cluster_config(2, Routing::RoundRobin);
    twice.servers[1].session.server_key = twice.servers[0].session.server_key.clone();
    assert_eq!(
        Cluster::new(twice, 1, t0).unwrap_err(),
        ClusterConfigError::DuplicateKey("pbx0".to_owned())
    );
    let mut breaker = cluster_config(1, Routing::RoundRobin);
    breaker.breaker.failure_threshold = 0;
    assert_eq!(
        Cluster::new(breaker, 1, t0).unwrap_err(),
        ClusterConfigError::Breaker
    );
    let mut backoff = cluster_config(1, Routing::RoundRobin);
    backoff.backoff.factor = 0;
    assert_eq!(
        Cluster::new(backoff, 1, t0).unwrap_err(),
        ClusterConfigError::Backoff
    );
    let mut session = cluster_config(1, Routing::RoundRobin);
    session.servers[0].session.event_queue_capacity = 0;
    assert!(matches!(
        Cluster::new(session, 1, t0).unwrap_err(),
        ClusterConfigError::Session { index: 0, .. }
    ));
}

/// Random histories, seeded: servers flip between up, refusing and mute,
/// time jumps, actions go out by every route. No action is ever dispatched
/// to a server that was not healthy at that moment, a refusal happens only
/// when it must, and every submitted action ends exactly once.
#[test]
fn random_histories_never_dispatch_to_an_ineligible_server() {
    use std::collections::HashMap;

    use apn_ami_core::health::SeededRng;

    for seed in 0..150 {
        let mut draw = SeededRng::new(seed);
        let servers = 2 + usize::try_from(draw.up_to(4)).unwrap();
        let routing = match draw.up_to(2) {
            0 => Routing::RoundRobin,
            1 => Routing::Sticky,
            _ => Routing::Failover((0..servers).rev().collect()),
        };
        let mut rig = ClusterRig::new(cluster_config(servers, routing), seed);
        rig.tick(0);
        let mut submitted = Vec::new();
        for _ in 0..120 {
            match draw.up_to(9) {
                0 | 1 => {
                    let server = usize::try_from(draw.up_to(servers as u64 - 1)).unwrap();
                    rig.behaviour[server] = match draw.up_to(2) {
                        0 => Behaviour::Up,
                        1 => Behaviour::Refuse,
                        _ => Behaviour::Mute,
                    };
                    if draw.up_to(1) == 0 {
                        let now = rig.now();
                        rig.cluster.handle_disconnected(ServerId(server), now);
                        rig.pump();
                    }
                }
                2 | 3 => {
                    let until = rig.ms + draw.up_to(20_000);
                    rig.run_until(until);
                }
                _ => {
                    let snapshot = healthy(&rig);
                    let target = usize::try_from(draw.up_to(servers as u64)).unwrap();
                    let key = draw.next_u64().to_be_bytes();
                    let route = match draw.up_to(2) {
                        0 => Route::Any,
                        1 => Route::Key(&key),
                        _ => Route::Server(ServerId(target)),
                    };
                    match rig.ping(route) {
                        Ok(handle) => {
                            assert!(
                                snapshot[handle.server.unwrap().0],
                                "seed {seed}: sent to unhealthy {:?}",
                                handle.server
                            );
                            submitted.push(handle);
                        }
                        Err(AmiError::NoHealthyServer) => {
                            assert!(
                                !snapshot.contains(&true),
                                "seed {seed}: refused with {snapshot:?}"
                            );
                        }
                        Err(AmiError::UnknownServer { .. }) => assert_eq!(target, servers),
                        Err(AmiError::ServerUnavailable | AmiError::CircuitOpen) => {
                            assert!(!snapshot[target], "seed {seed}: healthy {target} refused");
                        }
                        Err(other) => panic!("seed {seed}: {other}"),
                    }
                }
            }
        }
        let end = rig.ms + 120_000;
        rig.run_until(end);
        let mut endings: HashMap<_, usize> = HashMap::new();
        for (handle, _) in &rig.completed {
            *endings.entry(*handle).or_default() += 1;
        }
        for handle in &submitted {
            assert_eq!(
                endings.get(handle),
                Some(&1),
                "seed {seed}: {handle:?} ended {:?} times",
                endings.get(handle)
            );
        }
        assert_eq!(
            endings.len(),
            submitted.len(),
            "seed {seed}: no ending without a submission"
        );
    }
}
