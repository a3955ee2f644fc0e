//! Byte-exact parser tests: framing, keys, values, banner, both Command
//! formats and channel variables. Every case is also parsed byte by byte and
//! in 7-byte chunks by the harness, which asserts the results agree.

#[path = "support/harness.rs"]
mod harness;

use apn_ami_core::protocol::{ChanVariable, FrameKind, Item, ParserConfig, ProtocolError, Value};
use harness::{expect, pairs, parse, parse_all_ways};

#[test]
fn banner_then_frame() {
    let outcome = parse_all_ways(
        ParserConfig::default(),
        b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n",
    );
    let Item::Banner(banner) = &outcome.items[0] else {
        panic!("first item is the banner: {:?}", outcome.items);
    };
    assert_eq!(banner.line(), "Asterisk Call Manager/11.0.0");
    assert_eq!(banner.version(), Some("11.0.0"));
    let frame = outcome.items[1].as_frame().expect("then a frame");
    assert_eq!(frame.kind(), FrameKind::Response);
    assert_eq!(
        pairs(frame),
        expect(&[
            ("response", b"Success"),
            ("actionid", b"1"),
            ("message", b"Authentication accepted"),
        ])
    );
    assert_eq!(outcome.stats.frames, 1);
    assert_eq!(outcome.stats.protocol_errors, 0);
    assert!(outcome.items[0].as_frame().is_none());
    assert!(outcome.items[0].clone().into_frame().is_none());
}

#[test]
fn banner_without_version_and_proxy_banner() {
    let outcome = parse_all_ways(
        ParserConfig::default(),
        b"Asterisk Call Manager Proxy\r\nEvent: X\r\n\r\n",
    );
    let Item::Banner(banner) = &outcome.items[0] else {
        panic!("banner expected");
    };
    assert_eq!(banner.version(), None);
    assert_eq!(outcome.frames().len(), 1);
}

#[test]
fn non_ami_peer_is_a_typed_error_that_sticks() {
    let outcome = parse_all_ways(
        ParserConfig::default(),
        b"HTTP/1.1 400 Bad Request\r\n\r\nResponse: Success\r\n\r\n",
    );
    assert!(outcome.items.is_empty());
    assert_eq!(
        outcome.error,
        Some(ProtocolError::NotAmi {
            first_line: "HTTP/1.1 400 Bad Request".to_owned()
        })
    );
    assert_eq!(outcome.stats.protocol_errors, 1);
}

#[test]
fn endless_first_line_is_not_a_banner() {
    let stream = vec![0x16u8; 4096];
    let outcome = parse_all_ways(ParserConfig::default(), &stream);
    let Some(ProtocolError::NotAmi { first_line }) = &outcome.error else {
        panic!("expected NotAmi, got {outcome:?}");
    };
    assert_eq!(first_line, &"\\x16".repeat(64));
    let long_banner = [b"Asterisk Call Manager/".as_slice(), &[b'1'; 1100], b"\r\n"].concat();
    let outcome = parse_all_ways(ParserConfig::default(), &long_banner);
    assert!(matches!(outcome.error, Some(ProtocolError::NotAmi { .. })));
}

#[test]
fn crlf_frames_back_to_back_and_extra_blank_lines() {
    let outcome = parse(
        b"\r\n\r\nEvent: A\r\nK: 1\r\n\r\n\r\n\r\nEvent: B\r\n\r\n\nEvent: C\r\n\r\n\rEvent: D\r\n\r\n",
    );
    let names: Vec<_> = outcome
        .frames()
        .iter()
        .map(|frame| frame.first_value().to_string())
        .collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
    assert_eq!(outcome.stats.protocol_errors, 0);
}

#[test]
fn key_value_without_space_and_extra_spaces_are_kept() {
    let outcome =
        parse(b"Event: UserEvent\r\nReportBlock:value\r\nPadded:   three\r\nTrail: x  \r\n\r\n");
    assert_eq!(
        pairs(outcome.only_frame()),
        expect(&[
            ("event", b"UserEvent"),
            ("reportblock", b"value"),
            ("padded", b"  three"),
            ("trail", b"x  "),
        ])
    );
}

#[test]
fn keys_with_punctuation_and_spaces() {
    let outcome = parse(
        b"Event: Odd\r\nX-Header(a/b@c;d): 1\r\nKey With Spaces: 2\r\nCause-txt: Normal Clearing\r\n\r\n",
    );
    let frame = outcome.only_frame();
    assert_eq!(frame.get("x-header(a/b@c;d)").unwrap(), "1");
    assert_eq!(frame.get("KEY WITH SPACES").unwrap(), "2");
    assert_eq!(frame.get("Cause-Txt").unwrap(), "Normal Clearing");
}

