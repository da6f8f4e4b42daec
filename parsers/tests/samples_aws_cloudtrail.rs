//! Conformance over the shared aws-cloudtrail samples (see `util::Samples`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples_conform() {
    Samples {
        source: Source::AwsCloudtrail,
        files: &["events.ndjson"],
        bar: Bar::MustMap(&[
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
        one_event_per_record: true,
    }
    .run();
}
