//! Backoff, circuit breaker, health derivation and the connection manager,
//! with injected instants and seeded randomness.

#[path = "support/frames.rs"]
mod frames;

use std::collections::BTreeSet;
use std::time::Duration;

use apn_ami_core::connection::SessionState;
use apn_ami_core::health::{
    Backoff, BreakerConfig, BreakerState, CircuitBreaker, ConnectionManager, HealthState,
    MIN_RECONNECT_DELAY, SeededRng,
};
use frames::{at, epoch};

const MS: Duration = Duration::from_millis(1);

#[test]
fn backoff_delays_stay_within_floor_and_cap_for_a_thousand_seeds() {
    let backoff = Backoff::default();
    for seed in 0..1_000 {
        let mut rng = SeededRng::new(seed);
        for attempt in 0..40 {
            let delay = backoff.delay(attempt, &mut rng);
            assert!(
                delay >= MIN_RECONNECT_DELAY,
                "seed {seed} attempt {attempt}: {delay:?}"
            );
            assert!(
                delay <= backoff.cap,
                "seed {seed} attempt {attempt}: {delay:?}"
            );
            let upper = (backoff.base * 2u32.saturating_pow(attempt)).min(backoff.cap);
            assert!(
                delay <= upper && delay >= upper / 2,
                "seed {seed} attempt {attempt}: {delay:?} vs {upper:?}"
            );
        }
    }
}

#[test]
fn backoff_grows_until_the_cap_and_its_jitter_varies() {
    let backoff = Backoff::default();
    let mut medians = Vec::new();
    for attempt in 0..10 {
        let mut delays: Vec<Duration> = (0..1_000)
            .map(|seed| backoff.delay(attempt, &mut SeededRng::new(seed * 7 + 1)))
            .collect();
        delays.sort();
        let distinct: BTreeSet<_> = delays.iter().collect();
        assert!(
            distinct.len() > 200,
            "attempt {attempt}: only {} distinct delays",
            distinct.len()
        );
        let spread = delays[989].saturating_sub(delays[10]);
        let upper = (backoff.base * 2u32.pow(attempt)).min(backoff.cap);
        assert!(
            spread >= upper * 4 / 10,
            "attempt {attempt}: spread {spread:?} of {upper:?}"
        );
        medians.push(delays[500]);
    }
    for pair in medians.windows(2) {
        assert!(pair[1] >= pair[0], "medians never shrink: {medians:?}");
    }
    assert!(medians[5] > medians[0] * 20, "grows: {medians:?}");
    assert!(
        medians[9] >= backoff.cap / 2 && medians[9] <= backoff.cap,
        "capped: {medians:?}"
    );
}

#[test]
fn backoff_settings_are_checked() {
    assert!(Backoff::default().is_valid());
    let too_fast = Backoff {
        base: Duration::from_millis(10),
        ..Backoff::default()
    };
    assert!(!too_fast.is_valid());
    let inverted = Backoff {
        cap: Duration::from_millis(200),
        ..Backoff::default()
    };
    assert!(!inverted.is_valid());
    let flat = Backoff {
        factor: 0,
        ..Backoff::default()
    };
    assert!(!flat.is_valid());
    // A cap below the floor still never goes under the floor.
    let odd = Backoff {
        base: Duration::from_millis(1),
        factor: 1,
        cap: Duration::from_millis(1),
    };
    assert_eq!(odd.delay(3, &mut SeededRng::new(1)), MIN_RECONNECT_DELAY);
}

#[test]
fn seeded_rng_is_deterministic_and_bounded() {
    let draws = |seed| {
        let mut rng = SeededRng::new(seed);
        (0..5).map(|_| rng.next_u64()).collect::<Vec<_>>()
    };
    assert_eq!(draws(42), draws(42));
    assert_ne!(draws(42), draws(43));
    let mut rng = SeededRng::new(9);
    for bound in [0, 1, 7, 1000, u64::MAX] {
        for _ in 0..100 {
            assert!(rng.up_to(bound) <= bound);
        }
    }
    assert_eq!(SeededRng::new(1).up_to(0), 0);
}

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new(BreakerConfig {
        failure_threshold: 3,
        cooldown: Duration::from_secs(5),
        max_cooldown: Duration::from_secs(12),
    })
}

