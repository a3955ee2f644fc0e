//! The built `apn-ami` binary against fake Asterisk nodes on real sockets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use apn_ami_sim::{CommandFormat, NodeConfig, TcpNode};
use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

const SECRET_VARIABLE: &str = "APN_AMI_TEST_SECRET";

fn node(format: CommandFormat) -> TcpNode {
    let mut config = NodeConfig::new("app", "s3cret");
    config.command_format = format;
    config.login_failure_delay = Duration::from_millis(50);
    TcpNode::spawn(config, 1).expect("a fake node")
}

/// `apn-ami <subcommand> --host … --port … --username app --secret-env …`.
fn cli(subcommand: &str, node: &TcpNode, secret: &str) -> Command {
    let mut command = Command::cargo_bin("apn-ami").expect("the binary is built");
    command
        .arg(subcommand)
        .args(["--host", "127.0.0.1", "--port"])
        .arg(node.address().port().to_string())
        .args([
            "--username",
            "app",
            "--secret-env",
            SECRET_VARIABLE,
            "--timeout",
            "5s",
        ])
        .env(SECRET_VARIABLE, secret);
    command
}

/// Kills a long-running child if the test fails before it ends it, so no
/// process outlives the test run.
struct KillOnDrop {
    pid: u32,
    ended: bool,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !self.ended {
            // Best effort: the child may have ended already.
            if Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status()
                .is_err()
            {}
        }
    }
}

/// Waits a little between two looks at another process (the real clock:
/// these tests drive real processes).
#[allow(clippy::disallowed_methods)]
fn pause(milliseconds: u64) {
    std::thread::sleep(Duration::from_millis(milliseconds));
}

/// Sends SIGTERM to a child, as a service manager would.
fn sigterm(pid: u32) {
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn header<'a>(pairs: &'a Value, key: &str) -> Option<&'a str> {
    pairs
        .as_array()?
        .iter()
        .find(|pair| pair[0] == key)
        .and_then(|pair| pair[1].as_str())
}

