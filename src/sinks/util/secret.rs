//! Secrets in sink configs: a literal (normally `${ENV}`-interpolated) or
//! `{ file = "/path" }`. Resolved once when the config is checked; the value
//! is only reachable through [`Secret::expose`], and every `Debug`/`Display`
//! prints `***`, so a config dump, a log line or an error message cannot
//! carry it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

/// A secret as written in the config file.
#[derive(Clone, Deserialize)]
#[serde(untagged, expecting = "a string, or a table `{ file = \"/path\" }`")]
pub enum RawSecret {
    /// The value itself (use `${VAR}` to take it from the environment).
    Literal(String),
    /// Read from a file (trailing newline removed), e.g. a mounted
    /// Kubernetes or systemd credential.
    File(SecretFile),
}

/// `{ file = "/path" }`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretFile {
    /// File holding the secret.
    pub file: PathBuf,
}

impl fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawSecret::Literal(_) => f.write_str("***"),
            RawSecret::File(s) => write!(f, "{{ file = {:?} }}", s.file),
        }
    }
}

/// A resolved secret. Cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }

    /// Resolve a configured secret. Errors name the file, never the value.
    pub fn resolve(raw: &RawSecret) -> Result<Self, String> {
        let value = match raw {
            RawSecret::Literal(s) => s.clone(),
            RawSecret::File(f) => std::fs::read_to_string(&f.file)
                .map_err(|e| format!("cannot read secret file {}: {e}", f.file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        };
        if value.is_empty() {
            return Err("is empty".into());
        }
        Ok(Secret(value.into()))
    }

    /// The value, for building a request header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let raw = RawSecret::Literal("hunter2".into());
        assert_eq!(format!("{raw:?}"), "***");
    }

    #[test]
    fn from_file_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, "abc\n").unwrap();
        let raw = RawSecret::File(SecretFile { file: p.clone() });
        assert_eq!(Secret::resolve(&raw).unwrap().expose(), "abc");
        std::fs::remove_file(&p).unwrap();
        let e = Secret::resolve(&raw).unwrap_err();
        assert!(e.contains("tok"), "{e}");
    }
}
