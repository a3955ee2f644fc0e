//! Parses a stream cut into pieces and records what came out, so that any
//! two cuttings of one stream can be compared. Shared by the tests and the
//! fuzz targets (which include this file by path).

// Each includer uses its own part.
#![allow(dead_code)]

use apn_ami_core::protocol::{Frame, Item, Parser, ParserConfig, ParserStats, ProtocolError};

/// What one parse of a whole stream produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) items: Vec<Item>,
    pub(crate) error: Option<ProtocolError>,
    pub(crate) stats: ParserStats,
}

impl Outcome {
    /// The frames only, in order.
    pub(crate) fn frames(&self) -> Vec<&Frame> {
        self.items.iter().filter_map(Item::as_frame).collect()
    }

    /// The single frame, asserting there is exactly one.
    pub(crate) fn only_frame(&self) -> &Frame {
        let frames = self.frames();
        assert_eq!(frames.len(), 1, "expected one frame in {:?}", self.items);
        frames[0]
    }
}

/// Parses `stream` in pieces whose sizes `next_size` gives (at least one
/// byte each), asserting after every piece that the buffer is within bound.
pub(crate) fn parse_pieces(
    config: ParserConfig,
    stream: &[u8],
    mut next_size: impl FnMut() -> usize,
) -> Outcome {
    let mut parser = Parser::new(config).expect("test config is valid");
    let limit = parser.config().buffer_limit();
    let mut items = Vec::new();
    let mut error = None;
    let mut rest = stream;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(next_size().clamp(1, rest.len()));
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
    outcome(&parser, items, error)
}

/// Parses `stream` fed in chunks of `chunk` bytes.
pub(crate) fn parse_chunked(config: ParserConfig, stream: &[u8], chunk: usize) -> Outcome {
    parse_pieces(config, stream, || chunk)
}

/// Parses `stream` through `push` and `poll` (always through the buffer),
/// `chunk` bytes at a time, instead of `feed` (which reads in place when it can).
pub(crate) fn parse_push_poll(config: ParserConfig, stream: &[u8], chunk: usize) -> Outcome {
    let mut parser = Parser::new(config).expect("test config is valid");
    let mut items = Vec::new();
    let mut error = None;
    'stream: for piece in stream.chunks(chunk.max(1)) {
        let mut rest = piece;
        loop {
            let taken = parser.push(rest);
            rest = &rest[taken..];
            loop {
                match parser.poll() {
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => break,
                    Err(failure) => {
                        error = Some(failure);
                        break 'stream;
                    }
                }
            }
            if rest.is_empty() {
                break;
            }
        }
    }
    outcome(&parser, items, error)
}

/// What a parse produced, counters included: they agree for every chunking,
/// on a stream that fails as on one that does not.
fn outcome(parser: &Parser, items: Vec<Item>, error: Option<ProtocolError>) -> Outcome {
    Outcome {
        items,
        error,
        stats: parser.stats(),
    }
}
