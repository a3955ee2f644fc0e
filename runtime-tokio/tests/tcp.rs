//! The client over real loopback TCP against `TcpNode`, a fake Asterisk
//! on a real socket.

mod support;

use std::time::Duration;

use apn_ami_sim::{CommandFormat, NodeConfig, TcpNode};
use apn_ami_tokio::{
    Action, AmiError, Auth, Client, ClientConfig, Failure, HealthState, NotReady, Secret,
};
use support::{command, metric, ping, server, wait_until};

#[tokio::test]
async fn plain_and_md5_logins_and_a_wrong_secret() {
    let plain = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 1).expect("node");
    let md5 = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 2).expect("node");
    let mut config = ClientConfig::new(vec![
        server("plain", &plain, Auth::Plain),
        server("md5", &md5, Auth::Md5),
    ]);
    config.seed = Some(11);
    let client = Client::start(&config).expect("valid");
    for key in ["plain", "md5"] {
        wait_until(&client, key, HealthState::Healthy).await;
        let pong = client.send_to(key, ping()).await.expect("answered");
        assert!(pong.is_success());
        assert_eq!(
            pong.frame().get("ping").map(|v| v.to_string()),
            Some("Pong".to_owned())
        );
    }
    client.shutdown().await;
    for node in [plain, md5] {
        let stats = node.stop().expect("node thread");
        assert_eq!(
            (stats.logins, stats.logoffs, stats.actions_before_login),
            (1, 1, 0)
        );
    }

    let mut refusing = NodeConfig::new("app", "the-real-one");
    refusing.login_failure_delay = Duration::from_millis(20);
    let node = TcpNode::spawn(refusing, 3).expect("node");
    let client =
        Client::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    match client.ready().await {
        Err(NotReady::AllFailed(reasons)) => assert_eq!(
            reasons[0].1,
            Failure::Authentication {
                message: "Authentication failed".to_owned()
            }
        ),
        other => panic!("expected an authentication failure, got {other:?}"),
    }
    assert_eq!(
        client.send(ping()).await.map(|r| r.is_success()),
        Err(AmiError::NoHealthyServer)
    );
    client.shutdown().await;
    assert_eq!(node.stop().expect("node thread").logins, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_actions_with_a_hundred_in_flight_each_get_their_own_answer() {
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 4).expect("node");
    let client =
        Client::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    client.ready().await.expect("logged in");
    let mut workers = Vec::new();
    for worker in 0..100 {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            for round in 0..100 {
                let tag = format!("echo {worker}-{round}");
                let response = client.send(command(&tag)).await.expect("answered");
                let first = response.output_lines().next().map(<[u8]>::to_vec);
                assert_eq!(first, Some(format!("{tag}: line 1").into_bytes()));
            }
        }));
    }
    for worker in workers {
        worker.await.expect("no worker panicked");
    }
    let metrics = client.metrics_text().await;
    assert_eq!(
        metric(&metrics, "ami_actions_total", "outcome=\"success\""),
        10_000
    );
    client.shutdown().await;
    assert_eq!(node.stop().expect("node thread").actions, 10_000 + 2 + 1);
}

#[tokio::test]
async fn both_command_formats_give_the_same_lines_and_lists_give_their_items() {
    let mut legacy = NodeConfig::new("app", "s3cret");
    legacy.command_format = CommandFormat::Legacy;
    legacy.list_items = 7;
    let legacy = TcpNode::spawn(legacy, 5).expect("node");
    let modern = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 6).expect("node");
    let client = Client::start(&ClientConfig::new(vec![
        server("legacy", &legacy, Auth::Md5),
        server("modern", &modern, Auth::Plain),
    ]))
    .expect("valid");
    wait_until(&client, "legacy", HealthState::Healthy).await;
    wait_until(&client, "modern", HealthState::Healthy).await;
    let mut outputs = Vec::new();
    for key in ["legacy", "modern"] {
        let response = client
            .send_to(key, command("core show uptime"))
            .await
            .expect("answered");
        assert!(response.is_success());
        outputs.push(
            response
                .output_lines()
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0].len(), 2);

    let list = Action::new("CoreShowChannels").expect("valid");
    let channels = client.send_to("legacy", list).await.expect("answered");
    assert_eq!(channels.items().len(), 7);
    assert!(
        channels
            .items()
            .iter()
            .all(|item| item.first_value() == "CoreShowChannel")
    );
    let complete = channels.complete_event().expect("the list's end");
    assert_eq!(
        complete.get("listitems").map(|v| v.to_string()),
        Some("7".to_owned())
    );
    client.shutdown().await;
    legacy.stop().expect("node thread");
    modern.stop().expect("node thread");
}