#[test]
fn keys_are_lowercased_but_channel_names_keep_their_case() {
    let outcome =
        parse(b"Event: Hangup\r\nUniqueID: 1\r\nChanVariable(PJSIP/Alice-01): X=1\r\n\r\n");
    let keys: Vec<_> = outcome
        .only_frame()
        .headers()
        .map(|(key, _)| key.to_owned())
        .collect();
    assert_eq!(keys, ["event", "uniqueid", "chanvariable(PJSIP/Alice-01)"]);
    assert_eq!(outcome.only_frame().get("Uniqueid").unwrap(), "1");
}

#[test]
fn empty_values() {
    let outcome = parse(b"Event: Newchannel\r\nAccountCode: \r\nBridgeId:\r\nLanguage: en\r\n\r\n");
    let frame = outcome.only_frame();
    assert!(frame.get("accountcode").unwrap().is_empty());
    assert!(frame.get("bridgeid").unwrap().is_empty());
    assert_eq!(frame.get("language").unwrap(), "en");
    assert!(frame.get("missing").is_none());
}

#[test]
fn trailing_newline_inside_a_value_survives_and_frame_ends_once() {
    let outcome = parse(
        b"Response: Error\r\nActionID: 5\r\nMessage: No endpoints found\n\r\n\r\nEvent: Next\r\n\r\n",
    );
    let frames = outcome.frames();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0].get("message").unwrap().as_bytes(),
        b"No endpoints found\n"
    );
    assert_eq!(frames[1].first_value(), "Next");
    assert_eq!(outcome.stats.protocol_errors, 0);
}

#[test]
fn lone_cr_and_bare_lf_stay_inside_values() {
    let outcome = parse(b"Event: X\r\nA: one\rtwo\r\nB: three\nfour\r\n\r\n");
    let frame = outcome.only_frame();
    assert_eq!(frame.get("a").unwrap().as_bytes(), b"one\rtwo");
    assert_eq!(frame.get("b").unwrap().as_bytes(), b"three\nfour");
}

#[test]
fn repeated_keys_keep_every_value_in_order() {
    let outcome = parse(
        b"Event: ContactList\r\nContacts: a\r\nOther: x\r\nContacts: b\r\ncontacts: c\r\n\r\n",
    );
    let frame = outcome.only_frame();
    assert_eq!(frame.get("contacts").unwrap(), "a");
    let all: Vec<_> = frame
        .get_all("CONTACTS")
        .map(|value| value.to_string())
        .collect();
    assert_eq!(all, ["a", "b", "c"]);
    assert_eq!(frame.len(), 5);
    assert!(!frame.is_empty());
}

#[test]
fn kind_comes_from_the_first_line_only() {
    let outcome = parse(
        b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: o1\r\nResponse: Success\r\nChannel: PJSIP/100-00000001\r\nReason: 4\r\nUniqueid: 1722870012.7\r\n\r\n",
    );
    let frame = outcome.only_frame();
    assert_eq!(frame.kind(), FrameKind::Event);
    assert_eq!(frame.first_value(), "OriginateResponse");
    assert_eq!(frame.get("response").unwrap(), "Success");
    assert_eq!(frame.action_id().unwrap(), "o1");
}

#[test]
fn non_utf8_values_survive_byte_for_byte() {
    let outcome = parse(
        b"Event: Newchannel\r\nCallerIDName: \xcf\xe5\xf2\xf0 \xc8\xe2\xe0\xed\xee\xe2\r\n\r\n",
    );
    let name = outcome.only_frame().get("calleridname").unwrap();
    assert_eq!(
        name.as_bytes(),
        b"\xcf\xe5\xf2\xf0 \xc8\xe2\xe0\xed\xee\xe2"
    );
    assert!(name.to_str().is_err());
    assert_eq!(
        name.to_string_lossy(),
        "\u{fffd}\u{fffd}\u{fffd}\u{fffd} \u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
    );
    assert_eq!(
        format!("{name:?}"),
        "\"\\xcf\\xe5\\xf2\\xf0 \\xc8\\xe2\\xe0\\xed\\xee\\xe2\""
    );
}

#[test]
fn escaped_values_are_delivered_as_sent() {
    let outcome = parse(b"Event: Newchannel\r\nCallerIDName: O\\'Brien\r\n\r\n");
    assert_eq!(
        outcome.only_frame().get("calleridname").unwrap().as_bytes(),
        b"O\\'Brien"
    );
}

