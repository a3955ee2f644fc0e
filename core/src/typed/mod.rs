//! Typed views of frames through serde (feature `serde`, on by default);
//! uses only the `protocol` layer.
//!
//! - Reading: [`Frame::parse`](crate::protocol::Frame::parse) turns a frame
//!   into any `T: Deserialize` ([`de`] says how headers meet fields).
//! - Writing: a [`Frame`](crate::protocol::Frame) serializes losslessly as
//!   its `[key, value]` pairs in wire order ([`ser`] says how bytes that
//!   are not UTF-8 survive).

pub mod de;
pub mod ser;

pub use de::ParseError;
