//! The typed catalogue, property-tested: for every event and action type,
//! a made-up value written to frame bytes, parsed, and read back is the
//! same value; and frames of any content never panic the reader. Values
//! come from a seeded generator (`APN_AMI_QC_SEED` picks another seed).

#[path = "support/random_value.rs"]
mod random_value;

use std::collections::BTreeMap;

use apn_ami_core::health::SeededRng;
use apn_ami_core::protocol::{Frame, Parser, ParserConfig};
use apn_ami_core::typed::actions::{self, AmiAction};
use apn_ami_core::typed::events::{self, Event, TypedEvent};
use apn_ami_core::typed::{WriteError, to_event_bytes};
use random_value::{Random, key_pool, text_pool};
use serde::Deserialize;

const CASES: u64 = 300;

fn seed() -> u64 {
    std::env::var("APN_AMI_QC_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x7e57_ca7a)
}

fn frames(bytes: &[u8], config: ParserConfig) -> Vec<Frame> {
    let mut parser = Parser::new(config).expect("valid");
    let mut frames = Vec::new();
    parser
        .feed(bytes, |item| frames.extend(item.into_frame()))
        .expect("one frame");
    frames
}

fn one_frame(bytes: &[u8], config: ParserConfig) -> Frame {
    let mut all = frames(bytes, config);
    assert_eq!(all.len(), 1, "{}", bytes.escape_ascii());
    all.remove(0)
}

/// For `$kind`: `CASES` made-up values each round-trip through the wire,
/// and `Event::from_frame` gives the catalogue's variant.
macro_rules! event_round_trips {
    ($($kind:ident),* $(,)?) => {
        $(
            for case in 0..CASES {
                let case_seed = seed() ^ case.wrapping_mul(0x9e37_79b9) ^ fnv(stringify!($kind));
                let mut rng = SeededRng::new(case_seed);
                let texts = text_pool(&mut rng, 64);
                let keys = key_pool(&mut rng, 16);
                let mut random = Random { texts: &texts, keys: &keys, rng };
                let value = events::$kind::deserialize(&mut random)
                    .unwrap_or_else(|error| panic!("{}: {error}", stringify!($kind)));
                let name = <events::$kind<'_> as TypedEvent<'_>>::NAME;
                let bytes = to_event_bytes(name, &value)
                    .unwrap_or_else(|error| panic!("{}: {error}", stringify!($kind)));
                let frame = one_frame(&bytes, ParserConfig::default().expect_banner(false));
                let back: events::$kind<'_> = frame.parse().unwrap_or_else(|error| {
                    panic!("seed {case_seed}: {} from {}: {error}", stringify!($kind), bytes.escape_ascii())
                });
                assert_eq!(back, value, "seed {case_seed}: {}", bytes.escape_ascii());
                match Event::from_frame(&frame) {
                    Event::$kind(typed) => assert_eq!(typed, value),
                    other => panic!("seed {case_seed}: {} read as {other:?}", stringify!($kind)),
                }
            }
        )*
    };
}

/// The same for actions: `to_action`, encoded with an ActionID, parsed as
/// a server parses it, read back.
macro_rules! action_round_trips {
    ($($kind:ident),* $(,)?) => {
        $(
            for case in 0..CASES {
                let case_seed = seed() ^ case.wrapping_mul(0x9e37_79b9) ^ fnv(stringify!($kind));
                let mut rng = SeededRng::new(case_seed);
                let texts = text_pool(&mut rng, 64);
                let keys = key_pool(&mut rng, 16);
                let mut random = Random { texts: &texts, keys: &keys, rng };
                let value = actions::$kind::deserialize(&mut random)
                    .unwrap_or_else(|error| panic!("{}: {error}", stringify!($kind)));
                let action = value
                    .to_action()
                    .unwrap_or_else(|error| panic!("{}: {error}", stringify!($kind)));
                let mut wire = Vec::new();
                action.encode(Some("pbx:1:1"), &mut wire).expect("encodes");
                let frame = one_frame(&wire, ParserConfig::server());
                assert_eq!(frame.first_value().as_bytes(), actions::$kind::NAME.as_bytes());
                let back = parse_like(&frame, &value).unwrap_or_else(|error| {
                    panic!("seed {case_seed}: {} from {}: {error}", stringify!($kind), wire.escape_ascii())
                });
                assert_eq!(back, value, "seed {case_seed}: {}", wire.escape_ascii());
            }
        )*
    };
}