#[test]
fn breaker_opens_after_n_consecutive_failures() {
    let t0 = epoch();
    let mut breaker = breaker();
    assert!(breaker.try_attempt(t0));
    assert_eq!(breaker.on_failure(t0), BreakerState::Closed { failures: 1 });
    breaker.on_success();
    assert_eq!(
        breaker.state(),
        BreakerState::Closed { failures: 0 },
        "a success resets the count"
    );
    breaker.on_failure(t0);
    breaker.on_failure(t0);
    let opened = breaker.on_failure(at(t0, 100));
    assert_eq!(
        opened,
        BreakerState::Open {
            until: at(t0, 5_100),
            cooldown: Duration::from_secs(5)
        }
    );
    assert_eq!(breaker.reopens_at(), Some(at(t0, 5_100)));
    assert!(!breaker.try_attempt(at(t0, 5_099)), "no attempt while open");
}

#[test]
fn half_open_lets_one_probe_through_then_closes_or_reopens_longer() {
    let t0 = epoch();
    let mut breaker = breaker();
    for _ in 0..3 {
        breaker.on_failure(t0);
    }
    assert!(breaker.try_attempt(at(t0, 5_000)), "the probe");
    assert_eq!(
        breaker.state(),
        BreakerState::HalfOpen {
            cooldown: Duration::from_secs(5)
        }
    );
    assert_eq!(breaker.reopens_at(), None);
    assert!(
        !breaker.try_attempt(at(t0, 5_001)),
        "only one probe at a time"
    );
    // The probe fails: open again, twice as long.
    assert_eq!(
        breaker.on_failure(at(t0, 6_000)),
        BreakerState::Open {
            until: at(t0, 16_000),
            cooldown: Duration::from_secs(10)
        }
    );
    assert!(breaker.try_attempt(at(t0, 16_000)));
    // Fails again: capped at 12 s.
    assert_eq!(
        breaker.on_failure(at(t0, 16_500)),
        BreakerState::Open {
            until: at(t0, 28_500),
            cooldown: Duration::from_secs(12)
        }
    );
    assert!(breaker.try_attempt(at(t0, 28_500)));
    breaker.on_success();
    assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    assert!(breaker.try_attempt(at(t0, 28_501)));
}

#[test]
fn health_comes_from_facts_only() {
    let closed = BreakerState::Closed { failures: 0 };
    let open = BreakerState::Open {
        until: epoch(),
        cooldown: Duration::from_secs(1),
    };
    let half = BreakerState::HalfOpen {
        cooldown: Duration::from_secs(1),
    };
    assert_eq!(
        HealthState::from_facts(SessionState::Ready, closed),
        HealthState::Healthy
    );
    assert_eq!(
        HealthState::from_facts(SessionState::Degraded, closed),
        HealthState::Degraded
    );
    for state in [
        SessionState::Disconnected,
        SessionState::Connecting,
        SessionState::AwaitingBanner,
        SessionState::Authenticating,
        SessionState::Closing,
    ] {
        assert_eq!(
            HealthState::from_facts(state, closed),
            HealthState::Disconnected,
            "{state:?}"
        );
    }
    assert_eq!(
        HealthState::from_facts(SessionState::Ready, open),
        HealthState::CircuitOpen
    );
    assert_eq!(
        HealthState::from_facts(SessionState::Ready, half),
        HealthState::CircuitOpen
    );
    let eligible: Vec<_> = [
        HealthState::Healthy,
        HealthState::Degraded,
        HealthState::Disconnected,
        HealthState::CircuitOpen,
    ]
    .iter()
    .map(|state| (state.is_eligible(), state.code()))
    .collect();
    assert_eq!(eligible, [(true, 0), (false, 1), (false, 2), (false, 3)]);
}

fn manager() -> (ConnectionManager, std::time::Instant) {
    let t0 = epoch();
    (
        ConnectionManager::new(Backoff::default(), BreakerConfig::default(), t0),
        t0,
    )
}

#[test]
fn manager_connects_at_once_then_backs_off_after_failures() {
    let (mut manager, t0) = manager();
    let mut rng = SeededRng::new(5);
    assert_eq!(manager.next_deadline(), Some(t0));
    assert!(manager.poll_attempt(t0));
    assert!(!manager.poll_attempt(t0), "one attempt at a time");
    assert_eq!(manager.next_deadline(), None);
    let delay = manager.on_failure(at(t0, 10), &mut rng);
    assert!(
        (Duration::from_millis(250)..=Duration::from_millis(500)).contains(&delay),
        "{delay:?}"
    );
    assert_eq!(manager.next_deadline(), Some(at(t0, 10) + delay));
    assert!(!manager.poll_attempt((at(t0, 10) + delay).checked_sub(MS).unwrap()));
    assert!(manager.poll_attempt(at(t0, 10) + delay));
    assert_eq!(manager.attempts(), 2);
    assert_eq!(manager.last_attempt(), Some(at(t0, 10) + delay));
    manager.on_up();
    assert_eq!(manager.next_deadline(), None);
    assert!(!manager.poll_attempt(at(t0, 60_000)), "no attempt while up");
    // After a success, the backoff starts over.
    let again = manager.on_failure(at(t0, 60_000), &mut rng);
    assert!(again <= Duration::from_millis(500));
}

