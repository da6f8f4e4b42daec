//! Conformance over the shared duo samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(
        Source::Duo,
        Bar::MustMap(&[
            "authentication",
            "enrollment",
            "admin_login",
            "admin_login_error",
            "phone_associate",
            "phone_disassociate",
            "user_update",
            "o2fa_user_provisioned",
        ]),
    )
    .run();
}
