//! The cluster layer: many servers behind one object.
//!
//! Today: [`RoutingStrategy`] with [`RoundRobin`], [`Failover`] and
//! [`Sticky`]. The `Cluster` that owns every server's session and is the one
//! object a runtime drives comes next.

mod routing;

pub use routing::{Failover, RoundRobin, RoutingStrategy, Sticky};
