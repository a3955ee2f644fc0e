//! The fake node on its own: what it answers, byte for byte where it matters.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use apn_ami_core::protocol::{Frame, Parser, ParserConfig};
use apn_ami_sim::{CommandFormat, FakeAsterisk, NodeConfig};
use md5::{Digest, Md5};

struct Client {
    node: FakeAsterisk,
    parser: Parser,
    t0: Instant,
}

#[allow(clippy::disallowed_methods)] // the test's one clock read
fn epoch() -> Instant {
    Instant::now()
}

impl Client {
    fn connected(config: NodeConfig) -> Self {
        let mut client = Self {
            node: FakeAsterisk::new(config, 7),
            parser: Parser::new(ParserConfig::default()).unwrap(),
            t0: epoch(),
        };
        client.node.on_connect(client.t0);
        client
    }

    /// Sends `wire` and returns every frame the node wrote by `ms`.
    fn say(&mut self, wire: &str, ms: u64) -> Vec<Frame> {
        let now = self.t0 + Duration::from_millis(ms);
        self.node.on_bytes(wire.as_bytes(), now);
        self.node.handle_timeout(now);
        self.read()
    }

    fn read(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        if let Some(bytes) = self.node.poll_transmit() {
            let bytes = bytes.to_vec();
            self.node.consume(bytes.len());
            self.parser
                .feed(&bytes, |item| frames.extend(item.into_frame()))
                .unwrap();
        }
        frames
    }

    fn login(&mut self) {
        let answer = self.say(
            "Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: secret\r\n\r\n",
            0,
        );
        assert_eq!(answer[0].get("message").unwrap(), "Authentication accepted");
    }
}

fn config() -> NodeConfig {
    NodeConfig::new("admin", "secret")
}

#[test]
fn banner_then_plain_login_then_fully_booted() {
    let mut client = Client::connected(config());
    let frames = client.say(
        "Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: secret\r\n\r\n",
        0,
    );
    assert_eq!(frames[0].first_value(), "Success");
    assert_eq!(frames[1].first_value(), "FullyBooted");
    assert_eq!(client.node.stats().logins, 1);
}

#[test]
fn md5_login_checks_the_key() {
    let mut client = Client::connected(config());
    let challenge = client.say(
        "Action: Challenge\r\nActionID: c\r\nAuthType: MD5\r\n\r\n",
        0,
    );
    let number = challenge[0].get("challenge").unwrap().to_string();
    assert_eq!(number.len(), 9);
    let key = Md5::digest(format!("{number}secret").as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            write!(hex, "{byte:02x}").unwrap();
            hex
        });
    let login = client.say(
        &format!(
            "Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: admin\r\nKey: {key}\r\n\r\n"
        ),
        1,
    );
    assert_eq!(login[0].get("message").unwrap(), "Authentication accepted");
}

#[test]
fn a_wrong_secret_fails_a_second_later_and_closes() {
    let mut client = Client::connected(config());
    assert!(
        client
            .say(
                "Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: nope\r\n\r\n",
                0
            )
            .is_empty()
    );
    assert_eq!(
        client.node.poll_timeout(),
        Some(client.t0 + Duration::from_secs(1))
    );
    let failed = client.say("", 1_000);
    assert_eq!(failed[0].get("message").unwrap(), "Authentication failed");
    assert!(client.node.wants_close());
}

#[test]
fn actions_before_login_are_refused_and_counted() {
    let mut client = Client::connected(config());
    let refused = client.say("Action: Ping\r\nActionID: p\r\n\r\n", 0);
    assert_eq!(refused[0].get("message").unwrap(), "Permission denied");
    assert_eq!(client.node.stats().actions_before_login, 1);
}

