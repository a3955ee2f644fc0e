//! `Frame::parse::<T>()`: serde types read straight from a frame's bytes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use apn_ami_core::protocol::{Frame, Item, Parser, ParserConfig};
use serde::Deserialize;

fn frame(wire: &[u8]) -> Frame {
    let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).unwrap();
    let mut frames = Vec::new();
    parser
        .feed(wire, |item| frames.extend(Item::into_frame(item)))
        .unwrap();
    assert_eq!(frames.len(), 1);
    frames.remove(0)
}

const NEWCHANNEL: &[u8] = b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-0000002a\r\nChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: 100\r\nCallerIDName: \xcf\xe5\xf2\xf0\r\nConnectedLineNum: <unknown>\r\nAccountCode: \r\nUniqueid: 1722870012.42\r\nChanVariable(PJSIP/100-0000002a): DIALSTATUS=ANSWER\r\nChanVariable(PJSIP/100-0000002a): ACCOUNT=7\r\n\r\n";

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
enum ChannelStateDesc {
    Down,
    Ring,
    Ringing,
    Up,
}

#[derive(Debug, Deserialize)]
struct Newchannel<'a> {
    event: &'a str,
    channel: &'a str,
    channel_state: u8,
    channel_state_desc: ChannelStateDesc,
    caller_id_num: Option<u32>,
    caller_id_name: &'a [u8],
    account_code: Option<String>,
    linked_id: Option<&'a str>,
    uniqueid: f64,
    chan_variable: HashMap<String, String>,
}

#[test]
fn fields_match_ignoring_case_and_underscores_and_borrow_from_the_frame() {
    let frame = frame(NEWCHANNEL);
    let event: Newchannel<'_> = frame.parse().expect("fits");
    assert_eq!(event.event, "Newchannel");
    assert_eq!(event.channel, "PJSIP/100-0000002a");
    assert_eq!(event.channel_state, 4);
    assert_eq!(event.channel_state_desc, ChannelStateDesc::Ring);
    assert_eq!(event.caller_id_num, Some(100));
    assert_eq!(
        event.caller_id_name, b"\xcf\xe5\xf2\xf0",
        "cp1251 bytes kept"
    );
    assert_eq!(event.account_code, None, "an empty value is None");
    assert_eq!(event.linked_id, None, "an absent header is None");
    assert!((event.uniqueid - 1_722_870_012.42).abs() < 1e-6);
    assert_eq!(event.chan_variable["DIALSTATUS"], "ANSWER");
    assert_eq!(event.chan_variable["ACCOUNT"], "7");
    // Borrowed, not copied: the &str points into the frame's own bytes.
    let whole = frame.get("channel").unwrap().as_bytes().as_ptr();
    assert_eq!(event.channel.as_ptr(), whole);
}

#[test]
fn repeated_keys_fill_a_vec_in_wire_order_and_cow_borrows() {
    #[derive(Deserialize)]
    struct VarSet<'a> {
        #[serde(borrow)]
        event: Cow<'a, str>,
        variable: Vec<&'a str>,
        value: Vec<u16>,
    }
    let frame =
        frame(b"Event: VarSet\r\nVariable: A\r\nValue: 1\r\nVariable: B\r\nValue: 2\r\n\r\n");
    let set: VarSet<'_> = frame.parse().unwrap();
    assert!(matches!(set.event, Cow::Borrowed("VarSet")));
    assert_eq!(set.variable, ["A", "B"]);
    assert_eq!(set.value, [1, 2]);
}

#[test]
fn booleans_take_asterisks_words_in_any_case() {
    #[derive(Deserialize)]
    struct Flags {
        a: bool,
        b: bool,
        many: Vec<bool>,
    }
    let frame = frame(
        b"Event: X\r\nA: Yes\r\nB: no\r\nMany: TRUE\r\nMany: false\r\nMany: on\r\nMany: Off\r\nMany: 1\r\nMany: 0\r\n\r\n",
    );
    let flags: Flags = frame.parse().unwrap();
    assert_eq!((flags.a, flags.b), (true, false));
    assert_eq!(flags.many, [true, false, true, false, true, false]);
    let error = self::frame(b"Event: X\r\nA: maybe\r\nB: 1\r\n\r\n")
        .parse::<Flags>()
        .err()
        .expect("not a boolean");
    assert_eq!(error.header(), Some("a"));
    assert_eq!(error.value(), Some("maybe"));
}

#[derive(Debug, Deserialize)]
struct Hangup {
    #[allow(dead_code)]
    cause: u8,
}

#[derive(Debug, Deserialize)]
struct Named {
    #[allow(dead_code)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct State {
    #[allow(dead_code)]
    channel_state_desc: ChannelStateDesc,
}

