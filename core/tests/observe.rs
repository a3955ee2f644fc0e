//! Redaction, the bounded log queue, metrics and their Prometheus text,
//! which `promtool check metrics` must accept.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use apn_ami_core::observe::{
    FieldValue, Level, LogQueue, LogRecord, MASK, Outcome, Redactor, Secret, ServerMetrics,
    render_prometheus,
};

#[test]
fn secrets_never_print() {
    let secret = Secret::new("s3cr3t-value");
    for shown in [
        format!("{secret}"),
        format!("{secret:?}"),
        format!("{:?}", Some(&secret)),
    ] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains(MASK));
    }
    assert_eq!(secret.expose(), "s3cr3t-value");
    assert_eq!(secret.clone(), secret);
}

#[test]
fn redactor_masks_credentials_and_sensitive_variables() {
    let redactor = Redactor::new(["PIN", "card_number"]);
    for key in ["Secret", "SECRET", "key", "Password"] {
        assert_eq!(redactor.header(key, b"hunter2"), MASK, "{key}");
    }
    assert_eq!(
        redactor.header("Variable", b"pin=1234"),
        format!("pin={MASK}")
    );
    assert_eq!(
        redactor.header("variable", b"CARD_NUMBER=4111=1"),
        format!("CARD_NUMBER={MASK}")
    );
    assert_eq!(
        redactor.header("ChanVariable", b"PIN=1"),
        format!("PIN={MASK}")
    );
    assert_eq!(
        redactor.header("ChanVariable(PJSIP/100-01)", b"PIN=1"),
        format!("PIN={MASK}")
    );
    // Not sensitive, or not a variable: shown as sent (lossy for non-UTF-8).
    assert_eq!(redactor.header("Variable", b"QUEUE=sales"), "QUEUE=sales");
    assert_eq!(
        redactor.header("Variable", b"PIN"),
        "PIN",
        "no value to mask"
    );
    assert_eq!(redactor.header("ChanVariableX", b"PIN=1"), "PIN=1");
    assert_eq!(redactor.header("Chan", b"PIN=1"), "PIN=1");
    assert_eq!(redactor.header("Channel", b"PJSIP/\xff"), "PJSIP/\u{fffd}");
    assert_eq!(
        redactor.header("Ключ", b"x"),
        "x",
        "non-ASCII keys do not panic"
    );
    // A name that looks secret is masked by default, without configuration.
    assert_eq!(
        Redactor::default().header("Variable", b"PIN=1"),
        format!("PIN={MASK}")
    );
    assert_eq!(
        Redactor::default().header("Variable", b"QUEUE=1"),
        "QUEUE=1"
    );
}

#[test]
fn log_records_carry_their_fields() {
    let record = LogRecord::new(Level::Warn, "event queue full, oldest event dropped")
        .server("pbx1", "127.0.0.1:5038")
        .action_id("pbx1:00000001:7")
        .count("queue_depth", 10_000)
        .text("state", "Ready");
    assert_eq!(record.level.as_str(), "warn");
    assert_eq!(record.server_key.as_deref(), Some("pbx1"));
    assert_eq!(record.server_host.as_deref(), Some("127.0.0.1:5038"));
    assert_eq!(record.action_id.as_deref(), Some("pbx1:00000001:7"));
    assert_eq!(
        record.field("queue_depth"),
        Some(&FieldValue::Count(10_000))
    );
    assert_eq!(
        record.field("state").map(ToString::to_string),
        Some("Ready".to_owned())
    );
    assert_eq!(record.field("missing"), None);
    assert_eq!(FieldValue::Count(3).to_string(), "3");
    let levels: Vec<_> = [Level::Error, Level::Warn, Level::Info, Level::Debug]
        .iter()
        .map(|level| level.as_str())
        .collect();
    assert_eq!(levels, ["error", "warn", "info", "debug"]);
}