#[tokio::test]
async fn a_node_killed_mid_traffic_fails_its_pending_actions_and_traffic_resumes_after_restart() {
    let mut slow = NodeConfig::new("app", "s3cret");
    slow.answer_delay = Duration::from_millis(300);
    let node = TcpNode::spawn(slow.clone(), 7).expect("node");
    let address = node.address();
    let client =
        Client::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    client.ready().await.expect("logged in");
    let in_flight: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(ping()).await })
        })
        .collect();
    wait_for_pending(&client, 20).await;
    node.stop().expect("node thread");
    for action in in_flight {
        assert_eq!(
            action.await.expect("no panic").map(|r| r.is_success()),
            Err(AmiError::ConnectionLost)
        );
    }
    let status = &client.health().await[0];
    assert_ne!(status.health, HealthState::Healthy);

    slow.answer_delay = Duration::ZERO;
    let restarted = TcpNode::spawn_at(address, slow, 8).expect("the same port again");
    wait_until(&client, "a", HealthState::Healthy).await;
    assert!(client.send(ping()).await.expect("answered").is_success());
    let metrics = client.metrics_text().await;
    assert_eq!(
        metric(&metrics, "ami_actions_total", "outcome=\"connection_lost\""),
        20
    );
    assert!(metric(&metrics, "ami_reconnects_total", "") >= 1);
    client.shutdown().await;
    assert_eq!(restarted.stop().expect("node thread").logins, 1);
}

#[tokio::test]
async fn a_graceful_shutdown_lets_pending_actions_end_then_logs_off() {
    let mut slow = NodeConfig::new("app", "s3cret");
    slow.answer_delay = Duration::from_millis(200);
    let node = TcpNode::spawn(slow, 9).expect("node");
    let client =
        Client::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    client.ready().await.expect("logged in");
    let in_flight: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(ping()).await })
        })
        .collect();
    wait_for_pending(&client, 10).await;
    client.shutdown().await;
    for action in in_flight {
        assert!(
            action
                .await
                .expect("no panic")
                .expect("answered in the grace")
                .is_success()
        );
    }
    assert_eq!(
        client.send(ping()).await.map(|r| r.is_success()),
        Err(AmiError::ShuttingDown)
    );
    assert!(client.health().await.is_empty(), "the driver has ended");
    let stats = node.stop().expect("node thread");
    assert_eq!(stats.logoffs, 1);
    assert_eq!(stats.actions, 10 + 2 + 1);
}

#[tokio::test]
async fn a_refused_connection_names_the_address() {
    // Bind and release a port: nothing listens there afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let settings =
        apn_ami_tokio::ServerSettings::new("gone", "127.0.0.1", port, "app", Secret::new("s3cret"));
    let client = Client::start(&ClientConfig::new(vec![settings])).expect("valid");
    let error = client.ready().await.expect_err("nothing listens");
    assert_eq!(
        error.to_string(),
        format!(
            "no server is ready: gone: connection refused by 127.0.0.1:{port} (is Asterisk's manager enabled on that port?)"
        )
    );
    client.shutdown().await;
}

async fn wait_for_pending(client: &Client, count: usize) {
    for _ in 0..1000 {
        if client.health().await[0].pending >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the actions never became pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_application_loses_the_oldest_events_counted_exactly_and_pings_are_answered() {
    const BURSTS: u64 = 30;
    const CALLS_PER_BURST: u64 = 200;
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 10).expect("node");
    let mut config = ClientConfig::new(vec![server("a", &node, Auth::Md5)]);
    config.session.event_queue_capacity = Some(200);
    config.event_batch = Some(50);
    let client = Client::start(&config).expect("valid");
    client.ready().await.expect("logged in");
    let mut events = client.events().expect("the one stream");
    assert!(client.events().is_err(), "one consumer per client");

    let pinger = {
        let client = client.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                assert!(client.send(ping()).await.expect("answered").is_success());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for _ in 0..BURSTS {
        node.control(|fake| fake.generate_calls(CALLS_PER_BURST));
    }
    // Slow: a millisecond per event while the node floods, until every
    // event the node sent has been delivered or dropped.
    let sent = BURSTS * CALLS_PER_BURST * 5 + 1; // the calls and FullyBooted
    let mut calls_seen = Vec::new();
    let (mut delivered, mut dropped) = (0u64, 0u64);
    for _ in 0..100_000 {
        match tokio::time::timeout(Duration::from_millis(20), events.next()).await {
            Ok(Some(event)) => {
                delivered += 1;
                calls_seen.extend(call_number(event.frame()));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(None) => panic!("the stream ended while the client runs"),
            Err(_quiet) => {
                dropped = metric(&client.metrics_text().await, "ami_dropped_events_total", "");
                if node.stats().events == sent && delivered + dropped >= sent {
                    break;
                }
            }
        }
    }
    pinger.await.expect("every ping answered");
    assert_eq!(node.stats().events, sent);
    assert_eq!(
        delivered + dropped,
        sent,
        "delivered {delivered}, dropped {dropped}"
    );
    assert!(
        dropped > 0,
        "the application was slow enough to make the queue drop"
    );
    // Oldest first: what arrives is in order, and the newest call is kept.
    assert!(calls_seen.windows(2).all(|pair| pair[0] <= pair[1]));
    assert_eq!(calls_seen.last(), Some(&(BURSTS * CALLS_PER_BURST)));
    client.shutdown().await;
    node.stop().expect("node thread");
}

/// The call a generated event belongs to (its `Uniqueid` suffix).
fn call_number(frame: &apn_ami_tokio::Frame) -> Option<u64> {
    let uniqueid = frame.get("uniqueid")?.to_string();
    uniqueid.rsplit('.').next()?.parse().ok()
}
