//! The client on tokio's paused clock over in-memory fake nodes: timeouts,
//! heartbeats and backoff, deterministic and without real waiting.

use std::time::Duration;

use apn_ami_sim::NodeConfig;
use apn_ami_tokio::memory::{FakeCluster, FakeNode};
use apn_ami_tokio::{
    Action, AmiError, Client, ClientConfig, Failure, HealthState, NotReady, Secret, ServerSettings,
    SubmitOptions, Target,
};
use tokio::time::Instant;

fn server(key: &str) -> ServerSettings {
    ServerSettings::new(key, "fake", 5038, "app", Secret::new("s3cret"))
}

fn node() -> FakeNode {
    FakeNode::new(NodeConfig::new("app", "s3cret"), 7)
}

fn start(config: &ClientConfig, nodes: &[(&str, &FakeNode)]) -> Client {
    let fakes = nodes.iter().fold(FakeCluster::new(), |fakes, (key, node)| {
        fakes.with_node(key, (*node).clone())
    });
    Client::start_with(config, fakes.shared()).expect("a valid configuration")
}

fn ping() -> Action {
    Action::new("Ping").expect("a valid action")
}

async fn health_of(client: &Client) -> HealthState {
    client.health().await[0].health
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_action_times_out_at_its_own_deadline() {
    let node = node();
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(1);
    let client = start(&config, &[("a", &node)]);
    client.ready().await.expect("logged in");
    node.with(|fake| fake.config_mut().answer_delay = Duration::from_secs(60));
    let started = Instant::now();
    let options = SubmitOptions {
        timeout: Some(Duration::from_secs(2)),
        ..SubmitOptions::default()
    };
    let result = client.send_with(ping(), Target::Any, options).await;
    assert_eq!(
        result.map(|r| r.is_success()),
        Err(AmiError::Timeout {
            after: Duration::from_secs(2)
        })
    );
    // Virtual time: exactly the deadline, whatever the machine's load.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert!(
        client
            .metrics_text()
            .await
            .contains("outcome=\"timeout\"} 1")
    );
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_muted_node_goes_degraded_then_is_reset_and_reconnected() {
    let node = node();
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(2);
    config.session.heartbeat_interval = Some(Duration::from_secs(10));
    config.session.heartbeat_timeout = Some(Duration::from_secs(2));
    config.session.heartbeat_max_misses = Some(2);
    let client = start(&config, &[("a", &node)]);
    client.ready().await.expect("logged in");
    assert_eq!(health_of(&client).await, HealthState::Healthy);

    node.with(|fake| fake.config_mut().mute = true);
    // The first ping goes out at 10 s and is missed at 12 s.
    tokio::time::sleep(Duration::from_secs(13)).await;
    assert_eq!(health_of(&client).await, HealthState::Degraded);
    assert_eq!(
        client.send(ping()).await.map(|r| r.is_success()),
        Err(AmiError::NoHealthyServer),
        "nothing is routed to a degraded server"
    );

    // The second ping (20 s) is missed at 22 s: the connection is reset,
    // and the reconnect comes after a jittered 250-500 ms. The node answers
    // again by then.
    tokio::time::sleep(Duration::from_millis(9_100)).await;
    assert_eq!(node.stats().connections, 1);
    assert_ne!(health_of(&client).await, HealthState::Healthy);
    node.with(|fake| fake.config_mut().mute = false);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(health_of(&client).await, HealthState::Healthy);
    assert_eq!(node.stats().connections, 2);
    assert!(client.send(ping()).await.expect("answered").is_success());
    let metrics = client.metrics_text().await;
    assert!(metrics.contains("ami_reconnects_total{server_key=\"a\",server_host=\"fake:5038\"} 1"));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reconnects_back_off_with_jitter_and_never_hammer() {
    let node = node();
    node.refuse_connections(true);
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(3);
    config.reconnect.breaker_failures = Some(1000);
    let client = start(&config, &[("a", &node)]);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let attempts = node.attempts();
    let gaps: Vec<Duration> = attempts.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(gaps.len() >= 6, "attempts: {}", attempts.len());
    // Attempt n waits in [d/2, d], d = min(30 s, 500 ms · 2ⁿ).
    for (attempt, gap) in gaps.iter().enumerate() {
        let upper = Duration::from_millis(500)
            .saturating_mul(1 << attempt.min(16))
            .min(Duration::from_secs(30));
        assert!(
            *gap >= upper / 2 && *gap <= upper,
            "attempt {attempt}: waited {gap:?}, expected within [{:?}, {upper:?}]",
            upper / 2
        );
    }
    let status = &client.health().await[0];
    assert!(matches!(status.last_error, Some(Failure::Refused { .. })));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_wrong_secret_is_a_typed_error_and_retries_are_paced() {
    let node = FakeNode::new(NodeConfig::new("app", "the-real-one"), 4);
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(4);
    let client = start(&config, &[("a", &node)]);
    match client.ready().await {
        Err(NotReady::AllFailed(reasons)) => assert_eq!(
            reasons,
            vec![(
                "a".to_owned(),
                Failure::Authentication {
                    message: "Authentication failed".to_owned()
                }
            )]
        ),
        other => panic!("expected an authentication failure, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    let attempts = node.attempts();
    assert!(
        attempts
            .windows(2)
            .all(|pair| pair[1] - pair[0] >= Duration::from_millis(100))
    );
    // About 1 s per refusal plus a growing backoff and, after 5 failures,
    // the breaker's cool-down: far from a tight loop.
    assert!(attempts.len() <= 12, "{} attempts in 60 s", attempts.len());
    assert_eq!(node.stats().logins, 0);
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_shuts_the_client_down_with_a_logoff() {
    let node = node();
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(5);
    let client = start(&config, &[("a", &node)]);
    client.ready().await.expect("logged in");
    drop(client);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(node.stats().logoffs, 1);
}

#[tokio::test(start_paused = true)]
async fn lists_resolve_with_their_items_and_a_huge_one_stops_at_its_cap() {
    let mut list = NodeConfig::new("app", "s3cret");
    list.list_items = 25;
    let node = FakeNode::new(list, 6);
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(6);
    config.session.max_list_items = Some(10);
    let client = start(&config, &[("a", &node)]);
    client.ready().await.expect("logged in");
    let status = Action::new("Status").expect("valid");
    assert_eq!(
        client.send(status).await.map(|r| r.items().len()),
        Err(AmiError::ListTooLong {
            max_items: 10,
            max_bytes: apn_ami_core::correlation::DEFAULT_MAX_LIST_BYTES
        })
    );
    node.with(|fake| fake.config_mut().list_items = 10);
    let channels = Action::new("CoreShowChannels").expect("valid");
    let response = client.send(channels).await.expect("answered");
    assert_eq!(response.items().len(), 10);
    // The capped list's tail was drained, not taken for another answer.
    assert!(client.send(ping()).await.expect("answered").is_success());
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn actions_sent_at_start_wait_for_the_first_login_then_fail_fast_after() {
    let node = node();
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(3);
    let client = start(&config, &[("a", &node)]);
    // No ready() first: sent the moment the client exists.
    let answers = futures_join(&client).await;
    assert!(
        answers
            .iter()
            .all(|r| r.as_ref().is_ok_and(apn_ami_tokio::Response::is_success)),
        "{answers:?}"
    );

    // Once it has been up, an unavailable server is an error at once.
    node.refuse_connections(true);
    node.drop_connection();
    for _ in 0..100 {
        if health_of(&client).await != HealthState::Healthy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    assert_eq!(
        client.send(ping()).await.map(|r| r.is_success()),
        Err(AmiError::NoHealthyServer)
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "no waiting");
    client.shutdown().await;
}

async fn futures_join(client: &Client) -> Vec<Result<apn_ami_tokio::Response, AmiError>> {
    let sends: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(ping()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for send in sends {
        answers.push(send.await.expect("the task ran"));
    }
    answers
}

/// A flood of `calls` generated calls (five events each) on a node whose
/// client hands events over 1,000 at a time and keeps at most 1,000 waiting
/// (more than one 64 KiB read of the socket brings): the events the node
/// sends.
async fn flooded(seed: u64, calls: u64) -> (FakeNode, Client, apn_ami_tokio::EventStream, u64) {
    let node = node();
    let mut config = ClientConfig::new(vec![server("a")]);
    config.seed = Some(seed);
    config.session.event_queue_capacity = Some(1000);
    config.event_batch = Some(1000);
    let client = start(&config, &[("a", &node)]);
    client.ready().await.expect("logged in");
    let events = client.events().expect("the one stream");
    node.with(|fake| fake.generate_calls(calls));
    // Five events a call, and FullyBooted at login.
    (node, client, events, calls * 5 + 1)
}

/// Takes every event handed over by now, without waiting for more.
fn take_ready(events: &mut apn_ami_tokio::EventStream) -> u64 {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut taken = 0;
    while let std::task::Poll::Ready(Some(_)) = events.poll_event(&mut cx) {
        taken += 1;
    }
    taken
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_runs_only_now_and_then_loses_nothing_while_it_keeps_up() {
    // The consumer runs every millisecond (tokio's timers tick by the
    // millisecond) and takes all it is handed, like a thread the operating
    // system schedules beside the driver's on one core; in between, the
    // node has far more for the driver than the queue holds. The driver
    // waits for the consumer (up to its read pause, 5 ms) instead of
    // reading on and dropping what the consumer would have taken.
    let (_node, client, mut events, sent) = flooded(8, 800).await;
    let started = Instant::now();
    let mut delivered = 0;
    while delivered < sent && started.elapsed() < Duration::from_secs(10) {
        delivered += take_ready(&mut events);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(client.health().await[0].dropped_events, 0);
    assert_eq!(delivered, sent);
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_takes_nothing_delays_a_response_by_a_few_read_pauses_at_most() {
    // Events are never taken: reading goes on after each pause, dropping
    // the oldest, and the Ping's answer behind the flood still comes.
    let (_node, client, _events, sent) = flooded(9, 400).await;
    let started = Instant::now();
    assert!(client.send(ping()).await.expect("answered").is_success());
    let waited = started.elapsed();
    assert!(waited > Duration::ZERO, "the full hand-off held reading");
    assert!(waited <= Duration::from_millis(30), "{waited:?}");
    let status = &client.health().await[0];
    assert!(status.dropped_events > 0 && status.dropped_events < sent);
    client.shutdown().await;
}
