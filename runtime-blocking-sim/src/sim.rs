//! [`Sim`]: the real `Cluster` against fake nodes over simulated links, on a
//! virtual clock, single-threaded, checking invariants after every step.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use apn_ami_core::cluster::{
    Cluster, ClusterConfig, ClusterHandle, ClusterOutput, Route, Routing, ServerConfig, ServerId,
};
use apn_ami_core::connection::{AuthMethod, SessionConfig, SubmitOptions};
use apn_ami_core::correlation::{AmiError, ServerKey};
use apn_ami_core::health::SeededRng;
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::Action;

use crate::fake::{FakeAsterisk, NodeConfig};
use crate::net::{Link, LinkConfig};

/// One fault, applied at its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection resets: bytes in flight are lost, both ends see a close.
    Reset(usize),
    /// Nothing crosses the link for this long (the socket stays open).
    Partition(usize, Duration),
    /// The node stops answering for this long (the socket stays open).
    Mute(usize, Duration),
    /// The node crashes: its connection resets and it refuses connections
    /// for this long, then restarts.
    Crash(usize, Duration),
    /// Nothing from the node reaches the client for this long (one way).
    Stall(usize, Duration),
    /// The node writes half a frame and closes the connection.
    CloseMidFrame(usize),
    /// `core stop gracefully`: the node answers every action "Asterisk is
    /// shutting down" for the first duration (calls ending), then sends its
    /// `Shutdown` event (`Restart:` the flag) and closes, and refuses
    /// connections for the second duration before it is back.
    GracefulStop(usize, Duration, Duration, bool),
}

/// Everything one seed decides: the faults and their times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    /// Faults by virtual millisecond.
    pub faults: Vec<(u64, Fault)>,
    /// Per mille of segments to the client with one byte flipped.
    pub corrupt_per_mille: u64,
}

impl FaultPlan {
    /// No faults.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            faults: Vec::new(),
            corrupt_per_mille: 0,
        }
    }

    /// A random plan for `nodes` nodes over the first `window_ms`, from `seed`.
    #[must_use]
    pub fn random(seed: u64, nodes: usize, window_ms: u64) -> Self {
        let mut rng = SeededRng::new(seed ^ 0x00fa_0017);
        let count = rng.up_to(8);
        let node = |rng: &mut SeededRng| usize::try_from(rng.up_to(nodes as u64 - 1)).unwrap_or(0);
        let mut faults: Vec<(u64, Fault)> = (0..count)
            .map(|_| {
                let at = rng.up_to(window_ms);
                let length = Duration::from_millis(500 + rng.up_to(20_000));
                let fault = match rng.up_to(6) {
                    0 => Fault::Reset(node(&mut rng)),
                    1 => Fault::Partition(node(&mut rng), length),
                    2 => Fault::Mute(node(&mut rng), length),
                    3 => Fault::Stall(node(&mut rng), length),
                    4 => Fault::CloseMidFrame(node(&mut rng)),
                    5 => {
                        let down = Duration::from_millis(500 + rng.up_to(10_000));
                        Fault::GracefulStop(node(&mut rng), length, down, rng.up_to(1) == 0)
                    }
                    _ => Fault::Crash(node(&mut rng), length),
                };
                (at, fault)
            })
            .collect();
        faults.sort_by_key(|&(at, _)| at);
        Self {
            faults,
            corrupt_per_mille: if rng.up_to(3) == 0 { rng.up_to(20) } else { 0 },
        }
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corrupt {}‰;", self.corrupt_per_mille)?;
        for (at, fault) in &self.faults {
            write!(f, " {at}ms {fault:?};")?;
        }
        Ok(())
    }
}

