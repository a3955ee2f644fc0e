//! A catalogue of typed actions, with header names and types from
//! Asterisk 22's documentation of each action. Build one, then
//! [`AmiAction::to_action`] checks it (no CR, LF or NUL anywhere, Asterisk's
//! limits) and gives the [`Action`] a client sends.
//!
//! ```
//! use std::collections::BTreeMap;
//! use apn_ami_core::typed::actions::{AmiAction, Originate};
//!
//! let originate = Originate {
//!     channel: "PJSIP/100",
//!     context: Some("outbound"),
//!     exten: Some("5551234"),
//!     priority: Some(1),
//!     caller_id: Some("\"Campaign 7\" <5550000>"),
//!     timeout: Some(30_000),
//!     r#async: Some(true),
//!     variable: BTreeMap::from([("LEAD", "42")]),
//!     ..Originate::default()
//! };
//! let action = originate.to_action()?;
//! assert_eq!(action.name(), "Originate");
//! assert_eq!(action.get("Variable").unwrap().as_bytes(), b"LEAD=42");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::HangupCause;
use super::write::{WriteError, to_action};
use crate::protocol::Action;

/// A typed action: its name on the wire.
pub trait AmiAction: Serialize {
    /// The `Action:` value.
    const NAME: &'static str;

    /// The action, checked by the builder.
    ///
    /// # Errors
    /// [`WriteError`] when a value holds CR, LF or NUL, or passes
    /// Asterisk's limits.
    fn to_action(&self) -> Result<Action, WriteError> {
        to_action(Self::NAME, self)
    }
}

/// Declares a catalogue action (one without headers has no lifetime).
macro_rules! action {
    ($(#[$meta:meta])* $name:ident = $wire:literal {}) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {}

        impl AmiAction for $name {
            const NAME: &'static str = $wire;
        }
    };
    ($(#[$meta:meta])* $name:ident = $wire:literal { $($fields:tt)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name<'a> {
            $($fields)+
        }

        impl AmiAction for $name<'_> {
            const NAME: &'static str = $wire;
        }
    };
}

action! {
    /// Places a call: dials `channel`, then connects it to a dialplan
    /// location or an application. With `async`, the answer comes at once
    /// and the outcome later as an `OriginateResponse` event.
    Originate = "Originate" {
        /// The channel to dial (`PJSIP/100`, `Local/100@from-internal`).
        pub channel: &'a str,
        /// The extension to connect it to.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub exten: Option<&'a str>,
        /// The context of `exten`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub context: Option<&'a str>,
        /// The priority of `exten`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub priority: Option<u32>,
        /// Or the application to run.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application: Option<&'a str>,
        /// Its arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub data: Option<&'a str>,
        /// Milliseconds to wait for an answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout: Option<u64>,
        /// The caller ID, `"name" <number>`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerID")]
        pub caller_id: Option<&'a str>,
        /// Channel variables to set, one `Variable: NAME=value` each.
        #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
        pub variable: BTreeMap<&'a str, &'a str>,
        /// The account code.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub account: Option<&'a str>,
        /// Whether early media counts as an answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub early_media: Option<bool>,
        /// Whether to answer at once and report the outcome as an
        /// `OriginateResponse` event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub r#async: Option<bool>,
        /// The codecs to offer (`ulaw,alaw`).
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub codecs: Option<&'a str>,
        /// The unique id to give the new channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub channel_id: Option<&'a str>,
        /// The unique id to give the second channel of a local pair.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub other_channel_id: Option<&'a str>,
        /// A subroutine to run on the channel before it dials.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "PreDialGoSub")]
        pub pre_dial_go_sub: Option<&'a str>,
    }
}

action! {
    /// Hangs a channel up.
    Hangup = "Hangup" {
        /// The channel, or a `/regex/` of channels.
        pub channel: &'a str,
        /// The cause to give.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cause: Option<HangupCause>,
    }
}

action! {
    /// Sends a channel (and optionally a second one) to a dialplan
    /// location.
    Redirect = "Redirect" {
        /// The channel.
        pub channel: &'a str,
        /// A second channel to send too.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub extra_channel: Option<&'a str>,
        /// The extension.
        pub exten: &'a str,
        /// The second channel's extension.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub extra_exten: Option<&'a str>,
        /// The context.
        pub context: &'a str,
        /// The second channel's context.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub extra_context: Option<&'a str>,
        /// The priority.
        pub priority: u32,
        /// The second channel's priority.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub extra_priority: Option<u32>,
    }
}

action! {
    /// Sets a channel variable, or a global one without a channel.
    Setvar = "Setvar" {
        /// The channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub channel: Option<&'a str>,
        /// The variable.
        pub variable: &'a str,
        /// Its value.
        pub value: &'a str,
    }
}

