//! Byte-exact tests of the action writer and its refusal of header injection.

use apn_ami_core::protocol::{Action, ActionError, MAX_ACTION_ID_LEN, MAX_HEADERS, MAX_LINE_LEN};

fn encode(action: &Action, id: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    action.encode(id, &mut out).expect("valid ActionID");
    assert_eq!(out.len(), action.encoded_len(id.map(str::len)));
    out
}

#[test]
fn login_plain_is_byte_exact() {
    let login = Action::builder("Login")
        .header("Username", "u")
        .header("Secret", "s")
        .build()
        .unwrap();
    assert_eq!(
        encode(&login, Some("1")),
        b"Action: Login\r\nActionID: 1\r\nUsername: u\r\nSecret: s\r\n\r\n"
    );
}

#[test]
fn challenge_and_md5_login_are_byte_exact() {
    let challenge = Action::builder("Challenge")
        .header("AuthType", "MD5")
        .build()
        .unwrap();
    assert_eq!(
        encode(&challenge, Some("c1")),
        b"Action: Challenge\r\nActionID: c1\r\nAuthType: MD5\r\n\r\n"
    );
    let login = Action::builder("Login")
        .header("AuthType", "MD5")
        .header("Username", "admin")
        .header("Key", "0123456789abcdef0123456789abcdef")
        .build()
        .unwrap();
    assert_eq!(
        encode(&login, Some("l1")),
        b"Action: Login\r\nActionID: l1\r\nAuthType: MD5\r\nUsername: admin\r\nKey: 0123456789abcdef0123456789abcdef\r\n\r\n"
    );
}

#[test]
fn action_without_headers_or_action_id() {
    let ping = Action::new("Ping").unwrap();
    assert_eq!(ping.name(), "Ping");
    assert_eq!(encode(&ping, None), b"Action: Ping\r\n\r\n");
    assert_eq!(ping.headers().count(), 0);
}

#[test]
fn repeated_headers_and_variables_keep_their_order() {
    let originate = Action::builder("Originate")
        .header("Channel", "PJSIP/100")
        .variable("A", "1")
        .header("Variable", "B=2")
        .variable("C", "x=y")
        .build()
        .unwrap();
    assert_eq!(
        encode(&originate, Some("o1")),
        b"Action: Originate\r\nActionID: o1\r\nChannel: PJSIP/100\r\nVariable: A=1\r\nVariable: B=2\r\nVariable: C=x=y\r\n\r\n"
    );
    let variables: Vec<_> = originate
        .headers()
        .filter(|(key, _)| *key == "Variable")
        .map(|(_, value)| value.to_string())
        .collect();
    assert_eq!(variables, ["A=1", "B=2", "C=x=y"]);
    assert_eq!(originate.get("channel").unwrap(), "PJSIP/100");
    assert!(originate.get("exten").is_none());
}

#[test]
fn values_keep_spaces_colons_empty_and_non_utf8_bytes() {
    let action = Action::builder("UserEvent")
        .header("UserEvent", "x")
        .header("Padded", "  two: colons: ")
        .header("Empty", "")
        .header("CallerID", b"\xcf\xe5\xf2\xf0 <100>".as_slice())
        .build()
        .unwrap();
    assert_eq!(
        encode(&action, Some("u1")),
        b"Action: UserEvent\r\nActionID: u1\r\nUserEvent: x\r\nPadded:   two: colons: \r\nEmpty: \r\nCallerID: \xcf\xe5\xf2\xf0 <100>\r\n\r\n"
    );
    assert_eq!(action.get("padded").unwrap(), "  two: colons: ");
    assert!(action.get("empty").unwrap().is_empty());
}

#[test]
fn cr_lf_and_nul_in_values_are_rejected_as_injection() {
    for (value, byte) in [
        (b"a\r\nAction: Logoff".as_slice(), b'\r'),
        (b"a\nb", b'\n'),
        (b"a\0b", 0),
    ] {
        let error = Action::builder("Command")
            .header("Command", value)
            .build()
            .unwrap_err();
        assert_eq!(
            error,
            ActionError::ForbiddenByte {
                key: "Command".to_owned(),
                byte
            }
        );
        assert!(
            !error.to_string().contains("Logoff"),
            "values never appear in errors"
        );
    }
    let error = Action::builder("Originate")
        .variable("A", "1\r\n")
        .build()
        .unwrap_err();
    assert!(matches!(
        error,
        ActionError::ForbiddenByte { byte: b'\r', .. }
    ));
}

