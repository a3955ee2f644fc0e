//! Log records to standard error: readable lines, or JSON lines.

use std::fmt::Write as _;

use apn_ami_tokio::JsonLogger;
use log::kv::{self, VisitSource};

use crate::LogFormat;

/// Installs the process's logger.
pub(crate) fn install(
    format: LogFormat,
    level: log::LevelFilter,
) -> Result<(), log::SetLoggerError> {
    match format {
        LogFormat::Json => JsonLogger::install_stderr(level),
        LogFormat::Text => {
            log::set_boxed_logger(Box::new(TextLogger { level }))?;
            log::set_max_level(level);
            Ok(())
        }
    }
}

/// `warn apn_ami: connection lost server_key=pbx-a reason=…`
struct TextLogger {
    level: log::LevelFilter,
}

struct Pairs(String);

impl<'kvs> VisitSource<'kvs> for Pairs {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        // Writing to a String cannot fail.
        let _infallible = write!(self.0, " {key}={value}");
        Ok(())
    }
}

impl log::Log for TextLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut pairs = Pairs(String::new());
        if record.key_values().visit(&mut pairs).is_err() {
            pairs.0.push_str(" (fields lost)");
        }
        eprintln!(
            "{} {}: {}{}",
            record.level().as_str().to_ascii_lowercase(),
            record.target(),
            record.args(),
            pairs.0
        );
    }

    fn flush(&self) {}
}
