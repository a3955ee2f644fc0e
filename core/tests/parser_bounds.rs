//! Parser bounds and recovery: oversized frames, garbage, desynchronisation,
//! the server role, configuration limits and buffer management.

#[path = "support/harness.rs"]
mod harness;

use apn_ami_core::protocol::{
    ConfigError, DEFAULT_MAX_FRAME_SIZE, FrameKind, MAX_FRAME_SIZE_CEILING, MIN_FRAME_SIZE, Parser,
    ParserConfig, ProtocolError, Role,
};
use harness::{no_banner, parse, parse_all_ways};

const SMALL: usize = MIN_FRAME_SIZE;

fn small() -> ParserConfig {
    no_banner()
        .max_frame_size(SMALL)
        .max_resync_bytes(8 * SMALL)
}

fn event_of_len(total: usize) -> Vec<u8> {
    // "Event: Big\r\nPad: " + padding + "\r\n\r\n"
    let overhead = "Event: Big\r\nPad: \r\n\r\n".len();
    let mut frame = b"Event: Big\r\nPad: ".to_vec();
    frame.resize(total - 4, b'x');
    frame.extend_from_slice(b"\r\n\r\n");
    assert!(total >= overhead);
    frame
}

#[test]
fn frame_of_exactly_max_size_is_kept_one_more_byte_is_discarded() {
    let exact = event_of_len(SMALL);
    let outcome = parse_all_ways(small(), &exact);
    assert_eq!(outcome.frames().len(), 1);
    assert_eq!(outcome.stats.frames_discarded, 0);

    let over = event_of_len(SMALL + 1);
    let stream = [over.as_slice(), b"Event: Next\r\n\r\n"].concat();
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(outcome.frames().len(), 1);
    assert_eq!(outcome.frames()[0].first_value(), "Next");
    assert_eq!(outcome.stats.frames_discarded, 1);
    assert_eq!(outcome.stats.bytes_skipped, over.len() as u64);
}

#[test]
fn oversized_frames_of_many_lines_are_discarded_and_parsing_resumes() {
    let mut big = b"Event: Many\r\n".to_vec();
    while big.len() < 3 * SMALL {
        big.extend_from_slice(b"Line: some value\r\n");
    }
    big.extend_from_slice(b"\r\n");
    let stream = [
        b"Event: Before\r\n\r\n".as_slice(),
        &big,
        &big,
        b"Response: Success\r\nActionID: 2\r\n\r\n",
    ]
    .concat();
    let outcome = parse_all_ways(small(), &stream);
    let names: Vec<_> = outcome
        .frames()
        .iter()
        .map(|f| f.first_value().to_string())
        .collect();
    assert_eq!(names, ["Before", "Success"]);
    assert_eq!(outcome.stats.frames_discarded, 2);
    assert_eq!(outcome.stats.protocol_errors, 0);
}

#[test]
fn oversized_first_line_without_any_line_end_is_discarded() {
    let stream = [
        vec![b'A'; 2 * SMALL].as_slice(),
        b"\r\n\r\nEvent: Next\r\n\r\n",
    ]
    .concat();
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(outcome.frames().len(), 1);
    assert_eq!(outcome.stats.frames_discarded, 1);
}

#[test]
fn oversized_legacy_command_is_discarded_up_to_its_end_marker() {
    let mut body = Vec::new();
    while body.len() < 3 * SMALL {
        body.extend_from_slice(b"line of output\n\n");
    }
    let stream = [
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 1\r\n".as_slice(),
        &body,
        b"--END COMMAND--\r\n\r\nEvent: Next\r\n\r\n",
    ]
    .concat();
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(outcome.frames().len(), 1);
    assert_eq!(outcome.frames()[0].first_value(), "Next");
    assert_eq!(outcome.stats.frames_discarded, 1);
}

