//! The `idlink` binary as a child process that cannot outlive its test: a
//! failing assertion must not leave an agent running.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `idlink`, killed when dropped if it is still running.
pub struct Agent(pub Child);

impl Agent {
    /// `idlink run --config CFG` (with `--once` if asked), output discarded.
    pub fn run(cfg: &Path, once: bool) -> Agent {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_idlink"));
        cmd.arg("run");
        if once {
            cmd.arg("--once");
        }
        cmd.arg("--config")
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Agent(cmd.spawn().expect("spawn idlink"))
    }
}

impl Deref for Agent {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for Agent {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
