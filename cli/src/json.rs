//! Frames as lossless JSON: `[key, value]` pairs in wire order; a value
//! that is not UTF-8 becomes `{"hex": "…"}` with its exact bytes.

use std::fmt::Write as _;

use apn_ami_tokio::{Frame, Response};
use serde_json::{Value, json};

/// One header value: a string, or its bytes in hex when not UTF-8.
fn value(bytes: &[u8]) -> Value {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Value::from(text);
    }
    let hex = bytes.iter().fold(String::new(), |mut hex, byte| {
        // Writing to a String cannot fail.
        let _infallible = write!(hex, "{byte:02x}");
        hex
    });
    json!({ "hex": hex })
}

/// A frame's headers as `[key, value]` pairs in wire order.
pub(crate) fn headers(frame: &Frame) -> Value {
    Value::Array(
        frame
            .headers()
            .map(|(key, text)| json!([key, value(text.as_bytes())]))
            .collect(),
    )
}

/// An action's whole answer: the response, its list items and the event
/// that completed the list.
pub(crate) fn response(response: &Response) -> Value {
    let mut out = json!({
        "response": headers(response.frame()),
        "items": response.items().iter().map(headers).collect::<Vec<_>>(),
        "complete": response.complete_event().map(headers),
    });
    if response.frame().follows_body().is_some() {
        // Text outside headers (a legacy Command body, an old `Queues`
        // answer): its lines, in order.
        out["lines"] = response.output_lines().map(value).collect();
    }
    out
}

/// One event line of `apn-ami events`.
pub(crate) fn event(server: &str, frame: &Frame) -> Value {
    json!({
        "server": server,
        "event": value(frame.first_value().as_bytes()),
        "headers": headers(frame),
    })
}
