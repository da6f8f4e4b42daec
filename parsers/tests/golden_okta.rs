//! Golden tests for okta: each `fixtures/okta/*.json` holds input
//! records (one per line); the events they decode to must equal the pretty
//! JSON array in the matching `*.ocsf.json`. `BLESS=1` rewrites those; with
//! `OCSF_VALIDATE` set, every golden event must pass `--strict`.

mod util;

#[test]
fn golden() {
    util::Golden::json(idlink_parsers::Source::Okta).run();
}
