//! Every example of the protocol reference, parsed byte for byte, whole and
//! one byte at a time, with the exact headers each frame must carry.

use apn_ami_conformance::{Direction, TRANSCRIPTS, transcript};
use apn_ami_core::protocol::{Action, Frame, FrameKind, Item, Parser, ParserConfig};

fn config(direction: Direction) -> ParserConfig {
    match direction {
        Direction::FromServer => ParserConfig::default().expect_banner(false),
        Direction::FromClient => ParserConfig::server(),
    }
}

/// Parses whole and byte by byte; both must agree and be error-free.
fn items(bytes: &[u8], config: ParserConfig) -> Vec<Item> {
    let mut whole = Vec::new();
    let mut parser = Parser::new(config).unwrap();
    parser.feed(bytes, |item| whole.push(item)).unwrap();
    let mut bytewise = Vec::new();
    let mut parser = Parser::new(config).unwrap();
    for byte in bytes {
        parser.feed(&[*byte], |item| bytewise.push(item)).unwrap();
    }
    assert_eq!(whole, bytewise);
    assert_eq!(parser.stats().protocol_errors, 0);
    assert_eq!(parser.stats().frames_discarded, 0);
    assert_eq!(parser.buffered(), 0, "nothing left over");
    whole
}

fn frames(name: &str) -> Vec<Frame> {
    let bytes = transcript(name);
    items(bytes, config(Direction::FromServer))
        .into_iter()
        .filter_map(Item::into_frame)
        .collect()
}

fn pairs(frame: &Frame) -> Vec<(String, Vec<u8>)> {
    frame
        .headers()
        .map(|(key, value)| (key.to_owned(), value.as_bytes().to_vec()))
        .collect()
}

fn expect(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
        .collect()
}

#[test]
fn every_transcript_parses_cleanly_in_its_direction() {
    for transcript in TRANSCRIPTS {
        let parsed = items(
            transcript.bytes,
            config(transcript.direction).expect_banner(transcript.name == "banner"),
        );
        assert!(!parsed.is_empty(), "{} yields something", transcript.name);
    }
}

#[test]
fn banner() {
    let parsed = items(transcript("banner"), ParserConfig::default());
    let Item::Banner(banner) = &parsed[0] else {
        panic!("banner")
    };
    assert_eq!(banner.version(), Some("11.0.0"));
}

#[test]
fn login_requests_match_what_the_writer_produces() {
    let login = Action::builder("Login")
        .header("Username", "u")
        .header("Secret", "s")
        .build()
        .unwrap();
    let mut wire = Vec::new();
    login.encode(Some("1"), &mut wire).unwrap();
    assert_eq!(wire, transcript("login_plain"));
    let challenge = Action::builder("Challenge")
        .header("AuthType", "MD5")
        .build()
        .unwrap();
    wire.clear();
    challenge.encode(Some("c1"), &mut wire).unwrap();
    assert_eq!(wire, transcript("challenge"));
    let parsed = items(&wire, ParserConfig::server());
    let frame = parsed[0].as_frame().unwrap();
    assert_eq!(frame.kind(), FrameKind::Action);
    assert_eq!(
        pairs(frame),
        expect(&[
            ("action", b"Challenge"),
            ("actionid", b"c1"),
            ("authtype", b"MD5")
        ])
    );
}

#[test]
fn login_answers() {
    let accepted = &frames("login_accepted")[0];
    assert_eq!(
        pairs(accepted),
        expect(&[
            ("response", b"Success"),
            ("actionid", b"1"),
            ("message", b"Authentication accepted")
        ])
    );
    let failed = &frames("login_failed")[0];
    assert_eq!(failed.first_value(), "Error");
    assert_eq!(failed.get("message").unwrap(), "Authentication failed");
    let challenge = &frames("challenge_answer")[0];
    assert_eq!(challenge.get("challenge").unwrap(), "840382147");
}

#[test]
fn fully_booted_both_versions() {
    let new = &frames("fully_booted")[0];
    assert_eq!(
        pairs(new),
        expect(&[
            ("event", b"FullyBooted"),
            ("privilege", b"system,all"),
            ("uptime", b"3605"),
            ("lastreload", b"3605"),
            ("status", b"Fully Booted"),
        ])
    );
    let old = &frames("fully_booted_13")[0];
    assert!(old.get("uptime").is_none());
    assert_eq!(old.get("status").unwrap(), "Fully Booted");
}

