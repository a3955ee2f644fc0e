//! [`FakeAsterisk`]: a sans-IO model of one Asterisk node's AMI, close
//! enough to real traffic to test the client against, with switches for the
//! ways real nodes misbehave.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use apn_ami_core::health::SeededRng;
use apn_ami_core::protocol::{Frame, FrameKind, Parser, ParserConfig};
use md5::{Digest, Md5};

/// How the node answers `Command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandFormat {
    /// Up to Asterisk 13: `Response: Follows`, raw text, `--END COMMAND--`.
    Legacy,
    /// From Asterisk 14: `Output:` lines.
    Output,
}

/// How the node answers `Queues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuesFormat {
    /// Up to Asterisk 14: the text of `queue show` (a blank line after each
    /// queue, two more at the end), with no `Response:` and no `ActionID:`.
    Legacy,
    /// From Asterisk 15, where the action is gone: `Response: Error`.
    Removed,
}

/// What Asterisk 13's `Queues` wrote for two queues: `queue show`'s lines
/// in CRLF, a blank line after each queue, then `\r\n\r\n`.
pub const LEGACY_QUEUES: &str = "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s\r\n   No Members\r\n   No Callers\r\n\r\nsales has 1 calls (max 5) in 'leastrecent' strategy (3s holdtime, 61s talktime), W:0, C:4, A:1, SL:100.0%, SL2:100.0% within 60s\r\n   Members: \r\n      PJSIP/200 (ringinuse disabled) (dynamic) (Not in use) has taken 4 calls (last was 120 secs ago)\r\n   Callers: \r\n      1. PJSIP/100-00000001 (wait: 0:03, prio: 0)\r\n\r\n\r\n\r\n";

/// A node's settings and misbehaviour switches.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The banner's version, e.g. `11.0.0`.
    pub version: String,
    /// The AMI user.
    pub username: String,
    /// Its secret.
    pub secret: String,
    /// How `Command` is answered.
    pub command_format: CommandFormat,
    /// Items in answers to list actions.
    pub list_items: usize,
    /// How long a refused login waits before its error (Asterisk: about 1 s).
    pub login_failure_delay: Duration,
    /// Unauthenticated sessions are closed after this (Asterisk: 30 s).
    pub auth_timeout: Duration,
    /// Refuse every login.
    pub reject_logins: bool,
    /// Stop answering anything (the socket stays open).
    pub mute: bool,
    /// Answer every action this late.
    pub answer_delay: Duration,
    /// Put a garbage block (a line that starts no frame, and its blank
    /// line) before every n-th frame sent.
    pub garbage_every: Option<u32>,
    /// Put an extra blank line after every frame.
    pub extra_blank_lines: bool,
    /// A client that lets this many bytes queue up unread is dropped
    /// silently (Asterisk 22: about 4 MB, default `writetimeout`).
    pub slow_reader_limit: usize,
    /// Send an oversized event before every n-th frame.
    pub oversized_every: Option<u32>,
    /// How `Queues` is answered.
    pub queues_format: QueuesFormat,
}

impl NodeConfig {
    /// A well-behaved Asterisk 22 node for `username`/`secret`.
    #[must_use]
    pub fn new(username: &str, secret: &str) -> Self {
        Self {
            version: "11.0.0".to_owned(),
            username: username.to_owned(),
            secret: secret.to_owned(),
            command_format: CommandFormat::Output,
            list_items: 3,
            login_failure_delay: Duration::from_secs(1),
            auth_timeout: Duration::from_secs(30),
            reject_logins: false,
            mute: false,
            answer_delay: Duration::ZERO,
            garbage_every: None,
            extra_blank_lines: false,
            oversized_every: None,
            slow_reader_limit: 4 * 1024 * 1024,
            queues_format: QueuesFormat::Removed,
        }
    }
}

