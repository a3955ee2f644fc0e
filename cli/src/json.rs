//! Frames as lossless JSON: `[key, value]` pairs in wire order; a value
//! that is not UTF-8 becomes `{"hex": "…"}` with its exact bytes.

use apn_ami_core::typed::ser::Text;
use apn_ami_tokio::{Frame, Response};
use serde_json::{Value, json};

/// One header value: a string, or its bytes in hex when not UTF-8 (the
/// core's lossless form, [`Text`]).
fn value(bytes: &[u8]) -> Value {
    serde_json::to_value(Text(bytes)).unwrap_or_default()
}

/// A frame's headers as `[key, value]` pairs in wire order (the core's
/// `Serialize` for frames: keys and values lossless).
pub(crate) fn headers(frame: &Frame) -> Value {
    serde_json::to_value(frame).unwrap_or_default()
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
