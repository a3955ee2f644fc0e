//! Events of a call's life: channels, dialing, bridges, holds, DTMF,
//! variables, originates and the records a call leaves (CDR, CEL).

use super::event;
use crate::typed::HangupCause;

event! {
    /// A channel was created.
    Newchannel = "Newchannel" [channel] {}
}

event! {
    /// A channel's state changed (ringing, up…).
    Newstate = "Newstate" [channel] {}
}

event! {
    /// A channel's dialplan location changed: it runs a new application.
    Newexten = "Newexten" [channel] {
        /// The extension (a deprecated copy of `Exten`).
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub extension: Option<&'a str>,
        /// The application it runs.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application: Option<&'a str>,
        /// The application's arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub app_data: Option<&'a str>,
    }
}

event! {
    /// A channel hung up.
    Hangup = "Hangup" [channel] {
        /// Why.
        pub cause: HangupCause,
        /// Why, in words.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "Cause-txt")]
        pub cause_txt: Option<&'a str>,
        /// The channel technology's own cause, when it gave one.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub tech_cause: Option<&'a str>,
    }
}

event! {
    /// Something asked a channel to hang up.
    HangupRequest = "HangupRequest" [channel] {
        /// The cause asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cause: Option<HangupCause>,
    }
}

event! {
    /// Something asked a channel to hang up softly (at its next chance).
    SoftHangupRequest = "SoftHangupRequest" [channel] {
        /// The cause asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cause: Option<HangupCause>,
    }
}

event! {
    /// A dial began: the caller (absent for an originated call) dials the
    /// destination channel.
    DialBegin = "DialBegin" [maybe_channel dest] {
        /// What was dialed (`100`, `PJSIP/100`).
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub dial_string: Option<&'a str>,
    }
}

event! {
    /// A dial ended.
    DialEnd = "DialEnd" [maybe_channel dest] {
        /// How (`ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, `CONGESTION`,
        /// `CHANUNAVAIL`…).
        pub dial_status: &'a str,
        /// Where the call was forwarded, if it was.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub forward: Option<&'a str>,
    }
}

event! {
    /// A bridge was created.
    BridgeCreate = "BridgeCreate" [bridge] {}
}

event! {
    /// A channel entered a bridge.
    BridgeEnter = "BridgeEnter" [bridge channel] {
        /// The unique id of the channel it replaced, if it swapped one out.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub swap_uniqueid: Option<&'a str>,
    }
}

event! {
    /// A channel left a bridge.
    BridgeLeave = "BridgeLeave" [bridge channel] {}
}

event! {
    /// A bridge was destroyed.
    BridgeDestroy = "BridgeDestroy" [bridge] {}
}

event! {
    /// A variable was set, on a channel or globally.
    VarSet = "VarSet" [maybe_channel] {
        /// The variable's name.
        pub variable: &'a str,
        /// Its new value.
        pub value: &'a str,
    }
}

event! {
    /// An event raised by the dialplan (`UserEvent()`) or an AMI client.
    /// Its own headers are in the frame.
    UserEvent = "UserEvent" [maybe_channel] {
        /// The name it was raised with.
        pub user_event: &'a str,
    }
}

event! {
    /// The outcome of an `Originate` sent with `Async: true`.
    OriginateResponse = "OriginateResponse" [] {
        /// The `Originate`'s ActionID.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "ActionID")]
        pub action_id: Option<&'a str>,
        /// `Success` or `Failure`.
        pub response: &'a str,
        /// The channel that was originated.
        pub channel: &'a str,
        /// The context it went to.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub context: Option<&'a str>,
        /// The extension it went to.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub exten: Option<&'a str>,
        /// The application it ran.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application: Option<&'a str>,
        /// The application's arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub data: Option<&'a str>,
        /// The outcome as a control frame number (4 answered, 5 busy, 8
        /// congestion, 0 failure…).
        pub reason: u32,
        /// The new channel's unique id.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub uniqueid: Option<&'a str>,
        /// Its caller ID number.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDNum")]
        pub caller_id_num: Option<&'a str>,
        /// Its caller ID name.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDName", deserialize_with = "crate::typed::lossy")]
        pub caller_id_name: Option<std::borrow::Cow<'a, str>>,
    }
}

event! {
    /// A channel was put on hold.
    Hold = "Hold" [channel] {
        /// The music class suggested to the holding party.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub music_class: Option<&'a str>,
    }
}