/// What a node observed, for the invariants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Connections accepted.
    pub connections: u64,
    /// Successful logins.
    pub logins: u64,
    /// Actions other than Login, Challenge and Logoff before a login.
    pub actions_before_login: u64,
    /// Actions answered.
    pub actions: u64,
    /// Clients dropped for not reading.
    pub slow_reader_drops: u64,
    /// Event frames sent (list items and completions included).
    pub events: u64,
    /// `Logoff` actions received.
    pub logoffs: u64,
    /// Actions answered "Asterisk is shutting down".
    pub shutting_down_answers: u64,
}

/// Whether the node is running or stopping gracefully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopping {
    Running,
    /// Waiting for calls to end: every action gets "shutting down".
    Draining,
}

/// Something the node will send later.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Later {
    Send(String),
    SendThenClose(String),
}

/// One fake Asterisk node, driven like the client: bytes and instants in,
/// bytes and deadlines out.
#[derive(Debug)]
pub struct FakeAsterisk {
    config: NodeConfig,
    parser: Parser,
    out: Vec<u8>,
    connected: bool,
    logged_in: bool,
    close_requested: bool,
    challenge: Option<String>,
    auth_deadline: Option<Instant>,
    later: BTreeMap<(Instant, u64), Later>,
    order: u64,
    frames_sent: u32,
    calls: u64,
    rng: SeededRng,
    stats: NodeStats,
    lines: LineTracker,
    /// The latest actions received, for a log (oldest dropped past
    /// [`RECEIVED_KEPT`]).
    received: std::collections::VecDeque<String>,
    /// Shutting down gracefully: every action is answered with an error.
    stopping: Stopping,
}

/// How many received actions [`FakeAsterisk::take_received`] keeps.
const RECEIVED_KEPT: usize = 1024;

/// Where the client's byte stream is, line-wise: enough to accept bare `\n`
/// and to spot a frame that is only a blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineTracker {
    last_byte: u8,
    line_length: usize,
    at_frame_start: bool,
}

impl LineTracker {
    const START: Self = Self {
        last_byte: b'\n',
        line_length: 0,
        at_frame_start: true,
    };
}

impl FakeAsterisk {
    /// A node with these settings; `seed` drives its challenges and calls.
    ///
    /// # Panics
    /// Never: the server parser's default settings are valid.
    #[must_use]
    pub fn new(config: NodeConfig, seed: u64) -> Self {
        Self {
            config,
            parser: Parser::new(ParserConfig::server()).expect("default bounds are valid"),
            out: Vec::new(),
            connected: false,
            logged_in: false,
            close_requested: false,
            challenge: None,
            auth_deadline: None,
            later: BTreeMap::new(),
            order: 0,
            frames_sent: 0,
            calls: 0,
            rng: SeededRng::new(seed),
            stats: NodeStats::default(),
            lines: LineTracker::START,
            received: std::collections::VecDeque::new(),
            stopping: Stopping::Running,
        }
    }

    /// `core stop gracefully`: from now on every action of a logged-in
    /// client is answered `Response: Error` / `Message: Asterisk is
    /// shutting down`, as Asterisk does while it waits for calls to end.
    pub fn begin_shutdown(&mut self) {
        self.stopping = Stopping::Draining;
    }

    /// The calls have ended: `Event: Shutdown` (with `Restart: True` or
    /// `False`) goes out, then the connection closes, as Asterisk's last
    /// words before its socket dies.
    pub fn finish_shutdown(&mut self, restart: bool) {
        self.stopping = Stopping::Running;
        if !self.connected {
            return;
        }
        let restart = if restart { "True" } else { "False" };
        let event = format!(
            "Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: {restart}\r\n\r\n"
        );
        self.send(event.as_bytes());
        self.close_requested = true;
    }

    /// The actions received since the last call, one line each (`Ping
    /// ActionID=…`; `Secret` and `Key` masked), at most the latest 1 024.
    pub fn take_received(&mut self) -> Vec<String> {
        self.received.drain(..).collect()
    }