action! {
    /// Reads a channel variable (or function), or a global one without a
    /// channel.
    Getvar = "Getvar" {
        /// The channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub channel: Option<&'a str>,
        /// The variable or function (`CALLERID(num)`).
        pub variable: &'a str,
    }
}

action! {
    /// Runs a CLI command; `Response::output_lines` gives its output.
    Command = "Command" {
        /// The command (`core show channels`).
        pub command: &'a str,
    }
}

action! {
    /// Lists the active channels as `CoreShowChannel` items.
    CoreShowChannels = "CoreShowChannels" {}
}

action! {
    /// Lists channels (all, or one) as `Status` items.
    Status = "Status" {
        /// Only this channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub channel: Option<&'a str>,
        /// Variables to include, comma-separated.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub variables: Option<&'a str>,
        /// Whether to include every variable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub all_variables: Option<bool>,
    }
}

action! {
    /// Lists queues with their members and callers as `QueueParams`,
    /// `QueueMember` and `QueueEntry` items.
    QueueStatus = "QueueStatus" {
        /// Only this queue.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub queue: Option<&'a str>,
        /// Only this member.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub member: Option<&'a str>,
    }
}

action! {
    /// Adds a member to a queue.
    QueueAdd = "QueueAdd" {
        /// The queue.
        pub queue: &'a str,
        /// The member's interface.
        pub interface: &'a str,
        /// Its penalty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub penalty: Option<u32>,
        /// Whether it starts paused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub paused: Option<bool>,
        /// Why, if paused.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub reason: Option<&'a str>,
        /// Its name.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub member_name: Option<&'a str>,
        /// The interface whose device state is the member's.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub state_interface: Option<&'a str>,
    }
}

action! {
    /// Removes a member from a queue.
    QueueRemove = "QueueRemove" {
        /// The queue.
        pub queue: &'a str,
        /// The member's interface.
        pub interface: &'a str,
    }
}

action! {
    /// Pauses or unpauses a member, in one queue or all.
    QueuePause = "QueuePause" {
        /// The member's interface.
        pub interface: &'a str,
        /// Pause (true) or unpause (false).
        pub paused: bool,
        /// Only in this queue.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub queue: Option<&'a str>,
        /// Why.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub reason: Option<&'a str>,
    }
}

action! {
    /// Keeps the connection alive; answered with `Ping: Pong`.
    Ping = "Ping" {}
}

action! {
    /// Raises a `UserEvent` to every AMI client, with headers of its own.
    UserEvent = "UserEvent" {
        /// The event's name.
        #[serde(alias = "userevent")]
        pub user_event: &'a str,
        /// Its own headers, `Key: value` each (keys read back lowercase,
        /// with the frame's `action` and `actionid` among them).
        #[serde(borrow, flatten)]
        pub headers: BTreeMap<&'a str, &'a str>,
    }
}

action! {
    /// Chooses which events this connection receives (`on`, `off`, or
    /// classes such as `call,system`).
    Events = "Events" {
        /// The event mask.
        pub event_mask: &'a str,
    }
}

action! {
    /// Ends the session; answered with `Response: Goodbye`.
    Logoff = "Logoff" {}
}

action! {
    /// An attended transfer of a channel to an extension.
    Atxfer = "Atxfer" {
        /// The transferring channel.
        pub channel: &'a str,
        /// The extension to transfer to.
        pub exten: &'a str,
        /// Its context.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub context: Option<&'a str>,
    }
}

action! {
    /// Bridges two channels.
    Bridge = "Bridge" {
        /// The first channel.
        pub channel1: &'a str,
        /// The second channel.
        pub channel2: &'a str,
        /// Whether to play a courtesy tone to the second channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub tone: Option<&'a str>,
    }
}

action! {
    /// Plays a DTMF digit on a channel.
    PlayDtmf = "PlayDTMF" {
        /// The channel.
        pub channel: &'a str,
        /// The digit.
        pub digit: &'a str,
        /// Its length in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub duration: Option<u32>,
        /// Whether to play it as received rather than sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub receive: Option<bool>,
    }
}

action! {
    /// Starts recording a channel.
    MixMonitor = "MixMonitor" {
        /// The channel.
        pub channel: &'a str,
        /// The file to record to.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub file: Option<&'a str>,
        /// `MixMonitor()` options.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub options: Option<&'a str>,
        /// A command to run when the recording ends.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub command: Option<&'a str>,
    }
}

action! {
    /// Stops recording a channel.
    StopMixMonitor = "StopMixMonitor" {
        /// The channel.
        pub channel: &'a str,
        /// Which recording, when it has several.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "MixMonitorID")]
        pub mix_monitor_id: Option<&'a str>,
    }
}
