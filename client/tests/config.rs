//! Configuration: TOML in, the core's configuration out, and every refusal
//! naming its server and field.

use std::time::Duration;

use apn_ami_client::{ClientConfig, ConfigError, RoutingSetting, ServerSettings};
use apn_ami_core::cluster::Routing;
use apn_ami_core::connection::AuthMethod;
use apn_ami_core::observe::Secret;

/// Cargo sets this variable for every test process: a secret that exists
/// without the test touching the environment.
const SECRET_VARIABLE: &str = "CARGO_PKG_NAME";

fn toml(body: &str) -> String {
    format!(
        r#"
seed = 42
routing = {{ failover = ["pbx-b", "pbx-a"] }}

[session]
action_timeout = "2s"
heartbeat_interval = "20s"
event_queue_capacity = 500

[reconnect]
backoff_base = "250ms"
breaker_failures = 3

[[servers]]
key = "pbx-a"
host = "10.0.0.5"
username = "apn"
secret_env = "{SECRET_VARIABLE}"

[[servers]]
key = "pbx-b"
host = "10.0.0.6"
port = 5039
username = "apn"
secret_env = "{SECRET_VARIABLE}"
auth = "plain"
events = "call,system"
{body}
"#
    )
}

fn invalid(error: ConfigError) -> (Option<String>, String, String) {
    match error {
        ConfigError::Invalid {
            server,
            field,
            reason,
        } => (server, field, reason),
        other => panic!("expected an invalid field, got {other}"),
    }
}

#[test]
fn a_full_file_resolves_to_the_core_configuration() {
    let config = ClientConfig::from_toml(&toml("")).expect("parses");
    assert_eq!(
        config.routing,
        RoutingSetting::Failover(vec!["pbx-b".into(), "pbx-a".into()])
    );
    let resolved = config.resolve().expect("valid");
    assert_eq!(resolved.seed, 42);
    assert_eq!(resolved.cluster.routing, Routing::Failover(vec![1, 0]));
    assert_eq!(resolved.cluster.backoff.base, Duration::from_millis(250));
    assert_eq!(resolved.cluster.breaker.failure_threshold, 3);
    let [a, b] = &resolved.cluster.servers[..] else {
        panic!("two servers");
    };
    assert_eq!(a.address, "10.0.0.5:5038");
    assert_eq!(b.address, "10.0.0.6:5039");
    assert_eq!(a.session.auth, AuthMethod::Md5);
    assert_eq!(b.session.auth, AuthMethod::Plain);
    assert_eq!(b.session.events, "call,system");
    assert_eq!(a.session.action_timeout, Duration::from_secs(2));
    assert_eq!(a.session.heartbeat_interval, Duration::from_secs(20));
    assert_eq!(b.session.event_queue_capacity, 500);
    assert_eq!(a.session.secret.expose(), "apn-ami-client");
    // Untouched settings keep the core's defaults.
    assert_eq!(a.session.login_timeout, Duration::from_secs(10));
    let debug = format!("{config:?} {resolved:?}");
    assert!(!debug.contains("apn-ami-client"), "no secret in Debug");
}

#[test]
fn unknown_fields_and_wrong_types_name_the_field_and_line() {
    let error = ClientConfig::from_toml(&toml("tls_verify = false")).expect_err("unknown");
    let text = error.to_string();
    assert!(text.contains("unknown field `tls_verify`"), "{text}");
    assert!(text.contains("line"), "{text}");

    let error = ClientConfig::from_toml(&toml("").replace("\"2s\"", "\"soon\"")).expect_err("bad");
    assert!(error.to_string().contains("action_timeout"), "{error}");

    let error =
        ClientConfig::from_toml(&toml("").replace("port = 5039", "port = 70000")).expect_err("bad");
    assert!(error.to_string().contains("port"), "{error}");
}

