//! Golden tests for exim: each `fixtures/exim/*.log` holds input
//! records (one per line); the events they decode to must equal the pretty
//! JSON array in the matching `*.ocsf.json` (see `util::Golden`).
//! `BLESS=1` rewrites those; with `OCSF_VALIDATE` set, every golden
//! event must pass `--strict`.

mod util;

#[test]
fn golden() {
    util::Golden::text(idlink_parsers::Source::Exim).run();
}
