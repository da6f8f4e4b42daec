//! The shared proofpoint-pod samples: every record decodes, no fallback,
//! every event valid OCSF (with `OCSF_VALIDATE=/path/to/ocsf-validate`).

mod support_mail_json;

use idlink_parsers::Source;

#[test]
fn samples() {
    if let Some(c) =
        support_mail_json::run_samples(Source::ProofpointPod, "events.ndjson", &|_| false)
    {
        assert_eq!(c.records, 5);
        assert_eq!(c.fallback, 0);
    }
}

#[test]
#[ignore = "timing; run with --release --ignored --nocapture"]
fn perf() {
    support_mail_json::perf(Source::ProofpointPod, "events.ndjson");
}
