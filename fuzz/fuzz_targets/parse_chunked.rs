//! Arbitrary bytes, cut into arbitrary chunks, through the parser.
//!
//! Input: one flags byte (bit 0: small frame limit, bit 1: expect a banner,
//! bit 2: server role), four chunk-size bytes, then the stream. Checks: no
//! panic; the buffer stays within its bound after every push; every frame's
//! heap stays proportional to the frame limit; and the chunked parse gives
//! the same items, counters and error as the whole-stream parse.
#![no_main]

use apn_ami_core::protocol::{Item, ParserConfig};
use libfuzzer_sys::fuzz_target;

#[path = "../../core/tests/support/chunked.rs"]
mod chunked;

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
    let whole = chunked::parse_chunked(config, stream, stream.len());
    let mut sizes = cuts.iter().cycle().map(|cut| usize::from(*cut) + 1);
    let cut = chunked::parse_pieces(config, stream, || sizes.next().unwrap_or(1));
    let bytewise = chunked::parse_chunked(config, stream, 1);
    let buffered = chunked::parse_push_poll(config, stream, usize::from(cuts[0]) + 1);
    for frame in whole.items.iter().filter_map(Item::as_frame) {
        assert!(
            frame.heap_size() <= 5 * 65_536,
            "frame heap {}",
            frame.heap_size()
        );
        assert!(!frame.is_empty());
    }
    for other in [&cut, &bytewise, &buffered] {
        assert_eq!(whole.items, other.items, "items differ by chunking");
        assert_eq!(whole.error, other.error, "errors differ by chunking");
        assert_eq!(whole.stats, other.stats, "counters differ by chunking");
    }
});
