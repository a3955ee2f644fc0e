//! A realistic server-to-client event stream for benchmarks and allocation
//! tests: `Newchannel`, `Newstate`, `VarSet`, `DialBegin` and `Hangup` events of
//! 370–630 bytes, as Asterisk 22 writes them, with varying channel names.

use std::fmt::Write as _;

/// Builds `calls` calls' worth of events (five events a call) after a banner.
pub(crate) fn mixed_stream(calls: usize) -> Vec<u8> {
    let mut out = String::from("Asterisk Call Manager/11.0.0\r\n");
    for call in 0..calls {
        let chan = format!("PJSIP/{}-{:08x}", 100 + call % 900, call);
        let peer = format!("PJSIP/{}-{:08x}", 200 + call % 700, call + 1);
        let uid = format!("1722870012.{call}");
        let common = |out: &mut String, event: &str, state: (u8, &str)| {
            write!(
                out,
                "Event: {event}\r\nPrivilege: call,all\r\nTimestamp: 1722870012.{call:06}\r\n\
                 SystemName: pbx-east-1\r\nChannel: {chan}\r\nChannelState: {}\r\n\
                 ChannelStateDesc: {}\r\nCallerIDNum: {}\r\nCallerIDName: Reception desk {}\r\n\
                 ConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\nLanguage: en\r\n\
                 AccountCode: \r\nContext: from-internal\r\nExten: {}\r\nPriority: 1\r\n\
                 Uniqueid: {uid}\r\nLinkedid: {uid}\r\n",
                state.0,
                state.1,
                100 + call % 900,
                call % 97,
                200 + call % 700,
            )
            .expect("writing to a String cannot fail");
        };
        common(&mut out, "Newchannel", (0, "Down"));
        out.push_str("\r\n");
        common(&mut out, "Newstate", (5, "Ringing"));
        out.push_str("\r\n");
        common(&mut out, "VarSet", (4, "Ring"));
        write!(
            out,
            "Variable: DIALSTATUS\r\nValue: ANSWER\r\nChanVariable: ACCOUNT=7\r\n\r\n"
        )
        .expect("writing to a String cannot fail");
        common(&mut out, "DialBegin", (4, "Ring"));
        write!(
            out,
            "DestChannel: {peer}\r\nDestChannelState: 0\r\nDestChannelStateDesc: Down\r\n\
             DestCallerIDNum: {}\r\nDestCallerIDName: <unknown>\r\nDestUniqueid: {uid}1\r\n\
             DialString: {}\r\n\r\n",
            200 + call % 700,
            200 + call % 700,
        )
        .expect("writing to a String cannot fail");
        common(&mut out, "Hangup", (6, "Up"));
        out.push_str("Cause: 16\r\nCause-txt: Normal Clearing\r\n\r\n");
    }
    out.into_bytes()
}
