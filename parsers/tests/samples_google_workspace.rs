//! Conformance over the shared google-workspace samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples {
        source: Source::GoogleWorkspace,
        files: &["events.ndjson"],
        bar: Bar::MustMap(&[
            "login_success",
            "login_failure",
            "logout",
            "login_challenge",
            "login_verification",
            "password_edit",
            "2sv_enroll",
            "2sv_disable",
            "CHANGE_PASSWORD",
            "ASSIGN_ROLE",
            "GRANT_ADMIN_PRIVILEGE",
            "ADD_GROUP_MEMBER",
            "REMOVE_GROUP_MEMBER",
            "add_member",
            "remove_member",
            "authorize",
            "email_forwarding_out_of_domain",
        ]),
        one_event_per_record: false,
        options: util::fixed_options(),
        check_flushed: true,
    }
    .run();
}
