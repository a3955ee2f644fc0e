//! Allocation discipline of the codec, counted (not timed): in steady state
//! the parser makes exactly one heap allocation per frame (the frame itself)
//! and frees everything it handed out once the frames are dropped.

use apn_ami_core::protocol::{Action, Item, Parser, ParserConfig};

#[path = "../../core/tests/support/mixed_stream.rs"]
mod mixed_stream;

const CALLS: usize = 2_000;
const FRAMES: u64 = 5 * CALLS as u64;

fn parse_dropping_frames(parser: &mut Parser, stream: &[u8]) -> u64 {
    let mut frames = 0;
    for chunk in stream.chunks(64 * 1024) {
        parser
            .feed(chunk, |item| {
                frames += u64::from(matches!(item, Item::Frame(_)));
            })
            .expect("valid stream");
    }
    frames
}

#[test]
fn one_allocation_per_frame_in_steady_state() {
    let stream = mixed_stream::mixed_stream(CALLS);
    let mut parser = Parser::new(ParserConfig::default()).unwrap();
    // Warm-up: the read buffer and the span scratch reach their size.
    assert_eq!(parse_dropping_frames(&mut parser, &stream), FRAMES);
    parser.reset();

    let mut frames = 0;
    let info = allocation_counter::measure(|| {
        frames = parse_dropping_frames(&mut parser, &stream);
    });
    assert_eq!(frames, FRAMES);
    eprintln!(
        "steady state: {} allocations for {frames} frames, {} bytes",
        info.count_total, info.bytes_total
    );
    // One per frame, plus the banner line that starts the stream again.
    assert_eq!(
        info.count_total,
        frames + 1,
        "exactly one allocation per frame"
    );
    assert_eq!(info.count_current, 0, "every frame was freed");
    assert_eq!(info.bytes_current, 0);
    assert!(info.count_max <= 1, "no frame outlives its callback here");
}

#[test]
fn retained_frames_cost_exactly_their_heap_size() {
    let stream = mixed_stream::mixed_stream(100);
    let mut parser = Parser::new(ParserConfig::default()).unwrap();
    let mut kept = Vec::new();
    parser
        .feed(&stream, |item| kept.extend(item.into_frame()))
        .unwrap();
    parser.reset();
    kept.clear();
    kept.shrink_to_fit();

    let mut retained = Vec::with_capacity(500);
    let info = allocation_counter::measure(|| {
        parser
            .feed(&stream, |item| retained.extend(item.into_frame()))
            .unwrap();
    });
    let heap: usize = retained
        .iter()
        .map(apn_ami_core::protocol::Frame::heap_size)
        .sum();
    assert_eq!(retained.len(), 500);
    assert_eq!(
        info.count_current, 500,
        "one live allocation per retained frame"
    );
    assert_eq!(
        Some(info.bytes_current),
        i64::try_from(heap).ok(),
        "heap_size is what a frame costs"
    );
}

#[test]
fn parser_memory_is_released_by_terminate() {
    let stream = mixed_stream::mixed_stream(10);
    let mut parser = Parser::new(ParserConfig::default()).unwrap();
    let info = allocation_counter::measure(|| {
        parser.feed(&stream, |_| {}).unwrap();
        assert!(parser.heap_size() <= 2 * parser.config().buffer_limit());
        parser.terminate();
    });
    assert_eq!(info.count_current, 0);
    assert_eq!(info.bytes_current, 0);
}

#[test]
fn encoding_into_a_reused_buffer_does_not_allocate() {
    let action = Action::builder("Originate")
        .header("Channel", "PJSIP/100")
        .variable("ACCOUNT", "42")
        .build()
        .unwrap();
    let mut out = Vec::with_capacity(1024);
    let info = allocation_counter::measure(|| {
        for sequence in 0..1_000 {
            out.clear();
            let id = if sequence % 2 == 0 {
                "pbx1:7f:1"
            } else {
                "pbx1:7f:2"
            };
            action.encode(Some(id), &mut out).unwrap();
        }
    });
    assert_eq!(info.count_total, 0);
}

#[test]
fn reading_events_into_borrowing_types_allocates_nothing() {
    use apn_ami_core::typed::events::Event;
    let stream = mixed_stream::mixed_stream(200);
    let mut parser = Parser::new(ParserConfig::default()).unwrap();
    let mut frames = Vec::new();
    parser
        .feed(&stream, |item| frames.extend(item.into_frame()))
        .unwrap();
    assert_eq!(frames.len(), 1_000);
    // The catalogue's own reader, and the general one (`Frame::parse`).
    for read in [Event::from_frame, Event::from_frame_by_parse] {
        let mut typed = 0;
        let info = allocation_counter::measure(|| {
            for frame in &frames {
                let event = read(frame);
                typed += usize::from(!matches!(event, Event::Unknown(_) | Event::Invalid { .. }));
                std::hint::black_box(&event);
            }
        });
        assert_eq!(typed, 1_000, "every event of the mix is in the catalogue");
        assert_eq!(info.count_total, 0, "not one allocation for 1,000 events");
    }
}