#[test]
fn log_queue_is_bounded_and_drops_the_oldest() {
    let mut queue = LogQueue::new(3);
    assert!(queue.is_empty());
    for n in 0..5 {
        queue.push(LogRecord::new(Level::Info, "n").count("n", n));
    }
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.dropped(), 2);
    let kept: Vec<_> = std::iter::from_fn(|| queue.pop())
        .map(|record| record.field("n").cloned())
        .collect();
    assert_eq!(
        kept,
        [
            Some(FieldValue::Count(2)),
            Some(FieldValue::Count(3)),
            Some(FieldValue::Count(4))
        ]
    );
    queue.push(LogRecord::new(Level::Info, "x"));
    queue.terminate();
    assert!(queue.is_empty());
    assert_eq!(
        LogQueue::new(0).len(),
        0,
        "a zero capacity still holds one record"
    );
}

fn sample_metrics() -> (ServerMetrics, ServerMetrics) {
    let mut east = ServerMetrics::new("pbx-east", "127.0.0.1:5038");
    east.record_action(Outcome::Success, Duration::from_micros(900));
    east.record_action(Outcome::Success, Duration::from_millis(7));
    east.record_action(Outcome::Timeout, Duration::from_secs(31));
    east.counters.dropped_events = 12;
    east.counters.pending_actions = 4;
    let mut odd = ServerMetrics::new("pbx.2", "host \"with\" \\quotes\\\nand newline");
    odd.record_action(Outcome::Error, Duration::from_millis(250));
    odd.counters.bytes_received = 1 << 40;
    (east, odd)
}

#[test]
fn metrics_count_outcomes_and_latency_buckets() {
    let (east, odd) = sample_metrics();
    assert_eq!(east.actions(Outcome::Success), 2);
    assert_eq!(east.actions(Outcome::Timeout), 1);
    assert_eq!(east.latency_count(), 3);
    let text = render_prometheus(&[&east, &odd]);
    let labels = "server_key=\"pbx-east\",server_host=\"127.0.0.1:5038\"";
    for line in [
        format!("ami_action_latency_seconds_bucket{{{labels},le=\"0.001\"}} 1"),
        format!("ami_action_latency_seconds_bucket{{{labels},le=\"0.01\"}} 2"),
        format!("ami_action_latency_seconds_bucket{{{labels},le=\"30\"}} 2"),
        format!("ami_action_latency_seconds_bucket{{{labels},le=\"+Inf\"}} 3"),
        format!("ami_action_latency_seconds_sum{{{labels}}} 31.007900"),
        format!("ami_action_latency_seconds_count{{{labels}}} 3"),
        format!("ami_actions_total{{{labels},outcome=\"success\"}} 2"),
        format!("ami_actions_total{{{labels},outcome=\"list_too_long\"}} 0"),
        format!("ami_dropped_events_total{{{labels}}} 12"),
        format!("ami_pending_actions{{{labels}}} 4"),
        "ami_bytes_received_total{server_key=\"pbx.2\",server_host=\"host \\\"with\\\" \\\\quotes\\\\\\nand newline\"} 1099511627776".to_owned(),
    ] {
        assert!(text.lines().any(|got| got == line), "missing {line:?} in\n{text}");
    }
    assert_eq!(
        text.matches("# TYPE ami_actions_total counter").count(),
        1,
        "one header per family"
    );
    for outcome in [
        "success",
        "error",
        "timeout",
        "connection_lost",
        "rejected",
        "shutting_down",
    ] {
        assert!(text.contains(&format!("outcome=\"{outcome}\"")));
    }
}

#[test]
fn exposition_passes_promtool() {
    let (east, odd) = sample_metrics();
    let text = render_prometheus(&[&east, &odd]);
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!(
            "SKIPPED: promtool is not installed (Debian package `prometheus`); .ci/run installs it"
        );
        return;
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("promtool reads its input");
    let output = child.wait_with_output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool rejected the exposition ({}):\n{}{}\n{text}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
