//! Typed views of frames through serde (feature `serde`, on by default);
//! uses only the `protocol` layer.
//!
//! - Reading: [`Frame::parse`](crate::protocol::Frame::parse) turns a frame
//!   into any `T: Deserialize` ([`de`] says how headers meet fields).
//! - Writing: a [`Frame`](crate::protocol::Frame) serializes losslessly as
//!   its `[key, value]` pairs in wire order ([`ser`] says how bytes that
//!   are not UTF-8 survive); any `T: Serialize` becomes an
//!   [`Action`](crate::protocol::Action) or an event's bytes ([`mod@write`]).

pub mod actions;
mod catalogue_read;
pub mod de;
pub mod events;
mod field_match;
pub mod ser;
mod values;
pub mod write;

pub use de::ParseError;
pub use values::{ChannelState, HangupCause, lossy};
pub use write::{WriteError, to_action, to_event_bytes, to_headers};
