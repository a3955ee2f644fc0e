//! Parser throughput on a realistic mixed event stream fed in 64 KiB chunks.
//!
//! Run with `cargo bench -p apn-ami-core --bench parse`; criterion reports
//! MB/s (bytes) and, in a second group, frames/s (elements). Beside the parser
//! runs the way many AMI clients parse (text buffer, split on the blank line,
//! one `HashMap<String, String>` per frame), so a noisy machine still gives a
//! stable ratio, measured side by side.

use std::collections::HashMap;

use apn_ami_core::protocol::{Item, Parser, ParserConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/support/mixed_stream.rs"]
mod mixed_stream;

const CHUNK: usize = 64 * 1024;

fn parse_all(stream: &[u8]) -> usize {
    let mut parser = Parser::new(ParserConfig::default()).expect("default config is valid");
    let mut frames = 0;
    for chunk in stream.chunks(CHUNK) {
        parser
            .feed(chunk, |item| {
                if let Item::Frame(frame) = item {
                    frames += usize::from(!frame.is_empty());
                }
            })
            .expect("the mixed stream is valid AMI");
    }
    frames
}

/// The common client approach: lossy text, split frames on `\r\n\r\n`, one
/// map per frame (which also loses repeated keys, as those clients do).
fn naive_parse(stream: &[u8]) -> usize {
    let mut buffer = String::new();
    let mut frames = 0;
    for chunk in stream.chunks(CHUNK) {
        buffer.push_str(&String::from_utf8_lossy(chunk));
        while let Some(end) = buffer.find("\r\n\r\n") {
            let mut map = HashMap::new();
            for line in buffer[..end].split("\r\n") {
                if let Some((key, value)) = line.split_once(':') {
                    map.insert(key.trim().to_lowercase(), value.trim().to_owned());
                }
            }
            frames += usize::from(map.contains_key("event"));
            buffer.drain(..end + 4);
        }
    }
    frames
}

fn bench_parse(c: &mut Criterion) {
    let stream = mixed_stream::mixed_stream(2_000);
    let frames = parse_all(&stream);
    assert_eq!(frames, 10_000, "every generated event parses");
    assert_eq!(
        naive_parse(&stream),
        10_000,
        "the naive baseline sees them too"
    );

    let mut bytes = c.benchmark_group("parse_mixed_64k_chunks/bytes");
    bytes.throughput(Throughput::Bytes(stream.len() as u64));
    bytes.bench_function("parser", |b| b.iter(|| parse_all(&stream)));
    bytes.bench_function("naive_string_hashmap", |b| b.iter(|| naive_parse(&stream)));
    bytes.finish();

    let mut elements = c.benchmark_group("parse_mixed_64k_chunks/frames");
    elements.throughput(Throughput::Elements(frames as u64));
    elements.bench_function("parser", |b| b.iter(|| parse_all(&stream)));
    elements.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
