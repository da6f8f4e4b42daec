//! Golden tests: `tests/fixtures/exchange-message-trace/*.json` → `*.ocsf.json`
//! (see `util::Golden::mail_json`; `BLESS=1` rewrites them, and with
//! `OCSF_VALIDATE` set every golden event must pass `--strict`).

mod util;

#[test]
fn golden() {
    util::Golden::mail_json(idlink_parsers::Source::ExchangeMessageTrace).run();
}
