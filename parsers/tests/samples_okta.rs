//! Conformance over the shared okta samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(Source::Okta, Bar::NoFallback).run();
}
