//! What the demo shows: a per-node table (refreshed in place on a
//! terminal), a running log, and JSON lines with `--json`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use serde_json::json;

/// One node's row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Row {
    pub(crate) node: String,
    pub(crate) state: String,
    pub(crate) breaker: String,
    pub(crate) events_per_second: f64,
    pub(crate) actions_per_second: f64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) dropped_events: u64,
    pub(crate) reconnects: u64,
}

/// How the demo writes.
#[derive(Debug)]
pub(crate) struct View {
    json: bool,
    terminal: bool,
    /// Lines of the table last drawn (to redraw in place).
    drawn: usize,
    log: Vec<String>,
}

/// Log lines kept under the live table.
const LOG_SHOWN: usize = 12;

impl View {
    pub(crate) fn new(json: bool) -> Self {
        use std::io::IsTerminal as _;
        Self {
            json,
            terminal: !json && std::io::stdout().is_terminal(),
            drawn: 0,
            log: Vec::new(),
        }
    }

    /// A line of the running log.
    pub(crate) fn log(&mut self, at: Duration, text: &str) {
        let line = format!("[{:>5.1}s] {text}", at.as_secs_f64());
        if self.json {
            println!(
                "{}",
                json!({"type": "log", "t": at.as_secs_f64(), "message": text})
            );
        } else if self.terminal {
            self.log.push(line);
            let excess = self.log.len().saturating_sub(LOG_SHOWN);
            self.log.drain(..excess);
        } else {
            println!("{line}");
        }
    }

    /// The table, every second on a terminal (in place), every fifth second
    /// otherwise.
    pub(crate) fn table(&mut self, at: Duration, rows: &[Row], tick: u64) {
        if self.json {
            let nodes: Vec<_> = rows
                .iter()
                .map(|row| {
                    json!({
                        "node": row.node, "state": row.state, "breaker": row.breaker,
                        "events_per_second": row.events_per_second,
                        "actions_per_second": row.actions_per_second,
                        "p50_ms": row.p50_ms, "p99_ms": row.p99_ms,
                        "dropped_events": row.dropped_events, "reconnects": row.reconnects,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"type": "nodes", "t": at.as_secs_f64(), "nodes": nodes})
            );
            return;
        }
        if !self.terminal && !tick.is_multiple_of(5) {
            return;
        }
        let mut text = String::new();
        let _infallible = writeln!(
            text,
            "t={:>5.1}s  {:<8} {:<14} {:<9} {:>9} {:>10} {:>8} {:>8} {:>8} {:>10}",
            at.as_secs_f64(),
            "node",
            "state",
            "breaker",
            "events/s",
            "actions/s",
            "p50 ms",
            "p99 ms",
            "dropped",
            "reconnects"
        );
        for row in rows {
            let ms =
                |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"));
            let _infallible = writeln!(
                text,
                "          {:<8} {:<14} {:<9} {:>9.0} {:>10.0} {:>8} {:>8} {:>8} {:>10}",
                row.node,
                row.state,
                row.breaker,
                row.events_per_second,
                row.actions_per_second,
                ms(row.p50_ms),
                ms(row.p99_ms),
                row.dropped_events,
                row.reconnects
            );
        }
        let mut out = std::io::stdout().lock();
        if self.terminal {
            for line in &self.log {
                let _infallible = writeln!(text, "{line}");
            }
            // Move up over what was drawn, clear it, draw again.
            if self.drawn > 0 && write!(out, "\x1b[{}A\x1b[J", self.drawn).is_err() {
                return;
            }
            self.drawn = text.lines().count();
        }
        // A closed stdout only loses the picture; the demo's check goes on.
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {}
    }

    /// Leaves the live picture as it is and prints below it.
    pub(crate) fn plain(&mut self, text: &str) {
        self.drawn = 0;
        println!("{text}");
    }

    pub(crate) const fn is_json(&self) -> bool {
        self.json
    }
}