#[test]
fn manager_holds_attempts_while_the_breaker_is_open() {
    let (mut manager, t0) = manager();
    let mut rng = SeededRng::new(1);
    let mut now = t0;
    for _ in 0..5 {
        assert!(manager.poll_attempt(now) || manager.next_deadline().is_some_and(|d| d > now));
        manager.on_failure(now, &mut rng);
        now = manager.next_deadline().unwrap();
    }
    let BreakerState::Open { until, .. } = manager.breaker() else {
        panic!("open after 5 failures: {:?}", manager.breaker());
    };
    assert!(now >= until, "the next attempt waits for the cool-down");
    assert!(manager.poll_attempt(now), "the half-open probe");
    assert!(matches!(manager.breaker(), BreakerState::HalfOpen { .. }));
}

#[test]
fn an_open_breaker_found_at_poll_time_defers_the_attempt() {
    let t0 = epoch();
    let config = BreakerConfig {
        failure_threshold: 1,
        cooldown: Duration::from_secs(60),
        max_cooldown: Duration::from_secs(60),
    };
    let mut manager = ConnectionManager::new(Backoff::default(), config, t0);
    let mut rng = SeededRng::new(3);
    assert!(manager.poll_attempt(t0));
    manager.on_failure(t0, &mut rng);
    assert_eq!(
        manager.next_deadline(),
        Some(at(t0, 60_000)),
        "the cool-down outlasts the backoff"
    );
    assert!(manager.poll_attempt(at(t0, 60_000)));
}

#[test]
fn stopped_managers_never_attempt() {
    let (mut manager, t0) = manager();
    manager.stop();
    assert!(!manager.poll_attempt(t0));
    assert_eq!(
        manager.on_failure(t0, &mut SeededRng::new(1)),
        Duration::ZERO
    );
    assert_eq!(manager.next_deadline(), None);
}

#[test]
fn attempts_are_never_closer_than_the_floor_over_random_histories() {
    for seed in 0..300 {
        let mut rng = SeededRng::new(seed);
        let mut history = SeededRng::new(seed ^ 0x00ab_cdef);
        let (mut manager, t0) = manager();
        let mut now = t0;
        let mut attempts = Vec::new();
        for _ in 0..60 {
            now += Duration::from_millis(history.up_to(2_000));
            if let Some(due) = manager.next_deadline() {
                now = now.max(due);
            }
            if manager.poll_attempt(now) {
                attempts.push(now);
                // The attempt fails fast, slowly, or succeeds and later drops.
                now += Duration::from_millis(history.up_to(50));
                if history.up_to(3) == 0 {
                    manager.on_up();
                    now += Duration::from_millis(history.up_to(5_000));
                }
                manager.on_failure(now, &mut rng);
            }
        }
        for pair in attempts.windows(2) {
            assert!(
                pair[1] - pair[0] >= MIN_RECONNECT_DELAY,
                "seed {seed}: attempts {:?} apart",
                pair[1] - pair[0]
            );
        }
        assert!(attempts.len() > 5, "seed {seed}: the history made attempts");
    }
}

#[test]
fn a_restart_announced_while_a_probe_is_out_retries_at_the_base_delay() {
    let t0 = epoch();
    let config = BreakerConfig {
        failure_threshold: 2,
        ..BreakerConfig::default()
    };
    let mut manager = ConnectionManager::new(Backoff::default(), config, t0);
    let mut rng = SeededRng::new(5);
    let mut now = t0;
    // Fail until the breaker opens, wait it out: one probe goes out.
    let mut probes = 0;
    for _ in 0..200 {
        if manager.poll_attempt(now) {
            if matches!(manager.breaker(), BreakerState::HalfOpen { .. }) {
                probes += 1;
                break;
            }
            manager.on_failure(now, &mut rng);
        }
        now += Duration::from_millis(250);
    }
    assert_eq!(probes, 1, "a half-open probe is out");
    // The probe's connection carries a Shutdown with Restart: True, then closes.
    manager.expect_restart(now);
    let delay = manager.on_failure(now, &mut rng);
    assert!(delay <= Backoff::default().base, "{delay:?}");
    assert!(
        manager.poll_attempt(now + delay),
        "the next attempt goes out at the base delay; the breaker does not hold it"
    );
}
