//! The conformance suite every runtime passes: the client over real
//! loopback TCP against `TcpNode`, a fake Asterisk on a real socket. Each
//! test is an `async fn` generic over a [`Runtime`]; the
//! [`conformance_suite!`](crate::conformance_suite) macro makes `#[test]`s
//! of all of them for one runtime, so a runtime joins with one line.

// Each test panics when a promise is broken: that is how it fails.
#![allow(clippy::missing_panics_doc)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::net::SocketAddr;
use std::path::PathBuf;

use apn_ami_client::{
    Auth, Client, ClientConfig, ConfigError, Failure, NotReady, ServerSettings, TlsSettings,
};
use apn_ami_core::correlation::AmiError;
use apn_ami_core::health::HealthState;
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::{Action, Frame};
use apn_ami_sim::{CommandFormat, NodeConfig, SharedNode, TcpNode};

use crate::tls_front::{authority, ca_file, tls_front};

/// A boxed future the suite awaits.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the suite needs of a runtime.
pub trait Runtime: 'static {
    /// Runs a test to its end on this runtime.
    fn block_on<F: Future<Output = ()> + Send + 'static>(test: F);
    /// Starts a client on this runtime (the runtime's own `Client::start`).
    ///
    /// # Errors
    /// As the runtime's `Client::start`.
    fn start(config: &ClientConfig) -> Result<Client, ConfigError>;
    /// Starts a client on this runtime whose servers are in-memory fake
    /// nodes, by server key (the runtime's own in-memory connector).
    ///
    /// # Errors
    /// As the runtime's `Client::start_with`.
    fn start_in_memory(
        config: &ClientConfig,
        nodes: &[(&str, SharedNode)],
    ) -> Result<Client, ConfigError>;
    /// Runs `task` concurrently; the future ends with its output.
    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> BoxFuture<T>;
    /// Waits `duration` on the runtime's clock.
    fn sleep(duration: Duration) -> BoxFuture<()>;
    /// `future`'s output, or `None` after `limit`.
    fn timeout<T: Send + 'static>(
        limit: Duration,
        future: impl Future<Output = T> + Send,
    ) -> impl Future<Output = Option<T>> + Send {
        async move {
            let future = std::pin::pin!(future);
            let sleep = Self::sleep(limit);
            match futures_util::future::select(future, sleep).await {
                futures_util::future::Either::Left((output, _)) => Some(output),
                futures_util::future::Either::Right(((), _)) => None,
            }
        }
    }
}

/// Makes a `#[test]` of every conformance test for one runtime:
/// `apn_ami_conformance::conformance_suite!(tokio, TokioRuntime);`
#[macro_export]
macro_rules! conformance_suite {
    ($module:ident, $runtime:ty) => {
        mod $module {
            // The runtime type is named where the macro is called.
            #[allow(unused_imports)]
            use super::*;
            use $crate::runtime_suite as suite;
            $crate::conformance_suite!(@tests $runtime;
                plain_and_md5_logins_and_a_wrong_secret,
                ten_thousand_actions_with_a_hundred_in_flight_each_get_their_own_answer,
                both_command_formats_give_the_same_lines_and_lists_give_their_items,
                a_node_killed_mid_traffic_fails_its_pending_actions_and_traffic_resumes_after_restart,
                a_graceful_shutdown_lets_pending_actions_end_then_logs_off,
                a_refused_connection_names_the_address,
                a_slow_application_loses_the_oldest_events_counted_exactly_and_pings_are_answered,
                a_waiting_consumer_is_woken_for_each_event_of_a_trickle,
                tls_with_the_right_ca_logs_in_and_a_wrong_ca_is_refused_with_a_typed_error,
                an_unreadable_ca_file_is_a_config_error_naming_the_field,
                an_unanswered_action_times_out_once_at_its_own_deadline,
                a_signal_is_known_by_the_time_the_event_stream_ends,
                in_memory_nodes_serve_the_client_through_a_crash,
                actions_sent_at_start_go_to_the_first_server_up,
            );
        }
    };
    (@tests $runtime:ty; $($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                <$runtime as suite::Runtime>::block_on(suite::$test::<$runtime>());
            }
        )*
    };
}