#[test]
fn action_prints_the_response_and_list_items_as_json_with_exit_codes() {
    let node = node(CommandFormat::Output);
    let (code, out, err) = run(cli("action", &node, "s3cret").arg("Ping"));
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(header(&json["response"], "ping"), Some("Pong"));

    let (code, out, err) = run(cli("action", &node, "s3cret").arg("CoreShowChannels"));
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let items = json["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(header(&items[0], "event"), Some("CoreShowChannel"));
    assert_eq!(header(&json["complete"], "listitems"), Some("3"));

    // An Error response: printed, exit 1.
    let (code, out, _) = run(cli("action", &node, "s3cret").arg("Hangup"));
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(
        header(&json["response"], "message"),
        Some("No channel specified")
    );

    // A wrong secret: exit 2, one line naming the user.
    let (code, out, err) = run(cli("action", &node, "wrong").arg("Ping"));
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err.trim(),
        "apn-ami: authentication failed for user 'app' (Authentication failed)"
    );
    node.stop().expect("node thread");

    // Nothing listening: exit 2, the address and a hint.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut command = Command::cargo_bin("apn-ami").expect("the binary is built");
    command
        .args(["action", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--username", "app", "--secret-env", SECRET_VARIABLE, "Ping"])
        .env(SECRET_VARIABLE, "s3cret");
    let (code, _, err) = run(&mut command);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        format!(
            "apn-ami: connection refused by 127.0.0.1:{port} (is Asterisk's manager enabled on that port?)"
        )
    );
}

#[test]
fn command_prints_the_same_lines_in_both_formats() {
    let legacy = node(CommandFormat::Legacy);
    let modern = node(CommandFormat::Output);
    let outputs: Vec<String> = [&legacy, &modern]
        .iter()
        .map(|node| {
            let (code, out, err) = run(cli("command", node, "s3cret").arg("core show uptime"));
            assert_eq!(code, 0, "{err}");
            out
        })
        .collect();
    assert_eq!(outputs[0], "core show uptime: line 1\nline 2\n");
    assert_eq!(outputs[0], outputs[1]);
    legacy.stop().expect("node thread");
    modern.stop().expect("node thread");
}

#[test]
fn events_prints_json_lines_and_sigterm_logs_off() {
    let node = node(CommandFormat::Output);
    let mut events = cli("events", &node, "s3cret")
        .args(["--count", "4", "--filter", "event=Newstate"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Calls once it has logged in, until it has its four Newstate events.
    for _ in 0..400 {
        if events.try_wait().expect("waitable").is_some() {
            break;
        }
        node.control(|fake| fake.generate_calls(1));
        pause(25);
    }
    let output = events.wait_with_output().expect("it ends after --count");
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert_eq!(line["server"], "cli");
        assert_eq!(line["event"], "Newstate");
        assert_eq!(
            header(&line["headers"], "channelstatedesc"),
            Some("Ringing")
        );
    }
    // The fake node's cp1251 caller name keeps its bytes, in hex.
    let names: Vec<&Value> = lines
        .iter()
        .filter_map(|line| {
            line["headers"]
                .as_array()?
                .iter()
                .find(|pair| pair[0] == "calleridname")
        })
        .collect();
    assert!(
        names.iter().any(|pair| pair[1]["hex"] == "cfe5f2f0"),
        "{names:?}"
    );

    // SIGTERM while streaming: a Logoff, then exit 143.
    let logoffs = node.stats().logoffs;
    let mut events = cli("events", &node, "s3cret")
        .stdout(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut guard = KillOnDrop {
        pid: events.id(),
        ended: false,
    };
    let logins = node.stats().logins;
    for _ in 0..400 {
        if node.stats().logins > logins {
            break;
        }
        pause(10);
    }
    sigterm(events.id());
    let status = events.wait().expect("it ends");
    guard.ended = true;
    assert_eq!(status.code(), Some(143));
    for _ in 0..100 {
        if node.stats().logoffs > logoffs {
            break;
        }
        pause(10);
    }
    assert_eq!(node.stats().logoffs, logoffs + 1, "the node saw a Logoff");
    node.stop().expect("node thread");
}

#[test]
fn the_demo_says_every_action_ended_exactly_once_and_serves_metrics_promtool_accepts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let demo = Command::cargo_bin("apn-ami")
        .expect("the binary is built")
        .args(["demo", "--seconds", "8", "--seed", "3", "--metrics-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut scraped = None;
    for _ in 0..200 {
        pause(50);
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .write_all(b"GET /metrics HTTP/1.0\r\nHost: demo\r\n\r\n")
                .expect("a request");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("a response");
            if response.contains("ami_actions_total") {
                scraped = Some(response);
                break;
            }
        }
    }
    let output = demo.wait_with_output().expect("the demo ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("every action ended exactly once"),
        "{stdout}"
    );
    let response = scraped.expect("/metrics answered during the demo");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers and a body");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let Ok(mut promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!(
            "SKIPPED: promtool is not installed (Debian package `prometheus`); .ci/run installs it"
        );
        return;
    };
    promtool
        .stdin
        .take()
        .expect("piped")
        .write_all(body.as_bytes())
        .expect("promtool reads");
    let checked = promtool.wait_with_output().expect("promtool runs");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn mock_server_serves_clients_and_logs_what_it_receives_with_secrets_masked() {
    use std::io::BufRead as _;
    let mut mock = Command::cargo_bin("apn-ami")
        .expect("the binary is built")
        .args([
            "mock-server",
            "--listen",
            "127.0.0.1:0",
            "--username",
            "app",
        ])
        .env("APN_AMI_MOCK_SECRET", "s3cret")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut guard = KillOnDrop {
        pid: mock.id(),
        ended: false,
    };
    let (lines, received) = std::sync::mpsc::channel();
    let stdout = mock.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let first = received
        .recv_timeout(Duration::from_secs(10))
        .expect("the mock prints its address");
    let port: u16 = first
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));

    let mut action = Command::cargo_bin("apn-ami").expect("the binary is built");
    action
        .args(["action", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--username", "app", "--secret-env", SECRET_VARIABLE, "Ping"])
        .env(SECRET_VARIABLE, "s3cret");
    let (code, out, err) = run(&mut action);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Pong"), "{out}");

    let mut log = Vec::new();
    while !log
        .iter()
        .any(|line: &String| line.starts_with("received: Logoff"))
    {
        let line = received
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("the mock logged {log:?}"));
        log.push(line);
    }
    let login = log
        .iter()
        .find(|line| line.starts_with("received: Login"))
        .expect("the login is logged");
    assert!(
        login.contains("username=app") && login.contains("secret=********"),
        "{login}"
    );
    assert!(!log.iter().any(|line| line.contains("s3cret")), "{log:?}");
    assert!(
        log.iter().any(|line| line.starts_with("received: Ping")),
        "{log:?}"
    );

    sigterm(mock.id());
    assert_eq!(mock.wait().expect("it ends").code(), Some(0));
    guard.ended = true;
}

#[test]
fn action_prints_an_old_queues_answer_as_its_lines() {
    let mut config = NodeConfig::new("app", "s3cret");
    config.queues_format = apn_ami_sim::QueuesFormat::Legacy;
    let node = TcpNode::spawn(config, 1).expect("a fake node");
    let (code, out, err) = run(cli("action", &node, "s3cret").arg("Queues"));
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let lines: Vec<&str> = json["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| line.as_str().expect("text"))
        .collect();
    let expected: Vec<&str> = apn_ami_sim::LEGACY_QUEUES
        .trim_end_matches("\r\n")
        .split("\r\n")
        .collect();
    assert_eq!(lines, expected);
    node.stop().expect("node thread");
}

#[test]
fn bridge_action_is_answered_by_a_worker_process_and_fails_fast_without_one() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let Some(mut nats) = runtime.block_on(apn_ami_bridge::local_nats::LocalNats::start()) else {
        eprintln!(
            "SKIPPED: nats-server is not installed (Debian package `nats-server`); .ci/run installs it"
        );
        return;
    };
    let node = node(CommandFormat::Output);
    let config =
        std::env::temp_dir().join(format!("apn-ami-cli-bridge-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "[[servers]]\nkey = \"pbx-0\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"app\"\nsecret_env = \"{SECRET_VARIABLE}\"\nauth = \"plain\"\n",
            node.address().port()
        ),
    )
    .expect("a config file");
    let url = nats.url();
    let bridge = |args: &[&str]| {
        let mut command = Command::cargo_bin("apn-ami").expect("the binary is built");
        command
            .args(["bridge", "--nats", &url, "--cluster", "cli"])
            .args(args)
            .env(SECRET_VARIABLE, "s3cret");
        command
    };
    let config_path = config.to_string_lossy().into_owned();
    let worker = bridge(&["--config", &config_path, "--worker", "w1", "--lease", "2s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the worker runs");
    let mut guard = KillOnDrop {
        pid: worker.id(),
        ended: false,
    };
    // Once the worker holds the lease, the owner answers.
    let mut answered = None;
    for _ in 0..100 {
        let (code, out, _) = run(&mut bridge(&["action", "--server", "pbx-0", "Ping"]));
        if code == 0 {
            answered = Some(out);
            break;
        }
        pause(100);
    }
    let out = answered.expect("the worker answers within 10 s");
    let json: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(
        (json["worker"].as_str(), json["server"].as_str()),
        (Some("w1"), Some("pbx-0"))
    );
    assert_eq!(header(&json["response"], "ping"), Some("Pong"));

    // An Error response, through any worker: exit 1.
    let (code, out, _) = run(&mut bridge(&["action", "Hangup"]));
    assert_eq!(code, 1, "{out}");
    // A server not in the cluster: exit 2 at once, saying so.
    let (code, _, err) = run(&mut bridge(&[
        "action",
        "--server",
        "pbx-9",
        "--timeout",
        "60s",
        "Ping",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("no server pbx-9 in the cluster"), "{err}");

    // SIGTERM: the worker logs its session off and gives the lease back.
    let logoffs = node.stats().logoffs;
    sigterm(worker.id());
    let output = worker.wait_with_output().expect("it ends");
    guard.ended = true;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(node.stats().logoffs, logoffs + 1, "the node saw a Logoff");
    // No worker left: exit 2 at once, saying so.
    let (code, _, err) = run(&mut bridge(&["action", "--server", "pbx-0", "Ping"]));
    assert_eq!(code, 2);
    assert!(err.contains("no worker of cluster cli is running"), "{err}");

    // NATS away: exit 2 at once, naming it.
    nats.stop();
    let (code, _, err) = run(&mut bridge(&["action", "Ping"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot reach NATS"), "{err}");
    node.stop().expect("node thread");
    // Best effort: a file left in the temporary directory is harmless.
    if std::fs::remove_file(&config).is_err() {}
}
