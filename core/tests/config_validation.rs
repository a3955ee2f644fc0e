//! Settings that cannot work are refused when the session or cluster is
//! built, with a typed error naming the setting, instead of failing at run
//! time (often as a reconnect loop): zero bounds and capacities, login
//! values that cannot be written on the wire, budgets below what the parser
//! holds by itself, an outbound bound too small for the login, and failover
//! orders that are empty, repeat a server or name one that does not exist.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::cluster::{Cluster, ClusterConfigError, Routing};
use apn_ami_core::connection::{
    AuthMethod, BUDGET_HEADROOM, Session, SessionConfig, SessionConfigError,
};
use apn_ami_core::correlation::InstanceId;
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::ParserConfig;
use cluster_rig::cluster_config;
use rig::{SECRET, config};

/// A change to a session's settings.
type SessionChange = fn(&mut SessionConfig);
/// A change to a session's settings using a long value.
type SessionChangeWith = fn(&mut SessionConfig, &str);
/// A change to a cluster's settings.
type ClusterChange = fn(&mut apn_ami_core::cluster::ClusterConfig);

fn refused(config: SessionConfig) -> SessionConfigError {
    Session::new(config, InstanceId(1)).expect_err("refused")
}

#[test]
fn zero_bounds_and_capacities_are_refused_by_name() {
    let cases: [(&str, SessionChange); 5] = [
        ("log_capacity", |c| c.log_capacity = 0),
        ("registry.max_list_items", |c| c.registry.max_list_items = 0),
        ("registry.max_list_bytes", |c| c.registry.max_list_bytes = 0),
        ("memory_budget_bytes", |c| c.memory_budget_bytes = 0),
        ("event_queue_capacity", |c| c.event_queue_capacity = 0),
    ];
    for (setting, change) in cases {
        let mut config = config(AuthMethod::Plain);
        change(&mut config);
        assert_eq!(refused(config), SessionConfigError::Zero { setting });
    }
}

#[test]
fn login_values_that_cannot_be_written_are_refused_without_showing_them() {
    let long = "x".repeat(1100);
    let cases: [(&str, SessionChangeWith); 7] = [
        ("username", |c, _| c.username = "ad\r\nmin".to_owned()),
        ("username", |c, long| c.username = long.to_owned()),
        ("secret", |c, _| c.secret = Secret::new("pa\0ss")),
        ("secret", |c, long| c.secret = Secret::new(long)),
        ("events", |c, _| {
            c.events = "on\r\nAction: Originate".to_owned();
        }),
        ("events", |c, long| c.events = long.to_owned()),
        ("secret", |c, _| {
            c.secret = Secret::new("Sup3r-s3cret\n");
        }),
    ];
    for (index, (setting, change)) in cases.into_iter().enumerate() {
        for auth in [AuthMethod::Plain, AuthMethod::Md5] {
            let mut config = config(auth);
            change(&mut config, &long);
            let error = refused(config);
            assert!(
                matches!(error, SessionConfigError::Unwritable { setting: s, .. } if s == setting),
                "case {index}: {error:?}"
            );
            let text = error.to_string();
            assert!(!text.contains(SECRET) && !text.contains("pa\0ss"), "{text}");
        }
    }
    let mut trailing = config(AuthMethod::Md5);
    trailing.secret = Secret::new("Sup3r-s3cret\n");
    assert!(
        refused(trailing).to_string().contains("trailing newline"),
        "a secret read from a file says what is wrong"
    );
    let mut empty = config(AuthMethod::Plain);
    empty.username = String::new();
    assert_eq!(refused(empty), SessionConfigError::Username);
}

#[test]
fn a_memory_budget_below_the_parsers_own_buffer_is_refused() {
    let mut config = config(AuthMethod::Plain);
    config.parser = ParserConfig::default().max_frame_size(64 * 1024);
    config.memory_budget_bytes = 128 * 1024;
    assert_eq!(
        refused(config.clone()),
        SessionConfigError::MemoryBudgetBelowParser {
            budget: 128 * 1024,
            needed: 128 * 1024 + BUDGET_HEADROOM
        }
    );
    config.memory_budget_bytes = 128 * 1024 + BUDGET_HEADROOM;
    assert!(
        Session::new(config, InstanceId(1)).is_ok(),
        "exactly enough"
    );

    let mut cluster = cluster_config(2, Routing::RoundRobin);
    cluster.memory_budget_bytes = 64 * 1024;
    assert!(matches!(
        Cluster::new(cluster, 1, frames::epoch()).unwrap_err(),
        ClusterConfigError::MemoryBudgetBelowParser { .. }
    ));
}

#[test]
fn an_outbound_bound_too_small_for_the_login_is_refused() {
    for auth in [AuthMethod::Plain, AuthMethod::Md5] {
        let mut config = config(auth);
        config.max_outbound_bytes = 40;
        assert!(
            matches!(
                refused(config.clone()),
                SessionConfigError::OutboundBelowLogin { limit: 40, needed } if needed > 40
            ),
            "{auth:?}"
        );
        config.max_outbound_bytes = 1024;
        assert!(Session::new(config, InstanceId(1)).is_ok());
    }
}

#[test]
fn cluster_bounds_and_failover_orders_that_cannot_work_are_refused() {
    let t0 = frames::epoch();
    let cases: [(ClusterChange, ClusterConfigError); 6] = [
        (
            |c| c.log_capacity = 0,
            ClusterConfigError::Zero {
                setting: "log_capacity",
            },
        ),
        (
            |c| c.max_waiting_actions = 0,
            ClusterConfigError::Zero {
                setting: "max_waiting_actions",
            },
        ),
        (
            |c| c.memory_budget_bytes = 0,
            ClusterConfigError::Zero {
                setting: "memory_budget_bytes",
            },
        ),
        (
            |c| c.routing = Routing::Failover(Vec::new()),
            ClusterConfigError::FailoverEmpty,
        ),
        (
            |c| c.routing = Routing::Failover(vec![1, 0, 1]),
            ClusterConfigError::FailoverRepeats(1),
        ),
        (
            |c| c.routing = Routing::Failover(vec![0, 2]),
            ClusterConfigError::FailoverUnknown {
                index: 2,
                servers: 2,
            },
        ),
    ];
    for (change, expected) in cases {
        let mut config = cluster_config(2, Routing::RoundRobin);
        change(&mut config);
        assert_eq!(config.validate(), Err(expected.clone()));
        assert_eq!(Cluster::new(config, 1, t0).unwrap_err(), expected);
    }
    let fine = cluster_config(2, Routing::Failover(vec![1]));
    assert!(Cluster::new(fine, 1, t0).is_ok(), "a partial order is fine");
}
