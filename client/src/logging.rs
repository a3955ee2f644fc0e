//! Logging: the core's records go out through the `log` facade with
//! structured key-values, and [`JsonLogger`] writes them as JSON lines with
//! the fields operators search by (`timestamp_ms`, `level`, `message`,
//! `server_key`, `server_host`, `action_id`, `worker_pid`).

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use apn_ami_core::observe::{FieldValue, Level, LogRecord};
use log::kv::{self, VisitSource};

/// The `log` target of every record the client emits.
pub const TARGET: &str = "apn_ami";

/// The `log` level of a core level.
#[must_use]
pub const fn log_level(level: Level) -> log::Level {
    match level {
        Level::Error => log::Level::Error,
        Level::Warn => log::Level::Warn,
        Level::Info => log::Level::Info,
        Level::Debug => log::Level::Debug,
    }
}

/// Sends one core record (already redacted) to the `log` facade, its
/// server, action and fields as key-values.
pub fn emit(record: &LogRecord) {
    let level = log_level(record.level);
    if level > log::max_level() {
        return;
    }
    let mut pairs: Vec<(&str, kv::Value<'_>)> = Vec::with_capacity(3 + record.fields.len());
    if let Some(key) = &record.server_key {
        pairs.push(("server_key", kv::Value::from(key.as_str())));
    }
    if let Some(host) = &record.server_host {
        pairs.push(("server_host", kv::Value::from(host.as_str())));
    }
    if let Some(id) = &record.action_id {
        pairs.push(("action_id", kv::Value::from(id.as_str())));
    }
    for (name, value) in &record.fields {
        let value = match value {
            FieldValue::Count(count) => kv::Value::from(*count),
            FieldValue::Text(text) => kv::Value::from(text.as_str()),
        };
        pairs.push((name, value));
    }
    log::logger().log(
        &log::Record::builder()
            .args(format_args!("{}", record.message))
            .level(level)
            .target(TARGET)
            .key_values(&pairs)
            .build(),
    );
}

/// A `log` logger writing one JSON object per line.
///
/// ```text
/// {"timestamp_ms":1764518400123,"level":"warn","message":"action timed out","worker_pid":4242,"server_key":"pbx-a","server_host":"10.0.0.5:5038","action_id":"pbx-a:0badf00d:17"}
/// ```
pub struct JsonLogger {
    level: log::LevelFilter,
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for JsonLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLogger")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl JsonLogger {
    /// A logger of records at `level` and above into `out`.
    #[must_use]
    pub fn new(level: log::LevelFilter, out: Box<dyn Write + Send>) -> Self {
        Self {
            level,
            out: Mutex::new(out),
        }
    }

    /// Installs a logger to standard error as the process's `log` logger.
    ///
    /// # Errors
    /// When a logger is installed already.
    pub fn install_stderr(level: log::LevelFilter) -> Result<(), log::SetLoggerError> {
        log::set_boxed_logger(Box::new(Self::new(level, Box::new(std::io::stderr()))))?;
        log::set_max_level(level);
        Ok(())
    }

    /// The JSON line of one record, without its newline.
    #[must_use]
    pub fn format(record: &log::Record<'_>, timestamp_ms: u64) -> String {
        let mut object = serde_json::Map::new();
        object.insert("timestamp_ms".into(), timestamp_ms.into());
        object.insert(
            "level".into(),
            record.level().as_str().to_ascii_lowercase().into(),
        );
        object.insert("message".into(), record.args().to_string().into());
        object.insert("worker_pid".into(), std::process::id().into());
        if record.target() != TARGET {
            object.insert("target".into(), record.target().into());
        }
        let mut fields = Fields(&mut object);
        // Visiting a slice of pairs cannot fail; a failing custom source
        // only loses its own remaining fields.
        if let Err(error) = record.key_values().visit(&mut fields) {
            object.insert("fields_error".into(), error.to_string().into());
        }
        serde_json::Value::Object(object).to_string()
    }
}

struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        let json = value
            .to_u64()
            .map_or_else(|| serde_json::Value::from(value.to_string()), Into::into);
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}

impl log::Log for JsonLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = Self::format(record, wall_clock_ms());
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A logger has nowhere to report its own failure; a broken stderr
        // loses log lines, never client state.
        if writeln!(out, "{line}").is_err() {
            // Nothing else to do.
        }
    }

    fn flush(&self) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        if out.flush().is_err() {
            // As above: nowhere to report it.
        }
    }
}

/// Milliseconds since the Unix epoch: the wall clock is the one thing a
/// log line needs a real clock for.
#[allow(clippy::disallowed_methods)]
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
