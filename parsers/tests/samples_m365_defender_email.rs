//! The shared m365-defender-email samples: every record decodes, no
//! fallback for the e-mail tables, every event valid OCSF (with
//! `OCSF_VALIDATE=/path/to/ocsf-validate`).

mod util;

use idlink_parsers::Source;
use serde_json::Value;
use util::{Bar, Samples};

/// Two sample records carry an endpoint `DeviceEvents` row under an
/// e-mail category (a third-party test artefact): they are not e-mail
/// records, so they are the only fallback events allowed.
fn not_an_email_row(ev: &Value) -> bool {
    ev.pointer("/unmapped/idlink/reason") == Some(&Value::from("columns_do_not_match_category"))
}

#[test]
fn samples() {
    if let Some(c) =
        Samples::mail_json(Source::M365DefenderEmail, Bar::AllowOnly(not_an_email_row)).run()
    {
        assert_eq!(c.records, 8);
        assert_eq!(c.fallback, 2);
    }
}
