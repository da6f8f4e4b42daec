//! Scenarios across sources, through `idlink run --once` with one source
//! per input file of `tests/scenarios/<name>/` and the scenario's identity
//! map. `expected.json` gives, per event (`metadata.uid`, else the message
//! trace id), the entity ids it must carry and the stateless tags it must
//! have, and per correlated tag the events it may land on (sources run in
//! parallel, so the completing event depends on arrival order). Every
//! output event must pass `ocsf-validate --strict` when the validator is
//! available (`OCSF_VALIDATE`, or `../shared/tools/ocsf-validate`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SOURCES: &[(&str, &str)] = &[
    ("defender.ndjson", "m365-defender-email"),
    ("okta.ndjson", "okta"),
    ("entra.ndjson", "entra-signin"),
    ("m365.ndjson", "m365-audit"),
    ("postfix.log", "postfix"),
];

fn scenario_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

/// Write a config reading `files` of scenario `name`; return its path.
fn config(name: &str, work: &Path, data: &Path, files: &[&str], out: &Path) -> PathBuf {
    let dir = scenario_dir(name);
    let mut toml = format!(
        "data_dir = {data:?}\n\n[enrich]\ntenant = \"corp\"\nlocal_domains = [\"corp.example\"]\n\
         domain_aliases = {{ \"corp.onmicrosoft.com\" = \"corp.example\" }}\n\
         identity_map = {:?}\n\n",
        dir.join("identities.csv")
    );
    let mut ids = Vec::new();
    for (file, parser) in SOURCES {
        if !files.contains(file) || !dir.join(file).exists() {
            continue;
        }
        let id = file.split('.').next().unwrap_or("src");
        ids.push(format!("{id:?}"));
        toml.push_str(&format!(
            "[sources.{id}]\ntype = \"file\"\ninclude = [{:?}]\nparser = \"{parser}\"\nyear = 2026\n\
             idle_flush_secs = 1\npoll_interval_ms = 10\n\n",
            dir.join(file)
        ));
    }
    toml.push_str(&format!(
        "[sinks.out]\ntype = \"file\"\ninputs = [{}]\npath = {out:?}\nfsync = false\n",
        ids.join(", ")
    ));
    let p = work.join(format!("{}.toml", ids.len()));
    std::fs::write(&p, toml).unwrap();
    p
}

fn run(cfg: &Path) {
    let st = Command::new(env!("CARGO_BIN_EXE_idlink"))
        .args(["run", "--once", "--config"])
        .arg(cfg)
        .env("IDLINK_LOG", "warn")
        .status()
        .unwrap();
    assert!(st.success(), "idlink run failed for {}", cfg.display());
}

fn read_events(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn validate(out: &Path) {
    let validator = std::env::var("OCSF_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/ocsf-validate")
        });
    if !validator.exists() {
        eprintln!("ocsf-validate not found; skipping schema validation");
        return;
    }
    let st = Command::new(&validator)
        .arg("--strict")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "ocsf-validate --strict failed on {}:\n{}{}",
        out.display(),
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
}

fn uid(ev: &Value) -> Option<String> {
    ev.pointer("/metadata/uid")
        .or_else(|| ev.get("message_trace_uid"))
        .and_then(Value::as_str)
        .map(String::from)
}

