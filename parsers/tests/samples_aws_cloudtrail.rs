//! Conformance over the shared aws-cloudtrail samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples::json(
        Source::AwsCloudtrail,
        Bar::MustMap(&[
            "ConsoleLogin",
            "CredentialChallenge",
            "AssumeRole",
            "ChangePassword",
            "UpdateLoginProfile",
            "EnableMFADevice",
            "DeactivateMFADevice",
            "AddUserToGroup",
            "RemoveUserFromGroup",
            "CreateUser",
            "CreateAccountAssignment",
        ]),
    )
    .run();
}
