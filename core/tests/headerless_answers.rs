//! Headerless answers: the `Queues` action up to Asterisk 14 is answered
//! with the text of `queue show` (a blank line between entries, two at the
//! end), without `Response:` or `ActionID:`. Read as its action's answer
//! only while one is awaited, under every chunking; garbage otherwise.

#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::connection::{AuthMethod, SessionOutput};
use apn_ami_core::correlation::CompletionStrategy;
use apn_ami_core::protocol::{Action, Frame, Item, Parser, ParserConfig};
use rig::{Rig, config};

/// What `Action: Queues` got from Asterisk 13 with two queues (the bytes
/// `manager.c` and `app_queue.c` write: `do_print` lines in CRLF, a blank line
/// after each entry, then `\r\n\r\n`).
const TWO_QUEUES: &[u8] = b"support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s\r\n   No Members\r\n   No Callers\r\n\r\nsales has 1 calls (max 5) in 'leastrecent' strategy (3s holdtime, 61s talktime), W:0, C:4, A:1, SL:100.0%, SL2:100.0% within 60s\r\n   Members: \r\n      PJSIP/200 (ringinuse disabled) (dynamic) (Not in use) has taken 4 calls (last was 120 secs ago)\r\n   Callers: \r\n      1. PJSIP/100-00000001 (wait: 0:03, prio: 0)\r\n\r\n\r\n\r\n";

const NO_QUEUES: &[u8] = b"No queues.\r\n\r\n\r\n";

fn expected_lines(answer: &[u8]) -> Vec<Vec<u8>> {
    // Everything before the final blank lines, split at CRLF.
    let mut text = answer;
    while let Some(shorter) = text.strip_suffix(b"\r\n") {
        text = shorter;
    }
    text.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
        .collect()
}

/// Parses `stream` in `chunk`-byte pieces with `due` headerless answers awaited.
fn parse(stream: &[u8], chunk: usize, due: usize) -> (Vec<Frame>, u64, u64) {
    let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).unwrap();
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk) {
        let headerless = frames.iter().filter(|f: &&Frame| f.is_headerless()).count();
        parser.set_headerless_due(due - headerless);
        parser
            .feed(piece, |item| frames.extend(Item::into_frame(item)))
            .unwrap();
    }
    let stats = parser.stats();
    (frames, stats.headerless_answers, stats.resyncs)
}

#[test]
fn an_awaited_answer_between_two_events_is_read_whole_under_every_chunking() {
    for answer in [TWO_QUEUES, NO_QUEUES] {
        let stream = [
            b"Event: QueueMemberStatus\r\nQueue: sales\r\n\r\n".as_slice(),
            answer,
            b"Event: Newchannel\r\nChannel: PJSIP/100-00000002\r\n\r\n",
        ]
        .concat();
        for chunk in [1, 2, 3, 7, 64, stream.len()] {
            let (frames, headerless, resyncs) = parse(&stream, chunk, 1);
            assert_eq!(frames.len(), 3, "chunk {chunk}");
            assert_eq!(frames[0].first_value(), "QueueMemberStatus");
            assert!(frames[1].is_headerless());
            assert_eq!(frames[1].first_value(), "");
            let text = frames[1].follows_body().unwrap();
            let lines: Vec<Vec<u8>> = text
                .split(|&b| b == b'\n')
                .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
                .collect();
            assert_eq!(lines, expected_lines(answer), "chunk {chunk}");
            assert_eq!(frames[2].first_value(), "Newchannel");
            assert_eq!((headerless, resyncs), (1, 0));
        }
    }
}

#[test]
fn an_answer_ended_by_one_blank_line_ends_at_the_next_frame() {
    // An old module's bare line: one blank line, then the next event.
    let stream = b"No queues have been created.\r\n\r\nEvent: FullyBooted\r\n\r\n";
    for chunk in [1, 5, stream.len()] {
        let (frames, headerless, _) = parse(stream, chunk, 1);
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[0].follows_body().unwrap(),
            b"No queues have been created."
        );
        assert_eq!(frames[1].first_value(), "FullyBooted");
        assert_eq!(headerless, 1);
    }
}

#[test]
fn the_same_text_unawaited_is_a_damaged_block_and_skipped() {
    let stream = [NO_QUEUES, b"Event: FullyBooted\r\n\r\n"].concat();
    let (frames, headerless, resyncs) = parse(&stream, 4, 0);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].first_value(), "FullyBooted");
    assert_eq!((headerless, resyncs), (0, 1));
}

