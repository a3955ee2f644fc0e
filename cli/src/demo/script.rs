//! The demo's scripted trouble, decided by the seed: which node is killed,
//! muted, flooded and fed corrupt bytes, and when.

use std::time::Duration;

use apn_ami_core::health::SeededRng;

/// One scripted change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// The node's process dies (its socket closes; connects are refused).
    Kill,
    /// The node comes back on the same port.
    Restart,
    /// The node stops answering anything; its socket stays open.
    Mute,
    /// The node answers again.
    Unmute,
    /// The node sends a burst of calls far faster than the application
    /// takes events.
    Flood,
    /// The node puts garbage lines between its frames.
    CorruptOn,
    /// The node's bytes are clean again.
    CorruptOff,
}

/// A change at an instant of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) at: Duration,
    pub(crate) node: usize,
    pub(crate) trouble: Trouble,
}

/// The script of a run of `length` over `nodes` nodes: the same seed gives
/// the same script.
pub(crate) fn script(seed: u64, nodes: usize, length: Duration) -> Vec<Step> {
    let mut rng = SeededRng::new(seed);
    let mut pick = || usize::try_from(rng.up_to(nodes as u64 - 1)).unwrap_or(0);
    let at = |percent: u32| length * percent / 100;
    let (killed, muted, flooded, corrupted) = (pick(), pick(), pick(), pick());
    let mut steps = vec![
        Step {
            at: at(15),
            node: killed,
            trouble: Trouble::Kill,
        },
        Step {
            at: at(30),
            node: killed,
            trouble: Trouble::Restart,
        },
        Step {
            at: at(40),
            node: muted,
            trouble: Trouble::Mute,
        },
        Step {
            at: at(60),
            node: muted,
            trouble: Trouble::Unmute,
        },
        Step {
            at: at(50),
            node: flooded,
            trouble: Trouble::Flood,
        },
        Step {
            at: at(70),
            node: corrupted,
            trouble: Trouble::CorruptOn,
        },
        Step {
            at: at(78),
            node: corrupted,
            trouble: Trouble::CorruptOff,
        },
    ];
    steps.sort_by_key(|step| step.at);
    steps
}

impl Trouble {
    /// What the log says.
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            Self::Kill => "killed (its socket closes, connects are refused)",
            Self::Restart => "restarted on the same port",
            Self::Mute => "muted (the socket stays open, nothing is answered)",
            Self::Unmute => "answering again",
            Self::Flood => "floods 10,000 events at once",
            Self::CorruptOn => "starts sending garbage lines between frames",
            Self::CorruptOff => "sends clean bytes again",
        }
    }
}
