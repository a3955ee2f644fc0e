//! Values Asterisk sends as numbers with a meaning (a channel's state, a
//! hangup cause: both read from and write as the number on the wire, and
//! keep numbers they do not know), and text that may not be UTF-8.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A channel's state, as the `ChannelState` header numbers it (the
/// `ChannelStateDesc` header says the same in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// 0: the channel is down and available.
    Down,
    /// 1: the channel is down but reserved.
    Reserved,
    /// 2: the channel is off hook.
    OffHook,
    /// 3: digits (or equivalent) have been dialed.
    Dialing,
    /// 4: the line is ringing (the caller hears ringing).
    Ring,
    /// 5: the remote end is ringing.
    Ringing,
    /// 6: the line is up.
    Up,
    /// 7: the line is busy.
    Busy,
    /// 8: digits have been dialed while off hook.
    DialingOffHook,
    /// 9: the channel has detected an incoming call and is waiting for ring.
    PreRing,
    /// A number this list does not know.
    Other(u32),
}

impl ChannelState {
    /// The state of a `ChannelState` number.
    #[must_use]
    pub const fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Down,
            1 => Self::Reserved,
            2 => Self::OffHook,
            3 => Self::Dialing,
            4 => Self::Ring,
            5 => Self::Ringing,
            6 => Self::Up,
            7 => Self::Busy,
            8 => Self::DialingOffHook,
            9 => Self::PreRing,
            other => Self::Other(other),
        }
    }

    /// The number on the wire.
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            Self::Down => 0,
            Self::Reserved => 1,
            Self::OffHook => 2,
            Self::Dialing => 3,
            Self::Ring => 4,
            Self::Ringing => 5,
            Self::Up => 6,
            Self::Busy => 7,
            Self::DialingOffHook => 8,
            Self::PreRing => 9,
            Self::Other(code) => code,
        }
    }
}

impl Serialize for ChannelState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.code())
    }
}

impl<'de> Deserialize<'de> for ChannelState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u32::deserialize(deserializer).map(Self::from_code)
    }
}

/// A hangup cause: an ITU-T Q.850 cause number, as `Cause` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HangupCause(pub u16);

impl HangupCause {
    /// 0: no cause was given.
    pub const NOT_DEFINED: Self = Self(0);
    /// 1: the number is not assigned.
    pub const UNALLOCATED: Self = Self(1);
    /// 3: no route to the destination.
    pub const NO_ROUTE_DESTINATION: Self = Self(3);
    /// 16: a normal hangup.
    pub const NORMAL_CLEARING: Self = Self(16);
    /// 17: the called party is busy.
    pub const USER_BUSY: Self = Self(17);
    /// 18: no user responded (nothing answered the alerting).
    pub const NO_USER_RESPONSE: Self = Self(18);
    /// 19: the called party was alerted but did not answer.
    pub const NO_ANSWER: Self = Self(19);
    /// 20: the subscriber is absent (not registered).
    pub const SUBSCRIBER_ABSENT: Self = Self(20);
    /// 21: the call was rejected.
    pub const CALL_REJECTED: Self = Self(21);
    /// 22: the number changed.
    pub const NUMBER_CHANGED: Self = Self(22);
    /// 27: the destination is out of order.
    pub const DESTINATION_OUT_OF_ORDER: Self = Self(27);
    /// 28: the number format is invalid.
    pub const INVALID_NUMBER_FORMAT: Self = Self(28);
    /// 31: normal, unspecified.
    pub const NORMAL_UNSPECIFIED: Self = Self(31);
    /// 34: no circuit or channel is available.
    pub const NORMAL_CIRCUIT_CONGESTION: Self = Self(34);
    /// 38: the network is out of order.
    pub const NETWORK_OUT_OF_ORDER: Self = Self(38);
    /// 41: a temporary failure.
    pub const NORMAL_TEMPORARY_FAILURE: Self = Self(41);
    /// 42: switching equipment congestion.
    pub const SWITCH_CONGESTION: Self = Self(42);
    /// 44: the requested channel is not available.
    pub const REQUESTED_CHAN_UNAVAIL: Self = Self(44);
    /// 58: the bearer capability is not available.
    pub const BEARERCAPABILITY_NOTAVAIL: Self = Self(58);
    /// 66: the channel type is not implemented.
    pub const CHAN_NOT_IMPLEMENTED: Self = Self(66);
    /// 88: the destination is incompatible.
    pub const INCOMPATIBLE_DESTINATION: Self = Self(88);
    /// 102: a timer expired during recovery.
    pub const RECOVERY_ON_TIMER_EXPIRE: Self = Self(102);
    /// 111: a protocol error.
    pub const PROTOCOL_ERROR: Self = Self(111);
    /// 127: interworking, unspecified.
    pub const INTERWORKING: Self = Self(127);

    /// Asterisk's name of the cause (`AST_CAUSE_…` without the prefix),
    /// for the causes listed here.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NOT_DEFINED",
            1 => "UNALLOCATED",
            3 => "NO_ROUTE_DESTINATION",
            16 => "NORMAL_CLEARING",
            17 => "USER_BUSY",
            18 => "NO_USER_RESPONSE",
            19 => "NO_ANSWER",
            20 => "SUBSCRIBER_ABSENT",
            21 => "CALL_REJECTED",
            22 => "NUMBER_CHANGED",
            27 => "DESTINATION_OUT_OF_ORDER",
            28 => "INVALID_NUMBER_FORMAT",
            31 => "NORMAL_UNSPECIFIED",
            34 => "NORMAL_CIRCUIT_CONGESTION",
            38 => "NETWORK_OUT_OF_ORDER",
            41 => "NORMAL_TEMPORARY_FAILURE",
            42 => "SWITCH_CONGESTION",
            44 => "REQUESTED_CHAN_UNAVAIL",
            58 => "BEARERCAPABILITY_NOTAVAIL",
            66 => "CHAN_NOT_IMPLEMENTED",
            88 => "INCOMPATIBLE_DESTINATION",
            102 => "RECOVERY_ON_TIMER_EXPIRE",
            111 => "PROTOCOL_ERROR",
            127 => "INTERWORKING",
            _ => return None,
        })
    }
}

impl fmt::Display for HangupCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Reads an optional text header that may not be UTF-8 (a caller name in
/// a legacy 8-bit encoding): borrowed when it is UTF-8, with U+FFFD for
/// each invalid sequence when it is not, so the rest of the event still
/// reads. For `#[serde(borrow, default, deserialize_with = "…")]` on an
/// `Option<Cow<'a, str>>` field.
///
/// # Errors
/// The deserializer's, when the value is neither text nor bytes.
pub fn lossy<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    deserializer.deserialize_option(LossyVisitor)
}

struct LossyVisitor;

impl<'de> Visitor<'de> for LossyVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_bytes(self)
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(text.to_owned())))
    }

    fn visit_borrowed_bytes<E: de::Error>(self, bytes: &'de [u8]) -> Result<Self::Value, E> {
        // Text first: validating is cheaper than walking it in chunks, and
        // almost every value is text.
        Ok(Some(match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        }))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(
            String::from_utf8_lossy(bytes).into_owned(),
        )))
    }
}
