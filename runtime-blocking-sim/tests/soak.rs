//! A day in virtual time: three nodes, continuous traffic and calls, one
//! reset an hour. Between hour 1 and hour 24 the live heap does not grow.

use apn_ami_core::cluster::Route;
use apn_ami_core::protocol::Action;
use apn_ami_sim::{Fault, FaultPlan, Sim, SimConfig};

const HOUR_MS: u64 = 3_600_000;
/// Heap the client may keep in hand at hour 24 over hour 1 (buffers grown to
/// their working size), whatever the length of the run.
const GROWTH_BOUND: i64 = 64 * 1024;

fn run_hours(sim: &mut Sim, from_hour: u64, to_hour: u64) {
    let mut at = from_hour * HOUR_MS;
    while at < to_hour * HOUR_MS {
        at += 2_000;
        sim.run_until(at);
        let _refusal_is_an_ending = sim.submit(Action::new("Ping").expect("valid"), Route::Any);
        if at.is_multiple_of(20_000) {
            sim.generate_calls(usize::try_from(at / 20_000 % 3).unwrap_or(0), 2);
        }
        if at.is_multiple_of(60_000) {
            sim.forget_ended();
        }
    }
}

#[test]
fn twenty_four_hours_of_traffic_leave_the_heap_flat() {
    let faults = (0..24)
        .map(|hour| {
            (
                hour * HOUR_MS + 1_800_000,
                Fault::Reset(usize::try_from(hour % 3).unwrap_or(0)),
            )
        })
        .collect();
    let plan = FaultPlan {
        faults,
        corrupt_per_mille: 0,
    };
    let mut sim = Sim::new(SimConfig::new(3, 2024), plan);
    run_hours(&mut sim, 0, 1);
    sim.forget_ended();
    let day = allocation_counter::measure(|| {
        run_hours(&mut sim, 1, 24);
        sim.forget_ended();
    });
    // The last action may still be in flight: let it end before checking.
    sim.run_until(24 * HOUR_MS + 60_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    let (ended, total) = sim.endings();
    println!(
        "soak: 24 h virtual, {ended} actions ended ({total} endings), {} events, {} steps; \
         heap hour 1 → 24: {:+} B in {:+} allocations, peak +{} B",
        sim.events_delivered,
        sim.steps(),
        day.bytes_current,
        day.count_current,
        day.bytes_max
    );
    assert!(ended > 40_000, "continuous traffic: {ended}");
    assert!(
        day.bytes_current <= GROWTH_BOUND,
        "the heap grew by {} bytes",
        day.bytes_current
    );
}
