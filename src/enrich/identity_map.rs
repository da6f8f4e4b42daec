//! The directory export: one primary identity per row, its aliases and
//! attributes, loaded from CSV or JSON and reloaded when the file changes.
//!
//! CSV (header required, other columns ignored):
//! `id,aliases,kind,privileged,executive,department[,display_name]`, where
//! `aliases` is `;`-separated, `kind` is `human` | `service` |
//! `shared_mailbox` (empty: human) and the flags are `true`/`false`.
//! JSON: an array of objects with the same keys (`aliases` a list or a
//! `;`-separated string). `display_name` is optional; without it a name is
//! derived from the id's local part (`jane.doe` → "jane doe") for the
//! executive display-name check.
//!
//! Every id and alias is canonicalised with the same [`Canon`] as event
//! values, so `CORP\jdoe`, `JDoe@corp.onmicrosoft.com` and an Okta login all
//! land on the row. Reload: [`MapHandle::reload_if_changed`] compares the
//! file's modification time and length; a new map is swapped in whole
//! (readers keep the old one until they look again), a broken file keeps
//! the old map and is logged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::Deserialize;

use super::canon::Canon;
use super::entity::Kind;

/// One directory identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Canonical primary key.
    pub id: String,
    /// User, service or shared mailbox.
    pub kind: Kind,
    /// Holds a privileged role.
    pub privileged: bool,
    /// An executive (impersonation target).
    pub executive: bool,
    /// Department, if given.
    pub department: Option<String>,
    /// Display name (given, or derived from the id).
    pub display_name: String,
}

/// A loaded map.
#[derive(Debug, Default)]
pub struct IdentityMap {
    identities: Vec<Identity>,
    by_key: HashMap<String, u32, foldhash::fast::RandomState>,
    executives: HashMap<String, u32, foldhash::fast::RandomState>,
}

impl IdentityMap {
    /// The identity `canonical` (an id or alias, canonical form) belongs to.
    pub fn get(&self, canonical: &str) -> Option<&Identity> {
        self.by_key
            .get(canonical)
            .map(|&i| &self.identities[i as usize])
    }

    /// The executive whose display name is `name` (any case, `Last,
    /// First` or `First Last`).
    pub fn executive_named(&self, name: &str) -> Option<&Identity> {
        let n = normalise_name(name);
        if n.is_empty() {
            return None;
        }
        self.executives
            .get(&n)
            .map(|&i| &self.identities[i as usize])
    }

    /// Number of identities.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// No identities.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// Parse `text` (CSV, or JSON when it starts with `[`).
    pub fn parse(text: &str, canon: &Canon) -> Result<Self, String> {
        let rows = if text.trim_start().starts_with('[') {
            json_rows(text)?
        } else {
            csv_rows(text)?
        };
        let mut map = IdentityMap::default();
        for (line, r) in rows {
            let Some(id) = canon.address(r.id.trim()) else {
                return Err(format!("row {line}: empty id"));
            };
            let kind = match r.kind.trim().to_ascii_lowercase().as_str() {
                "" | "human" | "user" => Kind::User,
                "service" => Kind::Service,
                "shared_mailbox" | "mailbox" => Kind::Mailbox,
                other => {
                    return Err(format!(
                        "row {line}: kind `{other}` (expected human, service or shared_mailbox)"
                    ))
                }
            };
            let display_name = r
                .display_name
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| derived_name(&id));
            let idx = map.identities.len() as u32;
            map.by_key.insert(id.to_string(), idx);
            for a in r.aliases.iter() {
                if let Some(k) = canon.address(a.trim()) {
                    map.by_key.entry(k.into_owned()).or_insert(idx);
                }
            }
            if r.executive {
                map.executives.insert(normalise_name(&display_name), idx);
            }
            map.identities.push(Identity {
                id: id.into_owned(),
                kind,
                privileged: r.privileged,
                executive: r.executive,
                department: r.department.filter(|d| !d.trim().is_empty()),
                display_name,
            });
        }
        Ok(map)
    }

    /// Load `path`.
    pub fn load(path: &Path, canon: &Canon) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text, canon).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// "Jane Doe", "doe, jane", "JANE  DOE" → "jane doe".
