//! Events about the server and its endpoints: device and contact states,
//! boot, shutdown and reload, and the security events of logins.

use super::event;

event! {
    /// A device's state changed.
    DeviceStateChange = "DeviceStateChange" [] {
        /// The device (`PJSIP/100`).
        pub device: &'a str,
        /// Its state (`NOT_INUSE`, `INUSE`, `RINGING`, `UNAVAILABLE`…).
        pub state: &'a str,
    }
}

event! {
    /// A PJSIP contact's state changed.
    ContactStatus = "ContactStatus" [] {
        /// The contact's URI.
        #[serde(rename = "URI")]
        pub uri: &'a str,
        /// Its state (`Created`, `Reachable`, `Unreachable`, `Removed`…).
        pub contact_status: &'a str,
        /// Its AOR.
        #[serde(rename = "AOR")]
        pub aor: &'a str,
        /// Its endpoint.
        pub endpoint_name: &'a str,
        /// The last qualify round trip, in microseconds.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub roundtrip_usec: Option<&'a str>,
    }
}

event! {
    /// A peer's (endpoint's) state changed.
    PeerStatus = "PeerStatus" [] {
        /// Its channel type (`PJSIP`, `SIP`, `IAX2`).
        pub channel_type: &'a str,
        /// The peer (`PJSIP/100`).
        pub peer: &'a str,
        /// `Registered`, `Unregistered`, `Reachable`, `Unreachable`…
        pub peer_status: &'a str,
        /// Why, when known.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub cause: Option<&'a str>,
        /// Its address.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub address: Option<&'a str>,
        /// Its port.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub port: Option<&'a str>,
        /// The qualify time.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub time: Option<&'a str>,
    }
}

event! {
    /// The server has booted (also sent to each new AMI login).
    FullyBooted = "FullyBooted" [] {
        /// `Fully Booted`.
        pub status: &'a str,
        /// Seconds since the server started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub uptime: Option<u64>,
        /// Seconds since the last reload.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_reload: Option<u64>,
    }
}

event! {
    /// The server is shutting down; the connection closes right after.
    Shutdown = "Shutdown" [] {
        /// `Cleanly` or `Uncleanly`.
        pub shutdown: &'a str,
        /// Whether it restarts.
        pub restart: bool,
    }
}

event! {
    /// A module was reloaded.
    Reload = "Reload" [] {
        /// The module, when one was named.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub module: Option<&'a str>,
        /// The outcome (`0` success…).
        pub status: &'a str,
    }
}

event! {
    /// A login (AMI, SIP…) succeeded.
    SuccessfulAuth = "SuccessfulAuth" [security] {
        /// Whether a password was used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub using_password: Option<bool>,
    }
}

event! {
    /// A login failed on a wrong password.
    InvalidPassword = "InvalidPassword" [security] {
        /// The challenge sent, for a challenge login.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub challenge: Option<&'a str>,
        /// The challenge received back.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub received_challenge: Option<&'a str>,
        /// The hash received.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub received_hash: Option<&'a str>,
    }
}

event! {
    /// A challenge login's response did not match.
    ChallengeResponseFailed = "ChallengeResponseFailed" [security] {
        /// The challenge sent.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub challenge: Option<&'a str>,
        /// The response received.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub response: Option<&'a str>,
        /// The hash expected.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        pub expected_response: Option<&'a str>,
    }
}
