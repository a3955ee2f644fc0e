//! The protocol layer: AMI frames on the wire, in both directions.
//!
//! - [`Parser`] turns any chunking of a server's byte stream into [`Item`]s
//!   (the banner, then [`Frame`]s) under a hard memory bound, recovering from
//!   garbage and oversized frames and counting both.
//! - [`Action`] is what a client sends; [`Action::encode`] writes it and
//!   refuses CR, LF and NUL in keys and values (header injection).
//!
//! This layer knows bytes only: no correlation, no connection state, no time.

mod action;
mod assemble;
mod blocks;
mod config;
mod frame;
mod item;
mod line;
mod machine;
mod parser;
pub mod sensitive;
mod swar;
mod value;

#[cfg(test)]
mod scan_tests;

pub use action::{
    Action, ActionBuilder, ActionError, MAX_ACTION_ID_LEN, MAX_HEADERS, MAX_LINE_LEN, MAX_LINES,
};
pub use config::{
    ConfigError, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_RESYNC_BYTES, MAX_FRAME_SIZE_CEILING,
    MIN_FRAME_SIZE, ParserConfig, Role,
};
pub use frame::{ChanVariable, Frame, FrameKind};
pub use item::{Banner, Item, ParserStats, ProtocolError};
pub use parser::Parser;
pub use value::Value;
