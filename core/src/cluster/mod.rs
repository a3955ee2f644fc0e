//! The cluster layer: many servers behind one object.
//!
//! - [`Cluster`] owns every server's session, connection manager and health,
//!   and is the single object a runtime drives.
//! - [`RoutingStrategy`] picks a server: [`RoundRobin`], [`Failover`] or
//!   [`Sticky`]; only healthy servers are ever eligible.

mod config;
mod engine;
mod routing;
mod turns;
mod waiting;

pub use config::{ClusterConfig, ClusterConfigError, Routing, ServerConfig};
pub use engine::{Cluster, ClusterHandle, ClusterOutput, Route, ServerId};
pub use routing::{Failover, RoundRobin, RoutingStrategy, Sticky};
