//! Conformance over the shared entra-audit samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(Source::EntraAudit, Bar::NoFallback).run();
}