/// A server entry for a `TcpNode` with the nodes' usual credentials.
fn server(key: &str, node: &TcpNode, auth: Auth) -> ServerSettings {
    let address = node.address();
    let mut settings = ServerSettings::new(
        key,
        &address.ip().to_string(),
        address.port(),
        "app",
        Secret::new("s3cret"),
    );
    settings.auth = auth;
    settings
}

fn ping() -> Action {
    Action::new("Ping").expect("a valid action")
}

fn command(text: &str) -> Action {
    Action::builder("Command")
        .header("Command", text)
        .build()
        .expect("a valid action")
}

/// Waits (up to 20 s of real time) until `key` has `health`.
async fn wait_until<R: Runtime>(client: &Client, key: &str, health: HealthState) {
    for _ in 0..2000 {
        let statuses = client.health().await;
        if statuses
            .iter()
            .any(|status| status.key == key && status.health == health)
        {
            return;
        }
        R::sleep(Duration::from_millis(10)).await;
    }
    panic!("{key} never became {health:?}: {:?}", client.health().await);
}

/// The sum of a metric's samples whose labels contain `label`.
fn metric(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|line| {
            line.starts_with(name) && line[name.len()..].starts_with('{') && line.contains(label)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Conformance test `plain_and_md5_logins_and_a_wrong_secret`.
pub async fn plain_and_md5_logins_and_a_wrong_secret<R: Runtime>() {
    let plain = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 1).expect("node");
    let md5 = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 2).expect("node");
    let mut config = ClientConfig::new(vec![
        server("plain", &plain, Auth::Plain),
        server("md5", &md5, Auth::Md5),
    ]);
    config.seed = Some(11);
    let client = R::start(&config).expect("valid");
    for key in ["plain", "md5"] {
        wait_until::<R>(&client, key, HealthState::Healthy).await;
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
    let client = R::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    match client.ready().await {
        Err(NotReady::AllFailed(reasons)) => assert_eq!(
            reasons[0].1,
            Failure::Authentication {
                message: "Authentication failed".to_owned()
            }
        ),
        other => panic!("expected an authentication failure, got {other:?}"),
    }
    // Never logged in: by default an action waits for a server up to its
    // own timeout; fail-fast is asked for explicitly.
    let waiting = apn_ami_core::connection::SubmitOptions {
        timeout: Some(Duration::from_millis(300)),
        ..apn_ami_core::connection::SubmitOptions::default()
    };
    assert_eq!(
        client
            .send_with(ping(), apn_ami_client::Target::Any, waiting)
            .await
            .map(|r| r.is_success()),
        Err(AmiError::Timeout {
            after: Duration::from_millis(300)
        })
    );
    let fail_fast = apn_ami_core::connection::SubmitOptions {
        wait_for_server: Some(false),
        ..apn_ami_core::connection::SubmitOptions::default()
    };
    assert_eq!(
        client
            .send_with(ping(), apn_ami_client::Target::Any, fail_fast)
            .await
            .map(|r| r.is_success()),
        Err(AmiError::NoHealthyServer)
    );
    client.shutdown().await;
    assert_eq!(node.stop().expect("node thread").logins, 0);
}

/// Conformance test `ten_thousand_actions_with_a_hundred_in_flight_each_get_their_own_answer`.
pub async fn ten_thousand_actions_with_a_hundred_in_flight_each_get_their_own_answer<R: Runtime>() {
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 4).expect("node");
    let client = R::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    client.ready().await.expect("logged in");
    let mut workers = Vec::new();
    for worker in 0..100 {
        let client = client.clone();
        workers.push(R::spawn(async move {
            for round in 0..100 {
                let tag = format!("echo {worker}-{round}");
                let response = client.send(command(&tag)).await.expect("answered");
                let first = response.output_lines().next().map(<[u8]>::to_vec);
                assert_eq!(first, Some(format!("{tag}: line 1").into_bytes()));
            }
        }));
    }
    for worker in workers {
        worker.await;
    }
    let metrics = client.metrics_text().await;
    assert_eq!(
        metric(&metrics, "ami_actions_total", "outcome=\"success\""),
        10_000
    );
    client.shutdown().await;
    assert_eq!(node.stop().expect("node thread").actions, 10_000 + 2 + 1);
}