#[test]
fn commands_in_both_formats_lists_originate_and_user_event_echo() {
    let mut legacy = config();
    legacy.command_format = CommandFormat::Legacy;
    let mut client = Client::connected(legacy);
    client.login();
    let command = client.say(
        "Action: Command\r\nActionID: 7\r\nCommand: core show uptime\r\n\r\n",
        1,
    );
    assert_eq!(
        command[0].follows_body().unwrap(),
        b"core show uptime: line 1\nline 2\n"
    );

    let mut client = Client::connected(config());
    client.login();
    let command = client.say(
        "Action: Command\r\nActionID: 7\r\nCommand: core show uptime\r\n\r\n",
        1,
    );
    assert_eq!(command[0].get_all("output").count(), 2);
    let list = client.say("Action: CoreShowChannels\r\nActionID: 8\r\n\r\n", 2);
    assert_eq!(list.len(), 5, "start, three items, complete");
    assert_eq!(list[4].get("listitems").unwrap(), "3");
    let originate = client.say(
        "Action: Originate\r\nActionID: o\r\nChannel: PJSIP/100\r\nAsync: true\r\n\r\n",
        3,
    );
    assert_eq!(
        originate[0].get("message").unwrap(),
        "Originate successfully queued"
    );
    let later = client.say("", 60);
    assert_eq!(later[0].first_value(), "OriginateResponse");
    assert_eq!(later[0].action_id().unwrap(), "o");
    let echo = client.say(
        "Action: UserEvent\r\nActionID: u\r\nUserEvent: hello\r\nX:y\r\n\r\n",
        70,
    );
    assert_eq!(echo[1].first_value(), "UserEvent");
    assert_eq!(echo[1].get("x").unwrap(), "y");
    assert_eq!(echo[1].action_id().unwrap(), "u");
}

#[test]
fn asterisk_line_limits_are_enforced() {
    let mut client = Client::connected(config());
    client.login();
    let long = format!(
        "Action: UserEvent\r\nActionID: a\r\nUserEvent: {}\r\n\r\n",
        "x".repeat(1100)
    );
    assert_eq!(
        client.say(&long, 1)[0].get("message").unwrap(),
        "Failed to parse message: line too long"
    );
    let many = (0..130).fold(String::new(), |mut lines, n| {
        writeln!(lines, "H{n}: v\r").unwrap();
        lines
    });
    let many = format!("Action: UserEvent\r\nActionID: b\r\n{many}\r\n");
    assert_eq!(
        client.say(&many, 2)[0].get("message").unwrap(),
        "Too many lines in message"
    );
}

#[test]
fn a_muted_node_answers_nothing_and_a_logoff_closes() {
    let mut client = Client::connected(config());
    client.login();
    client.node.config_mut().mute = true;
    assert!(
        client
            .say("Action: Ping\r\nActionID: p\r\n\r\n", 1)
            .is_empty()
    );
    client.node.config_mut().mute = false;
    let bye = client.say("Action: Logoff\r\nActionID: q\r\n\r\n", 2);
    assert_eq!(bye[0].first_value(), "Goodbye");
    assert!(client.node.wants_close());
}

#[test]
fn an_unauthenticated_session_is_closed_after_the_auth_timeout() {
    let mut client = Client::connected(config());
    client.say("", 29_999);
    assert!(!client.node.wants_close());
    client.say("", 30_000);
    assert!(client.node.wants_close());
}

#[test]
fn a_client_that_stops_reading_is_dropped_silently() {
    let mut settings = config();
    settings.slow_reader_limit = 64 * 1024;
    let mut client = Client::connected(settings);
    client.login();
    client.node.generate_calls(10);
    assert!(!client.node.wants_close(), "under the limit");
    client.node.generate_calls(1_000);
    assert_eq!(client.node.stats().slow_reader_drops, 1);
    assert!(client.node.wants_close(), "dropped without a word");
    assert!(client.node.poll_transmit().is_none());
}

#[test]
fn a_node_that_rejects_logins_answers_a_second_later_and_closes() {
    let mut settings = config();
    settings.reject_logins = true;
    let mut client = Client::connected(settings);
    assert!(
        client
            .say(
                "Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: secret\r\n\r\n",
                0
            )
            .is_empty()
    );
    let failed = client.say("", 1_000);
    assert_eq!(failed[0].get("message").unwrap(), "Authentication failed");
    assert!(client.node.wants_close());
}

