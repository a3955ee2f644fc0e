//! The correlation layer: which answer belongs to which action.
//!
//! - [`ActionIds`] hands out `{server_key}:{instance_id}:{sequence}` IDs and
//!   recognises them; a response resolves only an action of its own server
//!   and client instance.
//! - [`PendingRegistry`] holds one server's actions in flight under a hard
//!   limit, follows event lists up to a cap, and ends every action exactly
//!   once: response, [`AmiError::Timeout`], or [`PendingRegistry::fail_all`]
//!   (connection lost, shutdown).
//! - [`CompletionStrategy`] says what an action's answer looks like.
//!
//! Pure: instants come in as arguments; nothing here reads a clock.

mod action_id;
mod deadline;
mod error;
mod registry;
mod response;
mod strategy;

pub use action_id::{ActionIds, InstanceId, InvalidServerKey, MAX_SERVER_KEY_LEN, ServerKey};
pub use deadline::{LONGEST_WAIT, deadline_after};
pub use error::{AmiError, Bound};
pub use registry::{
    ActionHandle, Completion, DEFAULT_MAX_LIST_BYTES, DEFAULT_MAX_LIST_ITEMS, DEFAULT_MAX_PENDING,
    Dispatch, PendingRegistry, RegistryLimits,
};
pub use response::{OutputLines, Response};
pub use strategy::CompletionStrategy;