/// Conformance test `both_command_formats_give_the_same_lines_and_lists_give_their_items`.
pub async fn both_command_formats_give_the_same_lines_and_lists_give_their_items<R: Runtime>() {
    let mut legacy = NodeConfig::new("app", "s3cret");
    legacy.command_format = CommandFormat::Legacy;
    legacy.list_items = 7;
    let legacy = TcpNode::spawn(legacy, 5).expect("node");
    let modern = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 6).expect("node");
    let client = R::start(&ClientConfig::new(vec![
        server("legacy", &legacy, Auth::Md5),
        server("modern", &modern, Auth::Plain),
    ]))
    .expect("valid");
    wait_until::<R>(&client, "legacy", HealthState::Healthy).await;
    wait_until::<R>(&client, "modern", HealthState::Healthy).await;
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

/// Conformance test `a_node_killed_mid_traffic_fails_its_pending_actions_and_traffic_resumes_after_restart`.
pub async fn a_node_killed_mid_traffic_fails_its_pending_actions_and_traffic_resumes_after_restart<
    R: Runtime,
>() {
    let mut slow = NodeConfig::new("app", "s3cret");
    slow.answer_delay = Duration::from_millis(300);
    let node = TcpNode::spawn(slow.clone(), 7).expect("node");
    let address = node.address();
    let client = R::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    client.ready().await.expect("logged in");
    let in_flight: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            R::spawn(async move { client.send(ping()).await })
        })
        .collect();
    wait_for_pending::<R>(&client, 20).await;
    node.stop().expect("node thread");
    for action in in_flight {
        assert_eq!(
            action.await.map(|r| r.is_success()),
            Err(AmiError::ConnectionLost)
        );
    }
    let status = &client.health().await[0];
    assert_ne!(status.health, HealthState::Healthy);

    slow.answer_delay = Duration::ZERO;
    let restarted = TcpNode::spawn_at(address, slow, 8).expect("the same port again");
    wait_until::<R>(&client, "a", HealthState::Healthy).await;
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