event! {
    /// A channel was taken off hold.
    Unhold = "Unhold" [channel] {}
}

event! {
    /// A channel started hearing music on hold.
    MusicOnHoldStart = "MusicOnHoldStart" [channel] {
        /// The music class.
        pub class: &'a str,
    }
}

event! {
    /// A channel stopped hearing music on hold.
    MusicOnHoldStop = "MusicOnHoldStop" [channel] {}
}

event! {
    /// A DTMF digit began.
    DtmfBegin = "DTMFBegin" [channel] {
        /// The digit.
        pub digit: &'a str,
        /// `Received` or `Sent`.
        pub direction: &'a str,
    }
}

event! {
    /// A DTMF digit ended.
    DtmfEnd = "DTMFEnd" [channel] {
        /// The digit.
        pub digit: &'a str,
        /// How long it lasted, in milliseconds.
        pub duration_ms: u32,
        /// `Received` or `Sent`.
        pub direction: &'a str,
    }
}

event! {
    /// A call detail record (`cdr_manager`).
    Cdr = "Cdr" [] {
        /// The account code.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub account_code: Option<&'a str>,
        /// The caller's number.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub source: Option<&'a str>,
        /// The extension dialed.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub destination: Option<&'a str>,
        /// The context dialed in.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub destination_context: Option<&'a str>,
        /// The caller ID, `"name" <number>`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerID", deserialize_with = "crate::typed::lossy")]
        pub caller_id: Option<std::borrow::Cow<'a, str>>,
        /// The calling channel.
        pub channel: &'a str,
        /// The called channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub destination_channel: Option<&'a str>,
        /// The last application run.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub last_application: Option<&'a str>,
        /// Its arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub last_data: Option<&'a str>,
        /// When the call began (`%Y-%m-%d %T`).
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub start_time: Option<&'a str>,
        /// When it was answered; empty when it was not.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub answer_time: Option<&'a str>,
        /// When it ended.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub end_time: Option<&'a str>,
        /// Seconds from start to end.
        pub duration: u64,
        /// Seconds from answer to end.
        pub billable_seconds: u64,
        /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`, `CONGESTION`.
        pub disposition: &'a str,
        /// `OMIT`, `BILLING`, `DOCUMENTATION`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "AMAFlags")]
        pub ama_flags: Option<&'a str>,
        /// The channel's unique id.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "UniqueID")]
        pub unique_id: Option<&'a str>,
        /// The user field.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub user_field: Option<&'a str>,
    }
}

event! {
    /// A channel event logging record (`cel_manager`).
    Cel = "CEL" [] {
        /// What happened (`CHAN_START`, `ANSWER`, `HANGUP`, `BRIDGE_ENTER`…).
        pub event_name: &'a str,
        /// The account code.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub account_code: Option<&'a str>,
        /// The caller ID number.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDnum")]
        pub caller_id_num: Option<&'a str>,
        /// The caller ID name.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDname", deserialize_with = "crate::typed::lossy")]
        pub caller_id_name: Option<std::borrow::Cow<'a, str>>,
        /// The caller ID's ANI.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDani")]
        pub caller_id_ani: Option<&'a str>,
        /// The caller ID's redirecting number.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDrdnis")]
        pub caller_id_rdnis: Option<&'a str>,
        /// The dialed number.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "CallerIDdnid")]
        pub caller_id_dnid: Option<&'a str>,
        /// The extension.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub exten: Option<&'a str>,
        /// The context.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub context: Option<&'a str>,
        /// The channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub channel: Option<&'a str>,
        /// The application.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application: Option<&'a str>,
        /// Its arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub app_data: Option<&'a str>,
        /// When it happened.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub event_time: Option<&'a str>,
        /// `OMIT`, `BILLING`, `DOCUMENTATION`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "AMAFlags")]
        pub ama_flags: Option<&'a str>,
        /// The channel's unique id.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "UniqueID")]
        pub unique_id: Option<&'a str>,
        /// The call's linked id.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "LinkedID")]
        pub linked_id: Option<&'a str>,
        /// The user field.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub user_field: Option<&'a str>,
        /// The other party's channel.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub peer: Option<&'a str>,
        /// The other party's account code.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub peer_account: Option<&'a str>,
        /// Extra data of the event.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub extra: Option<&'a str>,
    }
}
