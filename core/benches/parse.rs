//! Parser throughput on a realistic mixed event stream fed in 64 KiB chunks.
//!
//! Run with `cargo bench -p apn-ami-core --bench parse`; criterion reports
//! MB/s (bytes) and, in a second group, frames/s (elements). Beside the parser
//! runs a baseline that only counts the stream's newlines with `memchr` (the
//! least any line parser must do), so a noisy machine still gives a stable
//! ratio: parser time over baseline time, measured side by side.

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

fn count_newlines(stream: &[u8]) -> usize {
    stream
        .chunks(CHUNK)
        .map(|chunk| memchr::memchr_iter(b'\n', chunk).count())
        .sum()
}

fn bench_parse(c: &mut Criterion) {
    let stream = mixed_stream::mixed_stream(2_000);
    let frames = parse_all(&stream);
    assert_eq!(frames, 10_000, "every generated event parses");

    let mut bytes = c.benchmark_group("parse_mixed_64k_chunks/bytes");
    bytes.throughput(Throughput::Bytes(stream.len() as u64));
    bytes.bench_function("parser", |b| b.iter(|| parse_all(&stream)));
    bytes.bench_function("baseline_memchr_newlines", |b| {
        b.iter(|| count_newlines(&stream))
    });
    bytes.finish();

    let mut elements = c.benchmark_group("parse_mixed_64k_chunks/frames");
    elements.throughput(Throughput::Elements(frames as u64));
    elements.bench_function("parser", |b| b.iter(|| parse_all(&stream)));
    elements.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
