//! Secrets never surface: sensitive variables are masked by default in every
//! form Asterisk and applications write them, the session's redactor covers
//! the `Debug` of queued actions, and a refused action is logged without
//! its free text.

#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::connection::{AuthMethod, SubmitOptions};
use apn_ami_core::observe::{FieldValue, Redactor};
use apn_ami_core::protocol::Action;
use rig::{Rig, config};

#[test]
fn variables_that_look_secret_are_masked_in_every_form_by_default() {
    let redactor = Redactor::default();
    let cases: [(&str, &[u8], &str); 9] = [
        ("Variable", b"DB_PASSWORD=hunter2", "DB_PASSWORD=********"),
        ("Variable", b"ApiToken=abc", "ApiToken=********"),
        (
            "ChanVariable(PJSIP/1-01)",
            b"voicemail_pin=1234",
            "voicemail_pin=********",
        ),
        ("ChanVariable", b"AWS_SECRET=x", "AWS_SECRET=********"),
        ("DestChanVariable", b"LICENSE_KEY=k", "LICENSE_KEY=********"),
        ("BridgeChanVariable(x)", b"Password=p", "Password=********"),
        (
            "Variable",
            b"QUEUE=sales,CRM_TOKEN=t,AFTER=1",
            "QUEUE=sales,CRM_TOKEN=********",
        ),
        ("Variable", b"QUEUE=sales,AGENT=7", "QUEUE=sales,AGENT=7"),
        ("Channel", b"PJSIP/pin-pad", "PJSIP/pin-pad"),
    ];
    for (key, value, shown) in cases {
        assert_eq!(redactor.header(key, value), shown, "{key}: {value:?}");
    }
    let custom = Redactor::new(["ACCOUNT_CODE"]);
    assert_eq!(
        custom.header("Variable", b"account_code=991"),
        "account_code=********",
        "names the user adds"
    );
}

#[test]
fn an_actions_debug_masks_keys_and_secret_looking_variables() {
    let action = Action::builder("Originate")
        .header("Channel", "PJSIP/100")
        .variable("SIP_PASSWORD", "hunter2")
        .variable("QUEUE", "sales")
        .header("Key", "0123")
        .build()
        .unwrap();
    let shown = format!("{action:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("0123"),
        "{shown}"
    );
    assert!(
        shown.contains("QUEUE=sales") && shown.contains("PJSIP/100"),
        "{shown}"
    );
}

fn with_secrets() -> Action {
    Action::builder("Command")
        .header("Command", "database put creds admin hunter2")
        .build()
        .unwrap()
}

#[test]
fn queued_actions_print_through_the_sessions_redactor() {
    let mut config = config(AuthMethod::Plain);
    config.redactor = Redactor::new(["ACCOUNT_CODE"]);
    let mut rig = Rig::new(config);
    let now = rig.now();
    rig.session
        .submit(with_secrets(), SubmitOptions::default(), now)
        .unwrap();
    let originate = Action::builder("Originate")
        .variable("ACCOUNT_CODE", "991-secret-account")
        .build()
        .unwrap();
    rig.session
        .submit(originate, SubmitOptions::default(), now)
        .unwrap();
    let shown = format!("{:?}", rig.session);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("991-secret-account"), "{shown}");
    assert!(shown.contains("Command: <32 bytes>"), "{shown}");
}

#[test]
fn a_refused_action_is_logged_with_keys_and_no_free_text() {
    let mut config = config(AuthMethod::Plain);
    config.max_queued_before_login = 1;
    let mut rig = Rig::new(config);
    rig.submit(Action::new("Ping").unwrap()).unwrap();
    rig.submit(with_secrets()).unwrap_err();
    let record = rig
        .logs
        .iter()
        .find(|record| record.message.contains("rejected"))
        .expect("the refusal is logged");
    let Some(FieldValue::Text(headers)) = record.field("headers") else {
        panic!("{record:?}");
    };
    assert_eq!(headers, "Command: <32 bytes>");
    assert!(!format!("{:?}", rig.logs).contains("hunter2"));
}
