//! An arbitrary valid action through the writer and back through a
//! server-side parser: the frame must carry exactly the action's name,
//! ActionID and headers, in order (keys lowercased up to a `(`), with no
//! protocol error. Inputs the builder rejects must be rejected for a reason
//! the sanitised input can really have (a limit), never for injection.
#![no_main]

use apn_ami_core::protocol::{Action, ActionError, FrameKind, Parser, ParserConfig};
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

const KEY_BYTES: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_()/@; .";

fn key_from(raw: &[u8]) -> String {
    let mut key: String = raw
        .iter()
        .map(|byte| char::from(KEY_BYTES[usize::from(*byte) % KEY_BYTES.len()]))
        .collect();
    key.insert(0, 'K');
    key
}

fn normalise(key: &str) -> String {
    match key.split_once('(') {
        Some((name, rest)) => format!("{}({rest}", name.to_ascii_lowercase()),
        None => key.to_ascii_lowercase(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let Ok(raw_name) = <Vec<u8>>::arbitrary(&mut input) else {
        return;
    };
    let name =
        key_from(&raw_name[..raw_name.len().min(40)]).replace([' ', '(', ')', ';', '/', '@'], "x");
    let Ok(raw_headers) = <Vec<(Vec<u8>, Vec<u8>)>>::arbitrary(&mut input) else {
        return;
    };
    let headers: Vec<(String, Vec<u8>)> = raw_headers
        .into_iter()
        .map(|(key, value)| {
            let value = value
                .into_iter()
                .filter(|b| !matches!(b, b'\r' | b'\n' | 0))
                .collect();
            (key_from(&key), value)
        })
        .collect();

    let mut builder = Action::builder(&name);
    for (key, value) in &headers {
        builder = builder.header(key, value);
    }
    let action = match builder.build() {
        Ok(action) => action,
        Err(ActionError::LineTooLong { .. } | ActionError::TooManyHeaders) => return,
        Err(other) => panic!("sanitised input rejected: {other}"),
    };
    let mut wire = Vec::new();
    action
        .encode(Some("fuzz:1:1"), &mut wire)
        .expect("valid ActionID");

    let mut parser = Parser::new(ParserConfig::server()).expect("valid config");
    let mut frames = Vec::new();
    parser
        .feed(&wire, |item| frames.extend(item.into_frame()))
        .expect("the writer's output parses");
    assert_eq!(parser.stats().protocol_errors, 0);
    assert_eq!(frames.len(), 1);
    let frame = &frames[0];
    assert_eq!(frame.kind(), FrameKind::Action);
    let mut expected = vec![
        ("action".to_owned(), name.into_bytes()),
        ("actionid".to_owned(), b"fuzz:1:1".to_vec()),
    ];
    expected.extend(
        headers
            .into_iter()
            .map(|(key, value)| (normalise(&key), value)),
    );
    let got: Vec<(String, Vec<u8>)> = frame
        .headers()
        .map(|(key, value)| (key.to_owned(), value.as_bytes().to_vec()))
        .collect();
    assert_eq!(got, expected);
});