#[test]
fn chan_variables_in_both_forms() {
    let outcome = parse(
        b"Event: Hangup\r\nChannel: PJSIP/100-01\r\nChanVariable(PJSIP/100-01): ACCOUNT=7\r\nChanVariable(PJSIP/200-02): NOTE=a=b\r\nChanVariable: PLAIN=x\r\nChanVariable: EMPTY=\r\nChanVariable: NOEQUALS\r\nChanVariableX: ignored\r\nChanVariable(broken: no\r\n\r\n",
    );
    let vars: Vec<ChanVariable<'_>> = outcome.only_frame().chan_variables().collect();
    let seen: Vec<_> = vars
        .iter()
        .map(|var| (var.channel, var.name.to_string(), var.value.to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("PJSIP/100-01"), "ACCOUNT".to_owned(), "7".to_owned()),
            (Some("PJSIP/200-02"), "NOTE".to_owned(), "a=b".to_owned()),
            (None, "PLAIN".to_owned(), "x".to_owned()),
            (None, "EMPTY".to_owned(), String::new()),
            (None, "NOEQUALS".to_owned(), String::new()),
        ]
    );
}

#[test]
fn prefixed_chan_variables_carry_their_prefix() {
    let outcome = parse(
        b"Event: DialBegin\r\nChannel: PJSIP/100-01\r\nChanVariable: CALLER=1\r\nDestChannel: PJSIP/200-02\r\nDestChanVariable: CALLEE=2\r\nBridgeChanVariable(PJSIP/300-03): X=3\r\nDestChanVariableOops: no\r\n\r\n",
    );
    let seen: Vec<_> = outcome
        .only_frame()
        .chan_variables()
        .map(|var| {
            (
                var.prefix,
                var.channel,
                var.name.to_string(),
                var.value.to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (None, None, "CALLER".to_owned(), "1".to_owned()),
            (Some("dest"), None, "CALLEE".to_owned(), "2".to_owned()),
            (
                Some("bridge"),
                Some("PJSIP/300-03"),
                "X".to_owned(),
                "3".to_owned()
            ),
        ]
    );
}

#[test]
fn keys_a_user_event_relays_in_any_encoding_are_kept() {
    // Asterisk copies a client's UserEvent header lines verbatim: UTF-8
    // keys, and bytes of another encoding (cp1251 here).
    let outcome = parse(
        b"Event: UserEvent\r\nUserEvent: Crm\r\n\xd0\x98\xd0\xbc\xd1\x8f: \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\r\nX-\xd0\xa2\xd0\xb5\xd1\x81\xd1\x82: 1\r\n\xc8\xec\xff: cp1251\r\nCallerID: 100\r\n\r\n",
    );
    let frame = outcome.only_frame();
    assert_eq!(outcome.stats.protocol_errors, 0, "no line dropped");
    assert_eq!(frame.get("Имя").unwrap(), "Иван");
    assert_eq!(
        frame.get("x-Тест").unwrap(),
        "1",
        "ASCII letters are lowercased, the rest kept"
    );
    let raw: Vec<Vec<u8>> = frame
        .raw_headers()
        .map(|(key, _)| key.as_bytes().to_vec())
        .collect();
    let expected: [&[u8]; 6] = [
        b"event",
        b"userevent",
        "Имя".as_bytes(),
        "x-Тест".as_bytes(),
        b"\xc8\xec\xff",
        b"callerid",
    ];
    assert_eq!(raw, expected);
    let keys: Vec<&str> = frame.headers().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        ["event", "userevent", "Имя", "x-Тест", "", "callerid"],
        "a key that is not UTF-8 is empty as text, exact as bytes"
    );
    assert_eq!(frame.get_all("").count(), 0, "and is never matched by \"\"");
}

#[test]
fn whitespace_only_line_does_not_end_a_frame() {
    let outcome = parse(b"Event: UserEvent\r\nUserEvent: spoof\r\n   \r\nResponse: Success\r\nActionID: victim\r\n\r\n");
    let frame = outcome.only_frame();
    assert_eq!(frame.kind(), FrameKind::Event);
    assert_eq!(frame.get("actionid").unwrap(), "victim");
    assert_eq!(
        outcome.stats.protocol_errors, 1,
        "the blank-ish line is counted"
    );
}