#[test]
fn oversized_legacy_command_header_section_is_discarded() {
    let mut stream = b"Response: Follows\r\n".to_vec();
    while stream.len() < 2 * SMALL {
        stream.extend_from_slice(b"Privilege: Command\r\n");
    }
    stream.extend_from_slice(b"--END COMMAND--\r\n\r\nEvent: Next\r\n\r\n");
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(outcome.frames().len(), 1);
    assert_eq!(outcome.stats.frames_discarded, 1);
}

#[test]
fn legacy_command_that_completes_past_the_limit_is_discarded() {
    let body = vec![b'z'; SMALL];
    let stream = [
        b"Response: Follows\r\nActionID: 1\r\n".as_slice(),
        &body,
        b"\n--END COMMAND--\r\n\r\nEvent: Next\r\n\r\n",
    ]
    .concat();
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(outcome.frames().len(), 1);
    assert_eq!(outcome.stats.frames_discarded, 1);
}

#[test]
fn binary_garbage_and_colonless_lines_are_skipped_a_block_at_a_time() {
    // Five damaged blocks, each ended by its blank line, then a response.
    let garbage: &[u8] = b"\x00\x01\xff\xfe binary\r\nno colon at all\r\n\r\n: empty key\r\n\r\n leading: space\r\n\r\n\x80key: v\r\n\r\nChannel: mid-frame line\r\n\r\n";
    let stream = [garbage, b"Response: Success\r\nActionID: 1\r\n\r\n"].concat();
    let outcome = parse(&stream);
    let frame = outcome.only_frame();
    assert_eq!(frame.kind(), FrameKind::Response);
    assert_eq!(frame.action_id().unwrap(), "1");
    assert_eq!(outcome.stats.protocol_errors, 5);
    assert_eq!(outcome.stats.resyncs, 5);
    assert_eq!(outcome.stats.bytes_skipped, garbage.len() as u64);
}

#[test]
fn a_damaged_block_starts_no_frame_not_even_a_valid_looking_line_inside_it() {
    // An OriginateResponse whose first line was damaged in transit: its own
    // `Response:` header must not start a response frame.
    let damaged: &[u8] = b"Ev\xffent: OriginateResponse\r\nPrivilege: call,all\r\nActionID: 42\r\nResponse: Failure\r\nChannel: Local/1@x\r\n\r\n";
    let stream = [damaged, b"Event: FullyBooted\r\n\r\n"].concat();
    let outcome = parse(&stream);
    assert_eq!(outcome.only_frame().first_value(), "FullyBooted");
    assert_eq!(outcome.stats.resyncs, 1);
    assert_eq!(outcome.stats.protocol_errors, 1);
    assert_eq!(outcome.stats.bytes_skipped, damaged.len() as u64);
}

#[test]
fn a_damaged_block_without_a_blank_line_is_unrecoverable_past_the_budget() {
    let mut stream = b"\x00garbage\r\n".to_vec();
    while stream.len() <= 9 * SMALL {
        stream.extend_from_slice(b"Response: Success\r\n");
    }
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(
        outcome.error,
        Some(ProtocolError::Desynchronized { limit: 8 * SMALL })
    );
    assert!(outcome.frames().is_empty());
    assert_eq!(outcome.stats.resyncs, 1);
}

#[test]
fn garbage_inside_a_frame_drops_the_line_and_keeps_the_frame() {
    let outcome = parse(b"Event: Newstate\r\n\x00\x01garbage\r\nChannel: PJSIP/1\r\n\r\n");
    assert_eq!(outcome.only_frame().get("channel").unwrap(), "PJSIP/1");
    assert_eq!(outcome.only_frame().len(), 2);
    assert_eq!(outcome.stats.protocol_errors, 1);
}

#[test]
fn no_boundary_within_the_resync_budget_is_unrecoverable() {
    let stream = vec![b'q'; 20 * SMALL];
    let outcome = parse_all_ways(small(), &stream);
    assert_eq!(
        outcome.error,
        Some(ProtocolError::Desynchronized { limit: 8 * SMALL })
    );
    assert_eq!(outcome.stats.frames_discarded, 1);
    assert_eq!(outcome.stats.protocol_errors, 1);
}