#[test]
fn errors_name_the_header_and_the_value() {
    let error = frame(b"Event: Hangup\r\nCause: 1x6\r\n\r\n")
        .parse::<Hangup>()
        .unwrap_err();
    assert_eq!(error.header(), Some("cause"));
    assert_eq!(error.value(), Some("1x6"));
    assert_eq!(
        error.to_string(),
        "header cause = \"1x6\": invalid digit found in string"
    );

    let missing = frame(b"Event: Hangup\r\n\r\n")
        .parse::<Hangup>()
        .unwrap_err();
    assert_eq!(missing.to_string(), "missing field `cause`");

    let not_text = frame(b"Event: X\r\nName: \xcf\xe5\r\n\r\n")
        .parse::<Named>()
        .unwrap_err();
    assert_eq!(
        not_text.to_string(),
        "header name = \"\\xcf\\xe5\": not UTF-8"
    );

    let enum_error = frame(b"Event: X\r\nChannelStateDesc: Sideways\r\n\r\n")
        .parse::<BTreeMap<String, String>>()
        .map(|map| map.len());
    assert_eq!(enum_error, Ok(2), "a map takes every header as text");
    let error = frame(b"Event: X\r\nChannelStateDesc: Sideways\r\n\r\n")
        .parse::<State>()
        .unwrap_err();
    assert_eq!(error.header(), Some("channel_state_desc"));
    assert!(error.message().starts_with("not one of"), "{error}");
}

#[test]
fn the_rest_of_the_headers_flatten_into_a_map_with_lowercase_keys() {
    #[derive(Deserialize)]
    struct UserEvent<'a> {
        userevent: &'a str,
        #[serde(flatten, borrow)]
        rest: BTreeMap<&'a str, &'a str>,
    }
    let frame =
        frame(b"Event: UserEvent\r\nUserEvent: Wallboard\r\nQueue: sales\r\nWaiting: 3\r\n\r\n");
    let user: UserEvent<'_> = frame.parse().unwrap();
    assert_eq!(user.userevent, "Wallboard");
    assert_eq!(user.rest.get("queue"), Some(&"sales"));
    assert_eq!(user.rest.get("waiting"), Some(&"3"));
    assert_eq!(user.rest.get("event"), Some(&"UserEvent"));
}

#[test]
fn every_number_type_and_a_char_read_from_text() {
    #[derive(Deserialize)]
    struct Numbers {
        a: i8,
        b: i16,
        c: i32,
        d: i64,
        e: i128,
        f: u8,
        g: u16,
        h: u32,
        i: u64,
        j: u128,
        k: f32,
        l: f64,
        m: char,
    }
    let frame = frame(
        b"Event: X\r\nA: -8\r\nB: -16\r\nC: -32\r\nD: -64\r\nE: -128\r\nF: 8\r\nG: 16\r\nH: 32\r\nI: 64\r\nJ: 128\r\nK: 0.5\r\nL: 1722870012.345678\r\nM: Y\r\n\r\n",
    );
    let n: Numbers = frame.parse().unwrap();
    assert_eq!((n.a, n.b, n.c, n.d, n.e), (-8, -16, -32, -64, -128));
    assert_eq!((n.f, n.g, n.h, n.i, n.j), (8, 16, 32, 64, 128));
    assert!((f64::from(n.k) - 0.5).abs() < f64::EPSILON);
    assert!((n.l - 1_722_870_012.345_678).abs() < 1e-6);
    assert_eq!(n.m, 'Y');
}

#[test]
fn a_frame_serializes_losslessly_as_ordered_pairs() {
    let frame = frame(
        b"Event: UserEvent\r\nUserEvent: Caller\r\nName: \xcf\xe5\xf2\xf0\r\nK\xe9y: v\r\nVariable: A\r\nVariable: B\r\n\r\n",
    );
    let json = serde_json::to_string(&frame).unwrap();
    assert_eq!(
        json,
        r#"[["event","UserEvent"],["userevent","Caller"],["name",{"hex":"cfe5f2f0"}],[{"hex":"6be979"},"v"],["variable","A"],["variable","B"]]"#
    );
    // Back from the JSON, every byte and the order are there.
    let pairs: Vec<(serde_json::Value, serde_json::Value)> = serde_json::from_str(&json).unwrap();
    assert_eq!(pairs.len(), frame.len());
    for ((key, value), (raw_key, raw_value)) in pairs.iter().zip(frame.raw_headers()) {
        for (json, raw) in [(key, raw_key), (value, raw_value)] {
            let bytes = match json {
                serde_json::Value::String(text) => text.as_bytes().to_vec(),
                other => (0..other["hex"].as_str().unwrap().len() / 2)
                    .map(|at| {
                        u8::from_str_radix(&other["hex"].as_str().unwrap()[2 * at..2 * at + 2], 16)
                            .unwrap()
                    })
                    .collect(),
            };
            assert_eq!(bytes, raw.as_bytes());
        }
    }
}
