//! Golden tests for the dovecot source: `tests/fixtures/dovecot/*.log` →
//! `*.ocsf.json` (`BLESS=1` rewrites; with `OCSF_VALIDATE` the events
//! are also validated with `--strict`).

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn golden_dovecot() {
    lab::golden(Source::Dovecot, "dovecot", 3);
}

/// The brute-force story of the lab: failed IMAP logins for frank from one
/// address (passdb lines, one per attempt, and the login process's
/// summaries), then a successful login of the same `user.name` from the
/// same address.
#[test]
fn brute_force_then_success_is_visible() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dovecot/imap_bruteforce.log");
    let lines = lab::lines_of(&path);
    let (_, nd, bad) = lab::run(Source::Dovecot, &lines);
    assert!(bad.is_empty(), "{bad:?}");
    let evs: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let auth = |e: &&serde_json::Value, status: i64| {
        e["class_uid"] == 3002
            && e["activity_id"] == 1
            && e["status_id"] == status
            && e["user"]["name"] == "frank@corp.example"
            && e["src_endpoint"]["ip"] == "127.50.32.67"
    };
    let failures = evs.iter().filter(|e| auth(e, 2)).count();
    let success: Vec<usize> = (0..evs.len()).filter(|&i| auth(&&evs[i], 1)).collect();
    let last_failure = (0..evs.len()).filter(|&i| auth(&&evs[i], 2)).max();
    assert_eq!(failures, 7, "one Logon failure per wrong password");
    assert_eq!(success.len(), 1);
    assert!(
        last_failure < Some(success[0]),
        "the success follows the failures"
    );
    let aborted = evs
        .iter()
        .filter(|e| e["activity_name"] == "Aborted Login" && e["status_id"] == 2)
        .count();
    assert_eq!(aborted, 4, "the login process's per-session summaries");
}