#[test]
fn boundary_found_just_past_the_resync_budget_is_still_an_error() {
    let mut stream = vec![b'q'; 8 * SMALL - 2];
    stream.extend_from_slice(b"\r\n\r\nEvent: Late\r\n\r\n");
    let outcome = parse_all_ways(small(), &stream);
    assert!(matches!(
        outcome.error,
        Some(ProtocolError::Desynchronized { .. })
    ));
    assert!(outcome.frames().is_empty());
}

#[test]
fn failed_parser_takes_nothing_until_reset() {
    let mut parser = Parser::new(ParserConfig::default()).unwrap();
    let error = parser.feed(b"SSH-2.0-OpenSSH_9.2\r\n", |_| {}).unwrap_err();
    assert!(error.to_string().contains("SSH-2.0-OpenSSH_9.2"), "{error}");
    assert_eq!(parser.push(b"more"), 0);
    assert_eq!(parser.poll(), Err(error.clone()));
    assert_eq!(parser.feed(b"x", |_| {}), Err(error));
    parser.reset();
    let mut frames = 0;
    parser
        .feed(
            b"Asterisk Call Manager/9.0.0\r\nEvent: Up\r\n\r\n",
            |item| {
                frames += usize::from(item.as_frame().is_some());
            },
        )
        .unwrap();
    assert_eq!(frames, 1);
    assert_eq!(parser.stats().protocol_errors, 1, "counters survive reset");
}

#[test]
fn push_takes_only_what_fits_and_poll_makes_room() {
    let config = small();
    let mut parser = Parser::new(config).unwrap();
    let stream = [
        event_of_len(600),
        event_of_len(600),
        event_of_len(600),
        event_of_len(600),
    ]
    .concat();
    let first = parser.push(&stream);
    assert_eq!(first, config.buffer_limit());
    assert_eq!(parser.push(&stream[first..]), 0, "full until polled");
    let mut frames = 0;
    while let Some(item) = parser.poll().unwrap() {
        frames += usize::from(item.as_frame().is_some());
    }
    assert_eq!(frames, 3);
    assert!(parser.buffered() < SMALL);
    let second = parser.push(&stream[first..]);
    assert_eq!(first + second, stream.len());
    assert!(parser.poll().unwrap().is_some());
    assert!(parser.heap_size() >= config.buffer_limit());
    parser.terminate();
    assert_eq!(parser.heap_size(), 0);
    assert_eq!(parser.buffered(), 0);
}

#[test]
fn feeding_copies_only_the_frames_a_read_cuts_not_the_read() {
    // Reads of 64 KiB that each begin inside a frame: only that frame's
    // bytes go through the parser's buffer (a step at a time), never the
    // whole read; everything else is parsed where it lies.
    let frame = event_of_len(500);
    let stream = frame.repeat(4 * 1024);
    let mut parser = Parser::new(no_banner()).unwrap();
    let mut frames = 0;
    let mut reads = 0_u64;
    // Cut 250 bytes into a frame, then every 64 KiB (not a multiple of
    // 500: every later read begins inside a frame too).
    let (first, rest) = stream.split_at(250);
    parser
        .feed(first, |item| {
            frames += usize::from(item.as_frame().is_some());
        })
        .unwrap();
    for read in rest.chunks(64 * 1024) {
        reads += 1;
        parser
            .feed(read, |item| {
                frames += usize::from(item.as_frame().is_some());
            })
            .unwrap();
    }
    assert_eq!(frames, 4 * 1024);
    assert_eq!(parser.stats().bytes, stream.len() as u64);
    // Per read: the start of the cut frame (under 500 bytes) and at most
    // 1 KiB pushed to finish it.
    let bound = (reads + 1) * (500 + 1024);
    assert!(
        parser.bytes_copied() <= bound,
        "{} bytes copied for {reads} reads of {} bytes",
        parser.bytes_copied(),
        stream.len()
    );
}

