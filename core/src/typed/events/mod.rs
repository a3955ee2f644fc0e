//! A catalogue of typed events: what call centres, dialers and CDR
//! collectors read, with header names and types from Asterisk 22's own
//! documentation of each event. Each type borrows its text from the frame
//! (`&str`), so reading one allocates nothing.
//!
//! [`Event::from_frame`] picks the type by the event's name; an event the
//! catalogue lacks is [`Event::Unknown`] and one whose headers do not fit
//! its type is [`Event::Invalid`], both with the frame, so nothing is lost.
//!
//! Fields every version sends are plain; fields sent only sometimes, or
//! that older versions lack, are `Option`s (an empty value is `None`).
//! Header names match ignoring case and underscores, so the spellings of
//! older versions (`UniqueID`, `Uniqueid`) read the same. Names people
//! type (caller and connected line names) are read with
//! [`lossy`](crate::typed::lossy): a name in a legacy 8-bit encoding does
//! not make the event invalid; it borrows when it is UTF-8.
//!
//! ```
//! use apn_ami_core::protocol::{Parser, ParserConfig};
//! use apn_ami_core::typed::events::Event;
//! use apn_ami_core::typed::{ChannelState, HangupCause};
//!
//! let mut parser = Parser::new(ParserConfig::default().expect_banner(false))?;
//! let mut frames = Vec::new();
//! parser.feed(
//!     b"Event: Hangup\r\nChannel: PJSIP/100-0000002a\r\nChannelState: 6\r\n\
//!       ChannelStateDesc: Up\r\nUniqueid: 1700000000.42\r\nCause: 16\r\n\
//!       Cause-txt: Normal Clearing\r\n\r\n",
//!     |item| frames.extend(item.into_frame()),
//! )?;
//! let Event::Hangup(hangup) = Event::from_frame(&frames[0]) else {
//!     panic!("a Hangup");
//! };
//! assert_eq!(hangup.channel, "PJSIP/100-0000002a");
//! assert_eq!(hangup.channel_state, Some(ChannelState::Up));
//! assert_eq!(hangup.cause, HangupCause::NORMAL_CLEARING);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod calls;
mod lists;
mod queues;
mod system;

pub use calls::*;
pub use lists::*;
pub use queues::*;
pub use system::*;

use serde::{Deserialize, Serialize};

use super::ParseError;
#[cfg(test)]
use super::catalogue_read;
use crate::protocol::Frame;

#[cfg(test)]
#[path = "reader_tests.rs"]
mod reader_tests;

/// A typed event: its name on the wire.
pub trait TypedEvent<'a>: Serialize + Deserialize<'a> {
    /// The `Event:` value.
    const NAME: &'static str;

    /// `frame` read as this event: the same as
    /// [`Frame::parse`](crate::protocol::Frame::parse), which it is by
    /// default. The catalogue's types read their own way, about three
    /// times faster for a `Hangup` (their header names are known when they
    /// are compiled), and fall back on `parse` for what only it decides.
    ///
    /// # Errors
    /// [`ParseError`] naming the header and value that did not fit, or the
    /// field that is missing.
    fn from_frame(frame: &'a Frame) -> Result<Self, ParseError> {
        frame.parse()
    }
}

