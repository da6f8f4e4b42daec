//! Conformance over the shared cisco-esa samples (`events.log`, see
//! `util::Samples`): every record decodes, none is left unparsed, no
//! listed event type falls back, and (with `OCSF_VALIDATE`) every
//! per-record event passes the validator.

mod util;

use idlink_parsers::Source;
use util::Samples;

#[test]
fn samples_conform() {
    // `metadata.event_code`s that must never come out as fallback events.
    Samples::text(
        Source::CiscoEsa,
        &["ESA_CONSOLIDATED_LOG_EVENT", "message", "antivirus", "amp"],
    )
    .run();
}