/// Conformance test `a_graceful_shutdown_lets_pending_actions_end_then_logs_off`.
pub async fn a_graceful_shutdown_lets_pending_actions_end_then_logs_off<R: Runtime>() {
    let mut slow = NodeConfig::new("app", "s3cret");
    slow.answer_delay = Duration::from_millis(200);
    let node = TcpNode::spawn(slow, 9).expect("node");
    let client = R::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    client.ready().await.expect("logged in");
    let in_flight: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            R::spawn(async move { client.send(ping()).await })
        })
        .collect();
    wait_for_pending::<R>(&client, 10).await;
    client.shutdown().await;
    for action in in_flight {
        assert!(action.await.expect("answered in the grace").is_success());
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

/// Conformance test `in_memory_nodes_serve_the_client_through_a_crash`:
/// the runtime's in-memory connector serves the real client (actions, a
/// crash and the reconnect, the logoff at shutdown) with no socket.
pub async fn in_memory_nodes_serve_the_client_through_a_crash<R: Runtime>() {
    let node = SharedNode::new(NodeConfig::new("app", "s3cret"), 7);
    let settings = ServerSettings::new("mem", "fake", 5038, "app", Secret::new("s3cret"));
    let client = R::start_in_memory(&ClientConfig::new(vec![settings]), &[("mem", node.clone())])
        .expect("valid");
    client.ready().await.expect("logged in");
    for _ in 0..100 {
        assert!(client.send(ping()).await.expect("answered").is_success());
    }
    node.drop_connection();
    let mut answered_again = false;
    for _ in 0..100 {
        if let Some(Ok(response)) = R::timeout(Duration::from_secs(1), client.send(ping())).await {
            answered_again = response.is_success();
            if answered_again {
                break;
            }
        }
        R::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered_again, "the client reconnected to the node");
    assert_eq!(node.stats().connections, 2);
    client.shutdown().await;
    assert_eq!(node.stats().logoffs, 1);
}

/// Conformance test `actions_sent_at_start_go_to_the_first_server_up`: an
/// application sends at once, without `ready()`, while one of two servers
/// refuses connections; every action waits in the client and is answered by
/// the server that comes up, none by the one that does not.
pub async fn actions_sent_at_start_go_to_the_first_server_up<R: Runtime>() {
    let down = SharedNode::new(NodeConfig::new("app", "s3cret"), 1);
    down.refuse_connections(true);
    let up = SharedNode::new(NodeConfig::new("app", "s3cret"), 2);
    let settings = ["down", "up"]
        .map(|key| ServerSettings::new(key, "fake", 5038, "app", Secret::new("s3cret")));
    let mut config = ClientConfig::new(settings.to_vec());
    config.session.action_timeout = Some(Duration::from_secs(60));
    let client =
        R::start_in_memory(&config, &[("down", down.clone()), ("up", up.clone())]).expect("valid");
    let sends: Vec<_> = (0..40)
        .map(|_| {
            let client = client.clone();
            R::spawn(async move { client.send(ping()).await })
        })
        .collect();
    for send in sends {
        let answered = R::timeout(Duration::from_secs(20), send)
            .await
            .expect("answered long before its own deadline")
            .expect("answered");
        assert!(answered.is_success());
    }
    assert!(up.stats().actions > 40, "the login and the 40 pings");
    assert_eq!(down.stats().connections, 0);
    assert!(
        client
            .metrics_text()
            .await
            .contains("ami_waiting_actions 0\n")
    );
    client.shutdown().await;
}

/// Conformance test `a_refused_connection_names_the_address`.
pub async fn a_refused_connection_names_the_address<R: Runtime>() {
    // Bind and release a port: nothing listens there afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let settings = ServerSettings::new("gone", "127.0.0.1", port, "app", Secret::new("s3cret"));
    let client = R::start(&ClientConfig::new(vec![settings])).expect("valid");
    let error = client.ready().await.expect_err("nothing listens");
    assert_eq!(
        error.to_string(),
        format!(
            "no server is ready: gone: connection refused by 127.0.0.1:{port} (is Asterisk's manager enabled on that port?)"
        )
    );
    client.shutdown().await;
}

async fn wait_for_pending<R: Runtime>(client: &Client, count: usize) {
    for _ in 0..1000 {
        if client.health().await[0].pending >= count {
            return;
        }
        R::sleep(Duration::from_millis(2)).await;
    }
    panic!("the actions never became pending");
}

/// Conformance test `a_slow_application_loses_the_oldest_events_counted_exactly_and_pings_are_answered`.
pub async fn a_slow_application_loses_the_oldest_events_counted_exactly_and_pings_are_answered<
    R: Runtime,
>() {
    const BURSTS: u64 = 30;
    const CALLS_PER_BURST: u64 = 200;
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 10).expect("node");
    let mut config = ClientConfig::new(vec![server("a", &node, Auth::Md5)]);
    config.session.event_queue_capacity = Some(200);
    config.event_batch = Some(50);
    let client = R::start(&config).expect("valid");
    client.ready().await.expect("logged in");
    let mut events = client.events().expect("the one stream");
    assert!(client.events().is_err(), "one consumer per client");

    let pinger = {
        let client = client.clone();
        R::spawn(async move {
            for _ in 0..50 {
                assert!(client.send(ping()).await.expect("answered").is_success());
                R::sleep(Duration::from_millis(5)).await;
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
        match R::timeout(Duration::from_millis(20), events.next()).await {
            Some(Some(event)) => {
                delivered += 1;
                calls_seen.extend(call_number(event.frame()));
                R::sleep(Duration::from_millis(1)).await;
            }
            Some(None) => panic!("the stream ended while the client runs"),
            None => {
                dropped = metric(&client.metrics_text().await, "ami_dropped_events_total", "");
                if node.stats().events == sent && delivered + dropped >= sent {
                    break;
                }
            }
        }
    }
    pinger.await;
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
    // The server's status counts the same drops as the metrics.
    assert_eq!(client.health().await[0].dropped_events, dropped);
    // Oldest first: what arrives is in order, and the newest call is kept.
    assert!(calls_seen.windows(2).all(|pair| pair[0] <= pair[1]));
    assert_eq!(calls_seen.last(), Some(&(BURSTS * CALLS_PER_BURST)));
    client.shutdown().await;
    node.stop().expect("node thread");
}

/// Conformance test `a_waiting_consumer_is_woken_for_each_event_of_a_trickle`.
///
/// The driver wakes the consumer once events gather or it goes idle (not
/// on every read); a trickle must still reach a consumer that only waits.
/// Each wait is one poll plus the polls its wakes cause: a wake left out
/// shows as a wait that runs to its (generous) limit, and the limit is
/// looked at first when both are ready.
pub async fn a_waiting_consumer_is_woken_for_each_event_of_a_trickle<R: Runtime>() {
    async fn woken<R: Runtime, T>(future: impl Future<Output = T>) -> Option<T> {
        let future = std::pin::pin!(future);
        let limit = R::sleep(Duration::from_secs(20));
        match futures_util::future::select(limit, future).await {
            futures_util::future::Either::Left(((), _)) => None,
            futures_util::future::Either::Right((output, _)) => Some(output),
        }
    }
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 11).expect("node");
    let client = R::start(&ClientConfig::new(vec![server("a", &node, Auth::Md5)])).expect("valid");
    let mut events = client.events().expect("the one stream");
    let booted = woken::<R, _>(events.next()).await.flatten();
    assert!(booted.is_some(), "FullyBooted reached the waiting consumer");
    for call in 1..=3 {
        node.control(|fake| fake.generate_calls(1));
        for event in 0..5 {
            let next = woken::<R, _>(events.next()).await.flatten();
            let next = next.unwrap_or_else(|| panic!("event {event} of call {call} never woke"));
            assert_eq!(call_number(next.frame()), Some(call));
        }
    }
    client.shutdown().await;
    node.stop().expect("node thread");
}

/// The call a generated event belongs to (its `Uniqueid` suffix).
fn call_number(frame: &Frame) -> Option<u64> {
    let uniqueid = frame.get("uniqueid")?.to_string();
    uniqueid.rsplit('.').next()?.parse().ok()
}

fn tls_server(front: SocketAddr, ca: PathBuf) -> ServerSettings {
    let mut server = ServerSettings::new(
        "tls",
        "127.0.0.1",
        front.port(),
        "app",
        Secret::new("s3cret"),
    );
    server.tls = Some(TlsSettings {
        ca_file: Some(ca),
        server_name: Some("localhost".to_owned()),
    });
    server
}

/// Conformance test `tls_with_the_right_ca_logs_in_and_a_wrong_ca_is_refused_with_a_typed_error`.
pub async fn tls_with_the_right_ca_logs_in_and_a_wrong_ca_is_refused_with_a_typed_error<
    R: Runtime,
>() {
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 21).expect("node");
    let ca = authority();
    let front = tls_front(&ca, node.address());

    let right = ca_file("right", &ca.pem);
    let client =
        R::start(&ClientConfig::new(vec![tls_server(front, right.clone())])).expect("valid");
    client.ready().await.expect("logged in over TLS");
    assert!(client.send(ping()).await.expect("answered").is_success());
    client.shutdown().await;

    let wrong = ca_file("wrong", &authority().pem);
    let client =
        R::start(&ClientConfig::new(vec![tls_server(front, wrong.clone())])).expect("valid");
    match client.ready().await {
        Err(NotReady::AllFailed(reasons)) => match &reasons[0].1 {
            Failure::Tls { reason, .. } => {
                // Both CAs carry rcgen's default name, so rustls finds the
                // issuer by name and refuses its signature.
                assert!(reason.starts_with("invalid peer certificate"), "{reason}");
            }
            other => panic!("expected a TLS failure, got {other:?}"),
        },
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    client.shutdown().await;
    for path in [right, wrong] {
        std::fs::remove_file(path).expect("remove the CA file");
    }
    assert_eq!(node.stop().expect("node thread").logins, 1);
}

/// Conformance test `an_unreadable_ca_file_is_a_config_error_naming_the_field`.
// Every suite test has the same shape, awaited by the macro's `block_on`.
#[allow(clippy::unused_async)]
pub async fn an_unreadable_ca_file_is_a_config_error_naming_the_field<R: Runtime>() {
    let server = tls_server(
        "127.0.0.1:5039".parse().expect("address"),
        PathBuf::from("/nonexistent/ca.pem"),
    );
    let error = R::start(&ClientConfig::new(vec![server])).expect_err("no CA file");
    let text = error.to_string();
    assert!(
        text.starts_with("server `tls`: field `tls.ca_file`: /nonexistent/ca.pem"),
        "{text}"
    );
}

/// Conformance test `an_unanswered_action_times_out_once_at_its_own_deadline`.
pub async fn an_unanswered_action_times_out_once_at_its_own_deadline<R: Runtime>() {
    let mut slow = NodeConfig::new("app", "s3cret");
    slow.answer_delay = Duration::from_secs(3);
    let node = TcpNode::spawn(slow, 31).expect("node");
    let mut config = ClientConfig::new(vec![server("a", &node, Auth::Plain)]);
    config.session.login_timeout = Some(Duration::from_secs(10));
    let client = R::start(&config).expect("valid");
    client.ready().await.expect("logged in, late");
    let options = apn_ami_core::connection::SubmitOptions {
        timeout: Some(Duration::from_millis(200)),
        ..apn_ami_core::connection::SubmitOptions::default()
    };
    let result = client
        .send_with(ping(), apn_ami_client::Target::Any, options)
        .await;
    assert_eq!(
        result.map(|response| response.is_success()),
        Err(AmiError::Timeout {
            after: Duration::from_millis(200)
        })
    );
    let metrics = client.metrics_text().await;
    assert_eq!(
        metric(&metrics, "ami_actions_total", "outcome=\"timeout\""),
        1
    );
    // The late answer, when it comes, resolves nothing twice.
    R::sleep(Duration::from_secs(3)).await;
    let metrics = client.metrics_text().await;
    assert_eq!(metric(&metrics, "ami_actions_total", ""), 1);
    client.shutdown().await;
    node.stop().expect("node thread");
}

/// Conformance test `a_signal_is_known_by_the_time_the_event_stream_ends`.
///
/// An application that stops reading when its stream ends and then asks
/// "was it a signal?" must get the signal: the answer is set before the
/// shutdown starts, never raced against the signal task being scheduled.
/// (The CLI's `events` once exited 0 instead of 143 on SIGTERM this way.)
pub async fn a_signal_is_known_by_the_time_the_event_stream_ends<R: Runtime>() {
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 41).expect("node");
    for round in 0..20 {
        let client =
            R::start(&ClientConfig::new(vec![server("a", &node, Auth::Plain)])).expect("valid");
        client.ready().await.expect("logged in");
        let mut events = client.events().expect("first taker");
        let (fire, fired) = futures_channel::oneshot::channel::<u32>();
        let seen = apn_ami_client::SignalSeen::default();
        let watcher = R::spawn(client.downgrade().shutdown_after(fired, seen.clone()));
        assert_eq!(seen.received(), None, "round {round}: nothing yet");
        fire.send(round).expect("the watcher waits");
        while events.next().await.is_some() {}
        assert_eq!(seen.received(), Some(round), "round {round}");
        let refused = client.send(ping()).await;
        assert!(
            matches!(refused, Err(AmiError::ShuttingDown)),
            "round {round}: a send after the signal is refused: {refused:?}"
        );
        drop(client);
        assert_eq!(watcher.await, Some(round));
    }
    let stats = node.stop().expect("node thread");
    assert_eq!((stats.logins, stats.logoffs), (20, 20));
}
