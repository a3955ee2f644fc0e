//! ActionIDs, server keys, strategies and the Response type.

#[path = "support/frames.rs"]
mod frames;

use apn_ami_core::correlation::{
    ActionIds, CompletionStrategy, InstanceId, InvalidServerKey, MAX_SERVER_KEY_LEN, Response,
    ServerKey,
};
use apn_ami_core::protocol::MAX_ACTION_ID_LEN;
use frames::{epoch, frame, register};

#[test]
fn server_keys_are_validated() {
    for good in ["pbx1", "pbx-east.1_a", &"k".repeat(MAX_SERVER_KEY_LEN)] {
        let key = ServerKey::new(good).unwrap();
        assert_eq!(key.as_str(), good);
        assert_eq!(key.to_string(), good);
    }
    for bad in [
        "",
        "pbx 1",
        "pbx:1",
        "pbx\n",
        "пбх",
        &"k".repeat(MAX_SERVER_KEY_LEN + 1),
    ] {
        let error = ServerKey::new(bad).unwrap_err();
        assert_eq!(
            error,
            InvalidServerKey {
                key: bad.escape_debug().to_string()
            }
        );
        assert!(error.to_string().contains("invalid server key"));
    }
}

#[test]
fn ids_have_the_mandated_form_and_never_repeat() {
    let mut ids = ActionIds::new(&ServerKey::new("pbx1").unwrap(), InstanceId(0xdead_beef));
    let mut seen = std::collections::HashSet::new();
    for expected in 1..=10_000u64 {
        let (sequence, id) = ids.next_id();
        let id = id.to_owned();
        assert_eq!(sequence, expected);
        assert_eq!(id, format!("pbx1:deadbeef:{expected}"));
        assert!(seen.insert(id.clone()), "{id} repeated");
        assert_eq!(ids.sequence_of(id.as_bytes()), Some(expected));
    }
}

#[test]
fn the_longest_id_fits_asterisks_limit() {
    let key = ServerKey::new(&"k".repeat(MAX_SERVER_KEY_LEN)).unwrap();
    let ids = ActionIds::new(&key, InstanceId(u32::MAX));
    let longest = format!("{key}:ffffffff:{}", u64::MAX);
    assert!(
        longest.len() <= MAX_ACTION_ID_LEN,
        "{} bytes",
        longest.len()
    );
    assert_eq!(ids.sequence_of(longest.as_bytes()), Some(u64::MAX));
}

#[test]
fn only_this_server_and_instance_ids_are_recognised() {
    let ids = ActionIds::new(&ServerKey::new("pbx1").unwrap(), InstanceId(1));
    assert_eq!(ids.sequence_of(b"pbx1:00000001:17"), Some(17));
    for foreign in [
        b"pbx2:00000001:17".as_slice(),
        b"pbx1:00000002:17",
        b"pbx10:00000001:17",
        b"pbx1:00000001:",
        b"pbx1:00000001:1x",
        b"pbx1:00000001:+1",
        b"pbx1:00000001:99999999999999999999",
        b"pbx1:00000001:123456789012345678901",
        b"17",
        b"",
    ] {
        assert_eq!(
            ids.sequence_of(foreign),
            None,
            "{:?}",
            String::from_utf8_lossy(foreign)
        );
    }
}

#[test]
fn strategies_by_action_name() {
    assert_eq!(
        CompletionStrategy::for_action("command"),
        CompletionStrategy::Follows
    );
    for list in [
        "Status",
        "QueueStatus",
        "PJSIPShowEndpoints",
        "coreshowchannels",
    ] {
        assert_eq!(
            CompletionStrategy::for_action(list),
            CompletionStrategy::List,
            "{list}"
        );
    }
    for single in ["Originate", "Ping", "Login", "Hangup"] {
        assert_eq!(
            CompletionStrategy::for_action(single),
            CompletionStrategy::Single,
            "{single}"
        );
    }
}

fn response(wire: &str) -> Response {
    let t0 = epoch();
    let mut pending = apn_ami_core::correlation::PendingRegistry::new(
        apn_ami_core::correlation::RegistryLimits::default(),
    );
    register(
        &mut pending,
        1,
        CompletionStrategy::Follows,
        std::time::Duration::from_secs(1),
        t0,
    );
    match pending.on_response(1, frame(wire), t0) {
        apn_ami_core::correlation::Dispatch::Completed(done) => done.result.unwrap(),
        other => panic!("{other:?}"),
    }
}

fn lines(response: &Response) -> Vec<String> {
    response
        .output_lines()
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect()
}

#[test]
fn response_status_and_message() {
    assert!(response("Response: Success\r\n\r\n").is_success());
    assert!(response("Response: follows\r\n--END COMMAND--\r\n\r\n").is_success());
    assert!(
        response("Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n").is_success()
    );
    let error = response("Response: Error\r\nMessage: Permission denied\r\n\r\n");
    assert!(!error.is_success());
    assert_eq!(error.message().unwrap(), "Permission denied");
    assert!(error.heap_size() >= error.frame().heap_size());
}

#[test]
fn command_output_in_both_formats() {
    let legacy = response(
        "Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nline 1\n\nline 3\n--END COMMAND--\r\n\r\n",
    );
    assert_eq!(lines(&legacy), ["line 1", "", "line 3"]);
    let glued = response("Response: Follows\r\nActionID: 7\r\n5 seconds--END COMMAND--\r\n\r\n");
    assert_eq!(lines(&glued), ["5 seconds"]);
    let empty_legacy = response("Response: Follows\r\nActionID: 7\r\n--END COMMAND--\r\n\r\n");
    assert!(lines(&empty_legacy).is_empty());
    let modern = response(
        "Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: line 1\r\nOutput:   two\r\nOutput: \r\n\r\n",
    );
    assert_eq!(lines(&modern), ["line 1", "  two", ""]);
    let none = response("Response: Success\r\nActionID: 7\r\n\r\n");
    assert!(lines(&none).is_empty());
}

#[test]
fn instance_ids_from_seeds_are_stable_and_spread() {
    assert_eq!(InstanceId::from_seed(0), InstanceId::from_seed(0));
    let ids: std::collections::HashSet<u32> = (0..10_000)
        .map(|seed| InstanceId::from_seed(seed).0)
        .collect();
    assert_eq!(ids.len(), 10_000, "consecutive seeds give distinct ids");
}