/// Declares a catalogue event: a struct with the given fields, plus the
/// fields of the snapshot parts named in brackets (`channel`: the channel's
/// snapshot; `maybe_channel`: the same, absent for some events; `dest`:
/// the destination channel's snapshot; `bridge`: the bridge's snapshot;
/// `member`: a queue member's state; `security`: the headers every
/// security event carries).
macro_rules! event {
    (
        $(#[$meta:meta])*
        $name:ident = $wire:literal [$($part:ident)*] { $($fields:tt)* }
    ) => {
        $crate::typed::events::event!(@parts [$(#[$meta])*] $name $wire [$($part)*] { $($fields)* });
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [] { $($fields:tt)* }) => {
        $($meta)*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name<'a> {
            $($fields)*
        }

        impl<'a> $crate::typed::events::TypedEvent<'a> for $name<'a> {
            const NAME: &'static str = $wire;

            fn from_frame(frame: &'a $crate::protocol::Frame) -> Result<Self, $crate::typed::ParseError> {
                Self::read_known(frame, || frame.parse())
            }
        }

        impl<'a> $name<'a> {
            /// The catalogue reader's read of `frame`, field by field in
            /// declared order, or `undecided()` when only the general
            /// reader can tell. The struct is built where the result is
            /// returned (a result converted from another copied it).
            #[inline]
            pub(crate) fn read_known<E>(
                frame: &'a $crate::protocol::Frame,
                undecided: impl FnOnce() -> Result<Self, E>,
            ) -> Result<Self, E> {
                const FIELDS: $crate::typed::catalogue_read::Fields = $crate::typed::events::event!(@fields { $($fields)* });
                let mut reader = $crate::typed::catalogue_read::CatalogueReader::new(frame);
                if reader.match_fields(&FIELDS).is_err() {
                    return undecided();
                }
                $crate::typed::events::event!(@build reader undecided { $($fields)* })
            }
        }
    };
    // The keys of a struct's fields, in their order.
    (@fields { $( $(#[$($attr:tt)*])* pub $field:ident : $kind:ty, )* }) => {
        $crate::typed::catalogue_read::Fields::new(&[
            $($crate::typed::events::event!(@key $field [$($($attr)*)*]),)*
        ])
    };
    // The struct, each field read in its turn.
    (@build $reader:ident $undecided:ident { $( $(#[$($attr:tt)*])* pub $field:ident : $kind:ty, )* }) => {
        Ok(Self {
            $($field: match $crate::typed::events::event!(@value $reader [$($($attr)*)*]) {
                Ok(value) => value,
                Err($crate::typed::catalogue_read::Undecided) => return $undecided(),
            },)*
        })
    };
    // A field's key: its serde `rename`, or else its own name.
    (@key $field:ident []) => {
        $crate::typed::catalogue_read::Key::of(stringify!($field))
    };
    (@key $field:ident [serde ($($inner:tt)*) $($rest:tt)*]) => {
        $crate::typed::events::event!(@key $field [$($inner)* $($rest)*])
    };
    (@key $field:ident [rename = $wire:literal $($rest:tt)*]) => {
        $crate::typed::catalogue_read::Key::of($wire)
    };
    (@key $field:ident [$skip:tt $($rest:tt)*]) => {
        $crate::typed::events::event!(@key $field [$($rest)*])
    };
    // A field's value, read as its serde attributes say.
    (@value $reader:ident []) => {
        $reader.field()
    };
    (@value $reader:ident [serde ($($inner:tt)*) $($rest:tt)*]) => {
        $crate::typed::events::event!(@value $reader [$($inner)* $($rest)*])
    };
    (@value $reader:ident [deserialize_with = "crate::typed::lossy" $($rest:tt)*]) => {
        $reader.lossy_field()
    };
    (@value $reader:ident [deserialize_with $($rest:tt)*]) => {
        compile_error!("the catalogue reader knows only `lossy` as a deserialize_with")
    };
    (@value $reader:ident [flatten $($rest:tt)*]) => {
        compile_error!("the catalogue reader has no flatten")
    };
    (@value $reader:ident [alias $($rest:tt)*]) => {
        compile_error!("the catalogue reader has no alias")
    };
    (@value $reader:ident [$skip:tt $($rest:tt)*]) => {
        $crate::typed::events::event!(@value $reader [$($rest)*])
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [channel $($rest:ident)*] { $($fields:tt)* }) => {
        $crate::typed::events::event!(@parts [$($meta)*] $name $wire [$($rest)*] {
            $($fields)*
            /// The channel's name (`PJSIP/100-0000002a`).
            pub channel: &'a str,
            /// Its state (Asterisk 11 leaves it out of some events).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub channel_state: Option<$crate::typed::ChannelState>,
            /// Its state in words.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub channel_state_desc: Option<&'a str>,
            /// Its caller ID number.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDNum")]
            pub caller_id_num: Option<&'a str>,
            /// Its caller ID name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDName", deserialize_with = "crate::typed::lossy")]
            pub caller_id_name: Option<std::borrow::Cow<'a, str>>,
            /// Its connected line number.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub connected_line_num: Option<&'a str>,
            /// Its connected line name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::typed::lossy")]
            pub connected_line_name: Option<std::borrow::Cow<'a, str>>,
            /// Its language.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub language: Option<&'a str>,
            /// Its account code.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub account_code: Option<&'a str>,
            /// Its dialplan context.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub context: Option<&'a str>,
            /// Its dialplan extension.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub exten: Option<&'a str>,
            /// Its dialplan priority.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub priority: Option<u32>,
            /// Its unique id (every version sends it with the channel's
            /// events; `None` only for a partial event).
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub uniqueid: Option<&'a str>,
            /// The unique id of the oldest channel of its call.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub linkedid: Option<&'a str>,
        });
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [maybe_channel $($rest:ident)*] { $($fields:tt)* }) => {
        $crate::typed::events::event!(@parts [$($meta)*] $name $wire [$($rest)*] {
            $($fields)*
            /// The channel's name, when the event has a channel.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub channel: Option<&'a str>,
            /// Its state.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub channel_state: Option<$crate::typed::ChannelState>,
            /// Its state in words.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub channel_state_desc: Option<&'a str>,
            /// Its caller ID number.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDNum")]
            pub caller_id_num: Option<&'a str>,
            /// Its caller ID name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDName", deserialize_with = "crate::typed::lossy")]
            pub caller_id_name: Option<std::borrow::Cow<'a, str>>,
            /// Its connected line number.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub connected_line_num: Option<&'a str>,
            /// Its connected line name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::typed::lossy")]
            pub connected_line_name: Option<std::borrow::Cow<'a, str>>,
            /// Its account code.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub account_code: Option<&'a str>,
            /// Its dialplan context.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub context: Option<&'a str>,
            /// Its dialplan extension.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub exten: Option<&'a str>,
            /// Its unique id.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub uniqueid: Option<&'a str>,
            /// The unique id of the oldest channel of its call.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub linkedid: Option<&'a str>,
        });
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [dest $($rest:ident)*] { $($fields:tt)* }) => {
        $crate::typed::events::event!(@parts [$($meta)*] $name $wire [$($rest)*] {
            $($fields)*
            /// The destination channel's name.
            pub dest_channel: &'a str,
            /// Its state.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub dest_channel_state: Option<$crate::typed::ChannelState>,
            /// Its state in words.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_channel_state_desc: Option<&'a str>,
            /// Its caller ID number.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "DestCallerIDNum")]
            pub dest_caller_id_num: Option<&'a str>,
            /// Its caller ID name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "DestCallerIDName", deserialize_with = "crate::typed::lossy")]
            pub dest_caller_id_name: Option<std::borrow::Cow<'a, str>>,
            /// Its connected line number.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_connected_line_num: Option<&'a str>,
            /// Its connected line name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::typed::lossy")]
            pub dest_connected_line_name: Option<std::borrow::Cow<'a, str>>,
            /// Its account code.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_account_code: Option<&'a str>,
            /// Its dialplan context.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_context: Option<&'a str>,
            /// Its dialplan extension.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_exten: Option<&'a str>,
            /// Its unique id.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_uniqueid: Option<&'a str>,
            /// The unique id of the oldest channel of its call.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub dest_linkedid: Option<&'a str>,
        });
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [security $($rest:ident)*] { $($fields:tt)* }) => {
        $crate::typed::events::event!(@parts [$($meta)*] $name $wire [$($rest)*] {
            $($fields)*
            /// When it happened.
            #[serde(rename = "EventTV")]
            pub event_tv: &'a str,
            /// `Informational` for a success, `Error` for a failure.
            pub severity: &'a str,
            /// The service (`AMI`, `PJSIP`).
            pub service: &'a str,
            /// The security event's version.
            pub event_version: &'a str,
            /// The account that logged in, or tried to.
            #[serde(rename = "AccountID")]
            pub account_id: &'a str,
            /// The session.
            #[serde(rename = "SessionID")]
            pub session_id: &'a str,
            /// The server's address.
            pub local_address: &'a str,
            /// The client's address.
            pub remote_address: &'a str,
            /// The module, when given.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub module: Option<&'a str>,
            /// When the session began, when given.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "SessionTV")]
            pub session_tv: Option<&'a str>,
        });
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [bridge $($rest:ident)*] { $($fields:tt)* }) => {
        $crate::typed::events::event!(@parts [$($meta)*] $name $wire [$($rest)*] {
            $($fields)*
            /// The bridge's unique id.
            pub bridge_uniqueid: &'a str,
            /// Its type (`basic`, `stasis`…).
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub bridge_type: Option<&'a str>,
            /// The technology mixing it (`simple_bridge`, `softmix`…).
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub bridge_technology: Option<&'a str>,
            /// What created it.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub bridge_creator: Option<&'a str>,
            /// Its name.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub bridge_name: Option<&'a str>,
            /// How many channels it holds.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub bridge_num_channels: Option<u32>,
            /// How its video source is chosen.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub bridge_video_source_mode: Option<&'a str>,
            /// Its video source, if one is set.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub bridge_video_source: Option<&'a str>,
        });
    };
    (@parts [$($meta:tt)*] $name:ident $wire:literal [member $($rest:ident)*] { $($fields:tt)* }) => {
        $crate::typed::events::event!(@parts [$($meta)*] $name $wire [$($rest)*] {
            $($fields)*
            /// The queue.
            pub queue: &'a str,
            /// The member's name.
            pub member_name: &'a str,
            /// The member's interface (`PJSIP/200`).
            pub interface: &'a str,
            /// The interface whose device state is the member's.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub state_interface: Option<&'a str>,
            /// `dynamic`, `realtime` or `static`.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub membership: Option<&'a str>,
            /// Its penalty.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub penalty: Option<u32>,
            /// Calls it has taken.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub calls_taken: Option<u64>,
            /// When it last took a call (Unix seconds).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub last_call: Option<u64>,
            /// When it was last paused (Unix seconds).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub last_pause: Option<u64>,
            /// When it logged in (Unix seconds).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub login_time: Option<u64>,
            /// Whether it is on a call.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub in_call: Option<bool>,
            /// Its device state number (1 not in use, 2 in use, 6 ringing…).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<u32>,
            /// Whether it is paused.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub paused: Option<bool>,
            /// Why it is paused.
            #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
            pub paused_reason: Option<&'a str>,
            /// Whether it may take a call while in use.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ringinuse: Option<bool>,
            /// Its wrap-up time in seconds.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub wrapuptime: Option<u32>,
        });
    };
}

pub(crate) use event;

/// Declares [`Event`] over the catalogue.
macro_rules! catalogue {
    ($($variant:ident $(| $alias:literal)*),* $(,)?) => {
        /// An event read through the catalogue, borrowing from its frame.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event<'a> {
            $(
                #[doc = concat!("A `", stringify!($variant), "` event.")]
                $variant($variant<'a>),
            )*
            /// An event the catalogue does not have.
            Unknown(&'a Frame),
            /// A catalogue event whose headers do not fit its type (a
            /// missing header, a number that is not one).
            Invalid {
                /// The frame.
                frame: &'a Frame,
                /// What did not fit.
                error: ParseError,
            },
        }

        impl<'a> Event<'a> {
            /// The event in `frame`, typed if the catalogue has it.
            #[must_use]
            pub fn from_frame(frame: &'a Frame) -> Self {
                Self::read(frame, false)
            }

            /// The same as [`Event::from_frame`], read by the general
            /// reader ([`Frame::parse`]) alone: slower, and what the
            /// catalogue's own reader is checked against.
            #[must_use]
            pub fn from_frame_by_parse(frame: &'a Frame) -> Self {
                Self::read(frame, true)
            }

            fn read(frame: &'a Frame, by_parse: bool) -> Self {
                let name = frame.first_value();
                let name = name.as_bytes();
                $(
                    if name.eq_ignore_ascii_case(<$variant<'a> as TypedEvent<'a>>::NAME.as_bytes())
                        $(|| name.eq_ignore_ascii_case($alias.as_bytes()))*
                    {
                        let read = if by_parse {
                            frame.parse()
                        } else {
                            <$variant<'a> as TypedEvent<'a>>::from_frame(frame)
                        };
                        return match read {
                            Ok(event) => Self::$variant(event),
                            Err(error) => Self::Invalid { frame, error },
                        };
                    }
                )*
                Self::Unknown(frame)
            }

            /// The event in `frame` as the catalogue's own reader reads
            /// it, or [`Undecided`](catalogue_read::Undecided) when only
            /// the general reader can.
            #[cfg(test)]
            pub(crate) fn read_known(frame: &'a Frame) -> Result<Self, catalogue_read::Undecided> {
                let name = frame.first_value();
                let name = name.as_bytes();
                $(
                    if name.eq_ignore_ascii_case(<$variant<'a> as TypedEvent<'a>>::NAME.as_bytes())
                        $(|| name.eq_ignore_ascii_case($alias.as_bytes()))*
                    {
                        return $variant::read_known(frame, || Err(catalogue_read::Undecided))
                            .map(Self::$variant);
                    }
                )*
                Ok(Self::Unknown(frame))
            }

            /// Every catalogue event's name and its fields' serde names.
            #[cfg(test)]
            pub(crate) fn catalogue() -> Vec<(&'static str, &'static [&'static str])> {
                vec![$((
                    <$variant<'static> as TypedEvent<'static>>::NAME,
                    reader_tests::fields_of::<$variant<'static>>(),
                )),*]
            }

            /// The event's name as the catalogue spells it, or as the frame
            /// does for an unknown or invalid one.
            #[must_use]
            pub fn name(&self) -> std::borrow::Cow<'a, str> {
                match self {
                    $(Self::$variant(_) => std::borrow::Cow::Borrowed(
                        <$variant<'a> as TypedEvent<'a>>::NAME,
                    ),)*
                    Self::Unknown(frame) | Self::Invalid { frame, .. } => {
                        frame.first_value().to_string_lossy()
                    }
                }
            }
        }
    };
}

catalogue! {
    Newchannel, Newstate, Newexten, Hangup, HangupRequest, SoftHangupRequest,
    DialBegin, DialEnd, BridgeCreate, BridgeEnter, BridgeLeave, BridgeDestroy,
    VarSet, UserEvent, OriginateResponse, Hold, Unhold, MusicOnHoldStart,
    MusicOnHoldStop, DtmfBegin, DtmfEnd, Cdr, Cel,
    QueueCallerJoin, QueueCallerLeave, QueueCallerAbandon, QueueMemberStatus,
    QueueMemberAdded, QueueMemberRemoved, QueueMemberPause | "QueueMemberPaused",
    AgentCalled, AgentConnect, AgentComplete, AgentRingNoAnswer,
    DeviceStateChange, ContactStatus, PeerStatus, FullyBooted, Shutdown, Reload,
    SuccessfulAuth, InvalidPassword, ChallengeResponseFailed,
    CoreShowChannel, ChannelStatus, QueueParams, QueueMember, QueueEntry,
}
