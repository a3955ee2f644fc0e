//! Test harness: parse a byte stream under several chunkings and insist that
//! every chunking gives the same items, counters and error.

// Each test file uses its own part of the shared harness.
#![allow(dead_code)]

use apn_ami_core::protocol::{Frame, ParserConfig};

#[path = "chunked.rs"]
mod chunked;
#[allow(unused_imports)] // each test file uses its own part
pub(crate) use chunked::{Outcome, parse_chunked, parse_pieces, parse_push_poll};

/// Parses `stream` whole, one byte at a time and in 7-byte chunks, asserts
/// the three agree, and returns the outcome.
pub(crate) fn parse_all_ways(config: ParserConfig, stream: &[u8]) -> Outcome {
    let whole = parse_chunked(config, stream, stream.len());
    for chunk in [1, 7, 4096] {
        let buffered = parse_push_poll(config, stream, chunk);
        assert_eq!(
            whole, buffered,
            "push/poll in {chunk}-byte pieces disagrees with feed"
        );
    }
    for chunk in [1, 7] {
        let chunked = parse_chunked(config, stream, chunk);
        assert_eq!(
            whole, chunked,
            "chunks of {chunk} bytes disagree with the whole stream"
        );
    }
    whole
}

/// A client-side parser that does not wait for a banner.
pub(crate) fn no_banner() -> ParserConfig {
    ParserConfig::default().expect_banner(false)
}

/// Parses a stream without banner all ways and returns the outcome.
pub(crate) fn parse(stream: &[u8]) -> Outcome {
    parse_all_ways(no_banner(), stream)
}

/// The frame's headers as `(key, value bytes)` pairs, for exact comparisons.
pub(crate) fn pairs(frame: &Frame) -> Vec<(String, Vec<u8>)> {
    frame
        .headers()
        .map(|(key, value)| (key.to_owned(), value.as_bytes().to_vec()))
        .collect()
}

/// Builds the expected pairs from string literals.
pub(crate) fn expect(pairs: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.to_vec()))
        .collect()
}

/// Seed of the property tests unless `APN_AMI_QC_SEED` names another.
const DEFAULT_QC_SEED: u64 = 0x00a9_a41c_0dec;

/// A deterministic quickcheck runner: seeded from `APN_AMI_QC_SEED` or a
/// fixed default, and the seed is printed (shown with a failure) to replay it.
pub(crate) fn seeded_quickcheck(tests: u64) -> quickcheck::QuickCheck {
    let seed = std::env::var("APN_AMI_QC_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_QC_SEED);
    eprintln!("quickcheck seed {seed}: replay with APN_AMI_QC_SEED={seed}");
    quickcheck::QuickCheck::new()
        .rng(quickcheck::Gen::from_size_and_seed(100, seed))
        .tests(tests)
}
