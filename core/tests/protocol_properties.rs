//! Properties of the codec, checked with quickcheck on generated input:
//! writer → parser round trip, chunking invariance, and recovery from
//! garbage between frames.

#[path = "support/harness.rs"]
mod harness;

use apn_ami_core::protocol::{Action, FrameKind, ParserConfig};
use harness::{no_banner, pairs, parse_chunked, parse_pieces, parse_push_poll, seeded_quickcheck};
use quickcheck::{Arbitrary, Gen, TestResult};

const KEY_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_()/@; ";

fn pick(g: &mut Gen, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(*g.choose(alphabet).expect("non-empty alphabet")))
        .collect()
}

/// A valid action: a name, then headers with keys from AMI's key alphabet
/// and values of any bytes but CR, LF and NUL.
#[derive(Debug, Clone)]
struct ValidAction {
    name: String,
    headers: Vec<(String, Vec<u8>)>,
    action_id: String,
}

impl Arbitrary for ValidAction {
    fn arbitrary(g: &mut Gen) -> Self {
        let name_len = 1 + usize::arbitrary(g) % 20;
        let name = pick(g, &KEY_ALPHABET[..62], name_len);
        let count = usize::arbitrary(g) % 12;
        let headers = (0..count)
            .map(|_| {
                let key_len = usize::arbitrary(g) % 24;
                let key = format!("K{}", pick(g, KEY_ALPHABET, key_len));
                let value: Vec<u8> = Vec::<u8>::arbitrary(g)
                    .into_iter()
                    .filter(|byte| !matches!(byte, b'\r' | b'\n' | 0))
                    .take(200)
                    .collect();
                (key, value)
            })
            .collect();
        let id_len = 1 + usize::arbitrary(g) % 64;
        let action_id = pick(g, &KEY_ALPHABET[..62], id_len);
        Self {
            name,
            headers,
            action_id,
        }
    }
}

/// What the parser does to a key: lowercase up to the first `(`.
fn normalise(key: &str) -> String {
    match key.split_once('(') {
        Some((name, rest)) => format!("{}({rest}", name.to_ascii_lowercase()),
        None => key.to_ascii_lowercase(),
    }
}

#[test]
fn writer_then_parser_round_trips() {
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(action: ValidAction, chunk: usize) -> bool {
        let mut builder = Action::builder(&action.name);
        for (key, value) in &action.headers {
            builder = builder.header(key, value);
        }
        let built = builder.build().expect("generated actions are valid");
        let mut wire = Vec::new();
        built
            .encode(Some(&action.action_id), &mut wire)
            .expect("valid id");

        let outcome = parse_chunked(ParserConfig::server(), &wire, 1 + chunk % 64);
        let frame = outcome.only_frame();
        let mut expected = vec![
            ("action".to_owned(), action.name.as_bytes().to_vec()),
            ("actionid".to_owned(), action.action_id.as_bytes().to_vec()),
        ];
        expected.extend(
            action
                .headers
                .iter()
                .map(|(k, v)| (normalise(k), v.clone())),
        );
        frame.kind() == FrameKind::Action
            && pairs(frame) == expected
            && outcome.stats.protocol_errors == 0
            && outcome.stats.bytes == wire.len() as u64
    }
    seeded_quickcheck(2_000).quickcheck(property as fn(ValidAction, usize) -> bool);
}

/// A stream piece: a valid frame, a garbage line, a blank line, or raw bytes.
#[derive(Debug, Clone)]
enum Piece {
    Frame(Vec<(String, Vec<u8>)>),
    Garbage(Vec<u8>),
    Blank,
    Raw(Vec<u8>),
    Command(Vec<u8>),
    /// A frame of about this many bytes, often past the small frame limit.
    Big(u16, bool),
}

impl Arbitrary for Piece {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 12 {
            0..=4 => {
                let count = usize::arbitrary(g) % 8;
                let mut headers = vec![(
                    (*g.choose(&["Event", "Response"]).expect("two")).to_owned(),
                    b"X".to_vec(),
                )];
                headers.extend((0..count).map(|_| {
                    let key_len = usize::arbitrary(g) % 12;
                    let key = format!("K{}", pick(g, KEY_ALPHABET, key_len));
                    let value = Vec::<u8>::arbitrary(g)
                        .into_iter()
                        .filter(|byte| !matches!(byte, b'\r' | b'\n'))
                        .collect();
                    (key, value)
                }));
                Self::Frame(headers)
            }
            5 | 6 => Self::Garbage(Vec::arbitrary(g)),
            7 => Self::Blank,
            8 => Self::Command(Vec::arbitrary(g)),
            9 | 10 => Self::Big(u16::arbitrary(g) % 3000, bool::arbitrary(g)),
            _ => Self::Raw(Vec::arbitrary(g)),
        }
    }
}