/// A simulation's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How many nodes.
    pub nodes: usize,
    /// The seed of everything: the cluster's jitter, the links, the nodes.
    pub seed: u64,
    /// Every link's behaviour.
    pub link: LinkConfig,
    /// Every node's behaviour (per node, changeable mid-run).
    pub node: NodeConfig,
    /// The cluster's routing.
    pub routing: Routing,
    /// Steps allowed before the run counts as a livelock.
    pub max_steps: u64,
    /// Test-only: record every ending twice, to show a broken invariant is caught.
    pub break_exactly_once: bool,
    /// A slow application: it takes at most this many events per virtual
    /// second (the rest wait in the bounded, drop-oldest queues).
    pub app_events_per_second: Option<u64>,
}

impl SimConfig {
    /// `nodes` well-behaved nodes from `seed`.
    #[must_use]
    pub fn new(nodes: usize, seed: u64) -> Self {
        Self {
            nodes,
            seed,
            link: LinkConfig::default(),
            node: NodeConfig::new("admin", "secret"),
            routing: Routing::RoundRobin,
            max_steps: 5_000_000,
            break_exactly_once: false,
            app_events_per_second: None,
        }
    }
}

/// A broken invariant, with what replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The seed that produced it.
    pub seed: u64,
    /// Virtual milliseconds since the start.
    pub at_ms: u64,
    /// What broke.
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant broken at {} ms: {} (replay with APN_AMI_SIM_SEED={})",
            self.at_ms, self.what, self.seed
        )
    }
}

/// A hash of everything observable that happened, to compare two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Trace(u64);

