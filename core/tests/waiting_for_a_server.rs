//! Actions submitted while no server can take them wait in the cluster, in
//! one bounded queue, for the first server that becomes eligible, whichever
//! it is, and each ends exactly once: answered there, at its own deadline,
//! refused when the queue is full, or at a shutdown.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;

use std::time::Duration;

use apn_ami_core::cluster::{ClusterHandle, Route, Routing, ServerId};
use apn_ami_core::connection::SubmitOptions;
use apn_ami_core::correlation::{AmiError, Bound};
use apn_ami_core::protocol::Action;
use cluster_rig::{Behaviour, ClusterRig, cluster_config};

fn waiting(timeout: Option<Duration>) -> SubmitOptions {
    SubmitOptions {
        wait_for_server: Some(true),
        timeout,
        ..SubmitOptions::default()
    }
}

fn submit_waiting(
    rig: &mut ClusterRig,
    name: &str,
    route: Route<'_>,
    timeout: Option<Duration>,
) -> Result<ClusterHandle, AmiError> {
    let now = rig.now();
    let result = rig
        .cluster
        .submit(Action::new(name).unwrap(), route, waiting(timeout), now);
    rig.pump();
    result
}

/// Finishes the connect of a server held under way: it logs in, then
/// behaves as `behaviour` says.
fn come_up_as(rig: &mut ClusterRig, server: ServerId, behaviour: Behaviour) {
    let now = rig.now();
    rig.behaviour[server.0] = behaviour;
    rig.cluster.handle_connected(server, now);
    rig.cluster
        .handle_input(server, b"Asterisk Call Manager/11.0.0\r\n", now);
    rig.pump();
}

fn come_up(rig: &mut ClusterRig, server: ServerId) {
    come_up_as(rig, server, Behaviour::Up);
}

#[test]
fn waiting_actions_go_to_whichever_server_logs_in_first_in_order() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::RoundRobin), 11);
    rig.behaviour = vec![Behaviour::Hold; 3];
    rig.tick(0);
    let names = ["A", "B", "C", "D", "E", "F"];
    let handles: Vec<ClusterHandle> = names
        .iter()
        .map(|name| submit_waiting(&mut rig, name, Route::Any, None).expect("it waits"))
        .collect();
    assert!(
        handles.iter().all(|handle| handle.server.is_none()),
        "no server was chosen: {handles:?}"
    );
    assert!(rig.completed.is_empty());
    rig.tick(1_000);
    // Only server 2 comes up; servers 0 and 1 stay connecting for good.
    come_up(&mut rig, ServerId(2));
    let answers: Vec<(ClusterHandle, String)> = rig
        .completed
        .iter()
        .map(|(handle, result)| (*handle, result.clone().expect("answered")))
        .collect();
    let expected: Vec<(ClusterHandle, String)> = handles
        .iter()
        .zip(names)
        .map(|(handle, name)| (*handle, format!("Success {name} done on pbx2")))
        .collect();
    assert_eq!(answers, expected, "all on the first server up, in order");
    let text = rig.cluster.metrics_text();
    assert!(text.contains("ami_waiting_actions 0\n"), "{text}");
    assert!(text.contains(
        "ami_routed_actions_total{server_key=\"pbx2\",server_host=\"127.0.0.1:5040\"} 6"
    ));
}

#[test]
fn a_keyed_waiting_action_goes_where_its_key_goes_once_servers_are_up() {
    let mut rig = ClusterRig::new(cluster_config(3, Routing::Sticky), 5);
    rig.behaviour = vec![Behaviour::Hold; 3];
    rig.tick(0);
    let key: &[u8] = b"PJSIP/alice";
    let handle = submit_waiting(&mut rig, "Hangup", Route::Key(key), None).unwrap();
    for server in 0..3 {
        come_up(&mut rig, ServerId(server));
    }
    assert_eq!(rig.completed.len(), 1);
    assert_eq!(rig.completed[0].0, handle);
    let first = rig.completed[0].1.clone().unwrap();
    // The key now routes somewhere fixed; the waiting action went to a
    // server that was up when it left the queue: the first one.
    assert_eq!(first, "Success Hangup done on pbx0");
    let sticky = rig.ping(Route::Key(key)).unwrap();
    assert!(sticky.server.is_some());
}

