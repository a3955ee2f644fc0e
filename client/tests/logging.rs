//! The core's log records through the `log` facade, as JSON lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use apn_ami_client::{JsonLogger, emit};
use apn_ami_core::observe::{Level, LogRecord};

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn core_records_become_json_lines_with_the_operator_fields() {
    let captured = Captured::default();
    let logger = JsonLogger::new(log::LevelFilter::Info, Box::new(captured.clone()));
    log::set_boxed_logger(Box::new(logger)).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Info);

    emit(
        &LogRecord::new(Level::Warn, "action timed out")
            .server("pbx-a", "10.0.0.5:5038")
            .action_id("pbx-a:0badf00d:17")
            .count("pending", 3)
            .text("breaker", "Closed".to_owned()),
    );
    emit(&LogRecord::new(Level::Debug, "below the level"));

    let text = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let json: serde_json::Value = serde_json::from_str(lines[0]).expect("one JSON object");
    assert_eq!(json["level"], "warn");
    assert_eq!(json["message"], "action timed out");
    assert_eq!(json["server_key"], "pbx-a");
    assert_eq!(json["server_host"], "10.0.0.5:5038");
    assert_eq!(json["action_id"], "pbx-a:0badf00d:17");
    assert_eq!(json["pending"], 3);
    assert_eq!(json["breaker"], "Closed");
    assert_eq!(json["worker_pid"], std::process::id());
    assert!(
        json["timestamp_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 1_600_000_000_000)
    );
    assert!(
        json.get("target").is_none(),
        "the client's own target is implied"
    );
}
