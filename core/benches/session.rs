//! Actions submitted and completed per second through one session, answered
//! by an in-memory responder, pipelined in batches as a dialer would.
//!
//! Run with `cargo bench -p apn-ami-core --bench session`.

use std::time::{Duration, Instant};

use apn_ami_core::connection::{AuthMethod, Session, SessionConfig, SessionOutput, SubmitOptions};
use apn_ami_core::correlation::{InstanceId, ServerKey};
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::{Action, Parser, ParserConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 1_000;

struct Responder {
    session: Session,
    server: Parser,
    now: Instant,
    answers: Vec<u8>,
}

impl Responder {
    #[allow(clippy::disallowed_methods)] // the bench's single clock read
    fn logged_in() -> Self {
        let mut config = SessionConfig::new(
            ServerKey::new("pbx1").expect("valid key"),
            "127.0.0.1:5038",
            "admin",
            Secret::new("secret"),
        );
        config.auth = AuthMethod::Plain;
        let mut this = Self {
            session: Session::new(config, InstanceId(1)).expect("valid config"),
            server: Parser::new(ParserConfig::server()).expect("valid config"),
            now: Instant::now(),
            answers: Vec::with_capacity(BATCH * 80),
        };
        this.session.handle_connected(this.now);
        this.session
            .handle_input(b"Asterisk Call Manager/11.0.0\r\n", this.now);
        this.answer_all();
        while this.session.poll_output().is_some() {}
        this
    }

    /// Reads everything written and answers each action with a success.
    fn answer_all(&mut self) {
        self.answers.clear();
        while let Some(bytes) = self.session.poll_transmit() {
            let len = bytes.len();
            let answers = &mut self.answers;
            self.server
                .feed(bytes, |item| {
                    if let Some(frame) = item.as_frame() {
                        answers.extend_from_slice(b"Response: Success\r\nActionID: ");
                        answers.extend_from_slice(frame.action_id().expect("an id").as_bytes());
                        answers.extend_from_slice(b"\r\nPing: Pong\r\n\r\n");
                    }
                })
                .expect("the session writes valid AMI");
            self.session.consume(len);
        }
        for chunk in self.answers.chunks(64 * 1024) {
            self.session.handle_input(chunk, self.now);
        }
    }

    fn batch(&mut self) -> usize {
        self.now += Duration::from_millis(1);
        for _ in 0..BATCH {
            self.session
                .submit(
                    Action::new("Ping").expect("valid"),
                    SubmitOptions::default(),
                    self.now,
                )
                .expect("within bounds");
        }
        self.answer_all();
        let mut completed = 0;
        while let Some(output) = self.session.poll_output() {
            completed += usize::from(matches!(output, SessionOutput::Completed(_)));
        }
        while self.session.poll_log().is_some() {}
        completed
    }
}

fn bench_session(c: &mut Criterion) {
    let mut responder = Responder::logged_in();
    assert_eq!(responder.batch(), BATCH, "every action completes");
    let mut group = c.benchmark_group("session_round_trips");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("submit_answer_complete_batch_1000", |b| {
        b.iter(|| responder.batch());
    });
    group.finish();
}

criterion_group!(benches, bench_session);
criterion_main!(benches);
