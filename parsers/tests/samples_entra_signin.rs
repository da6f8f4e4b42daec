//! Conformance over the shared entra-signin samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(Source::EntraSignin, Bar::NoFallback).run();
}
