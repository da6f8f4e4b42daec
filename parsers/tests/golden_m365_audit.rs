//! Golden tests for m365-audit: each `fixtures/m365-audit/*.json` holds input
//! records (one per line); the events they decode to must equal the pretty
//! JSON array in the matching `*.ocsf.json`. `BLESS=1` rewrites those; with
//! `OCSF_VALIDATE` set, every golden event must pass `--strict`. The
//! organisation's domain is `example.com`, so forwarding addresses are
//! marked internal or external.

mod util;

#[test]
fn golden() {
    util::Golden {
        options: idlink_parsers::Options {
            local_domains: vec!["example.com".into()],
            ..util::fixed_options()
        },
        ..util::Golden::json(idlink_parsers::Source::M365Audit)
    }
    .run();
}
