//! Structured log records and the bounded queue they wait in.

use std::collections::VecDeque;
use std::fmt;

/// How serious a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Something failed: an action, a login, a connection.
    Error,
    /// A bound was hit or data was dropped.
    Warn,
    /// A state change worth knowing: connected, logged in, closed.
    Info,
    /// Detail for debugging.
    Debug,
}

impl Level {
    /// Lowercase name, as JSON formatters print it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }
}

/// A field's value. Text fields hold already-redacted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A count, a size, a depth.
    Count(u64),
    /// Redacted text.
    Text(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(count) => write!(f, "{count}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// One structured log record. The runtime's JSON formatter adds
/// `worker_pid` and `timestamp_ms`; everything else is here, and every value
/// in it has passed through the [`Redactor`](super::Redactor) or is a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// How serious.
    pub level: Level,
    /// What happened, a fixed sentence.
    pub message: &'static str,
    /// The server it concerns.
    pub server_key: Option<String>,
    /// That server's host.
    pub server_host: Option<String>,
    /// The action it concerns, if one.
    pub action_id: Option<String>,
    /// Further named values.
    pub fields: Vec<(&'static str, FieldValue)>,
}

impl LogRecord {
    /// A record with a level and a message and nothing else yet.
    #[must_use]
    pub const fn new(level: Level, message: &'static str) -> Self {
        Self {
            level,
            message,
            server_key: None,
            server_host: None,
            action_id: None,
            fields: Vec::new(),
        }
    }

    /// Names the server.
    #[must_use]
    pub fn server(mut self, key: &str, host: &str) -> Self {
        self.server_key = Some(key.to_owned());
        self.server_host = Some(host.to_owned());
        self
    }

    /// Names the action.
    #[must_use]
    pub fn action_id(mut self, action_id: &str) -> Self {
        self.action_id = Some(action_id.to_owned());
        self
    }

    /// Adds a count.
    #[must_use]
    pub fn count(mut self, name: &'static str, value: u64) -> Self {
        self.fields.push((name, FieldValue::Count(value)));
        self
    }

    /// Adds text that holds no secret (an error message, a state name).
    #[must_use]
    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, FieldValue::Text(value.into())));
        self
    }

    /// Heap bytes the record holds (its strings and fields).
    #[must_use]
    pub fn heap_size(&self) -> usize {
        let strings = [&self.server_key, &self.server_host, &self.action_id]
            .into_iter()
            .flatten()
            .map(String::capacity)
            .sum::<usize>();
        let texts = self
            .fields
            .iter()
            .map(|(_, value)| match value {
                FieldValue::Text(text) => text.capacity(),
                FieldValue::Count(_) => 0,
            })
            .sum::<usize>();
        strings + texts + self.fields.capacity() * size_of::<(&'static str, FieldValue)>()
    }

    /// The field called `name`, if present.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value)
    }
}

/// Records a drained queue keeps room for after a burst.
const KEPT_CAPACITY: usize = 64;

/// A bounded queue of records: when full, the oldest record is dropped and
/// counted, so logging can never grow memory.
#[derive(Debug, Clone)]
pub struct LogQueue {
    records: VecDeque<LogRecord>,
    capacity: usize,
    dropped: u64,
    /// Heap bytes of the records held.
    bytes: usize,
}

impl LogQueue {
    /// A queue holding at most `capacity` records (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            bytes: 0,
        }
    }

    /// Queues a record, dropping the oldest when full.
    pub fn push(&mut self, record: LogRecord) {
        if self.records.len() == self.capacity {
            if let Some(oldest) = self.records.pop_front() {
                self.bytes -= oldest.heap_size();
            }
            self.dropped += 1;
        }
        self.bytes += record.heap_size();
        self.records.push_back(record);
    }

    /// The oldest record, if any.
    pub fn pop(&mut self) -> Option<LogRecord> {
        let record = self.records.pop_front()?;
        self.bytes -= record.heap_size();
        if self.records.is_empty() && self.records.capacity() > KEPT_CAPACITY {
            // A burst is over: give its memory back, keep a little.
            self.records.shrink_to(KEPT_CAPACITY);
        }
        Some(record)
    }

    /// Heap bytes held by the records and the queue.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        self.bytes + self.records.capacity() * size_of::<LogRecord>()
    }

    /// Records waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records dropped because the queue was full.
    #[must_use]
    pub const fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Frees every record and the queue's memory.
    pub fn terminate(&mut self) {
        self.records = VecDeque::new();
        self.bytes = 0;
    }
}
