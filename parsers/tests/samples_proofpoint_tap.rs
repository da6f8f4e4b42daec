//! The shared proofpoint-tap samples: every record decodes, no fallback,
//! every event valid OCSF (with `OCSF_VALIDATE=/path/to/ocsf-validate`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples() {
    if let Some(c) = Samples::mail_json(Source::ProofpointTap, Bar::NoFallback).run() {
        assert_eq!(c.records, 10);
    }
}
