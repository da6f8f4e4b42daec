//! Conformance over the shared keycloak samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples {
        source: Source::Keycloak,
        files: &["events.ndjson", "events.log"],
        bar: Bar::MustMap(&[
            "LOGIN",
            "LOGIN_ERROR",
            "LOGOUT",
            "UPDATE_PASSWORD",
            "RESET_PASSWORD",
            "UPDATE_TOTP",
            "REMOVE_TOTP",
            "UPDATE_CREDENTIAL",
            "REMOVE_CREDENTIAL",
            "GRANT_CONSENT",
            "REFRESH_TOKEN",
            "CODE_TO_TOKEN",
        ]),
        one_event_per_record: true,
        options: util::fixed_options(),
        check_flushed: true,
    }
    .run();
}