#[test]
fn ping_and_logoff() {
    let ping = &frames("ping")[0];
    assert_eq!(
        pairs(ping),
        expect(&[
            ("response", b"Success"),
            ("actionid", b"p1"),
            ("ping", b"Pong"),
            ("timestamp", b"1722870000.123456")
        ])
    );
    assert!(ping.get("message").is_none());
    let logoff = &frames("logoff")[0];
    assert_eq!(logoff.first_value(), "Goodbye");
    assert_eq!(logoff.get("message").unwrap(), "Thanks for all the fish.");
}

#[test]
fn command_legacy_formats() {
    let legacy = &frames("command_legacy")[0];
    assert_eq!(
        pairs(legacy),
        expect(&[
            ("response", b"Follows"),
            ("privilege", b"Command"),
            ("actionid", b"7")
        ])
    );
    assert_eq!(
        legacy.follows_body().unwrap(),
        b"System uptime: 1 hour, 5 minutes, 3 seconds\nLast reload: 5 seconds\n"
    );
    assert_eq!(
        frames("command_legacy_glued")[0].follows_body().unwrap(),
        b"Last reload: 5 seconds"
    );
    assert_eq!(
        frames("command_legacy_empty")[0].follows_body().unwrap(),
        b""
    );
}

#[test]
fn command_output_formats() {
    let output = &frames("command_output")[0];
    let lines: Vec<_> = output.get_all("output").map(|v| v.to_string()).collect();
    assert_eq!(lines, ["line 1", "line 2"]);
    assert!(output.follows_body().is_none());
    let empty = &frames("command_output_empty")[0];
    assert_eq!(empty.get_all("output").count(), 1);
    assert!(empty.get("output").unwrap().is_empty());
    let error = &frames("command_output_error")[0];
    assert_eq!(error.first_value(), "Error");
    assert!(
        error
            .get("output")
            .unwrap()
            .to_string()
            .starts_with("No such command")
    );
    let indented = &frames("command_output_indented")[0];
    let lines: Vec<_> = indented
        .get_all("output")
        .map(|v| v.as_bytes().to_vec())
        .collect();
    assert_eq!(
        lines,
        [
            b"Channel              Location".to_vec(),
            b"  PJSIP/100-00000001 s@default:1".to_vec(),
            b"with\rcarriage return".to_vec()
        ]
    );
}

#[test]
fn event_lists() {
    let list = frames("list_core_show_channels");
    assert_eq!(list.len(), 3);
    assert!(
        list[0]
            .get("eventlist")
            .unwrap()
            .eq_ignore_ascii_case("start")
    );
    assert_eq!(
        pairs(&list[1]),
        expect(&[
            ("event", b"CoreShowChannel"),
            ("actionid", b"42"),
            ("channel", b"PJSIP/100-00000000"),
            ("channelstate", b"6"),
            ("bridgeid", b""),
        ])
    );
    assert_eq!(list[2].get("eventlist").unwrap(), "Complete");
    assert_eq!(list[2].get("listitems").unwrap(), "1");
    assert!(list.iter().all(|frame| frame.action_id().unwrap() == "42"));

    let empty = frames("list_empty");
    assert_eq!(empty.len(), 2);
    assert_eq!(empty[1].get("listitems").unwrap(), "0");
    assert!(
        frames("list_fax_start")[0]
            .get("eventlist")
            .unwrap()
            .eq_ignore_ascii_case("start")
    );
    let refused = &frames("list_refused")[0];
    assert_eq!(
        refused.get("message").unwrap().as_bytes(),
        b"No endpoints found\n"
    );
    let endpoint = &frames("list_item_repeated_keys")[0];
    let contacts: Vec<_> = endpoint
        .get_all("contacts")
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        contacts,
        ["100/sip:100@127.0.0.1:5062,", "100/sip:100@127.0.0.1:5064,"]
    );
    let hungup = frames("hangup_regex_list");
    assert_eq!(hungup.len(), 3);
    assert_eq!(hungup[1].first_value(), "ChannelHungup");
    assert_eq!(hungup[2].get("eventlist").unwrap(), "Complete");
    let status = frames("list_status");
    assert_eq!(status[1].get("privilege").unwrap(), "Call");
    assert_eq!(status[1].action_id().unwrap(), "46");
    assert_eq!(status[2].get("items").unwrap(), "1");
}

#[test]
fn originate_async_and_its_event() {
    let originate = frames("originate_async");
    assert_eq!(originate[0].kind(), FrameKind::Response);
    assert_eq!(
        originate[0].get("message").unwrap(),
        "Originate successfully queued"
    );
    assert_eq!(originate[1].kind(), FrameKind::Event);
    assert_eq!(originate[1].get("response").unwrap(), "Success");
    assert_eq!(originate[1].action_id().unwrap(), "o1");
    let failure = &frames("originate_failure")[0];
    assert_eq!(failure.kind(), FrameKind::Event);
    assert_eq!(failure.get("response").unwrap(), "Failure");
}

