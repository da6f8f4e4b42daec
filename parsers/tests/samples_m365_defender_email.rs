//! The shared m365-defender-email samples: every record decodes, no
//! fallback for the e-mail tables, every event valid OCSF (with
//! `OCSF_VALIDATE=/path/to/ocsf-validate`).

mod support_mail_json;

use idlink_parsers::Source;
use serde_json::Value;

/// Two sample records carry an endpoint `DeviceEvents` row under an
/// e-mail category (a third-party test artefact): they are not e-mail
/// records, so they are the only fallback events allowed.
fn not_an_email_row(ev: &Value) -> bool {
    ev.pointer("/unmapped/idlink/reason") == Some(&Value::from("columns_do_not_match_category"))
}

#[test]
fn samples() {
    if let Some(c) = support_mail_json::run_samples(
        Source::M365DefenderEmail,
        "events.ndjson",
        &not_an_email_row,
    ) {
        assert_eq!(c.records, 8);
        assert_eq!(c.fallback, 2);
    }
}

#[test]
#[ignore = "timing; run with --release --ignored --nocapture"]
fn perf() {
    support_mail_json::perf(Source::M365DefenderEmail, "events.ndjson");
}