fn render(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Frame(headers) => {
                for (key, value) in headers {
                    out.extend_from_slice(key.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(value);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
            Piece::Garbage(bytes) | Piece::Raw(bytes) => out.extend_from_slice(bytes),
            Piece::Blank => out.extend_from_slice(b"\r\n"),
            Piece::Big(len, follows) => {
                let start = out.len();
                out.extend_from_slice(if *follows {
                    b"Response: Follows\r\nActionID: b\r\n\n".as_slice()
                } else {
                    b"Event: Big\r\n"
                });
                while out.len() - start < usize::from(*len) {
                    out.extend_from_slice(b"Pad: 0123456789abcdef\r\n");
                }
                out.extend_from_slice(if *follows {
                    b"--END COMMAND--\r\n\r\n".as_slice()
                } else {
                    b"\r\n"
                });
            }
            Piece::Command(body) => {
                out.extend_from_slice(b"Response: Follows\r\nPrivilege: Command\r\n\n");
                out.extend_from_slice(body);
                out.extend_from_slice(b"--END COMMAND--\r\n\r\n");
            }
        }
    }
    out
}

#[test]
fn any_chunking_yields_the_same_items_counters_and_error() {
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(pieces: Vec<Piece>, cuts: Vec<u16>, small: bool, opening: u8) -> TestResult {
        // No banner; an AMI banner; or the first line of a port that is not
        // AMI, so streams that fail at once are cut every way too.
        let (prefix, config): (&[u8], _) = match opening % 3 {
            0 => (b"", no_banner()),
            1 => (b"Asterisk Call Manager/11.0.0\r\n", ParserConfig::default()),
            _ => (b"HTTP/1.1 200 OK\r\n", ParserConfig::default()),
        };
        let stream = [prefix, &render(&pieces)].concat();
        if stream.is_empty() {
            return TestResult::discard();
        }
        let config = if small {
            config.max_frame_size(1024).max_resync_bytes(2048)
        } else {
            config
        };
        let whole = parse_chunked(config, &stream, stream.len());
        // The same stream cut at arbitrary places, fed and pushed.
        let mut sizes = cuts.iter().cycle().map(|cut| usize::from(*cut) % 97 + 1);
        let cut = parse_pieces(config, &stream, || sizes.next().unwrap_or(1));
        let pushed = parse_push_poll(
            config,
            &stream,
            usize::from(cuts.first().map_or(5, |c| c % 61)) + 1,
        );
        TestResult::from_bool(cut == whole && pushed == whole)
    }
    seeded_quickcheck(2_000)
        .quickcheck(property as fn(Vec<Piece>, Vec<u16>, bool, u8) -> TestResult);
}

/// Whether the parser would take `line` as the start of a frame: after the
/// CR/LF bytes it skips between frames, a `Response:` or `Event:` header.
fn starts_a_frame(line: &[u8]) -> bool {
    let line: Vec<u8> = line
        .iter()
        .copied()
        .skip_while(|b| matches!(b, b'\r' | b'\n'))
        .collect();
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let key = &line[..colon];
    key.eq_ignore_ascii_case(b"response") || key.eq_ignore_ascii_case(b"event")
}

#[test]
fn garbage_blocks_between_frames_never_lose_the_next_frame() {
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(garbage: Vec<Vec<u8>>, value: Vec<u8>, chunk: u8) -> TestResult {
        // Garbage blocks: a line of any bytes without a CRLF, shorter than a
        // frame and not itself the start of a frame, then a blank line.
        let mut lines = Vec::new();
        for mut line in garbage {
            while let Some(at) = line.windows(2).position(|pair| pair == b"\r\n") {
                line.remove(at + 1);
            }
            if line.ends_with(b"\r") {
                line.pop();
            }
            if starts_a_frame(&line) {
                return TestResult::discard();
            }
            lines.push(line);
        }
        let value: Vec<u8> = value
            .into_iter()
            .filter(|b| !matches!(b, b'\r' | b'\n'))
            .collect();
        let mut stream = b"Response: Success\r\nActionID: 1\r\n\r\n".to_vec();
        for line in &lines {
            stream.extend_from_slice(line);
            stream.extend_from_slice(b"\r\n\r\n");
        }
        stream.extend_from_slice(b"Event: Next\r\nValue: ");
        stream.extend_from_slice(&value);
        stream.extend_from_slice(b"\r\n\r\n");

        let outcome = parse_chunked(no_banner(), &stream, 1 + usize::from(chunk));
        let frames = outcome.frames();
        let garbage_lines = lines
            .iter()
            .filter(|line| line.iter().any(|b| !matches!(b, b'\r' | b'\n')))
            .count() as u64;
        TestResult::from_bool(
            outcome.error.is_none()
                && frames.len() == 2
                && frames[0].action_id().is_some_and(|id| id == "1")
                && frames[1].first_value() == "Next"
                && frames[1]
                    .get("value")
                    .is_some_and(|v| v.as_bytes() == value)
                && outcome.stats.protocol_errors == garbage_lines
                && outcome.stats.resyncs == garbage_lines,
        )
    }
    seeded_quickcheck(2_000).quickcheck(property as fn(Vec<Vec<u8>>, Vec<u8>, u8) -> TestResult);
}

#[test]
fn no_frame_starts_inside_a_damaged_block() {
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(damage: u8, tail: Vec<(bool, u16)>, chunk: u8) -> TestResult {
        // A block whose first line is damaged, followed by lines that would
        // each start a frame on their own.
        let mut block = b"Ev".to_vec();
        block.push(damage | 0x80);
        block.extend_from_slice(b"ent: OriginateResponse\r\n");
        for (response, id) in &tail {
            let key = if *response { "Response" } else { "Event" };
            block.extend_from_slice(format!("{key}: Failure\r\nActionID: {id}\r\n").as_bytes());
        }
        block.extend_from_slice(b"\r\n");
        let stream = [
            b"Response: Success\r\nActionID: 1\r\n\r\n".as_slice(),
            &block,
            b"Event: Next\r\n\r\n",
        ]
        .concat();
        let outcome = parse_chunked(no_banner(), &stream, 1 + usize::from(chunk));
        let frames = outcome.frames();
        TestResult::from_bool(
            outcome.error.is_none()
                && frames.len() == 2
                && frames[0].action_id().is_some_and(|id| id == "1")
                && frames[1].first_value() == "Next"
                && outcome.stats.resyncs == 1
                && outcome.stats.bytes_skipped == block.len() as u64,
        )
    }
    seeded_quickcheck(500).quickcheck(property as fn(u8, Vec<(bool, u16)>, u8) -> TestResult);
}
