//! What the session holds, counted as it changes: outputs waiting to be
//! polled, actions waiting to be written, log records. `heap_size` is a sum
//! of counters, so the budgets can be checked on every input and submit.

use std::time::Instant;

use super::Session;
use crate::connection::state::SessionOutput;
use crate::protocol::Action;

/// Heap bytes of an action waiting in the queue (its name and wire bytes).
fn action_size(action: &Action) -> usize {
    action.encoded_len(None)
}

impl Session {
    pub(super) fn push_output(&mut self, output: SessionOutput) {
        self.outputs_bytes += output.heap_size();
        self.outputs.push_back(output);
    }

    pub(super) fn pop_output(&mut self) -> Option<SessionOutput> {
        let output = self.outputs.pop_front()?;
        self.outputs_bytes -= output.heap_size();
        self.release_drained();
        Some(output)
    }

    /// Once shut down (or aborted) and disconnected, nothing will be held
    /// again: the output and log queues give their memory back as soon as
    /// they are drained.
    pub(super) fn release_drained(&mut self) {
        if self.shutdown.is_none() || self.is_connected() {
            return;
        }
        if self.outputs.is_empty() {
            self.outputs = std::collections::VecDeque::new();
        }
        if self.logs.is_empty() {
            self.logs.terminate();
        }
    }

    pub(super) fn queue_action(&mut self, sequence: u64, action: Action) {
        self.queued_bytes += action_size(&action);
        self.queued.push_back((sequence, action));
    }

    /// Forgets the queued actions (their registry entries end elsewhere).
    pub(super) fn clear_queue(&mut self) {
        self.queued.clear();
        self.queued_bytes = 0;
    }

    /// Drops queued actions whose registry entry has ended (timed out).
    pub(super) fn prune_queue(&mut self) {
        if self.queued.is_empty() {
            return;
        }
        let (registry, bytes) = (&self.registry, &mut self.queued_bytes);
        self.queued.retain(|(sequence, action)| {
            let keep = registry.contains(*sequence);
            if !keep {
                *bytes -= action_size(action);
            }
            keep
        });
    }

    /// Moves queued actions into the outbound buffer, in order, as far as
    /// it has room: never all at once, so a long queue is written as the
    /// socket drains instead of overflowing the buffer.
    pub(super) fn pump_queue(&mut self, now: Instant) {
        while self.is_logged_in() {
            let Some((sequence, action)) = self.queued.front() else {
                break;
            };
            let sequence = *sequence;
            if !self.registry.contains(sequence) {
                self.pop_queued();
                continue;
            }
            let length = action.encoded_len(Some(self.ids.id_of(sequence).len()));
            if self.outbound.len() > 0
                && self.outbound.len() + length > self.config.max_outbound_bytes
            {
                break;
            }
            let Some((sequence, action)) = self.pop_queued() else {
                break;
            };
            if !self.send(&action, sequence, now) {
                return;
            }
        }
    }

    fn pop_queued(&mut self) -> Option<(u64, Action)> {
        let (sequence, action) = self.queued.pop_front()?;
        self.queued_bytes -= action_size(&action);
        Some((sequence, action))
    }

    /// Heap bytes held by this connection's buffers and queues.
    pub(super) fn held_bytes(&self) -> usize {
        self.parser.heap_size()
            + self.outbound.heap_size()
            + self.events.heap_size()
            + self.registry.list_bytes()
            + self.outputs_bytes
            + self.outputs.capacity() * size_of::<SessionOutput>()
            + self.queued_bytes
            + self.queued.capacity() * size_of::<(u64, Action)>()
            + self.logs.heap_size()
    }
}

impl std::fmt::Debug for Session {
    /// What the session holds, with every queued action's values passed
    /// through the session's redactor (a queued `Login`, a `Command` with a
    /// password, a sensitive variable never print).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued: Vec<(u64, &str, Vec<String>)> = self
            .queued
            .iter()
            .map(|(sequence, action)| {
                let headers = action
                    .headers()
                    .map(|(key, value)| shown(&self.config.redactor, key, value.as_bytes()))
                    .collect();
                (*sequence, action.name(), headers)
            })
            .collect();
        f.debug_struct("Session")
            .field("server_key", &self.config.server_key)
            .field("state", &self.state)
            .field("handshake", &self.handshake)
            .field("heartbeat", &self.heartbeat)
            .field("shutdown", &self.shutdown)
            .field("pending", &self.registry.len())
            .field("queued", &queued)
            .field("outbound", &self.outbound)
            .field("events", &self.events.len())
            .field("outputs", &self.outputs.len())
            .field("logs", &self.logs.len())
            .field("heap_bytes", &self.held_bytes())
            .finish_non_exhaustive()
    }
}

/// A header as a log or a `Debug` may show it: the key, and the value
/// masked when the redactor says it is a secret or when it is free text
/// (its length only), shown otherwise.
pub(super) fn shown(redactor: &crate::observe::Redactor, key: &str, value: &[u8]) -> String {
    let redacted = redactor.header(key, value);
    if redacted.as_bytes() != value || !is_free_text(key) {
        return format!("{key}: {redacted}");
    }
    format!("{key}: <{} bytes>", value.len())
}

/// Headers whose values are free text a user may put anything in (a CLI
/// command with a password, dialplan data, a message body).
fn is_free_text(key: &str) -> bool {
    const FREE_TEXT: [&str; 6] = ["command", "data", "body", "message", "value", "application"];
    FREE_TEXT.iter().any(|free| key.eq_ignore_ascii_case(free))
}
