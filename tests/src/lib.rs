//! # apn-ami-conformance
//!
//! Conformance material shared by every apn-ami runtime: transcripts of AMI
//! traffic as Asterisk's source and a real Asterisk 22 write it, taken from
//! the project's protocol reference. The tests of this crate hold the codec
//! to them byte for byte; the fuzzers start from them as seeds.

/// One piece of recorded AMI traffic.
#[derive(Debug, Clone, Copy)]
pub struct Transcript {
    /// A short name, also used as the seed file's name.
    pub name: &'static str,
    /// Who wrote these bytes.
    pub direction: Direction,
    /// The bytes on the wire.
    pub bytes: &'static [u8],
}

/// Who wrote a transcript's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Asterisk to the client: banner, responses, events.
    FromServer,
    /// The client to Asterisk: actions.
    FromClient,
}

use Direction::{FromClient, FromServer};

pub mod runtime_suite;
pub mod tls_front;

/// Every example of the protocol reference, plus what Asterisk 22 was seen to send.
pub const TRANSCRIPTS: &[Transcript] = &[
    t("banner", FromServer, b"Asterisk Call Manager/11.0.0\r\n"),
    t("login_plain", FromClient, b"Action: Login\r\nActionID: 1\r\nUsername: u\r\nSecret: s\r\n\r\n"),
    t("login_accepted", FromServer, b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"),
    t("login_failed", FromServer, b"Response: Error\r\nActionID: 1\r\nMessage: Authentication failed\r\n\r\n"),
    t("challenge", FromClient, b"Action: Challenge\r\nActionID: c1\r\nAuthType: MD5\r\n\r\n"),
    t("challenge_answer", FromServer, b"Response: Success\r\nActionID: c1\r\nChallenge: 840382147\r\n\r\n"),
    t("fully_booted", FromServer, b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 3605\r\nLastReload: 3605\r\nStatus: Fully Booted\r\n\r\n"),
    t("fully_booted_13", FromServer, b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"),
    t("ping", FromServer, b"Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: 1722870000.123456\r\n\r\n"),
    t("logoff", FromServer, b"Response: Goodbye\r\nActionID: 9\r\nMessage: Thanks for all the fish.\r\n\r\n"),
    t("command_legacy", FromServer, b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nSystem uptime: 1 hour, 5 minutes, 3 seconds\nLast reload: 5 seconds\n--END COMMAND--\r\n\r\n"),
    t("command_legacy_glued", FromServer, b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nLast reload: 5 seconds--END COMMAND--\r\n\r\n"),
    t("command_legacy_empty", FromServer, b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n--END COMMAND--\r\n\r\n"),
    t("command_output", FromServer, b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: line 1\r\nOutput: line 2\r\n\r\n"),
    t("command_output_empty", FromServer, b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: \r\n\r\n"),
    t("command_output_error", FromServer, b"Response: Error\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: No such command 'core show nothing' (type 'core show help core show nothing' for other possible commands)\r\n\r\n"),
    t("command_output_indented", FromServer, b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: Channel              Location\r\nOutput:   PJSIP/100-00000001 s@default:1\r\nOutput: with\rcarriage return\r\n\r\n"),
    t("list_core_show_channels", FromServer, b"Response: Success\r\nActionID: 42\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\nEvent: CoreShowChannel\r\nActionID: 42\r\nChannel: PJSIP/100-00000000\r\nChannelState: 6\r\nBridgeId: \r\n\r\nEvent: CoreShowChannelsComplete\r\nActionID: 42\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"),
    t("list_empty", FromServer, b"Response: Success\r\nActionID: 43\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\nEvent: CoreShowChannelsComplete\r\nActionID: 43\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"),
    t("list_fax_start", FromServer, b"Response: Success\r\nActionID: 44\r\nEventList: Start\r\nMessage: FAXSessions will follow\r\n\r\n"),
    t("list_refused", FromServer, b"Response: Error\r\nActionID: 45\r\nMessage: No endpoints found\n\r\n\r\n"),
    t("list_status", FromServer, b"Response: Success\r\nActionID: 46\r\nEventList: start\r\nMessage: Channel status will follow\r\n\r\nEvent: Status\r\nPrivilege: Call\r\nChannel: PJSIP/100-00000001\r\nUniqueid: 1722870012.7\r\nActionID: 46\r\n\r\nEvent: StatusComplete\r\nActionID: 46\r\nEventList: Complete\r\nListItems: 1\r\nItems: 1\r\n\r\n"),
    t("list_item_repeated_keys", FromServer, b"Event: EndpointList\r\nActionID: 47\r\nObjectType: endpoint\r\nObjectName: 100\r\nTransport: transport-udp\r\nContacts: 100/sip:100@127.0.0.1:5062,\r\nContacts: 100/sip:100@127.0.0.1:5064,\r\nDeviceState: Not in use\r\n\r\n"),
    t("hangup_regex_list", FromServer, b"Response: Success\r\nActionID: 48\r\nEventList: start\r\nMessage: Channels hung up will follow\r\n\r\nEvent: ChannelHungup\r\nActionID: 48\r\nChannel: PJSIP/100-00000001\r\n\r\nEvent: ChannelsHungupListComplete\r\nActionID: 48\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"),
    t("originate_async", FromServer, b"Response: Success\r\nActionID: o1\r\nMessage: Originate successfully queued\r\n\r\nEvent: OriginateResponse\r\nPrivilege: call,all\r\nActionID: o1\r\nResponse: Success\r\nChannel: PJSIP/100-00000001\r\nReason: 4\r\nUniqueid: 1722870012.7\r\n\r\n"),
    t("originate_failure", FromServer, b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: o2\r\nResponse: Failure\r\nChannel: PJSIP/999\r\nReason: 0\r\nUniqueid: <null>\r\n\r\n"),
    t("user_event_echo", FromServer, b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: Ping\r\nActionID: u1\r\nReportBlock:value\r\nEmpty: \r\n\r\n"),
    t("shutdown", FromServer, b"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: False\r\n\r\n"),
    t("reload", FromServer, b"Event: Reload\r\nPrivilege: system,all\r\nModule: manager\r\nStatus: 0\r\n\r\n"),
    t("missing_action", FromServer, b"Response: Error\r\nMessage: Missing action in request\r\n\r\n"),
    t("permission_denied", FromServer, b"Response: Error\r\nActionID: x1\r\nMessage: Permission denied\r\n\r\n"),
    t("successful_auth", FromServer, b"Event: SuccessfulAuth\r\nPrivilege: security,all\r\nEventTV: 2026-11-26T10:00:00.000+0000\r\nSeverity: Informational\r\nService: AMI\r\nEventVersion: 1\r\nAccountID: admin\r\nSessionID: 0x7f\r\nLocalAddress: IPV4/TCP/127.0.0.1/5038\r\nRemoteAddress: IPV4/TCP/127.0.0.1/40000\r\nUsingPassword: 0\r\nSessionTV: 2026-11-26T10:00:00.000+0000\r\n\r\n"),
    t("chan_variables", FromServer, b"Event: Hangup\r\nPrivilege: call,all\r\nTimestamp: 1722870012.345678\r\nChannel: PJSIP/100-00000001\r\nCallerIDName: O\\'Brien\r\nCause: 16\r\nCause-txt: Normal Clearing\r\nChanVariable(PJSIP/100-00000001): ACCOUNT=7\r\nChanVariable(PJSIP/200-00000002): ACCOUNT=8\r\nChanVariable: QUEUE=sales\r\n\r\n"),
    t("system_name", FromServer, b"Event: Newchannel\r\nPrivilege: call,all\r\nSystemName: pbx1\r\nChannel: PJSIP/100-00000001\r\nCallerIDName: \xcf\xe5\xf2\xf0\r\nUniqueid: pbx1-1722870012.7\r\n\r\n"),
    t("extra_blank_line", FromServer, b"Event: Newstate\r\nChannel: PJSIP/1\r\n\r\n\r\nEvent: Newstate\r\nChannel: PJSIP/2\r\n\r\n"),
];

const fn t(name: &'static str, direction: Direction, bytes: &'static [u8]) -> Transcript {
    Transcript {
        name,
        direction,
        bytes,
    }
}

/// The transcript called `name`.
///
/// # Panics
/// When no transcript has that name (a typo in a test).
#[must_use]
pub fn transcript(name: &str) -> &'static [u8] {
    TRANSCRIPTS
        .iter()
        .find(|transcript| transcript.name == name)
        .map_or_else(
            || panic!("no transcript named {name}"),
            |transcript| transcript.bytes,
        )
}