#[test]
fn an_answer_past_the_frame_size_is_discarded_and_the_rest_is_garbage() {
    let mut huge = Vec::new();
    while huge.len() < 70_000 {
        huge.extend_from_slice(b"q has 0 calls\r\n   No Members\r\n\r\n");
    }
    huge.extend_from_slice(b"\r\n\r\n");
    let stream = [huge.as_slice(), b"Event: After\r\n\r\n"].concat();
    for chunk in [4096, 65_536, stream.len()] {
        let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).unwrap();
        let mut items = Vec::new();
        for piece in stream.chunks(chunk) {
            // The session awaits one answer until it learns its fate.
            let ended = items
                .iter()
                .any(|item| matches!(item, Item::HeaderlessTooLarge { .. }));
            parser.set_headerless_due(usize::from(!ended));
            parser.feed(piece, |item| items.push(item)).unwrap();
        }
        assert_eq!(
            items[0],
            Item::HeaderlessTooLarge { limit: 64 * 1024 },
            "chunk {chunk}"
        );
        let frames: Vec<&Frame> = items.iter().filter_map(Item::as_frame).collect();
        assert_eq!(frames.len(), 1, "the rest is skipped, chunk {chunk}");
        assert_eq!(frames[0].first_value(), "After");
        assert_eq!(parser.stats().headerless_answers, 0);
        assert_eq!(parser.stats().frames_discarded, 1);
    }
}

#[test]
fn a_queues_answer_past_the_frame_size_ends_its_action_at_once() {
    let (mut rig, _) = queues_rig();
    let mut huge = String::new();
    while huge.len() < 70_000 {
        huge.push_str("q has 0 calls\r\n   No Members\r\n\r\n");
    }
    huge.push_str("\r\n\r\n");
    rig.server_says(&huge);
    rig.server_says("Event: After\r\n\r\n");
    rig.drain();
    let completions = rig.completions();
    assert_eq!(completions.len(), 1);
    assert_eq!(
        completions[0].result.as_ref().err(),
        Some(&apn_ami_core::correlation::AmiError::AnswerTooLarge { limit: 64 * 1024 })
    );
}

fn queues_rig() -> (Rig, Frame) {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.log_in();
    assert_eq!(
        CompletionStrategy::for_action("Queues"),
        CompletionStrategy::Headerless
    );
    rig.submit(Action::new("Queues").unwrap()).unwrap();
    let written = rig.written();
    assert_eq!(written.len(), 1);
    (rig, written[0].clone())
}

#[test]
fn a_queues_answer_completes_its_action_with_the_lines_and_events_pass_by() {
    let (mut rig, _) = queues_rig();
    rig.server_says("Event: QueueMemberStatus\r\nQueue: sales\r\n\r\n");
    rig.server_says(std::str::from_utf8(TWO_QUEUES).unwrap());
    rig.server_says("Event: Newchannel\r\nChannel: PJSIP/100-00000002\r\n\r\n");
    rig.drain();
    let completions = rig.completions();
    assert_eq!(completions.len(), 1, "ends exactly once");
    let response = completions[0].result.as_ref().expect("answered");
    assert!(response.is_success());
    let lines: Vec<Vec<u8>> = response.output_lines().map(<[u8]>::to_vec).collect();
    assert_eq!(lines, expected_lines(TWO_QUEUES));
    let events: Vec<String> = std::iter::from_fn(|| rig.session.poll_event())
        .chain(rig.outputs.iter().filter_map(|output| match output {
            SessionOutput::Event(frame) => Some(frame.clone()),
            _ => None,
        }))
        .map(|frame| frame.first_value().to_string())
        .collect();
    assert_eq!(events, ["QueueMemberStatus", "Newchannel"]);
    assert_eq!(rig.session.metrics().counters.resyncs, 0);
}

#[test]
fn a_newer_server_answers_queues_with_an_error_that_ends_it_once() {
    let (mut rig, written) = queues_rig();
    let id = written.action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: Queues.\r\n\r\n"
    ));
    rig.drain();
    let completions = rig.completions();
    assert_eq!(completions.len(), 1);
    let response = completions[0].result.as_ref().expect("an answer");
    assert!(!response.is_success());
    // Nothing is awaited any more: the same text now is garbage.
    rig.server_says(std::str::from_utf8(NO_QUEUES).unwrap());
    rig.drain();
    assert!(rig.completions().is_empty());
    assert_eq!(rig.session.metrics().counters.resyncs, 1);
}

#[test]
fn text_after_the_awaited_action_was_answered_in_the_same_read_is_dropped_and_logged() {
    let (mut rig, written) = queues_rig();
    let id = written.action_id().unwrap().to_string();
    // One read: the error that ends the action, then text read while the
    // parser still awaited an answer.
    let wire = format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: Queues.\r\n\r\n{}",
        std::str::from_utf8(NO_QUEUES).unwrap()
    );
    rig.server_says(&wire);
    rig.drain();
    assert_eq!(rig.completions().len(), 1, "ends exactly once");
    assert!(
        rig.logs
            .iter()
            .any(|record| record.message == "headerless answer no action awaits dropped")
    );
}
