//! How an action knows it is complete.

/// When an action's answer is complete.
///
/// Every action completes on its response unless the response opens an event
/// list (`EventList: start`, compared case-insensitively), in which case it
/// completes on the event with the same ActionID and `EventList: Complete`.
/// The strategy says what to expect; the bytes decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompletionStrategy {
    /// One response; a list is still followed if the response opens one.
    Single,
    /// A response that opens an event list, then its items, then the
    /// completing event. A response that does not open a list (an `Error`)
    /// ends the action at once.
    List,
    /// `Command`: the legacy `Response: Follows` text or, from Asterisk 14,
    /// `Output:` lines; both arrive in the one response frame.
    Follows,
    /// An action some servers answer with plain text and no `ActionID` (the
    /// `Queues` action up to Asterisk 14: the text of `queue show`). AMI
    /// answers one action at a time per connection, so the next block that
    /// starts no frame, once the action was sent, is its answer
    /// ([`Frame::is_headerless`](crate::protocol::Frame::is_headerless)); a
    /// normal response with its `ActionID` (a newer server's error) ends it
    /// as well.
    Headerless,
}

/// Actions known to answer with an event list.
const LIST_ACTIONS: &[&str] = &[
    "agents",
    "bridgelist",
    "confbridgelist",
    "confbridgelistrooms",
    "coreshowchannels",
    "dahdishowchannels",
    "dbget",
    "devicestatelist",
    "extensionstatelist",
    "iaxpeerlist",
    "parkedcalls",
    "pjsipshowaors",
    "pjsipshowauths",
    "pjsipshowcontacts",
    "pjsipshowendpoint",
    "pjsipshowendpoints",
    "pjsipshowregistrationsinbound",
    "pjsipshowregistrationsoutbound",
    "presencestatelist",
    "queuestatus",
    "queuesummary",
    "showdialplan",
    "sippeers",
    "sipshowregistry",
    "status",
];

impl CompletionStrategy {
    /// The strategy an action called `name` needs: `Follows` for `Command`,
    /// `Headerless` for `Queues`, `List` for the known list actions,
    /// `Single` (with list detection) for everything else.
    ///
    /// ```
    /// use apn_ami_core::correlation::CompletionStrategy;
    ///
    /// assert_eq!(CompletionStrategy::for_action("Command"), CompletionStrategy::Follows);
    /// assert_eq!(CompletionStrategy::for_action("CoreShowChannels"), CompletionStrategy::List);
    /// assert_eq!(CompletionStrategy::for_action("Queues"), CompletionStrategy::Headerless);
    /// assert_eq!(CompletionStrategy::for_action("Ping"), CompletionStrategy::Single);
    /// ```
    #[must_use]
    pub fn for_action(name: &str) -> Self {
        if name.eq_ignore_ascii_case("command") {
            Self::Follows
        } else if name.eq_ignore_ascii_case("queues") {
            Self::Headerless
        } else if LIST_ACTIONS
            .iter()
            .any(|list| list.eq_ignore_ascii_case(name))
        {
            Self::List
        } else {
            Self::Single
        }
    }
}
