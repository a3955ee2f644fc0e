//! Events of `app_queue`: callers joining and leaving queues, members'
//! state, and agents being offered and taking calls.

use super::event;

event! {
    /// A caller joined a queue.
    QueueCallerJoin = "QueueCallerJoin" [channel] {
        /// The queue.
        pub queue: &'a str,
        /// The caller's position in it (1 first).
        pub position: u32,
        /// Callers in it now.
        pub count: u32,
    }
}

event! {
    /// A caller left a queue (answered, or gone).
    QueueCallerLeave = "QueueCallerLeave" [channel] {
        /// The queue.
        pub queue: &'a str,
        /// The caller's position when it left.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub position: Option<u32>,
        /// Callers in it now.
        pub count: u32,
    }
}

event! {
    /// A caller hung up while waiting in a queue.
    QueueCallerAbandon = "QueueCallerAbandon" [channel] {
        /// The queue.
        pub queue: &'a str,
        /// The caller's position when it hung up.
        pub position: u32,
        /// Its position when it joined.
        pub original_position: u32,
        /// Seconds it waited.
        pub hold_time: u64,
    }
}

event! {
    /// A queue member's state changed.
    QueueMemberStatus = "QueueMemberStatus" [member] {}
}

event! {
    /// A member was added to a queue.
    QueueMemberAdded = "QueueMemberAdded" [member] {}
}

event! {
    /// A member was removed from a queue.
    QueueMemberRemoved = "QueueMemberRemoved" [member] {}
}

event! {
    /// A member was paused or unpaused (`QueueMemberPaused` before
    /// Asterisk 12 reads as this too).
    QueueMemberPause = "QueueMemberPause" [member] {}
}

event! {
    /// A queue offered a caller to an agent: the agent's channel rings.
    AgentCalled = "AgentCalled" [channel dest] {
        /// The queue.
        pub queue: &'a str,
        /// The member's name.
        pub member_name: &'a str,
        /// The member's interface.
        pub interface: &'a str,
    }
}

event! {
    /// An agent answered a queue caller.
    AgentConnect = "AgentConnect" [channel dest] {
        /// The queue.
        pub queue: &'a str,
        /// The member's name.
        pub member_name: &'a str,
        /// The member's interface.
        pub interface: &'a str,
        /// Milliseconds the agent's channel rang.
        pub ring_time: u64,
        /// Seconds the caller waited.
        pub hold_time: u64,
    }
}

event! {
    /// An agent's call with a queue caller ended.
    AgentComplete = "AgentComplete" [channel dest] {
        /// The queue.
        pub queue: &'a str,
        /// The member's name.
        pub member_name: &'a str,
        /// The member's interface.
        pub interface: &'a str,
        /// Seconds the caller waited.
        pub hold_time: u64,
        /// Seconds they talked.
        pub talk_time: u64,
        /// Who hung up: `caller`, `agent` or `transfer`.
        pub reason: &'a str,
    }
}

event! {
    /// An agent did not answer a queue caller in time.
    AgentRingNoAnswer = "AgentRingNoAnswer" [channel dest] {
        /// The queue.
        pub queue: &'a str,
        /// The member's name.
        pub member_name: &'a str,
        /// The member's interface.
        pub interface: &'a str,
        /// Milliseconds it rang.
        pub ring_time: u64,
    }
}
