//! Golden tests: `tests/fixtures/proofpoint-pod/*.json` → `*.ocsf.json`
//! (`BLESS=1` rewrites them).

mod support_mail_json;

#[test]
fn golden() {
    support_mail_json::run_golden(idlink_parsers::Source::ProofpointPod);
}