fn risk(ev: &Value) -> BTreeSet<String> {
    ev.pointer("/metadata/labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str()?.strip_prefix("risk:").map(String::from))
        .collect()
}

fn entities(ev: &Value) -> Vec<String> {
    ev["enrichments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.pointer("/data/entity_id")?.as_str().map(String::from))
        .collect()
}

fn entity_risk(ev: &Value, entity: &str) -> BTreeSet<String> {
    ev["enrichments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e.pointer("/data/entity_id").and_then(Value::as_str) == Some(entity))
        .flat_map(|e| {
            e.pointer("/data/risk")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t.as_str().map(String::from))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// Run scenario `name` with all its sources in one process and check it.
fn check(name: &str) {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out.ndjson");
    let all: Vec<&str> = SOURCES.iter().map(|(f, _)| *f).collect();
    let cfg = config(name, work.path(), &work.path().join("data"), &all, &out);
    run(&cfg);
    let events = read_events(&out);
    assert!(!events.is_empty(), "{name}: no output");
    validate(&out);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(scenario_dir(name).join("expected.json")).unwrap(),
    )
    .unwrap();
    let by_uid: HashMap<String, &Value> =
        events.iter().filter_map(|e| Some((uid(e)?, e))).collect();
    let correlations = expected["correlations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (u, want) in expected["events"].as_object().unwrap() {
        let ev = by_uid
            .get(u)
            .unwrap_or_else(|| panic!("{name}: no event {u}; have {:?}", by_uid.keys()));
        let ids = entities(ev);
        for e in strings(&want["entities"]) {
            assert!(
                ids.contains(&e),
                "{name}/{u}: entity {e} missing; has {ids:?}"
            );
        }
        let tags = strings(&want["tags"]);
        let got = risk(ev);
        for t in &tags {
            assert!(got.contains(t), "{name}/{u}: tag {t} missing; has {got:?}");
        }
        // Nothing beyond the stateless tags and the correlations that may
        // land here.
        for t in &got {
            let allowed = tags.contains(t)
                || correlations
                    .iter()
                    .any(|c| c["tag"] == t.as_str() && strings(&c["on_one_of"]).contains(u));
            assert!(allowed, "{name}/{u}: unexpected tag {t}; has {got:?}");
        }
    }
    for c in &correlations {
        let tag = c["tag"].as_str().unwrap();
        let on: Vec<&&Value> = strings(&c["on_one_of"])
            .iter()
            .filter_map(|u| by_uid.get(u))
            .filter(|ev| risk(ev).contains(tag))
            .collect();
        assert!(
            !on.is_empty(),
            "{name}: {tag} on none of {}",
            c["on_one_of"]
        );
        if let Some(ent) = c["entity"].as_str() {
            assert!(
                on.iter().any(|ev| entity_risk(ev, ent).contains(tag)),
                "{name}: {tag} not on entity {ent}"
            );
        }
    }
    if expected["no_tags_at_all"] == true {
        for ev in &events {
            assert!(risk(ev).is_empty(), "{name}: tags on a benign event: {ev}");
        }
    }
}

#[test]
fn phish_new_country_forwarding() {
    check("phish_new_country_forwarding");
}

#[test]
fn mfa_fatigue() {
    check("mfa_fatigue");
}

#[test]
fn password_spray() {
    check("password_spray");
}

#[test]
fn oauth_consent_after_phish() {
    check("oauth_consent_after_phish");
}

#[test]
fn service_account_interactive() {
    check("service_account_interactive");
}

#[test]
fn benign_day() {
    check("benign_day");
}

/// The phish scenario in a fixed arrival order: mail first, then the
/// identity sources (a second run over the same data_dir, so the state also
/// crosses a restart), and the other way round. The correlated tag lands
/// on the event that completes the pattern.
#[test]
fn phish_then_signin_in_both_arrival_orders() {
    let name = "phish_new_country_forwarding";
    let phish = "6a0e1f7c-1111-4c2b-9d3e-000000000001-1";
    let signin = "a1000000-0000-0000-0000-000000000002";
    for mail_first in [true, false] {
        let work = tempfile::tempdir().unwrap();
        let data = work.path().join("data");
        let out = work.path().join("out.ndjson");
        let mail = ["defender.ndjson"];
        let identity = ["okta.ndjson", "m365.ndjson"];
        let (first, second): (&[&str], &[&str]) = if mail_first {
            (&mail, &identity)
        } else {
            (&identity, &mail)
        };
        let w1 = work.path().join("1");
        let w2 = work.path().join("2");
        std::fs::create_dir_all(&w1).unwrap();
        std::fs::create_dir_all(&w2).unwrap();
        run(&config(name, &w1, &data, first, &out));
        run(&config(name, &w2, &data, second, &out));
        let events = read_events(&out);
        let by_uid: HashMap<String, &Value> =
            events.iter().filter_map(|e| Some((uid(e)?, e))).collect();
        let (lands, quiet) = if mail_first {
            (signin, phish)
        } else {
            (phish, signin)
        };
        assert!(
            risk(by_uid[lands]).contains("recent_phish_target"),
            "mail_first={mail_first}: expected on {lands}"
        );
        assert!(
            !risk(by_uid[quiet]).contains("recent_phish_target"),
            "mail_first={mail_first}: not expected on {quiet}"
        );
        // The completing event names the other one.
        let related: Vec<String> = by_uid[lands]["enrichments"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| {
                e.pointer("/data/correlations")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|c| c["related_uid"].as_str().map(String::from))
            .collect();
        let other = if mail_first {
            "6a0e1f7c-1111-4c2b-9d3e-000000000001"
        } else {
            signin
        };
        assert!(
            related.iter().any(|r| r.starts_with(other)),
            "mail_first={mail_first}: related {related:?}"
        );
        assert!(data.join("state/correlation.json").exists());
    }
}
