//! Three workers over twelve fake Asterisk servers (real TCP), through a
//! real `nats-server` with JetStream started by the test on a loopback
//! port: every server owned exactly once, events of all twelve in
//! JetStream with nothing lost and nothing duplicated, actions answered by
//! the owning worker, a worker killed has its servers taken over, a worker
//! added takes its share, NATS restarted is recovered from, and after each
//! of these every server's events arrive again, once each.
//!
//! Skipped, saying so, when `nats-server` is not installed (`.ci/run`
//! installs it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use apn_ami_bridge::local_nats::LocalNats;
use apn_ami_bridge::ownership::preferred;
use apn_ami_bridge::request::{Destination, RequestError, Requester};
use apn_ami_bridge::wire::{ActionRequest, ErrorKind};
use apn_ami_bridge::{BridgeConfig, run};
use apn_ami_sim::{NodeConfig, TcpNode};
use apn_ami_tokio::{ClientConfig, Secret, ServerSettings};
use async_nats::jetstream;
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SERVERS: usize = 12;
const CALLS: u64 = 20;
/// The workers' lease: a dead worker's servers move about this late.
const LEASE: Duration = Duration::from_secs(4);

fn client_config(nodes: &[TcpNode]) -> ClientConfig {
    let servers = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let address = node.address();
            ServerSettings::new(
                &format!("pbx-{n}"),
                &address.ip().to_string(),
                address.port(),
                "app",
                Secret::new("s3cret"),
            )
        })
        .collect();
    let mut config = ClientConfig::new(servers);
    config.session.action_timeout = Some(Duration::from_secs(5));
    config
}

struct Worker {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn worker(url: &str, id: &str, client: &ClientConfig) -> Worker {
    let nats = async_nats::connect(url).await.expect("NATS");
    let mut config = BridgeConfig::new("test", id, client.clone());
    config.lease_ttl = LEASE;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        run(config, nats, async {
            let _either = stopped.await;
        })
        .await
        .expect("the worker runs");
    });
    Worker {
        stop: Some(stop),
        task,
    }
}

/// The holder of every lease, once all twelve are held.
async fn owners(js: &jetstream::Context) -> Option<BTreeMap<String, String>> {
    let leases = js.get_key_value("ami_test_leases").await.ok()?;
    let mut holders = BTreeMap::new();
    for n in 0..SERVERS {
        let key = format!("pbx-{n}");
        let value = leases.get(&key).await.ok()??;
        holders.insert(key, String::from_utf8_lossy(&value).into_owned());
    }
    Some(holders)
}