/// `frame` read as the type of `like`.
fn parse_like<'f, T: Deserialize<'f>>(
    frame: &'f Frame,
    _like: &T,
) -> Result<T, apn_ami_core::typed::ParseError> {
    frame.parse()
}

/// A stable number per type name, so each type gets its own values.
fn fnv(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn every_catalogue_event_round_trips_through_the_wire() {
    event_round_trips!(
        Newchannel,
        Newstate,
        Newexten,
        Hangup,
        HangupRequest,
        SoftHangupRequest,
        DialBegin,
        DialEnd,
        BridgeCreate,
        BridgeEnter,
        BridgeLeave,
        BridgeDestroy,
        VarSet,
        UserEvent,
        OriginateResponse,
        Hold,
        Unhold,
        MusicOnHoldStart,
        MusicOnHoldStop,
        DtmfBegin,
        DtmfEnd,
        Cdr,
        Cel,
        QueueCallerJoin,
        QueueCallerLeave,
        QueueCallerAbandon,
        QueueMemberStatus,
        QueueMemberAdded,
        QueueMemberRemoved,
        QueueMemberPause,
        AgentCalled,
        AgentConnect,
        AgentComplete,
        AgentRingNoAnswer,
        DeviceStateChange,
        ContactStatus,
        PeerStatus,
        FullyBooted,
        Shutdown,
        Reload,
        SuccessfulAuth,
        InvalidPassword,
        ChallengeResponseFailed,
        CoreShowChannel,
        ChannelStatus,
        QueueParams,
        QueueMember,
        QueueEntry,
    );
}

#[test]
fn every_catalogue_action_round_trips_through_the_wire() {
    action_round_trips!(
        Originate,
        Hangup,
        Redirect,
        Setvar,
        Getvar,
        Command,
        CoreShowChannels,
        Status,
        QueueStatus,
        QueueAdd,
        QueueRemove,
        QueuePause,
        Ping,
        Events,
        Logoff,
        Atxfer,
        Bridge,
        PlayDtmf,
        MixMonitor,
        StopMixMonitor,
    );
}

#[test]
fn a_user_event_action_writes_its_own_headers_and_reads_them_back_lowercase() {
    let action = actions::UserEvent {
        user_event: "CampaignDone",
        headers: BTreeMap::from([("Campaign", "7"), ("Leads", "1200")]),
    }
    .to_action()
    .expect("valid");
    let mut wire = Vec::new();
    action.encode(Some("pbx:1:9"), &mut wire).expect("encodes");
    assert_eq!(
        wire,
        b"Action: UserEvent\r\nActionID: pbx:1:9\r\nUserEvent: CampaignDone\r\n\
          Campaign: 7\r\nLeads: 1200\r\n\r\n"
    );
    let frame = one_frame(&wire, ParserConfig::server());
    let back: actions::UserEvent<'_> = frame.parse().expect("reads");
    assert_eq!(back.user_event, "CampaignDone");
    assert_eq!(
        back.headers,
        BTreeMap::from([
            ("action", "UserEvent"),
            ("actionid", "pbx:1:9"),
            ("campaign", "7"),
            ("leads", "1200")
        ])
    );
}

#[test]
fn values_that_would_inject_headers_are_refused_naming_the_header() {
    let originate = actions::Originate {
        channel: "PJSIP/100",
        caller_id: Some("x\r\nAction: Command"),
        ..actions::Originate::default()
    };
    let error = originate.to_action().expect_err("refused");
    assert!(
        matches!(&error, WriteError::Action(inner) if inner.to_string().contains("CallerID")),
        "{error}"
    );
    let setvar = actions::Setvar {
        channel: None,
        variable: "A",
        value: "nul\0byte",
    };
    assert!(setvar.to_action().is_err());
    let mut variables = BTreeMap::new();
    variables.insert("LEAD", "1\nAction: Hangup");
    let originate = actions::Originate {
        channel: "PJSIP/100",
        variable: variables,
        ..actions::Originate::default()
    };
    assert!(originate.to_action().is_err(), "a map value is checked too");
    let error = to_event_bytes("Hangup", &BTreeMap::from([("Channel", "a\rb")]))
        .expect_err("event bytes are checked as well");
    assert!(matches!(error, WriteError::Action(_)), "{error}");
}

#[test]
fn what_cannot_be_headers_is_a_typed_error() {
    #[derive(serde::Serialize)]
    struct Nested {
        inner: Inner,
    }
    #[derive(serde::Serialize)]
    struct Inner {
        a: u8,
    }
    #[derive(serde::Serialize)]
    struct Lists {
        twice: Vec<Vec<u8>>,
    }
    assert_eq!(
        apn_ami_core::typed::to_action(
            "X",
            &Nested {
                inner: Inner { a: 1 }
            }
        )
        .unwrap_err(),
        WriteError::Unsupported {
            field: "inner".to_owned(),
            kind: "a nested struct"
        }
    );
    assert_eq!(
        apn_ami_core::typed::to_action("X", &7_u8).unwrap_err(),
        WriteError::NotFields { kind: "a number" }
    );
    assert_eq!(
        apn_ami_core::typed::to_action("X", &vec![1, 2]).unwrap_err(),
        WriteError::NotFields { kind: "a sequence" }
    );
    assert!(matches!(
        apn_ami_core::typed::to_action(
            "X",
            &Lists {
                twice: vec![vec![1]]
            }
        )
        .unwrap_err(),
        WriteError::Unsupported { .. }
    ));
}

/// Event names of the catalogue, and the field names of its types, for
/// frames made of the catalogue's own words.
const NAMES: &[&str] = &[
    "Newchannel",
    "Hangup",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "VarSet",
    "Cdr",
    "CEL",
    "QueueCallerAbandon",
    "QueueMemberStatus",
    "AgentComplete",
    "PeerStatus",
    "Shutdown",
    "OriginateResponse",
    "QueueParams",
    "Status",
    "DTMFEnd",
    "FullyBooted",
];
const KEYS: &[&str] = &[
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "Uniqueid",
    "Cause",
    "Cause-txt",
    "DestChannel",
    "DestChannelState",
    "DestChannelStateDesc",
    "DestUniqueid",
    "DialStatus",
    "BridgeUniqueid",
    "BridgeNumChannels",
    "Variable",
    "Value",
    "Duration",
    "BillableSeconds",
    "Disposition",
    "EventName",
    "Queue",
    "Position",
    "OriginalPosition",
    "HoldTime",
    "MemberName",
    "Interface",
    "Paused",
    "InCall",
    "TalkTime",
    "Reason",
    "ChannelType",
    "Peer",
    "PeerStatus",
    "Shutdown",
    "Restart",
    "Response",
    "Max",
    "Strategy",
    "Calls",
    "Holdtime",
    "Completed",
    "Abandoned",
    "ServicelevelPerf",
    "Digit",
    "DurationMs",
    "Direction",
    "Status",
    "Uptime",
    "Priority",
];

#[test]
fn frames_of_any_content_never_panic_the_reader() {
    let mut rng = SeededRng::new(seed());
    let mut typed = 0;
    let mut invalid = 0;
    for _ in 0..20_000 {
        let mut bytes = b"Event: ".to_vec();
        bytes.extend_from_slice(NAMES[random_value::pick(&mut rng, NAMES.len())].as_bytes());
        bytes.extend_from_slice(b"\r\n");
        for _ in 0..rng.up_to(30) {
            bytes.extend_from_slice(KEYS[random_value::pick(&mut rng, KEYS.len())].as_bytes());
            bytes.extend_from_slice(b": ");
            let value: Vec<u8> = match rng.up_to(3) {
                0 => rng.up_to(20).to_string().into_bytes(),
                1 => b"yes".to_vec(),
                2 => (0..rng.up_to(12))
                    .map(|_| u8::try_from(rng.up_to(255)).unwrap_or(0))
                    .filter(|byte| !matches!(byte, b'\r' | b'\n'))
                    .collect(),
                _ => Vec::new(),
            };
            bytes.extend_from_slice(&value);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        for frame in frames(&bytes, ParserConfig::default().expect_banner(false)) {
            match Event::from_frame(&frame) {
                Event::Unknown(_) => panic!("a catalogue name read as unknown"),
                Event::Invalid { error, .. } => {
                    invalid += 1;
                    assert!(!error.to_string().is_empty());
                }
                _ => typed += 1,
            }
        }
    }
    assert!(
        typed > 100 && invalid > 100,
        "both kinds were reached: {typed} typed, {invalid} invalid"
    );
}
