//! # apn-ami-sim
//!
//! A deterministic simulator for apn-ami: it drives the very same `Cluster`
//! as the real runtimes against [`FakeAsterisk`] nodes over simulated
//! [`Link`]s, on a virtual clock, single-threaded. One seed decides
//! everything (the faults, the jitter, the traffic); a failing run names its
//! seed, and the same seed replays it bit for bit (the trace hash says so).
//!
//! [`TcpNode`] serves a fake node on a real loopback socket, for the runtimes
//! and the CLI; [`serve_flood`] floods a client with the realistic event mix
//! for loopback benchmarks.

mod fake;
mod flood;
mod net;
mod shared;
mod sim;
mod tcp;

pub use fake::{CommandFormat, FakeAsterisk, LEGACY_QUEUES, NodeConfig, NodeStats, QueuesFormat};
pub use flood::{realistic_events, serve_flood};
pub use net::{Link, LinkConfig};
pub use shared::{Changed, SharedNode, Turn};
pub use sim::{Fault, FaultPlan, Sim, SimConfig, Violation};
pub use tcp::TcpNode;
