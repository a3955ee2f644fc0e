//! Typed events beside the parse they read from: parsing the realistic mix
//! into frames, then reading those frames as the catalogue's borrowing
//! types (`Event::from_frame`), and a `Hangup` alone both ways.
//!
//! Run with `cargo bench -p apn-ami-core --bench typed`; the per-event
//! times are read off side by side (the allocation test in
//! `tests/tests/codec_allocations.rs` shows the typed read allocates
//! nothing).

use apn_ami_core::protocol::{Frame, Parser, ParserConfig};
use apn_ami_core::typed::events::{Event, Hangup, TypedEvent};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/support/mixed_stream.rs"]
mod mixed_stream;

const CALLS: usize = 2_000;

/// A way to read a frame as a catalogue event.
type Reader = for<'f> fn(&'f Frame) -> Event<'f>;

fn frames_of(bytes: &[u8]) -> Vec<Frame> {
    let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).expect("valid");
    let mut frames = Vec::new();
    parser
        .feed(bytes, |item| frames.extend(item.into_frame()))
        .expect("valid stream");
    frames
}

fn typed(c: &mut Criterion) {
    let stream = mixed_stream::mixed_stream(CALLS);
    let banner_end = memchr::memchr(b'\n', &stream).map_or(0, |at| at + 1);
    let events = &stream[banner_end..];
    let frames = frames_of(events);
    let mut group = c.benchmark_group("typed");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("parse the mix into frames", |b| {
        let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).expect("valid");
        b.iter(|| {
            let mut count = 0_usize;
            parser
                .feed(events, |item| {
                    count += usize::from(item.into_frame().is_some());
                })
                .expect("valid stream");
            count
        });
    });
    // Both readers: the catalogue's own, and the general one alone.
    let readers: [(&str, Reader); 2] = [
        ("", |frame| Event::from_frame(frame)),
        (" by parse", |frame| Event::from_frame_by_parse(frame)),
    ];
    for (suffix, read) in readers {
        // Each frame read as it is parsed, while its bytes are in cache,
        // as an application reads them: the difference from the parse
        // alone is the read's cost (the reads below of the 10,000 frames
        // parsed beforehand fetch each frame from memory again).
        let name = format!("parse the mix and read each frame as it comes{suffix}");
        group.bench_function(name, |b| {
            let mut parser =
                Parser::new(ParserConfig::default().expect_banner(false)).expect("valid");
            b.iter(|| {
                let mut count = 0_usize;
                parser
                    .feed(events, |item| {
                        if let Some(frame) = item.into_frame() {
                            count += usize::from(!matches!(read(&frame), Event::Unknown(_)));
                        }
                    })
                    .expect("valid stream");
                count
            });
        });
        let name = format!("read the mix's frames as typed events{suffix}");
        group.bench_function(name, |b| {
            b.iter(|| {
                frames
                    .iter()
                    .filter(|frame| !matches!(read(frame), Event::Unknown(_)))
                    .count()
            });
        });
    }
    group.finish();

    let hangup_bytes: Vec<u8> = {
        let start = memchr::memmem::find(events, b"Event: Hangup").expect("a hangup");
        let end = memchr::memmem::find(&events[start..], b"\r\n\r\n").expect("its end");
        events[start..start + end + 4].to_vec()
    };
    let hangup = frames_of(&hangup_bytes).remove(0);
    let mut group = c.benchmark_group("hangup");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse its bytes into a frame", |b| {
        let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).expect("valid");
        b.iter(|| {
            let mut frame = None;
            parser
                .feed(&hangup_bytes, |item| frame = item.into_frame())
                .expect("valid");
            frame
        });
    });
    group.bench_function("read the frame as a borrowing Hangup", |b| {
        b.iter(|| Hangup::from_frame(&hangup).map(|event| event.cause));
    });
    group.bench_function("read the frame as a borrowing Hangup by parse", |b| {
        b.iter(|| hangup.parse::<Hangup<'_>>().map(|event| event.cause));
    });
    group.finish();
}

criterion_group!(benches, typed);
criterion_main!(benches);
