//! Conformance over the shared m365-audit samples (see `util::Samples`).
//! Teams, Yammer and Power BI activity is not mapped yet and may fall back;
//! the operations the issue lists may not.

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(
        Source::M365Audit,
        Bar::MustMap(&[
            "UserLoggedIn",
            "UserLoginFailed",
            "New-InboxRule",
            "Set-InboxRule",
            "UpdateInboxRules",
            "Set-Mailbox",
            "Consent to application.",
            "Add service principal credentials.",
            "MailItemsAccessed",
            "Add member to role.",
            "Add member to group.",
            "Change user password.",
            "Reset user password.",
        ]),
    )
    .run();
}