/// Waits until every lease is held by the worker rendezvous hashing
/// prefers among `live`, and gives the holders.
async fn wait_for_layout(
    js: &jetstream::Context,
    live: &[&str],
    within: Duration,
) -> BTreeMap<String, String> {
    let live_set: BTreeSet<String> = live.iter().map(|w| (*w).to_owned()).collect();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let holders = owners(js).await.filter(|holders| {
            holders
                .iter()
                .all(|(server, holder)| preferred(server, &live_set) == Some(holder.as_str()))
        });
        if let Some(holders) = holders {
            return holders;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the servers did not settle on {live:?} within {within:?}: {:?}",
            owners(js).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many messages the events stream holds.
async fn stored_count(js: &jetstream::Context) -> u64 {
    let mut stream = js.get_stream("AMI_TEST_EVENTS").await.expect("the stream");
    stream.info().await.expect("stream info").state.messages
}

/// Every event in the stream: (server, message id, Uniqueid and name).
async fn stored_events(
    js: &jetstream::Context,
    client: &async_nats::Client,
) -> Vec<(String, String, String)> {
    let count = stored_count(js).await;
    let stream = js.get_stream("AMI_TEST_EVENTS").await.expect("the stream");
    let consumer = stream
        .create_consumer(jetstream::consumer::push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..jetstream::consumer::push::OrderedConfig::default()
        })
        .await
        .expect("a consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::new();
    while (out.len() as u64) < count {
        let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_secs(5), messages.next()).await
        else {
            break;
        };
        let headers = message.headers.clone().unwrap_or_default();
        let server = headers
            .get("Ami-Server")
            .map(ToString::to_string)
            .unwrap_or_default();
        let id = headers
            .get("Nats-Msg-Id")
            .map(ToString::to_string)
            .unwrap_or_default();
        let json: serde_json::Value = serde_json::from_slice(&message.payload).expect("JSON");
        let uniqueid = json["headers"]
            .as_array()
            .and_then(|pairs| pairs.iter().find(|pair| pair[0] == "uniqueid"))
            .map(|pair| pair[1].to_string())
            .unwrap_or_default();
        out.push((server, id, format!("{uniqueid} {}", json["event"])));
    }
    out
}

async fn request(client: &async_nats::Client, subject: &str, body: &str) -> serde_json::Value {
    let reply = client
        .request(subject.to_owned(), body.to_owned().into())
        .await
        .expect("a reply");
    serde_json::from_slice(&reply.payload).expect("JSON")
}

/// Waits until every node has exactly one live session (its owner's),
/// and says so.
async fn wait_for_one_session_each(nodes: &[TcpNode]) {
    for _ in 0..100 {
        if nodes.iter().all(|node| {
            let stats = node.stats();
            stats.logins - stats.logoffs == 1
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (n, node) in nodes.iter().enumerate() {
        let stats = node.stats();
        assert_eq!(stats.logins - stats.logoffs, 1, "pbx-{n}: {stats:?}");
    }
}

/// Generated calls on every node arrive in JetStream once each; `round`
/// counts the rounds of calls so far, this one included.
async fn check_events(
    js: &jetstream::Context,
    client: &async_nats::Client,
    nodes: &[TcpNode],
    round: usize,
) {
    wait_for_one_session_each(nodes).await;
    let before = stored_count(js).await;
    for node in nodes {
        node.control(|fake| fake.generate_calls(CALLS));
    }
    let per_server = usize::try_from(CALLS).expect("small") * 5;
    let fresh = u64::try_from(SERVERS * per_server).expect("small");
    for _ in 0..150 {
        if stored_count(js).await >= before + fresh {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls: Vec<_> = stored_events(js, client)
        .await
        .into_iter()
        .filter(|(_, _, what)| !what.contains("FullyBooted"))
        .collect();
    let expected = SERVERS * per_server * round;
    assert_eq!(
        calls.len(),
        expected,
        "every call event stored (round {round})"
    );
    let distinct: BTreeSet<_> = calls
        .iter()
        .map(|(server, _, what)| (server, what))
        .collect();
    assert_eq!(
        distinct.len(),
        expected,
        "nothing duplicated (round {round})"
    );
    for n in 0..SERVERS {
        let key = format!("pbx-{n}");
        let of_server = calls.iter().filter(|(server, _, _)| *server == key).count();
        assert_eq!(of_server, per_server * round, "{key} (round {round})");
    }
}

/// Requests to one server are answered by its owner; `any` by someone;
/// a request that would inject a header is refused.
async fn check_actions(client: &async_nats::Client, holders: &BTreeMap<String, String>) {
    // Actions: answered by the owner, for one server and for any.
    for n in [0, 5, 11] {
        let key = format!("pbx-{n}");
        let reply = request(
            client,
            &format!("ami.test.actions.{key}"),
            r#"{"action":"Ping"}"#,
        )
        .await;
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(reply["worker"], holders[&key].as_str(), "{reply}");
        assert_eq!(reply["server"], key.as_str());
    }
    let reply = request(client, "ami.test.actions.any", r#"{"action":"Ping"}"#).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let reply = request(
        client,
        "ami.test.actions.pbx-1",
        r#"{"action":"Ping","headers":[["X","a\r\nAction: Logoff"]]}"#,
    )
    .await;
    assert_eq!(reply["error"]["kind"], "bad_request", "{reply}");

    // The same through the typed requester.
    let requester = Requester::new(client.clone(), "test");
    let ping = ActionRequest::new("Ping");
    let reply = requester
        .send(Destination::Server("pbx-7"), &ping, Duration::from_secs(5))
        .await
        .expect("answered");
    assert_eq!(
        (reply.server.as_str(), reply.worker.as_str()),
        ("pbx-7", holders["pbx-7"].as_str())
    );
    assert!(reply.is_success(), "{reply:?}");
    assert_eq!(reply.header("Ping"), Some("Pong"));
    let hangup = ActionRequest::new("Hangup");
    let reply = requester
        .send(Destination::Any, &hangup, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(
        !reply.is_success(),
        "an Error response is a reply: {reply:?}"
    );
    let bad = ActionRequest::new("Ping").header("X", "1\r\nAction: Logoff");
    assert!(matches!(
        requester
            .send(Destination::Server("pbx-1"), &bad, Duration::from_secs(5))
            .await,
        Err(RequestError::Refused {
            kind: ErrorKind::BadRequest,
            ..
        })
    ));
    // Nobody owns a server that is not in the cluster: told at once.
    assert_eq!(
        requester
            .send(
                Destination::Server("pbx-99"),
                &ping,
                Duration::from_secs(30)
            )
            .await,
        Err(RequestError::NoSuchServer {
            server: "pbx-99".to_owned()
        })
    );
    // No worker at all in a cluster: told at once too.
    assert_eq!(
        Requester::new(client.clone(), "nobody")
            .send(Destination::Server("pbx-1"), &ping, Duration::from_secs(30))
            .await,
        Err(RequestError::NoWorker {
            cluster: "nobody".to_owned()
        })
    );
}

/// Until a dead worker's lease expires, its server is between owners, and
/// a request says so, naming the holder (the lease outlives the kill by at
/// least 3/4 of it; a first try may still reach the dead subscription and
/// time out).
async fn between_owners_says_so(client: &async_nats::Client, victim: &str) {
    let requester = Requester::new(client.clone(), "test");
    let mut between = None;
    for _ in 0..2 {
        match requester
            .send(
                Destination::Server("pbx-0"),
                &ActionRequest::new("Ping"),
                Duration::from_secs(1),
            )
            .await
        {
            Err(RequestError::Timeout(_)) => {}
            other => {
                between = Some(other);
                break;
            }
        }
    }
    assert_eq!(
        between,
        Some(Err(RequestError::NotOwned {
            server: "pbx-0".to_owned(),
            holder: Some(victim.to_owned())
        }))
    );
}

/// NATS restarts: the workers reconnect and every server is owned and
/// answering again; JetStream on a new connection is returned.
async fn survive_a_nats_restart(
    nats: &mut LocalNats,
    client: &async_nats::Client,
    nodes: &[TcpNode],
    live: &[&str],
) -> jetstream::Context {
    // Away for longer than a lease: every worker logs its sessions off
    // by itself, so no server can be owned twice when NATS is back.
    let requester = Requester::new(client.clone(), "test");
    // A request out when NATS goes away ends at once as lost, not at its
    // limit: pbx-2 is slow to answer, so the request is still waiting.
    // (Answered well before the workers log off, 3/4 of a lease after
    // they lose NATS; applied by the node within a few milliseconds.)
    nodes[2].control(|fake| fake.config_mut().answer_delay = Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let in_flight = {
        let requester = Requester::new(client.clone(), "test");
        tokio::spawn(async move {
            let ping = ActionRequest::new("Ping");
            let limit = Duration::from_secs(60);
            requester
                .send(Destination::Server("pbx-2"), &ping, limit)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.stop();
    let lost = tokio::time::timeout(Duration::from_secs(5), in_flight).await;
    assert_eq!(
        lost.expect("ended within seconds").expect("the task"),
        Err(RequestError::NatsLost)
    );
    nodes[2].control(|fake| fake.config_mut().answer_delay = Duration::ZERO);
    // A requester whose connection is down is told so, without waiting
    // for the action's limit.
    for _ in 0..100 {
        if client.connection_state() != async_nats::connection::State::Connected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        requester
            .send(
                Destination::Server("pbx-2"),
                &ActionRequest::new("Ping"),
                Duration::from_secs(60)
            )
            .await,
        Err(RequestError::NatsUnavailable)
    );
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
    for (n, node) in nodes.iter().enumerate() {
        let stats = node.stats();
        assert_eq!(
            stats.logins, stats.logoffs,
            "pbx-{n} still has a session: {stats:?}"
        );
    }
    nats.start_again().await;
    let client = async_nats::connect(&nats.url()).await.expect("NATS again");
    let js = jetstream::new(client.clone());
    wait_for_layout(&js, live, Duration::from_secs(30)).await;
    let mut answered = false;
    for _ in 0..50 {
        let reply = client
            .request(
                "ami.test.actions.pbx-3".to_owned(),
                r#"{"action":"Ping"}"#.into(),
            )
            .await;
        if let Ok(reply) = reply {
            let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("JSON");
            if reply["ok"] == true {
                answered = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(answered, "actions are answered after NATS came back");
    for (n, node) in nodes.iter().enumerate() {
        let stats = node.stats();
        assert!(stats.logins - stats.logoffs <= 1, "pbx-{n}: {stats:?}");
    }

    js
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_twelve_servers_and_carry_their_events_and_actions() {
    let Some(mut nats) = LocalNats::start().await else {
        eprintln!("SKIPPED: nats-server is not installed");
        return;
    };
    let nodes: Vec<TcpNode> = (0..SERVERS)
        .map(|n| TcpNode::spawn(NodeConfig::new("app", "s3cret"), n as u64).expect("a node"))
        .collect();
    let config = client_config(&nodes);
    let mut workers = BTreeMap::new();
    for id in ["w1", "w2", "w3"] {
        workers.insert(id, worker(&nats.url(), id, &config).await);
    }
    let client = async_nats::connect(&nats.url()).await.expect("NATS");
    let js = jetstream::new(client.clone());

    // Every server owned once, by the worker rendezvous hashing prefers;
    // each worker has a share.
    let holders = wait_for_layout(&js, &["w1", "w2", "w3"], Duration::from_secs(20)).await;
    let shares: BTreeSet<&String> = holders.values().collect();
    assert_eq!(shares.len(), 3, "every worker took a share: {holders:?}");
    // Each node has exactly one live session: workers that joined later
    // took servers over, and every handover logged off first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (n, node) in nodes.iter().enumerate() {
        let stats = node.stats();
        assert_eq!(
            stats.logins - stats.logoffs,
            1,
            "pbx-{n}: {stats:?} {holders:?}"
        );
    }

    check_events(&js, &client, &nodes, 1).await;

    check_actions(&client, &holders).await;

    // The fleet's health, as `bridge status` shows it.
    let fleet = apn_ami_bridge::status::fleet(&js, "test")
        .await
        .expect("health");
    assert_eq!(
        fleet
            .iter()
            .map(|worker| worker.servers.len())
            .sum::<usize>(),
        SERVERS,
        "{fleet:?}"
    );

    // A worker dies without a goodbye: its servers go to the others, and
    // nothing else moves.
    let victim = holders["pbx-0"].clone();
    let dead = workers.remove(victim.as_str()).expect("a worker");
    let started = tokio::time::Instant::now();
    dead.task.abort();
    let _ended = dead.task.await;
    between_owners_says_so(&client, &victim).await;
    let survivors: Vec<&str> = workers.keys().copied().collect();
    let after = wait_for_layout(&js, &survivors, LEASE * 4).await;
    eprintln!("taken over in {:?}", started.elapsed());
    for (key, holder) in &holders {
        if *holder != victim {
            assert_eq!(&after[key], holder, "{key} stayed where it was");
        }
    }
    let reply = request(&client, "ami.test.actions.pbx-0", r#"{"action":"Ping"}"#).await;
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(
        reply["worker"],
        after["pbx-0"].as_str(),
        "the new owner answers"
    );
    // Events resume on the servers taken over (and go on elsewhere).
    check_events(&js, &client, &nodes, 2).await;

    // A worker joins: it takes the servers it now ranks first, and only
    // those move.
    workers.insert("w4", worker(&nats.url(), "w4", &config).await);
    let mut live: Vec<&str> = workers.keys().copied().collect();
    live.sort_unstable();
    let joined = wait_for_layout(&js, &live, Duration::from_secs(15)).await;
    for (key, holder) in &joined {
        if holder != "w4" {
            assert_eq!(holder, &after[key], "{key} moved between old workers");
        }
    }
    // The servers it took carry their events on, and the others too.
    check_events(&js, &client, &nodes, 3).await;

    let js = survive_a_nats_restart(&mut nats, &client, &nodes, &live).await;
    // Events flow again after NATS's restart.
    let client = async_nats::connect(&nats.url()).await.expect("NATS again");
    check_events(&js, &client, &nodes, 4).await;

    // A clean stop gives every lease back.
    for (_, mut worker) in workers {
        if let Some(stop) = worker.stop.take() {
            let _sent = stop.send(());
        }
        worker.task.await.expect("stopped");
    }
    assert!(owners(&js).await.is_none(), "leases given back");
}
