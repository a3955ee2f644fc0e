//! One session under a long run, counted by the allocator: after a million
//! actions answered and a million events drained, the live heap is back
//! within a fixed bound of where it started — and that bound does not grow
//! with the number of actions.

use std::time::{Duration, Instant};

use apn_ami_core::connection::{AuthMethod, Session, SessionConfig, SessionOutput, SubmitOptions};
use apn_ami_core::correlation::{InstanceId, ServerKey};
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::{Action, Parser, ParserConfig};

/// Heap a session may keep past a run (grown buffers, reused capacity),
/// whatever the length of the run.
const RESIDUE_BOUND: i64 = 256 * 1024;

#[allow(clippy::disallowed_methods)] // the test's single clock read; the rest are offsets
fn epoch() -> Instant {
    Instant::now()
}

struct Loop {
    session: Session,
    server: Parser,
    t0: Instant,
    ms: u64,
    reply: Vec<u8>,
    completed: u64,
    events: u64,
}

impl Loop {
    fn logged_in() -> Self {
        let mut config = SessionConfig::new(
            ServerKey::new("pbx1").unwrap(),
            "127.0.0.1:5038",
            "admin",
            Secret::new("secret"),
        );
        config.auth = AuthMethod::Plain;
        let mut this = Self {
            session: Session::new(config, InstanceId(1)).unwrap(),
            server: Parser::new(ParserConfig::server()).unwrap(),
            t0: epoch(),
            ms: 0,
            reply: Vec::with_capacity(256),
            completed: 0,
            events: 0,
        };
        this.session.handle_connected(this.t0);
        this.session
            .handle_input(b"Asterisk Call Manager/11.0.0\r\n", this.t0);
        this.answer_written();
        this.drain();
        this
    }

    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.ms)
    }

    /// Plays Asterisk: answers every written action with a success.
    fn answer_written(&mut self) {
        let Some(bytes) = self.session.poll_transmit() else {
            return;
        };
        let len = bytes.len();
        let mut ids = Vec::new();
        self.server
            .feed(bytes, |item| {
                if let Some(frame) = item.as_frame() {
                    ids.push(frame.action_id().unwrap().as_bytes().to_vec());
                }
            })
            .unwrap();
        self.session.consume(len);
        for id in ids {
            self.reply.clear();
            self.reply
                .extend_from_slice(b"Response: Success\r\nActionID: ");
            self.reply.extend_from_slice(&id);
            self.reply.extend_from_slice(b"\r\nPing: Pong\r\n\r\n");
            let now = self.now();
            self.session.handle_input(&self.reply, now);
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                SessionOutput::Completed(done) => {
                    assert!(done.result.is_ok());
                    self.completed += 1;
                }
                SessionOutput::Event(_) => self.events += 1,
                SessionOutput::LoggedIn => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        while self.session.poll_log().is_some() {}
    }

    /// `count` rounds of one action answered and one event drained.
    fn run(&mut self, count: u64) {
        let event = b"Event: Newstate\r\nChannel: PJSIP/100-00000001\r\nChannelState: 5\r\n\r\n";
        for round in 0..count {
            self.ms = round / 100;
            let now = self.now();
            self.session
                .submit(Action::new("Ping").unwrap(), SubmitOptions::default(), now)
                .unwrap();
            self.answer_written();
            self.session.handle_input(event, now);
            self.session.handle_timeout(now);
            self.drain();
        }
    }
}

#[test]
fn a_million_actions_and_events_leave_the_heap_where_it_was() {
    let mut run = Loop::logged_in();
    // Warm-up: buffers and queues reach their working size.
    run.run(10_000);

    let short = allocation_counter::measure(|| run.run(100_000));
    let long = allocation_counter::measure(|| run.run(1_000_000));
    assert_eq!(run.completed, 1_110_000, "every ping completed");
    assert_eq!(run.events, 1_110_000);
    assert_eq!(run.session.pending(), 0);
    eprintln!(
        "live heap after 100k rounds: {} B in {} allocations; after 1M rounds: {} B in {} allocations; \
         peak during 1M: {} B; session heap now {} B",
        short.bytes_current,
        short.count_current,
        long.bytes_current,
        long.count_current,
        long.bytes_max,
        run.session.heap_size()
    );
    for info in [short, long] {
        assert!(
            info.bytes_current.abs() <= RESIDUE_BOUND,
            "live heap moved by {} bytes",
            info.bytes_current
        );
    }
    assert!(
        long.bytes_max <= 4 * 1024 * 1024,
        "the peak stays small: {}",
        long.bytes_max
    );
}
