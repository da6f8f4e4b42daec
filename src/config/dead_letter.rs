//! Checks of the sources' `dead_letter` key: a file of its own, which no
//! source reads.
//!
//! Two writers appending to one file could interleave large writes, and
//! dead letters in a sink's output file or in a file a source tails would
//! be read back as data (a source tailing its own dead letters would feed
//! on itself). All of these are configuration errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::raw::RawSource;
use super::{ConfigError, SinkConfig, SinkKind, SourceConfig};

/// Report every problem with a source's `dead_letter` under
/// `sources.<id>.dead_letter`.
pub(super) fn check(
    raw: &BTreeMap<String, (PathBuf, RawSource)>,
    sources: &[SourceConfig],
    sinks: &[SinkConfig],
    errors: &mut Vec<ConfigError>,
) {
    // Files written by the sinks, with what writes them.
    let mut taken: Vec<(&Path, String)> = Vec::new();
    for k in sinks {
        match &k.kind {
            SinkKind::File { path, .. } => {
                taken.push((path, format!("the output file of sink `{}`", k.id)))
            }
            SinkKind::Remote(r) => taken.push((
                &r.common.dead_letter,
                format!("the dead-letter file of sink `{}`", k.id),
            )),
            SinkKind::Stdout => {}
        }
    }
    for s in sources {
        let Some(path) = &s.dead_letter else { continue };
        let file = raw.get(&s.id).map(|(f, _)| f.clone()).unwrap_or_default();
        let mut err = |reason: String| {
            errors.push(ConfigError {
                file: file.clone(),
                key: format!("sources.{}.dead_letter", s.id),
                reason,
            })
        };
        if path.as_os_str().is_empty() {
            err("must not be empty".into());
            continue;
        }
        if path.is_dir() {
            err(format!(
                "{} is a directory; name a file (it is created on first write)",
                path.display()
            ));
        }
        if let Some((_, what)) = taken.iter().find(|(p, _)| *p == path.as_path()) {
            err(format!("{} is also {what}", path.display()));
        }
        for reader in sources {
            let matched = reader.include.iter().any(|p| p.matches_path(path))
                && !reader.exclude.iter().any(|p| p.matches_path(path));
            if matched {
                err(format!(
                    "{} matches sources.{}.include: that source would read these dead letters as log records",
                    path.display(),
                    reader.id
                ));
            }
        }
        taken.push((path, format!("the dead-letter file of source `{}`", s.id)));
    }
}