#[test]
fn server_role_reads_actions_and_ignores_responses() {
    let config = ParserConfig::server();
    assert_eq!(config.role(), Role::Server);
    let outcome = parse_all_ways(
        config,
        b"Response: Success\r\n\r\nAction: Login\r\nActionID: 1\r\nUsername: admin\r\n\r\n",
    );
    let frame = outcome.only_frame();
    assert_eq!(frame.kind(), FrameKind::Action);
    assert_eq!(frame.first_value(), "Login");
    assert_eq!(outcome.stats.protocol_errors, 1);
}

#[test]
fn client_role_skips_action_frames() {
    let outcome = parse(b"Action: Ping\r\n\r\nEvent: Real\r\n\r\n");
    assert_eq!(outcome.only_frame().first_value(), "Real");
    assert_eq!(outcome.stats.protocol_errors, 1);
}

#[test]
fn config_limits_are_enforced() {
    assert_eq!(ParserConfig::default().role(), Role::Client);
    assert_eq!(
        ParserConfig::default().buffer_limit(),
        2 * DEFAULT_MAX_FRAME_SIZE
    );
    assert!(
        Parser::new(
            ParserConfig::default()
                .max_frame_size(MAX_FRAME_SIZE_CEILING)
                .max_resync_bytes(MAX_FRAME_SIZE_CEILING)
        )
        .is_ok()
    );
    let too_big = Parser::new(ParserConfig::default().max_frame_size(MAX_FRAME_SIZE_CEILING + 1));
    assert_eq!(
        too_big.unwrap_err(),
        ConfigError::MaxFrameSize {
            requested: MAX_FRAME_SIZE_CEILING + 1
        }
    );
    let too_small = Parser::new(ParserConfig::default().max_frame_size(MIN_FRAME_SIZE - 1));
    assert!(matches!(too_small, Err(ConfigError::MaxFrameSize { .. })));
    let resync = Parser::new(ParserConfig::default().max_resync_bytes(100)).unwrap_err();
    assert_eq!(
        resync,
        ConfigError::ResyncBelowFrameSize {
            resync: 100,
            frame: DEFAULT_MAX_FRAME_SIZE
        }
    );
    assert!(resync.to_string().contains("smaller than max_frame_size"));
    let parser = Parser::new(small()).unwrap();
    assert_eq!(parser.config().role(), Role::Client);
    assert_eq!(
        parser.heap_size(),
        0,
        "nothing is allocated before the first push"
    );
}

#[test]
fn errors_render_readable_messages() {
    let error = ProtocolError::Desynchronized { limit: 10 };
    assert_eq!(
        error.to_string(),
        "no frame boundary within 10 bytes: the stream cannot be resynchronised"
    );
}

#[test]
fn a_stream_that_is_not_ami_counts_the_same_for_every_chunking() {
    // A TLS, HTTP or SIP port: the first line decides, and only it is taken.
    for (stream, first_line) in [
        (b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n".as_slice(), 17),
        (b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", 16),
        (b"SSH-2.0-OpenSSH_9.6\r\n", 21),
    ] {
        let outcome = parse_all_ways(ParserConfig::default(), stream);
        assert!(matches!(outcome.error, Some(ProtocolError::NotAmi { .. })));
        assert_eq!(outcome.stats.bytes, first_line);
        assert_eq!(outcome.stats.bytes_skipped, first_line);
        for chunk in [1, stream.len()] {
            let mut parser = Parser::new(ParserConfig::default()).expect("valid config");
            let mut failed = false;
            for piece in stream.chunks(chunk) {
                failed |= parser.feed(piece, |_| {}).is_err();
            }
            assert!(failed);
            assert_eq!(
                parser.buffered(),
                0,
                "nothing stays buffered after a failure"
            );
            assert_eq!(parser.stats().bytes, first_line);
        }
    }
}

#[test]
fn desynchronisation_counts_exactly_the_budget_for_every_chunking() {
    let stream = vec![b'q'; 20 * SMALL];
    let outcome = parse_all_ways(small(), &stream);
    assert!(outcome.error.is_some());
    assert_eq!(outcome.stats.bytes_skipped, (8 * SMALL + 1) as u64);
    assert_eq!(outcome.stats.bytes, (8 * SMALL + 1) as u64);
}