#[test]
fn user_event_echo_keeps_key_without_space() {
    let echo = &frames("user_event_echo")[0];
    assert_eq!(echo.get("reportblock").unwrap(), "value");
    assert!(echo.get("empty").unwrap().is_empty());
    assert_eq!(echo.action_id().unwrap(), "u1");
}

#[test]
fn system_events_and_errors() {
    let shutdown = &frames("shutdown")[0];
    assert_eq!(shutdown.get("shutdown").unwrap(), "Cleanly");
    assert_eq!(shutdown.get("restart").unwrap(), "False");
    assert_eq!(frames("reload")[0].get("module").unwrap(), "manager");
    let missing = &frames("missing_action")[0];
    assert!(missing.action_id().is_none());
    assert_eq!(missing.get("message").unwrap(), "Missing action in request");
    assert_eq!(
        frames("permission_denied")[0].get("message").unwrap(),
        "Permission denied"
    );
    let auth = &frames("successful_auth")[0];
    assert_eq!(auth.get("accountid").unwrap(), "admin");
    assert_eq!(
        auth.get("remoteaddress").unwrap(),
        "IPV4/TCP/127.0.0.1/40000"
    );
}

#[test]
fn channel_variables_escapes_and_non_utf8() {
    let hangup = &frames("chan_variables")[0];
    let vars: Vec<_> = hangup
        .chan_variables()
        .map(|var| {
            (
                var.channel.map(str::to_owned),
                var.name.to_string(),
                var.value.to_string(),
            )
        })
        .collect();
    assert_eq!(
        vars,
        [
            (
                Some("PJSIP/100-00000001".to_owned()),
                "ACCOUNT".to_owned(),
                "7".to_owned()
            ),
            (
                Some("PJSIP/200-00000002".to_owned()),
                "ACCOUNT".to_owned(),
                "8".to_owned()
            ),
            (None, "QUEUE".to_owned(), "sales".to_owned()),
        ]
    );
    assert_eq!(hangup.get("calleridname").unwrap().as_bytes(), b"O\\'Brien");
    assert_eq!(hangup.get("cause-txt").unwrap(), "Normal Clearing");
    let named = &frames("system_name")[0];
    assert_eq!(named.get("systemname").unwrap(), "pbx1");
    assert_eq!(
        named.get("calleridname").unwrap().as_bytes(),
        b"\xcf\xe5\xf2\xf0"
    );
}

#[test]
fn extra_blank_line_between_frames() {
    let both = frames("extra_blank_line");
    let channels: Vec<_> = both
        .iter()
        .map(|f| f.get("channel").unwrap().to_string())
        .collect();
    assert_eq!(channels, ["PJSIP/1", "PJSIP/2"]);
}

#[test]
fn every_catalogue_event_in_the_transcripts_reads_typed() {
    use apn_ami_core::typed::events::Event;
    let mut typed = Vec::new();
    let mut unknown = Vec::new();
    for transcript in TRANSCRIPTS {
        if transcript.direction != Direction::FromServer || transcript.name == "banner" {
            continue;
        }
        for frame in frames(transcript.name) {
            if frame.get("event").is_none() {
                continue;
            }
            let event = Event::from_frame(&frame);
            // The catalogue's own reader reads a real server's events as
            // the general reader does.
            assert_eq!(
                event,
                Event::from_frame_by_parse(&frame),
                "{}",
                transcript.name
            );
            match event {
                Event::Invalid { error, .. } => {
                    panic!("{}: {error}", transcript.name)
                }
                Event::Unknown(frame) => unknown.push(frame.first_value().to_string()),
                event => typed.push(event.name().into_owned()),
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert_eq!(
        unknown,
        [
            "ChannelHungup",
            "ChannelsHungupListComplete",
            "CoreShowChannelsComplete",
            "EndpointList",
            "StatusComplete"
        ],
        "only events outside the catalogue"
    );
    typed.sort();
    typed.dedup();
    assert_eq!(
        typed,
        [
            "CoreShowChannel",
            "FullyBooted",
            "Hangup",
            "Newchannel",
            "Newstate",
            "OriginateResponse",
            "Reload",
            "Shutdown",
            "Status",
            "SuccessfulAuth",
            "UserEvent"
        ]
    );
}
