//! Conformance over the shared okta samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples {
        source: Source::Okta,
        files: &["events.ndjson"],
        bar: Bar::NoFallback,
        one_event_per_record: true,
    }
    .run();
}
