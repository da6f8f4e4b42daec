//! Conformance over the shared auth0 samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(
        Source::Auth0,
        Bar::MustMap(&[
            "s",
            "f",
            "fu",
            "fp",
            "slo",
            "seacft",
            "gd_auth_rejected",
            "gd_auth_failed",
            "scp",
            "scpr",
            "gd_enrollment_complete",
            "gd_unenroll",
            "ss",
            "fs",
        ]),
    )
    .run();
}
