//! Arbitrary bytes, cut into arbitrary chunks, through the parser.
//!
//! Input: one flags byte (bit 0: small frame limit, bit 1: expect a banner,
//! bit 2: server role), four chunk-size bytes, then the stream. Checks: no
//! panic; the buffer stays within its bound after every push; every frame's
//! heap stays proportional to the frame limit; and the chunked parse gives
//! the same items, counters and error as the whole-stream parse.
#![no_main]

use apn_ami_core::protocol::{Item, Parser, ParserConfig, ParserStats, ProtocolError};
use libfuzzer_sys::fuzz_target;

struct Outcome {
    items: Vec<Item>,
    error: Option<ProtocolError>,
    stats: ParserStats,
}

fn run(config: ParserConfig, stream: &[u8], cuts: &[u8]) -> Outcome {
    let mut parser = Parser::new(config).expect("fuzz configs are valid");
    let limit = config.buffer_limit();
    let mut items = Vec::new();
    let mut error = None;
    let mut rest = stream;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let size = if cuts.is_empty() {
            rest.len()
        } else {
            usize::from(*cut.next().unwrap_or(&0)) + 1
        };
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let result = parser.feed(piece, |item| items.push(item));
        assert!(
            parser.buffered() <= limit,
            "buffer {} over its bound {limit}",
            parser.buffered()
        );
        if let Err(failure) = result {
            error = Some(failure);
            break;
        }
    }
    let mut stats = parser.stats();
    if error.is_some() {
        // What was accepted before a fatal error depends on the chunking.
        stats.bytes = 0;
        stats.bytes_skipped = 0;
    }
    Outcome {
        items,
        error,
        stats,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let (flags, cuts, stream) = (data[0], &data[1..5], &data[5..]);
    let mut config = if flags & 4 == 0 {
        ParserConfig::default()
    } else {
        ParserConfig::server()
    };
    config = config.expect_banner(flags & 2 != 0);
    if flags & 1 != 0 {
        config = config.max_frame_size(1024).max_resync_bytes(4096);
    }
    let whole = run(config, stream, &[]);
    let chunked = run(config, stream, cuts);
    let bytewise = run(config, stream, &[0]);
    for frame in whole.items.iter().filter_map(Item::as_frame) {
        assert!(
            frame.heap_size() <= 5 * 65_536,
            "frame heap {}",
            frame.heap_size()
        );
        assert!(!frame.is_empty());
    }
    for other in [&chunked, &bytewise] {
        assert_eq!(whole.items, other.items, "items differ by chunking");
        assert_eq!(whole.error, other.error, "errors differ by chunking");
        assert_eq!(whole.stats, other.stats, "counters differ by chunking");
    }
});