pub fn normalise_name(s: &str) -> String {
    let s = s.trim().trim_matches('"');
    let s = match s.split_once(',') {
        Some((last, first)) if !first.trim().is_empty() => format!("{} {}", first, last),
        _ => s.to_string(),
    };
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn derived_name(id: &str) -> String {
    let local = id.split('@').next().unwrap_or(id);
    local.replace(['.', '_', '-'], " ")
}

struct Row {
    id: String,
    aliases: Vec<String>,
    kind: String,
    privileged: bool,
    executive: bool,
    department: Option<String>,
    display_name: Option<String>,
}

fn flag(v: &str, line: usize, col: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" => Ok(false),
        "true" | "1" | "yes" => Ok(true),
        other => Err(format!("row {line}: {col} `{other}` is not true or false")),
    }
}

fn split_aliases(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect()
}

fn csv_rows(text: &str) -> Result<Vec<(usize, Row)>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| format!("header: {e}"))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let id_col = col("id").ok_or("the header has no `id` column")?;
    let (al, kind, priv_, exec, dept, disp) = (
        col("aliases"),
        col("kind"),
        col("privileged"),
        col("executive"),
        col("department"),
        col("display_name"),
    );
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("row {line}: {e}"))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("");
        let id = get(Some(id_col));
        if id.is_empty() {
            continue;
        }
        rows.push((
            line,
            Row {
                id: id.to_string(),
                aliases: split_aliases(get(al)),
                kind: get(kind).to_string(),
                privileged: flag(get(priv_), line, "privileged")?,
                executive: flag(get(exec), line, "executive")?,
                department: Some(get(dept).to_string()),
                display_name: Some(get(disp).to_string()),
            },
        ));
    }
    Ok(rows)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Aliases {
    List(Vec<String>),
    Joined(String),
}

#[derive(Deserialize)]
struct JsonRow {
    id: String,
    #[serde(default)]
    aliases: Option<Aliases>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    privileged: bool,
    #[serde(default)]
    executive: bool,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

fn json_rows(text: &str) -> Result<Vec<(usize, Row)>, String> {
    let rows: Vec<JsonRow> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            (
                i + 1,
                Row {
                    id: r.id,
                    aliases: match r.aliases {
                        None => Vec::new(),
                        Some(Aliases::List(l)) => l,
                        Some(Aliases::Joined(s)) => split_aliases(&s),
                    },
                    kind: r.kind.unwrap_or_default(),
                    privileged: r.privileged,
                    executive: r.executive,
                    department: r.department,
                    display_name: r.display_name,
                },
            )
        })
        .collect())
}

/// The current map, shared by every stage, swapped on reload.
#[derive(Debug)]
pub struct MapHandle {
    path: Option<PathBuf>,
    canon: Canon,
    current: RwLock<Arc<IdentityMap>>,
    generation: AtomicU64,
    stamp: Mutex<Option<(SystemTime, u64)>>,
}

impl MapHandle {
    /// A handle for `path` (none: an empty map forever). Fails when the
    /// file cannot be loaded at start.
    pub fn new(path: Option<PathBuf>, canon: Canon) -> Result<Self, String> {
        let h = MapHandle {
            path,
            canon,
            current: RwLock::new(Arc::new(IdentityMap::default())),
            generation: AtomicU64::new(0),
            stamp: Mutex::new(None),
        };
        if h.path.is_some() {
            h.reload_if_changed()?;
        }
        Ok(h)
    }

