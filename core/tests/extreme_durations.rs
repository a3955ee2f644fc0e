//! Time arithmetic never panics: every duration from configuration or a
//! per-call option may be `Duration::MAX` (issue 10, class 3). Each of
//! these panicked with "overflow when adding duration to instant" before
//! deadlines were capped at `LONGEST_WAIT`.

#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use std::time::Duration;

use apn_ami_core::cluster::{Cluster, ClusterConfig, ServerConfig, ServerId};
use apn_ami_core::connection::{AuthMethod, SubmitOptions};
use apn_ami_core::correlation::{LONGEST_WAIT, deadline_after};
use apn_ami_core::protocol::Action;
use rig::{Rig, config};

#[test]
fn deadlines_are_capped_not_overflowed() {
    let now = frames::epoch();
    assert_eq!(deadline_after(now, Duration::MAX), now + LONGEST_WAIT);
    assert_eq!(
        deadline_after(now, Duration::from_secs(5)),
        now + Duration::from_secs(5)
    );
}

#[test]
fn a_session_with_every_duration_at_the_maximum_runs_its_whole_life() {
    for auth in [AuthMethod::Plain, AuthMethod::Md5] {
        let mut settings = config(auth);
        settings.banner_timeout = Duration::MAX;
        settings.login_timeout = Duration::MAX;
        settings.action_timeout = Duration::MAX;
        settings.heartbeat_interval = Duration::MAX;
        settings.heartbeat_timeout = Duration::from_secs(u64::MAX);
        settings.shutdown_grace = Duration::MAX;
        let mut rig = Rig::new(settings);
        rig.log_in();
        let options = SubmitOptions {
            timeout: Some(Duration::MAX),
            ..SubmitOptions::default()
        };
        let now = rig.now();
        rig.session
            .submit(Action::new("Ping").expect("valid"), options, now)
            .expect("accepted");
        rig.submit(Action::new("Ping").expect("valid"))
            .expect("accepted");
        rig.tick(60_000);
        let next = rig.session.poll_timeout().expect("deadlines are armed");
        assert!(next <= rig.now() + LONGEST_WAIT);
        let now = rig.now();
        rig.session.shutdown(now);
        rig.drain();
        rig.tick(120_000);
        assert_eq!(
            rig.session.pending(),
            2,
            "both still wait, within their grace"
        );
    }
}

#[test]
fn reconnect_delays_and_breaker_cooldowns_at_the_maximum_do_not_panic() {
    let now = frames::epoch();
    let mut session = config(AuthMethod::Plain);
    session.banner_timeout = Duration::MAX;
    let mut cluster_config = ClusterConfig::new(vec![ServerConfig {
        session,
        address: "127.0.0.1:5038".to_owned(),
    }]);
    cluster_config.backoff.cap = Duration::MAX;
    cluster_config.backoff.base = Duration::MAX;
    cluster_config.breaker.failure_threshold = 1;
    cluster_config.breaker.cooldown = Duration::MAX;
    cluster_config.breaker.max_cooldown = Duration::MAX;
    let mut cluster = Cluster::new(cluster_config, 7, now).expect("valid");
    for _ in 0..5 {
        cluster.handle_timeout(now);
        while cluster.poll_output().is_some() {}
        cluster.handle_connected(ServerId(0), now);
        cluster.handle_disconnected(ServerId(0), now);
        while cluster.poll_output().is_some() {}
    }
    let next = cluster.poll_timeout().expect("a reconnect is scheduled");
    assert!(next > now && next <= now + LONGEST_WAIT);
}