#[test]
fn invalid_keys_are_rejected() {
    for key in [
        "",
        " Lead",
        "Co:lon",
        "Line\r\nBreak",
        "Nul\0",
        "Tab\there",
        "Ünï",
    ] {
        let error = Action::builder("Ping")
            .header(key, "v")
            .build()
            .unwrap_err();
        assert!(
            matches!(error, ActionError::InvalidKey { .. }),
            "{key:?}: {error:?}"
        );
    }
    let spaced = Action::builder("Ping")
        .header("Key With Spaces", "v")
        .build();
    assert!(spaced.is_ok());
}

#[test]
fn reserved_keys_are_rejected() {
    for key in ["Action", "ACTIONID", "actionid"] {
        let error = Action::builder("Ping")
            .header(key, "v")
            .build()
            .unwrap_err();
        assert_eq!(
            error,
            ActionError::ReservedKey {
                key: key.to_owned()
            }
        );
    }
}

#[test]
fn invalid_names_are_rejected() {
    for name in ["", "Two Words", "Line\nBreak", &"A".repeat(MAX_LINE_LEN)] {
        let error = Action::new(name).unwrap_err();
        assert!(matches!(error, ActionError::InvalidName { .. }), "{name:?}");
    }
    // The first error is kept even when later calls are valid.
    let error = Action::builder("")
        .header("Valid", "v")
        .variable("V", "1")
        .build()
        .unwrap_err();
    assert!(matches!(error, ActionError::InvalidName { .. }));
}

#[test]
fn invalid_variable_names_are_rejected() {
    for name in ["", "A=B", "A\r", "A\n", "A\0"] {
        let error = Action::builder("Originate")
            .variable(name, "v")
            .build()
            .unwrap_err();
        assert!(
            matches!(error, ActionError::InvalidVariableName { .. }),
            "{name:?}"
        );
    }
}

#[test]
fn asterisk_line_and_line_count_limits() {
    let longest = "v".repeat(MAX_LINE_LEN - "Data: ".len());
    assert!(
        Action::builder("Ping")
            .header("Data", &longest)
            .build()
            .is_ok()
    );
    let error = Action::builder("Ping")
        .header("Data", format!("{longest}v"))
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        ActionError::LineTooLong {
            key: "Data".to_owned(),
            length: MAX_LINE_LEN + 1
        }
    );

    let mut builder = Action::builder("Ping");
    for index in 0..MAX_HEADERS {
        builder = builder.header("H", index.to_string());
    }
    let full = builder.clone().build().unwrap();
    assert_eq!(full.headers().count(), MAX_HEADERS);
    assert_eq!(
        builder.header("H", "one more").build().unwrap_err(),
        ActionError::TooManyHeaders
    );
}

#[test]
fn action_ids_are_validated_and_leave_output_untouched() {
    let ping = Action::new("Ping").unwrap();
    let longest = "i".repeat(MAX_ACTION_ID_LEN);
    assert!(ping.encode(Some(&longest), &mut Vec::new()).is_ok());
    for bad in [
        String::new(),
        format!("{longest}i"),
        "has space".to_owned(),
        "a\r\nb".to_owned(),
    ] {
        let mut out = b"kept".to_vec();
        let error = ping.encode(Some(&bad), &mut out).unwrap_err();
        assert!(
            matches!(error, ActionError::InvalidActionId { .. }),
            "{bad:?}"
        );
        assert_eq!(out, b"kept");
    }
}

#[test]
fn debug_masks_secrets() {
    let login = Action::builder("Login")
        .header("Username", "admin")
        .header("Secret", "hunter2")
        .header("KEY", "deadbeef")
        .header("password", "pa55")
        .build()
        .unwrap();
    let debug = format!("{login:?}");
    for secret in ["hunter2", "deadbeef", "pa55"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("\"admin\""), "{debug}");
    assert_eq!(debug.matches("********").count(), 3, "{debug}");
}

#[test]
fn error_messages_name_the_problem() {
    let cases = [
        (ActionError::TooManyHeaders, "more than 126 headers"),
        (
            ActionError::ForbiddenByte {
                key: "Command".to_owned(),
                byte: b'\n',
            },
            "0x0a",
        ),
        (
            ActionError::ReservedKey {
                key: "ActionID".to_owned(),
            },
            "reserved",
        ),
    ];
    for (error, needle) in cases {
        assert!(error.to_string().contains(needle), "{error}");
    }
}