#[test]
fn legacy_command_output_with_bare_newlines() {
    let outcome = parse(
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nSystem uptime: 5 seconds\nLast reload: 5 seconds\n--END COMMAND--\r\n\r\nEvent: After\r\n\r\n",
    );
    let frames = outcome.frames();
    assert_eq!(frames.len(), 2);
    let command = frames[0];
    assert_eq!(command.kind(), FrameKind::Response);
    assert_eq!(command.first_value(), "Follows");
    assert_eq!(
        pairs(command),
        expect(&[
            ("response", b"Follows"),
            ("privilege", b"Command"),
            ("actionid", b"7")
        ])
    );
    assert_eq!(
        command.follows_body().unwrap(),
        b"System uptime: 5 seconds\nLast reload: 5 seconds\n"
    );
    assert_eq!(frames[1].first_value(), "After");
    assert!(frames[1].follows_body().is_none());
}

#[test]
fn legacy_command_marker_glued_to_last_line() {
    let outcome = parse(
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 8\r\nuptime: 5 seconds--END COMMAND--\r\n\r\n",
    );
    assert_eq!(
        outcome.only_frame().follows_body().unwrap(),
        b"uptime: 5 seconds"
    );
}

#[test]
fn legacy_command_empty_output() {
    let outcome =
        parse(b"Response: Follows\r\nPrivilege: Command\r\nActionID: 9\r\n--END COMMAND--\r\n\r\n");
    let frame = outcome.only_frame();
    assert_eq!(frame.follows_body().unwrap(), b"");
    assert_eq!(frame.action_id().unwrap(), "9");
}

#[test]
fn legacy_command_marker_look_alike_inside_output() {
    let outcome = parse(
        b"Response: Follows\r\nPrivilege: Command\r\necho --END COMMAND-- here\n--END COMMAND--\r\nstill output\n--END COMMAND--\r\n\r\n",
    );
    assert_eq!(
        outcome.only_frame().follows_body().unwrap(),
        b"echo --END COMMAND-- here\n--END COMMAND--\r\nstill output\n"
    );
}

#[test]
fn legacy_command_body_line_with_crlf_that_is_no_header() {
    let outcome = parse(
        b"Response: Follows\r\nPrivilege: Command\r\nno colon here\r\n--END COMMAND--\r\n\r\n",
    );
    assert_eq!(
        outcome.only_frame().follows_body().unwrap(),
        b"no colon here\r\n"
    );
}

#[test]
fn follows_response_ended_by_a_blank_line_is_an_ordinary_frame() {
    let outcome = parse(b"Response: Follows\r\nActionID: 3\r\n\r\nEvent: After\r\n\r\n");
    let frames = outcome.frames();
    assert_eq!(frames.len(), 2);
    assert!(frames[0].follows_body().is_none());
    assert_eq!(frames[0].action_id().unwrap(), "3");
}

#[test]
fn command_output_format_from_asterisk_14() {
    let outcome = parse(
        b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: Name/username             Host\r\nOutput:   indented\r\nOutput: with\rcarriage return\r\nOutput: \r\n\r\n",
    );
    let frame = outcome.only_frame();
    let lines: Vec<&[u8]> = frame
        .get_all("output")
        .map(|value| value.as_bytes())
        .collect();
    assert_eq!(
        lines,
        [
            b"Name/username             Host".as_slice(),
            b"  indented",
            b"with\rcarriage return",
            b"",
        ]
    );
    assert!(frame.follows_body().is_none());
}

#[test]
fn command_output_format_empty_output() {
    let outcome = parse(
        b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: \r\n\r\n",
    );
    let outputs: Vec<Value<'_>> = outcome.only_frame().get_all("output").collect();
    assert_eq!(outputs.len(), 1);
    assert!(outputs[0].is_empty());
}

#[test]
fn frame_debug_shows_headers_and_body() {
    let outcome = parse(b"Response: Follows\r\nActionID: 1\r\nout\n--END COMMAND--\r\n\r\n");
    let debug = format!("{:?}", outcome.only_frame());
    assert!(debug.contains("Response"), "{debug}");
    assert!(debug.contains("(\"actionid\", \"1\")"), "{debug}");
    assert!(debug.contains("follows_body: \"out\\n\""), "{debug}");
}

#[test]
fn value_text_helpers() {
    let value = Value::new(b"Start");
    assert!(value.eq_ignore_ascii_case("start"));
    assert!(!value.eq_ignore_ascii_case("stop"));
    assert_eq!(value.len(), 5);
    assert_eq!(value, *"Start");
    assert_eq!(value, *b"Start".as_slice());
    assert_eq!(value.to_str().unwrap(), "Start");
    assert_eq!(value.to_string(), "Start");
}

#[test]
fn frame_heap_size_is_its_bytes_and_table() {
    let outcome = parse(b"Event: A\r\nB: c\r\n\r\n");
    // "Event: A\r\nB: c\r\n" is 16 bytes; two headers take 16 bytes each.
    assert_eq!(outcome.only_frame().heap_size(), 16 + 2 * 16);
}
