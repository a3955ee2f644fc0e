//! The items of list actions: `CoreShowChannels`, `Status` and
//! `QueueStatus` answer with one event per channel, queue, member or
//! caller.

use super::event;

event! {
    /// One channel, an item of `CoreShowChannels`.
    CoreShowChannel = "CoreShowChannel" [channel] {
        /// The bridge it is in, if any.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub bridge_id: Option<&'a str>,
        /// The application it runs.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application: Option<&'a str>,
        /// The application's arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application_data: Option<&'a str>,
        /// How long it has existed, `HH:MM:SS`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub duration: Option<&'a str>,
    }
}

event! {
    /// One channel, an item of `Status` (the event is named `Status`).
    ChannelStatus = "Status" [channel] {
        /// The channel's type (`PJSIP`).
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub r#type: Option<&'a str>,
        /// The dialed number.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "DNID")]
        pub dnid: Option<&'a str>,
        /// The connected line number in effect.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub effective_connected_line_num: Option<&'a str>,
        /// The connected line name in effect.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub effective_connected_line_name: Option<&'a str>,
        /// When it will be hung up, if a time is set.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub time_to_hangup: Option<&'a str>,
        /// The bridge it is in, if any.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none", rename = "BridgeID")]
        pub bridge_id: Option<&'a str>,
        /// The application it runs.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub application: Option<&'a str>,
        /// The application's arguments.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub data: Option<&'a str>,
        /// Its native formats.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub nativeformats: Option<&'a str>,
        /// Its read format.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub readformat: Option<&'a str>,
        /// Its read translation path.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub readtrans: Option<&'a str>,
        /// Its write format.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub writeformat: Option<&'a str>,
        /// Its write translation path.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub writetrans: Option<&'a str>,
        /// Its call group.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub callgroup: Option<&'a str>,
        /// Its pickup group.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub pickupgroup: Option<&'a str>,
        /// Seconds since it was created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub seconds: Option<u64>,
    }
}

event! {
    /// One queue's figures, an item of `QueueStatus`.
    QueueParams = "QueueParams" [] {
        /// The queue.
        pub queue: &'a str,
        /// Most callers it takes (0 no limit).
        pub max: u32,
        /// Its ring strategy (`ringall`, `leastrecent`…).
        pub strategy: &'a str,
        /// Callers waiting.
        pub calls: u32,
        /// Average seconds callers wait.
        pub holdtime: u64,
        /// Average seconds of talk.
        pub talk_time: u64,
        /// Calls completed.
        pub completed: u64,
        /// Calls abandoned.
        pub abandoned: u64,
        /// The service level, in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_level: Option<u32>,
        /// Percent of calls answered within the service level.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_level_perf: Option<f64>,
        /// The same, counting abandoned calls in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_level_perf2: Option<f64>,
        /// Its weight.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub weight: Option<u32>,
    }
}

event! {
    /// One member of a queue, an item of `QueueStatus`.
    QueueMember = "QueueMember" [] {
        /// The queue.
        pub queue: &'a str,
        /// The member's name.
        pub name: &'a str,
        /// Its interface.
        pub location: &'a str,
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
        /// Its device state number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub status: Option<u32>,
        /// Whether it is paused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub paused: Option<bool>,
        /// Why it is paused.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub paused_reason: Option<&'a str>,
        /// Its wrap-up time in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub wrapuptime: Option<u32>,
    }
}

event! {
    /// One caller waiting in a queue, an item of `QueueStatus`.
    QueueEntry = "QueueEntry" [] {
        /// The queue.
        pub queue: &'a str,
        /// The caller's position (1 first).
        pub position: u32,
        /// The caller's channel.
        pub channel: &'a str,
        /// Its unique id.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub uniqueid: Option<&'a str>,
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
        /// Seconds it has waited.
        pub wait: u64,
        /// Its priority in the queue.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub priority: Option<u32>,
    }
}