    /// The settings, to change a switch mid-run.
    pub fn config_mut(&mut self) -> &mut NodeConfig {
        &mut self.config
    }

    /// What the node observed.
    #[must_use]
    pub const fn stats(&self) -> NodeStats {
        self.stats
    }

    /// Whether a client is connected.
    #[must_use]
    pub const fn is_connected(&self) -> bool {
        self.connected
    }

    /// A client connected: the banner goes out.
    pub fn on_connect(&mut self, now: Instant) {
        self.on_disconnect();
        self.connected = true;
        self.stats.connections += 1;
        self.auth_deadline = Some(now + self.config.auth_timeout);
        let banner = format!("Asterisk Call Manager/{}\r\n", self.config.version);
        self.out.extend_from_slice(banner.as_bytes());
    }

    /// The connection is gone: everything is forgotten.
    pub fn on_disconnect(&mut self) {
        self.connected = false;
        self.logged_in = false;
        self.close_requested = false;
        self.challenge = None;
        self.auth_deadline = None;
        self.later.clear();
        self.out.clear();
        self.parser.reset();
        self.lines = LineTracker::START;
    }

    /// Bytes from the client.
    pub fn on_bytes(&mut self, bytes: &[u8], now: Instant) {
        if !self.connected {
            return;
        }
        // Asterisk reads lines ending in `\n` with or without `\r`, and a
        // frame that is only a blank line is a request without an action.
        let mut normalised = Vec::with_capacity(bytes.len() + 8);
        for &byte in bytes {
            if byte == b'\n' {
                if self.lines.last_byte != b'\r' {
                    normalised.push(b'\r');
                }
                normalised.push(byte);
                let blank = self.lines.line_length == 0;
                if blank && self.lines.at_frame_start {
                    // Answer what came before, then the empty request.
                    self.take_actions(&std::mem::take(&mut normalised), now);
                    self.reply(
                        now,
                        "Response: Error\r\nMessage: Missing action in request\r\n\r\n".to_owned(),
                    );
                }
                self.lines.at_frame_start = blank;
                self.lines.line_length = 0;
            } else {
                if byte != b'\r' {
                    self.lines.line_length += 1;
                    self.lines.at_frame_start = false;
                }
                normalised.push(byte);
            }
            self.lines.last_byte = byte;
        }
        self.take_actions(&normalised, now);
    }

    /// Parses normalised client bytes and answers each action.
    fn take_actions(&mut self, bytes: &[u8], now: Instant) {
        let mut actions = Vec::new();
        if self
            .parser
            .feed(bytes, |item| actions.extend(item.into_frame()))
            .is_err()
        {
            self.close_requested = true;
            return;
        }
        for action in actions
            .into_iter()
            .filter(|frame| frame.kind() == FrameKind::Action)
        {
            self.on_action(&action, now);
        }
    }

    /// Sends `count` calls' worth of events (five events a call).
    pub fn generate_calls(&mut self, count: u64) {
        if !self.connected || !self.logged_in {
            return;
        }
        for _ in 0..count {
            self.calls += 1;
            let call = self.calls;
            let channel = format!("PJSIP/{}-{call:08x}", 100 + self.rng.up_to(800));
            // cp1251 bytes (not UTF-8), UTF-8 Cyrillic, and a C-escaped quote.
            let name: &[u8] = match call % 3 {
                0 => b"\xcf\xe5\xf2\xf0",
                1 => "\u{041f}\u{0451}\u{0442}\u{0440}".as_bytes(),
                _ => b"O\\'Brien",
            };
            let uid = format!("1722870012.{call}");
            for (event, extra) in [
                ("Newchannel", String::new()),
                (
                    "Newstate",
                    "ChannelState: 5\r\nChannelStateDesc: Ringing\r\n".to_owned(),
                ),
                (
                    "VarSet",
                    format!(
                        "Variable: DIALSTATUS\r\nValue: ANSWER\r\nChanVariable({channel}): ACCOUNT={call}\r\nChanVariable: QUEUE=sales\r\n"
                    ),
                ),
                (
                    "DialBegin",
                    format!("DestChannel: PJSIP/200-{call:08x}\r\nDialString: 200\r\n"),
                ),
                (
                    "Hangup",
                    "Cause: 16\r\nCause-txt: Normal Clearing\r\n".to_owned(),
                ),
            ] {
                let mut frame = format!(
                    "Event: {event}\r\nPrivilege: call,all\r\nChannel: {channel}\r\nCallerIDNum: 100\r\nCallerIDName: "
                )
                .into_bytes();
                frame.extend_from_slice(name);
                frame.extend_from_slice(format!("\r\nUniqueid: {uid}\r\n{extra}\r\n").as_bytes());
                self.send(&frame);
            }
        }
    }