impl Trace {
    fn record(&mut self, text: &str) {
        for byte in text.bytes().chain([b'\n']) {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The simulation.
#[derive(Debug)]
pub struct Sim {
    /// The client under test.
    pub cluster: Cluster,
    /// The fake nodes.
    pub nodes: Vec<FakeAsterisk>,
    links: Vec<Link>,
    /// Whether the runtime holds an open socket to each node.
    connected: Vec<bool>,
    /// Crashed nodes refuse connections until then.
    down_until: Vec<Option<Instant>>,
    /// Nodes stopping gracefully: when their calls have ended, how long
    /// they stay down, and whether they announce a restart.
    stop_at: Vec<Option<(Instant, Duration, bool)>>,
    mute_until: Vec<Option<Instant>>,
    partition_until: Vec<Option<Instant>>,
    stall_until: Vec<Option<Instant>>,
    /// Events still queued for each node when its connection closed, and
    /// how many of them have been delivered since: no more may follow.
    queued_at_close: Vec<u64>,
    delivered_since_close: Vec<u64>,
    /// When each node's last connection or attempt failed.
    failed_at: Vec<Option<u64>>,
    epoch: Instant,
    now: Instant,
    rng: SeededRng,
    seed: u64,
    plan: FaultPlan,
    next_fault: usize,
    trace: Trace,
    submitted: BTreeMap<ClusterHandle, u64>,
    endings: BTreeMap<ClusterHandle, u32>,
    rejected: u64,
    forgotten: u64,
    violation: Option<Violation>,
    steps: u64,
    config: SimConfig,
    /// Events handed to the application.
    pub events_delivered: u64,
    /// Events handed to the application, per node.
    pub events_by_node: Vec<u64>,
    /// Every ending: the handle and a short outcome (`Success`, `Error`, or
    /// the error's text).
    pub outcomes: BTreeMap<ClusterHandle, String>,
    /// Every ending's server: the one that ended it, `None` for an action
    /// that ended while waiting in the cluster.
    pub ended_on: BTreeMap<ClusterHandle, Option<ServerId>>,
    /// Connects the cluster asked for, by virtual millisecond.
    pub connect_times: Vec<(u64, usize)>,
}

impl Sim {
    /// A simulation with `plan`'s faults.
    ///
    /// # Panics
    /// When the generated cluster settings are invalid (a bug of the simulator).
    #[must_use]
    pub fn new(config: SimConfig, plan: FaultPlan) -> Self {
        #[allow(clippy::disallowed_methods)]
        // the simulator's one clock read: every other instant is an offset from it
        let epoch = Instant::now();
        let servers = (0..config.nodes)
            .map(|n| {
                let mut session = SessionConfig::new(
                    ServerKey::new(&format!("node{n}")).expect("valid key"),
                    &format!("sim-node-{n}:5038"),
                    &config.node.username,
                    Secret::new(&config.node.secret),
                );
                session.auth = if n % 2 == 0 {
                    AuthMethod::Md5
                } else {
                    AuthMethod::Plain
                };
                session.event_queue_capacity = 2_000;
                ServerConfig {
                    session,
                    address: format!("sim-node-{n}:5038"),
                }
            })
            .collect();
        let mut cluster_config = ClusterConfig::new(servers);
        cluster_config.routing = config.routing.clone();
        let cluster = Cluster::new(cluster_config, config.seed, epoch).expect("valid cluster");
        let node_count = config.nodes;
        let nodes = (0..config.nodes)
            .map(|n| FakeAsterisk::new(config.node.clone(), config.seed.wrapping_add(n as u64 + 1)))
            .collect();
        Self {
            cluster,
            nodes,
            links: (0..config.nodes).map(|_| Link::new(config.link)).collect(),
            connected: vec![false; config.nodes],
            down_until: vec![None; config.nodes],
            stop_at: vec![None; config.nodes],
            mute_until: vec![None; config.nodes],
            partition_until: vec![None; config.nodes],
            stall_until: vec![None; config.nodes],
            queued_at_close: vec![0; config.nodes],
            delivered_since_close: vec![0; config.nodes],
            failed_at: vec![None; config.nodes],
            epoch,
            now: epoch,
            rng: SeededRng::new(config.seed ^ 0x0051_3aed),
            seed: config.seed,
            plan,
            next_fault: 0,
            trace: Trace(0xcbf2_9ce4_8422_2325),
            submitted: BTreeMap::new(),
            endings: BTreeMap::new(),
            rejected: 0,
            forgotten: 0,
            violation: None,
            steps: 0,
            config,
            events_delivered: 0,
            events_by_node: vec![0; node_count],
            outcomes: BTreeMap::new(),
            ended_on: BTreeMap::new(),
            connect_times: Vec::new(),
        }
    }

    /// Virtual milliseconds since the start.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// The trace hash so far, as hex.
    #[must_use]
    pub fn trace_hash(&self) -> String {
        format!("{:016x}", self.trace.0)
    }

    /// The first broken invariant, if any.
    #[must_use]
    pub const fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Steps taken so far.
    #[must_use]
    pub const fn steps(&self) -> u64 {
        self.steps
    }

    /// Submitted actions and refusals so far.
    #[must_use]
    pub fn submitted(&self) -> (usize, u64) {
        (self.submitted.len(), self.rejected)
    }

    fn violate(&mut self, what: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation {
                seed: self.seed,
                at_ms: self.now_ms(),
                what,
            });
        }
    }

    /// Submits an action; a refusal is its ending.
    ///
    /// # Errors
    /// The cluster's refusal ([`AmiError`]), recorded in the trace.
    pub fn submit(&mut self, action: Action, route: Route<'_>) -> Result<ClusterHandle, AmiError> {
        self.submit_with(action, route, SubmitOptions::default())
    }

    /// Submits an action with these options; a refusal is its ending.
    ///
    /// # Errors
    /// The cluster's refusal ([`AmiError`]), recorded in the trace.
    pub fn submit_with(
        &mut self,
        action: Action,
        route: Route<'_>,
        options: SubmitOptions,
    ) -> Result<ClusterHandle, AmiError> {
        let result = self.cluster.submit(action, route, options, self.now);
        let at = self.now_ms();
        match &result {
            Ok(handle) => {
                self.submitted.insert(*handle, at);
                self.trace.record(&format!("{at} submit {handle}"));
            }
            Err(error) => {
                self.rejected += 1;
                self.trace.record(&format!("{at} refused {error}"));
            }
        }
        result
    }

    /// Sends `calls` calls' worth of events from node `node`.
    pub fn generate_calls(&mut self, node: usize, calls: u64) {
        self.nodes[node].generate_calls(calls);
    }

    /// Runs until virtual time `until_ms` (or a violation, or the step cap).
    pub fn run_until(&mut self, until_ms: u64) {
        let until = self.epoch + Duration::from_millis(until_ms);
        while self.now < until && self.violation.is_none() {
            if self.steps >= self.config.max_steps {
                self.violate(format!("livelock: {} steps", self.steps));
                return;
            }
            let moved = self.step();
            if !moved {
                let next = self.next_deadline().map_or(until, |next| next.min(until));
                if next <= self.now {
                    self.violate("a deadline at or before now made no progress".to_owned());
                    return;
                }
                self.now = next;
            }
        }
    }

    /// One round of work at the current instant; whether anything moved.
    fn step(&mut self) -> bool {
        self.steps += 1;
        let now = self.now;
        let mut moved = self.apply_faults();
        for index in 0..self.nodes.len() {
            moved |= self.deliver(index, now);
        }
        self.cluster.handle_timeout(now);
        moved |= self.transmit(now);
        moved |= self.drain_outputs(now);
        while self.cluster.poll_log().is_some() {}
        self.check_bounds();
        // After a step every deadline it reached is handled: none is past.
        if let Some(next) = self.cluster.poll_timeout()
            && next < now
        {
            self.violate(format!("poll_timeout is {:?} before now", now - next));
        }
        moved
    }

    /// Invariants checked after every step: nothing but the handshake was
    /// written before a login, and every queue is within its bound.
    fn check_bounds(&mut self) {
        for index in 0..self.nodes.len() {
            if self.nodes[index].stats().actions_before_login > 0 {
                self.violate(format!("node {index} got an action before login"));
            }
            let Some((depth, pending)) = self.cluster.session(ServerId(index)).map(|session| {
                (
                    session.metrics().counters.event_queue_depth,
                    session.pending(),
                )
            }) else {
                continue;
            };
            if depth > 2_000 {
                self.violate(format!("node {index}: event queue {depth} over its bound"));
            }
            if pending > apn_ami_core::correlation::DEFAULT_MAX_PENDING {
                self.violate(format!("node {index}: {pending} pending over the limit"));
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let faults = self
            .plan
            .faults
            .get(self.next_fault)
            .map(|&(at, _)| self.epoch + Duration::from_millis(at));
        let heals = self
            .down_until
            .iter()
            .chain(&self.mute_until)
            .chain(&self.partition_until)
            .chain(&self.stall_until)
            .flatten()
            .copied()
            .chain(self.stop_at.iter().flatten().map(|&(at, _, _)| at));
        [self.cluster.poll_timeout(), faults]
            .into_iter()
            .flatten()
            .chain(self.links.iter().filter_map(Link::next_arrival))
            .chain(self.nodes.iter().filter_map(FakeAsterisk::poll_timeout))
            .chain(heals)
            .min()
    }

    fn apply_faults(&mut self) -> bool {
        let now = self.now;
        let mut moved = false;
        for index in 0..self.nodes.len() {
            if self.down_until[index].is_some_and(|until| now >= until) {
                self.down_until[index] = None;
                moved = true;
            }
            if self.mute_until[index].is_some_and(|until| now >= until) {
                self.mute_until[index] = None;
                self.nodes[index].config_mut().mute = false;
                moved = true;
            }
            if self.partition_until[index].is_some_and(|until| now >= until) {
                self.partition_until[index] = None;
                self.links[index].set_partitioned(false);
                moved = true;
            }
            if let Some((at, down, restart)) = self.stop_at[index]
                && now >= at
            {
                self.stop_at[index] = None;
                self.nodes[index].finish_shutdown(restart);
                self.down_until[index] = Some(now + down);
                moved = true;
            }
            if self.stall_until[index].is_some_and(|until| now >= until) {
                self.stall_until[index] = None;
                self.links[index].set_stalled_to_client(false);
                moved = true;
            }
        }
        while let Some(&(at, fault)) = self.plan.faults.get(self.next_fault) {
            if self.epoch + Duration::from_millis(at) > now {
                break;
            }
            self.next_fault += 1;
            moved = true;
            self.trace.record(&format!("{at} fault {fault:?}"));
            match fault {
                Fault::Reset(node) => self.close(node, now),
                Fault::Partition(node, length) => {
                    self.links[node].set_partitioned(true);
                    self.partition_until[node] = Some(now + length);
                }
                Fault::Mute(node, length) => {
                    self.nodes[node].config_mut().mute = true;
                    self.mute_until[node] = Some(now + length);
                }
                Fault::Crash(node, length) => {
                    self.close(node, now);
                    self.down_until[node] = Some(now + length);
                }
                Fault::Stall(node, length) => {
                    self.links[node].set_stalled_to_client(true);
                    self.stall_until[node] = Some(now + length);
                }
                Fault::GracefulStop(node, draining, down, restart) => {
                    self.nodes[node].begin_shutdown();
                    self.stop_at[node] = Some((now + draining, down, restart));
                }
                Fault::CloseMidFrame(node) => {
                    if self.connected[node] {
                        // Half a response reaches the client, then the close.
                        let half = b"Response: Success\r\nActionID: node:0:1\r\nMess";
                        self.cluster.handle_input(ServerId(node), half, now);
                        self.close(node, now);
                    }
                }
            }
        }
        moved
    }

    /// Carries due segments both ways and lets the node act.
    fn deliver(&mut self, index: usize, now: Instant) -> bool {
        let mut moved = false;
        while let Some(bytes) = self.links[index].receive_at_node(now) {
            self.nodes[index].on_bytes(&bytes, now);
            moved = true;
        }
        let corrupt = self.plan.corrupt_per_mille;
        while let Some(bytes) = self.links[index].receive_at_client(now, corrupt, &mut self.rng) {
            if self.connected[index] {
                self.cluster.handle_input(ServerId(index), &bytes, now);
            }
            moved = true;
        }
        self.nodes[index].handle_timeout(now);
        // The node's own close follows its last bytes to the client.
        if self.connected[index]
            && self.nodes[index].wants_close()
            && self.links[index].delivered_to_client()
        {
            self.close(index, now);
            moved = true;
        }
        moved
    }

    /// Writes: each side hands over at most one window per server per step.
    fn transmit(&mut self, now: Instant) -> bool {
        let window = self.config.link.window;
        let mut moved = false;
        let mut budget = vec![window; self.nodes.len()];
        while let Some((server, bytes)) = self.cluster.poll_transmit() {
            let index = server.0;
            let take = bytes.len().min(budget[index]);
            if take == 0 {
                break;
            }
            if self.connected[index] {
                self.links[index].send_to_node(&bytes[..take], now, &mut self.rng);
            } else {
                self.violate(format!("bytes written to node {index} while not connected"));
            }
            self.cluster.consume(server, take);
            budget[index] -= take;
            moved = true;
        }
        for index in 0..self.nodes.len() {
            if let Some(bytes) = self.nodes[index].poll_transmit() {
                let take = bytes.len().min(window);
                if self.connected[index] {
                    self.links[index].send_to_client(&bytes[..take], now, &mut self.rng);
                }
                self.nodes[index].consume(take);
                moved = true;
            }
        }
        moved
    }

    fn drain_outputs(&mut self, now: Instant) -> bool {
        let mut moved = false;
        let mut allowance = self.config.app_events_per_second.map_or(u64::MAX, |rate| {
            (rate * self.now_ms() / 1_000).saturating_sub(self.events_delivered)
        });
        // Control outputs come first; a slow application leaves events
        // queued (bounded, drop-oldest) once its allowance is spent.
        while let Some(output) = self.cluster.poll_output() {
            // Taking an event is the application's pace, not progress of the
            // system: a slow application must not stop virtual time.
            moved |= !matches!(output, ClusterOutput::Event { .. });
            let at = self.now_ms();
            match output {
                ClusterOutput::Connect { server, .. } => self.on_connect_request(server, at, now),
                ClusterOutput::Close { server, reason } => {
                    self.trace
                        .record(&format!("{at} close {} {reason:?}", server.0));
                    self.close(server.0, now);
                }
                ClusterOutput::Completed {
                    handle,
                    server,
                    result,
                    ..
                } => {
                    // A response resolves only an action of its own server.
                    let foreign = result
                        .as_ref()
                        .ok()
                        .and_then(|response| response.frame().action_id())
                        .is_some_and(|id| {
                            server.is_none_or(|server| {
                                !id.as_bytes()
                                    .starts_with(format!("node{}:", server.0).as_bytes())
                            })
                        });
                    if foreign {
                        self.violate(format!("{handle:?} resolved by another server's response"));
                    }
                    let outcome = match &result {
                        Ok(response) if response.frame().is_headerless() => {
                            headerless_outcome(response)
                        }
                        Ok(response) => response.frame().first_value().to_string(),
                        Err(error) => error.to_string(),
                    };
                    self.trace.record(&format!("{at} done {handle} {outcome}"));
                    self.outcomes.insert(handle, outcome);
                    self.ended_on.insert(handle, server);
                    self.record_ending(handle);
                    if self.config.break_exactly_once {
                        self.record_ending(handle);
                    }
                }
                ClusterOutput::Event { server, .. } => {
                    self.events_delivered += 1;
                    self.events_by_node[server.0] += 1;
                    if !self.connected[server.0] {
                        // Only events queued before the close may still come.
                        self.delivered_since_close[server.0] += 1;
                        if self.delivered_since_close[server.0] > self.queued_at_close[server.0] {
                            self.violate(format!(
                                "node {}: an event delivered after the close",
                                server.0
                            ));
                        }
                    }
                    allowance = allowance.saturating_sub(1);
                    if self.events_delivered.is_multiple_of(1_000) {
                        self.trace.record(&format!(
                            "{at} events {} {}",
                            server.0, self.events_delivered
                        ));
                    }
                }
                ClusterOutput::EmergencyShutdown { heap_bytes, .. } => {
                    self.trace.record(&format!("{at} emergency {heap_bytes}"));
                }
                ClusterOutput::LoginFailed { server, message } => {
                    self.trace
                        .record(&format!("{at} login failed {} {message}", server.0));
                }
            }
            if allowance == 0 {
                // The application is busy: leave the rest queued.
                break;
            }
        }
        moved
    }

    /// The cluster asks to connect: refused while the node is down,
    /// otherwise accepted at once. Checks the reconnect bounds first.
    fn on_connect_request(&mut self, server: ServerId, at: u64, now: Instant) {
        let index = server.0;
        let previous = self
            .connect_times
            .iter()
            .rev()
            .find(|&&(_, node)| node == index)
            .map(|&(before, _)| before);
        // From a failure to the next attempt: at most the largest
        // hold (the 30 s backoff cap, or the breaker's 300 s
        // cool-down cap). Between two attempts: at least 100 ms.
        if let Some(failed) = self.failed_at[index].take()
            && at - failed > 300_000
        {
            self.violate(format!(
                "node {index}: {} ms from failure to attempt",
                at - failed
            ));
        }
        if let Some(before) = previous
            && at - before < 100
        {
            self.violate(format!(
                "node {index}: attempts {before} ms and {at} ms, under 100 ms apart"
            ));
        }
        self.connect_times.push((at, index));
        self.trace.record(&format!("{at} connect {index}"));
        if self.down_until[index].is_some() {
            self.failed_at[index] = Some(at);
            self.cluster.handle_disconnected(server, now);
        } else {
            self.connected[index] = true;
            self.links[index].reset();
            self.nodes[index].on_connect(now);
            self.cluster.handle_connected(server, now);
        }
    }

    fn record_ending(&mut self, handle: ClusterHandle) {
        let count = self.endings.entry(handle).or_default();
        *count += 1;
        let count = *count;
        if !self.submitted.contains_key(&handle) {
            self.violate(format!("{handle:?} ended without a submission"));
        } else if count > 1 {
            self.violate(format!("{handle:?} ended {count} times"));
        }
    }

    /// Closes node `index`'s connection from both ends.
    fn close(&mut self, index: usize, now: Instant) {
        self.links[index].reset();
        self.nodes[index].on_disconnect();
        if self.connected[index] {
            self.connected[index] = false;
            self.failed_at[index] = Some(self.now_ms());
            self.queued_at_close[index] = self
                .cluster
                .session(ServerId(index))
                .map_or(0, |session| session.metrics().counters.event_queue_depth);
            self.delivered_since_close[index] = 0;
            self.cluster.handle_disconnected(ServerId(index), now);
        }
    }

    /// Ends every fault, so the liveness phase can begin.
    pub fn heal(&mut self) {
        self.next_fault = self.plan.faults.len();
        self.plan.corrupt_per_mille = 0;
        for index in 0..self.nodes.len() {
            self.down_until[index] = None;
            self.mute_until[index] = None;
            self.partition_until[index] = None;
            self.stall_until[index] = None;
            if self.stop_at[index].take().is_some() {
                self.nodes[index].finish_shutdown(false);
            }
            self.nodes[index].config_mut().mute = false;
            self.links[index].set_partitioned(false);
            self.links[index].set_stalled_to_client(false);
        }
    }

    /// Forgets the bookkeeping of actions that ended exactly once (their
    /// counts stay in [`Sim::endings`] totals), so a long soak measures the
    /// client's memory, not the harness's.
    pub fn forget_ended(&mut self) {
        let ended: Vec<ClusterHandle> = self
            .endings
            .iter()
            .filter(|&(_, &count)| count == 1)
            .map(|(handle, _)| *handle)
            .collect();
        for handle in ended {
            self.endings.remove(&handle);
            self.submitted.remove(&handle);
            self.outcomes.remove(&handle);
            self.ended_on.remove(&handle);
            self.forgotten += 1;
        }
    }

    /// After a run: every submitted action ended exactly once.
    pub fn check_endings(&mut self) {
        let unended: Vec<_> = self
            .submitted
            .keys()
            .filter(|handle| !self.endings.contains_key(handle))
            .copied()
            .collect();
        if let Some(first) = unended.first() {
            self.violate(format!(
                "{} actions never ended, first {first:?}",
                unended.len()
            ));
        }
    }

    /// Whether every node's session is logged in and healthy.
    #[must_use]
    pub fn all_healthy(&self) -> bool {
        (0..self.nodes.len()).all(|index| {
            self.cluster.health(ServerId(index)) == Some(apn_ami_core::health::HealthState::Healthy)
        })
    }

    /// Actions that ended, and how many times in total (forgotten ones
    /// included, once each).
    #[must_use]
    pub fn endings(&self) -> (usize, u32) {
        let forgotten = usize::try_from(self.forgotten).unwrap_or(usize::MAX);
        let total: u32 = self.endings.values().sum();
        (
            self.endings.len() + forgotten,
            total + u32::try_from(self.forgotten).unwrap_or(u32::MAX),
        )
    }
}

/// A headerless answer's outcome: its lines, joined, so a test can compare
/// them whole.
fn headerless_outcome(response: &apn_ami_core::correlation::Response) -> String {
    let lines: Vec<String> = response
        .output_lines()
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect();
    format!("headerless: {}", lines.join(" | "))
}