#[test]
fn a_waiting_action_keeps_its_whole_deadline_and_latency_across_the_wait() {
    let mut rig = ClusterRig::new(cluster_config(1, Routing::RoundRobin), 3);
    rig.behaviour[0] = Behaviour::Hold;
    rig.tick(0);
    let handle =
        submit_waiting(&mut rig, "Ping", Route::Any, Some(Duration::from_secs(10))).unwrap();
    rig.tick(4_000);
    // Up after 4 s, but it never answers anything but the login.
    come_up_as(&mut rig, ServerId(0), Behaviour::Mute);
    assert!(rig.completed.is_empty());
    rig.run_until(9_999);
    assert!(rig.completed.is_empty(), "6 s of its 10 s were left");
    rig.run_until(10_000);
    assert_eq!(rig.completed.len(), 1);
    assert_eq!(rig.completed[0].0, handle);
    assert_eq!(
        rig.completed[0].1,
        Err(AmiError::Timeout {
            after: Duration::from_secs(10)
        }),
        "its own limit, not what was left of it"
    );
    let latency = rig.outputs.iter().find_map(|output| match output {
        apn_ami_core::cluster::ClusterOutput::Completed {
            latency, server, ..
        } => Some((*latency, *server)),
        _ => None,
    });
    assert_eq!(
        latency,
        Some((Duration::from_secs(10), Some(ServerId(0)))),
        "from submission, not from leaving the queue"
    );
}

#[test]
fn waiting_actions_end_once_at_their_own_deadlines_in_the_cluster() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 8);
    rig.behaviour = vec![Behaviour::Refuse; 2];
    rig.tick(0);
    let short = submit_waiting(&mut rig, "Ping", Route::Any, Some(Duration::from_secs(2)));
    let long = submit_waiting(&mut rig, "Ping", Route::Any, Some(Duration::from_secs(5)));
    let default = submit_waiting(&mut rig, "Ping", Route::Any, None);
    rig.run_until(120_000);
    let endings: Vec<_> = rig
        .outputs
        .iter()
        .filter_map(|output| match output {
            apn_ami_core::cluster::ClusterOutput::Completed {
                handle,
                server,
                result,
                latency,
            } => Some((*handle, *server, result.clone().err(), *latency)),
            _ => None,
        })
        .collect();
    let timeout = |secs| {
        Some(AmiError::Timeout {
            after: Duration::from_secs(secs),
        })
    };
    // The default limit is the servers' `action_timeout` (30 s here).
    assert_eq!(
        endings,
        vec![
            (short.unwrap(), None, timeout(2), Duration::from_secs(2)),
            (long.unwrap(), None, timeout(5), Duration::from_secs(5)),
            (default.unwrap(), None, timeout(30), Duration::from_secs(30)),
        ]
    );
    let text = rig.cluster.metrics_text();
    assert!(text.contains("ami_wait_timeouts_total 3\n"), "{text}");
    assert!(
        rig.logs
            .iter()
            .any(|r| r.message.contains("deadline while waiting"))
    );
    assert_eq!(
        rig.cluster.poll_timeout().map(|_| ()),
        Some(()),
        "reconnects go on"
    );
}

