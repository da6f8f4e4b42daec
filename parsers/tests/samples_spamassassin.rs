//! Conformance over the shared spamassassin samples (`events.log`, see
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
        Source::Spamassassin,
        &["result", "identified spam", "clean message"],
    )
    .run();
}