    /// Bumped on every swap: stages compare it to drop their caches.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The map in force.
    pub fn current(&self) -> Arc<IdentityMap> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reload when the file's mtime or length changed. `Ok(true)` when a
    /// new map was swapped in; on error the old map stays.
    pub fn reload_if_changed(&self) -> Result<bool, String> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let stamp = (
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        let mut last = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
        if *last == Some(stamp) {
            return Ok(false);
        }
        let map = IdentityMap::load(path, &self.canon)?;
        *last = Some(stamp);
        drop(last);
        tracing::info!(path = %path.display(), identities = map.len(), "identity map loaded");
        let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
        *cur = Arc::new(map);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon() -> Canon {
        Canon::new(
            &[("corp.onmicrosoft.com".into(), "corp.example".into())],
            &["corp.example".into()],
        )
    }

    const CSV: &str = "id,aliases,kind,privileged,executive,department,extra\n\
        jane.doe@corp.example,JDoe@corp.onmicrosoft.com;CORP\\jdoe;00u1abcd;E1001,human,false,true,Finance,x\n\
        svc-backup@corp.example,svc-backup;CORP\\svc-backup,service,true,false,,\n\
        support@corp.example,,shared_mailbox,false,false,Support,\n";

    #[test]
    fn csv_aliases_resolve_to_the_row() {
        let m = IdentityMap::parse(CSV, &canon()).unwrap();
        assert_eq!(m.len(), 3);
        for k in [
            "jane.doe@corp.example",
            "jdoe@corp.example",
            "00u1abcd",
            "e1001",
        ] {
            let c = canon().address(k).unwrap();
            assert_eq!(m.get(&c).unwrap().id, "jane.doe@corp.example", "{k}");
        }
        let j = m.get("jdoe@corp.example").unwrap();
        assert!(j.executive && !j.privileged);
        assert_eq!(j.department.as_deref(), Some("Finance"));
        assert_eq!(m.get("svc-backup").unwrap().kind, Kind::Service);
        assert_eq!(m.get("support@corp.example").unwrap().kind, Kind::Mailbox);
        assert_eq!(
            m.executive_named("Doe, Jane").unwrap().id,
            "jane.doe@corp.example"
        );
        assert!(m.executive_named("John Roe").is_none());
    }

    #[test]
    fn json_form() {
        let j = r#"[{"id":"a@corp.example","aliases":["CORP\\a"],"kind":"service","privileged":true},
                    {"id":"b@corp.example","aliases":"b1;b2","executive":true,"display_name":"Bea Boss"}]"#;
        let m = IdentityMap::parse(j, &canon()).unwrap();
        assert_eq!(m.get("a@corp.example").unwrap().kind, Kind::Service);
        assert_eq!(m.get("b2").unwrap().id, "b@corp.example");
        assert!(m.executive_named("BEA BOSS").is_some());
    }

    #[test]
    fn bad_rows_are_reported() {
        let e = IdentityMap::parse("id,kind\nx@y,robot\n", &canon()).unwrap_err();
        assert!(e.contains("row 2") && e.contains("robot"), "{e}");
        let e = IdentityMap::parse("id,privileged\nx@y,maybe\n", &canon()).unwrap_err();
        assert!(e.contains("privileged"), "{e}");
        assert!(IdentityMap::parse("aliases\nx\n", &canon()).is_err());
    }

    #[test]
    fn reload_swaps_on_change_and_keeps_old_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("map.csv");
        std::fs::write(&p, "id,kind\na@corp.example,human\n").unwrap();
        let h = MapHandle::new(Some(p.clone()), canon()).unwrap();
        assert_eq!(h.generation(), 1);
        assert!(!h.reload_if_changed().unwrap());
        std::fs::write(&p, "id,kind\na@corp.example,service\nb@corp.example,\n").unwrap();
        assert!(h.reload_if_changed().unwrap());
        assert_eq!(h.current().len(), 2);
        assert_eq!(h.generation(), 2);
        std::fs::write(&p, "id,kind\na@corp.example,robotic\n").unwrap();
        assert!(h.reload_if_changed().is_err());
        assert_eq!(h.current().len(), 2);
    }
}