#[test]
fn the_queue_of_waiting_actions_is_bounded_and_its_bytes_are_counted() {
    let mut config = cluster_config(1, Routing::RoundRobin);
    config.max_waiting_actions = 3;
    let mut rig = ClusterRig::new(config, 2);
    rig.behaviour[0] = Behaviour::Hold;
    rig.tick(0);
    let empty = rig.cluster.heap_size();
    for _ in 0..3 {
        submit_waiting(&mut rig, "Ping", Route::Any, None).expect("room left");
    }
    let ping_bytes = "Action: Ping\r\n\r\n".len();
    assert!(
        rig.cluster.heap_size() >= empty + 3 * ping_bytes,
        "waiting actions hold bytes: {} with them, {empty} without",
        rig.cluster.heap_size()
    );
    assert_eq!(
        submit_waiting(&mut rig, "Ping", Route::Any, None),
        Err(AmiError::Rejected {
            bound: Bound::WaitingForServer,
            depth: 3,
            limit: 3
        })
    );
    let text = rig.cluster.metrics_text();
    assert!(text.contains("ami_waiting_actions 3\n"), "{text}");
    assert!(text.contains("ami_wait_refused_total 1\n"), "{text}");
    come_up(&mut rig, ServerId(0));
    assert_eq!(rig.completed.len(), 3);
    assert!(rig.completed.iter().all(|(_, result)| result.is_ok()));
    let text = rig.cluster.metrics_text();
    assert!(text.contains("ami_waiting_actions 0\n"), "{text}");
}

#[test]
fn a_shutdown_ends_every_waiting_action_once() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 6);
    rig.behaviour = vec![Behaviour::Hold; 2];
    rig.tick(0);
    let empty = rig.cluster.heap_size();
    let handles: Vec<_> = (0..4)
        .map(|_| submit_waiting(&mut rig, "Ping", Route::Any, None).unwrap())
        .collect();
    let now = rig.now();
    rig.cluster.shutdown(now);
    rig.pump();
    let ended: Vec<_> = rig
        .completed
        .iter()
        .map(|(handle, result)| (*handle, result.clone()))
        .collect();
    let expected: Vec<_> = handles
        .iter()
        .map(|handle| (*handle, Err(AmiError::ShuttingDown)))
        .collect();
    assert_eq!(ended, expected);
    assert_eq!(rig.cluster.heap_size(), empty, "their bytes are given back");
    rig.run_until(60_000);
    assert_eq!(rig.completed.len(), 4, "nothing ends twice");
}

#[test]
fn fail_fast_stays_the_default_and_one_server_routes_wait_on_that_server() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 7);
    rig.behaviour = vec![Behaviour::Hold; 2];
    rig.tick(0);
    assert_eq!(rig.ping(Route::Any), Err(AmiError::NoHealthyServer));
    // Waiting for one named server waits for that server only.
    let handle = submit_waiting(&mut rig, "Ping", Route::Server(ServerId(1)), None).unwrap();
    assert_eq!(handle.server, Some(ServerId(1)));
    come_up(&mut rig, ServerId(0));
    assert!(
        rig.completed.is_empty(),
        "server 0 is not the one it asked for"
    );
    come_up(&mut rig, ServerId(1));
    assert_eq!(rig.completed.len(), 1);
    assert_eq!(
        rig.completed[0].1.as_deref(),
        Ok("Success Ping done on pbx1")
    );
}

#[test]
fn a_waiting_action_its_server_refuses_ends_once_with_the_refusal() {
    let mut config = cluster_config(1, Routing::RoundRobin);
    config.servers[0].session.registry.max_pending = 2;
    let mut rig = ClusterRig::new(config, 12);
    rig.behaviour[0] = Behaviour::Hold;
    rig.tick(0);
    let handles: Vec<_> = (0..3)
        .map(|_| submit_waiting(&mut rig, "Ping", Route::Any, None).unwrap())
        .collect();
    // Logged in but silent: the first two stay pending, the third finds
    // the server's pending bound full.
    come_up_as(&mut rig, ServerId(0), Behaviour::Mute);
    let ended: Vec<_> = rig
        .outputs
        .iter()
        .filter_map(|output| match output {
            apn_ami_core::cluster::ClusterOutput::Completed {
                handle,
                server,
                result,
                ..
            } => Some((*handle, *server, result.clone().err())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        vec![(
            handles[2],
            Some(ServerId(0)),
            Some(AmiError::Rejected {
                bound: Bound::PendingActions,
                depth: 2,
                limit: 2
            })
        )]
    );
}