    /// Bytes waiting for the client.
    #[must_use]
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        (!self.out.is_empty()).then_some(self.out.as_slice())
    }

    /// The network took `count` bytes.
    pub fn consume(&mut self, count: usize) {
        self.out.drain(..count.min(self.out.len()));
    }

    /// Whether the node wants the connection closed (after a failed login,
    /// a `Logoff`, or the authentication timeout), once its bytes are out.
    #[must_use]
    pub fn wants_close(&self) -> bool {
        self.close_requested && self.out.is_empty()
    }

    /// Sends what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.auth_deadline.is_some_and(|deadline| now >= deadline) && !self.logged_in {
            self.close_requested = true;
        }
        while let Some(entry) = self.later.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Later::Send(text) => self.send(text.as_bytes()),
                Later::SendThenClose(text) => {
                    self.send(text.as_bytes());
                    self.close_requested = true;
                }
            }
        }
    }

    /// When [`FakeAsterisk::handle_timeout`] has work next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let later = self.later.keys().next().map(|&(at, _)| at);
        let auth = self
            .auth_deadline
            .filter(|_| !self.logged_in && self.connected);
        later.into_iter().chain(auth).min()
    }

    /// Why Asterisk would answer this action with an error before running
    /// it: its limits, no login yet, or a shutdown under way.
    fn refusal(&mut self, action: &Frame, name: &str) -> Option<&'static str> {
        // Asterisk's own limits: 1022-byte lines, 128 lines per action.
        let longest = action
            .headers()
            .map(|(key, value)| key.len() + 2 + value.len())
            .max()
            .unwrap_or(0);
        if longest > 1022 {
            return Some("Failed to parse message: line too long");
        }
        if action.len() > 128 {
            return Some("Too many lines in message");
        }
        if !self.logged_in && !matches!(name, "login" | "challenge" | "logoff") {
            self.stats.actions_before_login += 1;
            return Some("Permission denied");
        }
        if self.stopping == Stopping::Draining && name != "logoff" {
            self.stats.shutting_down_answers += 1;
            return Some("Asterisk is shutting down");
        }
        None
    }

    fn on_action(&mut self, action: &Frame, now: Instant) {
        let name = action.first_value().to_string().to_ascii_lowercase();
        let id = action.action_id().map(|id| id.to_string());
        let id_line = id
            .as_ref()
            .map_or_else(String::new, |id| format!("ActionID: {id}\r\n"));
        self.record(action);
        if self.config.mute {
            return;
        }
        if let Some(message) = self.refusal(action, &name) {
            self.reply(
                now,
                format!("Response: Error\r\n{id_line}Message: {message}\r\n\r\n"),
            );
            return;
        }
        self.stats.actions += 1;
        match name.as_str() {
            "challenge" => {
                let challenge = (self.rng.up_to(899_999_999) + 100_000_000).to_string();
                self.reply(now, format!("Response: Success\r\n{id_line}Challenge: {challenge}\r\n\r\n"));
                self.challenge = Some(challenge);
            }
            "login" => self.on_login(action, &id_line, now),
            "ping" => self.reply(now, format!("Response: Success\r\n{id_line}Ping: Pong\r\nTimestamp: 1722870000.000000\r\n\r\n")),
            "logoff" => {
                self.stats.logoffs += 1;
                let text = format!("Response: Goodbye\r\n{id_line}Message: Thanks for all the fish.\r\n\r\n");
                self.schedule(now + self.config.answer_delay, Later::SendThenClose(text));
            }
            "command" => {
                let command = action.get("command").map(|c| c.to_string()).unwrap_or_default();
                let text = match self.config.command_format {
                    CommandFormat::Legacy => format!(
                        "Response: Follows\r\nPrivilege: Command\r\n{id_line}{command}: line 1\nline 2\n--END COMMAND--\r\n\r\n"
                    ),
                    CommandFormat::Output => format!(
                        "Response: Success\r\n{id_line}Message: Command output follows\r\nOutput: {command}: line 1\r\nOutput: line 2\r\n\r\n"
                    ),
                };
                self.reply(now, text);
            }
            "coreshowchannels" | "status" | "queuestatus" => {
                let (item, complete) = match name.as_str() {
                    "coreshowchannels" => ("CoreShowChannel", "CoreShowChannelsComplete"),
                    "status" => ("Status", "StatusComplete"),
                    _ => ("QueueMember", "QueueStatusComplete"),
                };
                let mut text = format!("Response: Success\r\n{id_line}EventList: start\r\nMessage: Items will follow\r\n\r\n");
                for n in 0..self.config.list_items {
                    // What each item needs at least, as Asterisk sends it.
                    let fields = if item == "QueueMember" {
                        format!("Queue: sales\r\nName: Agent {n}\r\nLocation: PJSIP/{n}\r\nPaused: 0\r\n")
                    } else {
                        format!("Channel: PJSIP/{n}\r\nChannelState: 6\r\nUniqueid: 1722870012.{n}\r\n")
                    };
                    write!(text, "Event: {item}\r\n{id_line}{fields}\r\n").expect("writing to a String never fails");
                }
                write!(
                    text,
                    "Event: {complete}\r\n{id_line}EventList: Complete\r\nListItems: {}\r\n\r\n",
                    self.config.list_items
                ).expect("writing to a String never fails");
                self.reply(now, text);
            }
            "queues" if self.config.queues_format == QueuesFormat::Legacy => self.reply(now, LEGACY_QUEUES.to_owned()),
            "queues" => self.reply(
                now,
                format!("Response: Error\r\n{id_line}Message: Invalid/unknown command: Queues. Use Action: ListCommands to show available commands.\r\n\r\n"),
            ),
            "originate" => {
                self.reply(now, format!("Response: Success\r\n{id_line}Message: Originate successfully queued\r\n\r\n"));
                let channel = action.get("channel").map(|c| c.to_string()).unwrap_or_default();
                let event = format!(
                    "Event: OriginateResponse\r\nPrivilege: call,all\r\n{id_line}Response: Success\r\nChannel: {channel}\r\nReason: 4\r\nUniqueid: 1722870012.1\r\n\r\n"
                );
                self.schedule(now + self.config.answer_delay + Duration::from_millis(50), Later::Send(event));
            }
            "hangup" if action.get("channel").is_none() => self.reply(
                now,
                format!("Response: Error\r\n{id_line}Message: No channel specified\r\n\r\n"),
            ),
            "userevent" => {
                self.reply(now, format!("Response: Success\r\n{id_line}Message: Event Sent\r\n\r\n"));
                let mut echo = String::from("Event: UserEvent\r\nPrivilege: user,all\r\n");
                for (key, value) in action.headers().filter(|(key, _)| *key != "action") {
                    write!(echo, "{key}: {value}\r\n").expect("writing to a String never fails");
                }
                echo.push_str("\r\n");
                self.reply(now, echo);
            }
            other => self.reply(now, format!("Response: Success\r\n{id_line}Message: {other} done\r\n\r\n")),
        }
    }

    fn record(&mut self, action: &Frame) {
        if self.received.len() == RECEIVED_KEPT {
            self.received.pop_front();
        }
        let mut line = action.first_value().to_string_lossy().into_owned();
        for (key, value) in action.headers().skip(1) {
            let value = if matches!(key, "secret" | "key") {
                "********".into()
            } else {
                value.to_string_lossy()
            };
            write!(line, " {key}={value}").expect("writing to a String never fails");
        }
        self.received.push_back(line);
    }

    fn on_login(&mut self, action: &Frame, id_line: &str, now: Instant) {
        let user_ok = action
            .get("username")
            .is_some_and(|user| user == self.config.username.as_str());
        let md5 = action
            .get("authtype")
            .is_some_and(|kind| kind.eq_ignore_ascii_case("md5"));
        let secret_ok = if md5 {
            let expected = self.challenge.as_ref().map(|challenge| {
                let digest = Md5::digest(format!("{challenge}{}", self.config.secret).as_bytes());
                digest.iter().fold(String::new(), |mut hex, byte| {
                    write!(hex, "{byte:02x}").expect("writing to a String never fails");
                    hex
                })
            });
            expected.is_some_and(|expected| {
                action
                    .get("key")
                    .is_some_and(|key| key == expected.as_str())
            })
        } else {
            action
                .get("secret")
                .is_some_and(|secret| secret == self.config.secret.as_str())
        };
        if user_ok && secret_ok && !self.config.reject_logins {
            self.logged_in = true;
            self.stats.logins += 1;
            self.reply(
                now,
                format!("Response: Success\r\n{id_line}Message: Authentication accepted\r\n\r\n"),
            );
            self.reply(now, "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 3605\r\nLastReload: 3605\r\nStatus: Fully Booted\r\n\r\n".to_owned());
        } else {
            let text =
                format!("Response: Error\r\n{id_line}Message: Authentication failed\r\n\r\n");
            self.schedule(
                now + self.config.login_failure_delay,
                Later::SendThenClose(text),
            );
        }
    }

    fn reply(&mut self, now: Instant, text: String) {
        if self.config.answer_delay.is_zero() {
            self.send(text.as_bytes());
        } else {
            self.schedule(now + self.config.answer_delay, Later::Send(text));
        }
    }

    fn schedule(&mut self, at: Instant, later: Later) {
        self.order += 1;
        self.later.insert((at, self.order), later);
    }

    /// Appends a frame, with the configured misbehaviour around it.
    fn send(&mut self, frame: &[u8]) {
        if !self.connected || self.close_requested {
            // Gone, or going: nothing more is written.
            return;
        }
        self.frames_sent += 1;
        let nth = |every: Option<u32>| {
            every.is_some_and(|every| every > 0 && self.frames_sent.is_multiple_of(every))
        };
        if nth(self.config.garbage_every) {
            self.out
                .extend_from_slice(b"\x00\x7f garbage without a colon \xff\r\n\r\n");
        }
        if nth(self.config.oversized_every) {
            self.out.extend_from_slice(b"Event: Huge\r\nPad: ");
            self.out.resize(self.out.len() + 70_000, b'x');
            self.out.extend_from_slice(b"\r\n\r\n");
        }
        self.out.extend_from_slice(frame);
        // Every frame this node sends that starts a line with `Event:`.
        let inner = frame
            .windows(11)
            .filter(|w| *w == b"\r\n\r\nEvent: ")
            .count();
        self.stats.events += inner as u64 + u64::from(frame.starts_with(b"Event: "));
        if self.config.extra_blank_lines {
            self.out.extend_from_slice(b"\r\n");
        }
        if self.out.len() > self.config.slow_reader_limit {
            // No event, no message: the socket just closes.
            self.stats.slow_reader_drops += 1;
            self.out.clear();
            self.close_requested = true;
        }
    }
}