#[test]
fn generated_calls_carry_non_utf8_and_escaped_names_and_both_variable_forms() {
    let mut client = Client::connected(config());
    client.login();
    client.node.generate_calls(3);
    let events = client.read();
    assert_eq!(events.len(), 15);
    let names: Vec<Vec<u8>> = events
        .iter()
        .filter(|e| e.first_value() == "Newchannel")
        .map(|e| e.get("calleridname").unwrap().as_bytes().to_vec())
        .collect();
    assert!(names.contains(&b"\xcf\xe5\xf2\xf0".to_vec()), "cp1251");
    assert!(names.contains(&b"O\\'Brien".to_vec()), "C-escaped");
    let varset = events.iter().find(|e| e.first_value() == "VarSet").unwrap();
    let forms: Vec<_> = varset
        .chan_variables()
        .map(|v| v.channel.is_some())
        .collect();
    assert_eq!(forms, [true, false]);
}

#[test]
fn bare_newlines_are_accepted_and_a_blank_frame_is_a_missing_action() {
    let mut client = Client::connected(config());
    let answer = client.say(
        "Action: Login\nActionID: 1\nUsername: admin\nSecret: secret\n\n",
        0,
    );
    assert_eq!(answer[0].get("message").unwrap(), "Authentication accepted");
    let answers = client.say("Action: Ping\r\nActionID: p\r\n\r\n\r\n", 1);
    assert_eq!(answers[0].get("ping").unwrap(), "Pong", "the action first");
    assert_eq!(
        answers[1].get("message").unwrap(),
        "Missing action in request"
    );
    // The same, a byte at a time.
    let mut replies = Vec::new();
    for byte in "Action: Ping\nActionID: q\n\n\n".bytes() {
        replies.extend(client.say(&char::from(byte).to_string(), 2));
    }
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].action_id().unwrap(), "q");
    assert_eq!(
        replies[1].get("message").unwrap(),
        "Missing action in request"
    );
}

#[test]
fn generated_calls_and_list_items_read_as_typed_events() {
    use apn_ami_core::typed::events::Event;
    let mut client = Client::connected(config());
    client.login();
    client.node.generate_calls(30);
    let mut frames = client.read();
    for (n, action) in ["CoreShowChannels", "Status", "QueueStatus"]
        .iter()
        .enumerate()
    {
        frames.extend(client.say(
            &format!("Action: {action}\r\nActionID: list{n}\r\n\r\n"),
            10,
        ));
    }
    let mut typed = 0;
    let mut names = Vec::new();
    for frame in &frames {
        let event = Event::from_frame(frame);
        assert_eq!(event, Event::from_frame_by_parse(frame), "{frame:?}");
        match event {
            Event::Invalid { error, .. } => panic!("{error}: {frame:?}"),
            Event::Unknown(frame) => names.push(frame.first_value().to_string()),
            _ => typed += 1,
        }
    }
    // 30 calls of five events, and three lists of list_items each.
    assert_eq!(typed, 150 + 3 * config().list_items, "{names:?}");
    // Only responses and the lists' completion events are not in the
    // catalogue.
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [
            "CoreShowChannelsComplete",
            "QueueStatusComplete",
            "StatusComplete",
            "Success"
        ]
    );
    let cp1251 = frames
        .iter()
        .find_map(|frame| match Event::from_frame(frame) {
            Event::Newchannel(event)
                if frame.get("calleridname").unwrap().as_bytes() == b"\xcf\xe5\xf2\xf0" =>
            {
                event.caller_id_name.map(std::borrow::Cow::into_owned)
            }
            _ => None,
        })
        .expect("a cp1251 name");
    assert_eq!(
        cp1251, "\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
        "read, not refused"
    );
}