#[test]
fn every_refusal_names_the_server_and_the_field() {
    let cases: [(&str, &str, Option<&str>, &str); 14] = [
        (
            "seed = 42",
            "seed = 42\nmemory_budget_bytes = 4096",
            None,
            "memory_budget_bytes",
        ),
        (
            "seed = 42",
            "seed = 42\nmax_waiting_actions = 0",
            None,
            "max_waiting_actions",
        ),
        (
            "event_queue_capacity = 500",
            "memory_budget_bytes = 4096",
            Some("pbx-a"),
            "memory_budget_bytes",
        ),
        (
            "event_queue_capacity = 500",
            "max_outbound_bytes = 64",
            Some("pbx-a"),
            "max_outbound_bytes",
        ),
        (
            "events = \"call,system\"",
            "events = \"call\\r\\nAction: Originate\"",
            Some("pbx-b"),
            "events",
        ),
        ("seed = 42", "seed = 42\n[session.x]", None, "parse"),
        (
            "secret_env = \"CARGO_PKG_NAME\"\n\n[[servers]]\nkey = \"pbx-b\"",
            "secret_env = \"APN_AMI_NOT_SET_ANYWHERE\"\n\n[[servers]]\nkey = \"pbx-b\"",
            Some("pbx-a"),
            "secret_env",
        ),
        (
            "action_timeout = \"2s\"",
            "action_timeout = \"0s\"",
            Some("pbx-a"),
            "action_timeout",
        ),
        (
            "heartbeat_interval = \"20s\"",
            "heartbeat_interval = \"2s\"",
            Some("pbx-a"),
            "heartbeat_timeout",
        ),
        (
            "event_queue_capacity = 500",
            "max_pending = 0",
            Some("pbx-a"),
            "max_pending",
        ),
        ("key = \"pbx-b\"", "key = \"pbx-a\"", Some("pbx-a"), "key"),
        ("key = \"pbx-b\"", "key = \"pbx b\"", Some("pbx b"), "key"),
        (
            "[\"pbx-b\", \"pbx-a\"]",
            "[\"pbx-c\"]",
            None,
            "routing.failover",
        ),
        (
            "backoff_base = \"250ms\"",
            "backoff_base = \"10ms\"",
            None,
            "reconnect.backoff_base",
        ),
    ];
    for (from, to, server, field) in cases {
        let text = toml("").replacen(from, to, 1);
        let parsed = ClientConfig::from_toml(&text);
        if field == "parse" {
            assert!(matches!(parsed, Err(ConfigError::Parse(_))), "{to}");
            continue;
        }
        let error = parsed.expect("parses").resolve().expect_err(to);
        let (got_server, got_field, reason) = invalid(error.clone());
        assert_eq!(
            (got_server.as_deref(), got_field.as_str()),
            (server, field),
            "{to}: {error}"
        );
        assert!(!reason.is_empty());
    }
    for routing in ["[]", "[\"pbx-a\", \"pbx-a\"]"] {
        let text = toml("").replace("[\"pbx-b\", \"pbx-a\"]", routing);
        let error = ClientConfig::from_toml(&text).expect("parses").resolve();
        assert_eq!(invalid(error.expect_err(routing)).1, "routing.failover");
    }
}

#[test]
fn secrets_that_cannot_be_written_on_the_wire_are_refused_with_a_reason() {
    let server = |secret: &str| {
        ClientConfig::new(vec![ServerSettings::new(
            "a",
            "127.0.0.1",
            5038,
            "apn",
            Secret::new(secret),
        )])
    };
    let (_, field, reason) = invalid(server("hunter2\n").resolve().expect_err("newline"));
    assert_eq!(field, "secret");
    assert!(reason.contains("trailing newline"), "{reason}");
    assert_eq!(
        invalid(server("a\0b").resolve().expect_err("nul")).1,
        "secret"
    );
    assert_eq!(
        invalid(server("").resolve().expect_err("empty")).1,
        "secret"
    );
    let mut no_secret = server("x");
    no_secret.servers[0].secret = None;
    assert_eq!(
        invalid(no_secret.resolve().expect_err("none")).1,
        "secret_env"
    );
    let error = server("hunter2\n")
        .resolve()
        .expect_err("newline")
        .to_string();
    assert!(
        !error.contains("hunter2"),
        "the secret never appears in an error"
    );
    assert!(server("hunter2").resolve().is_ok());
    assert!(invalid(ClientConfig::new(Vec::new()).resolve().expect_err("none")).1 == "servers");
}

#[test]
fn ipv6_hosts_get_brackets() {
    let server = ServerSettings::new("a", "::1", 5038, "apn", Secret::new("x"));
    assert_eq!(server.address(), "[::1]:5038");
}
