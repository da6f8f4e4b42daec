//! The command line: `run`, `validate`, `parse`, `replay`, `sources`.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use idlink_parsers::{Options, Source};

use crate::config::{self, Config};
use crate::event::Encoded;
use crate::sources::file::framer::Framer;
use crate::topology;
use crate::transforms::parse::ParseStage;

/// Tails mail and identity logs, maps them to OCSF 1.8.0, forwards them.
#[derive(Debug, Parser)]
#[command(name = "idlink", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent.
    Run {
        /// A TOML file, or a directory of `*.toml` files.
        #[arg(long)]
        config: PathBuf,
        /// Read every matched file to its end, flush every sink, write
        /// checkpoints and exit (backfill and demo mode).
        #[arg(long)]
        once: bool,
    },
    /// Check a configuration; exit 1 with every error.
    Validate {
        /// A TOML file, or a directory of `*.toml` files.
        #[arg(long)]
        config: PathBuf,
    },
    /// Parse raw log records (files, or stdin) to OCSF NDJSON on stdout.
    Parse {
        /// Log source name (`idlink sources`).
        #[arg(long)]
        source: String,
        /// Take local domains, and the year/offset/raw_data of a source with
        /// this parser, from this configuration.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write counts as JSON to this file.
        #[arg(long)]
        stats: Option<PathBuf>,
        /// Input files; none: stdin.
        files: Vec<PathBuf>,
    },
    /// Send dead letters again once their cause is fixed.
    ///
    /// Each line of FILE goes where it failed: a sink rejection to the sink
    /// it names, a parse or framing failure is parsed again with its
    /// source's current settings and sent to that source's sinks. What
    /// fails again is written to that sink's or source's dead-letter file,
    /// as in `run`. FILE is read, never changed: first move the dead-letter
    /// file away (`mv dead.ndjson dead.replay.ndjson`; the agent starts a
    /// new one), replay the moved file, and remove it once the summary says
    /// everything was delivered. A replay refuses a FILE it would append
    /// to.
    ///
    /// Exit status: 0 everything was resent and acknowledged; 2 some lines
    /// failed again, were skipped or were not delivered (see the summary
    /// on stderr); 1 nothing was replayed (bad configuration, FILE
    /// unreadable or refused).
    Replay {
        /// The dead-letter file to replay.
        #[arg(long = "from-dead-letter", value_name = "FILE")]
        from_dead_letter: PathBuf,
        /// The agent's configuration (a TOML file or a directory of them):
        /// its sinks, and its sources' parser settings.
        #[arg(long)]
        config: PathBuf,
        /// Send every event to this sink instead.
        #[arg(long, value_name = "ID")]
        sink: Option<String>,
        /// Read and check every line and parse records again, but send
        /// and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the log source names.
    Sources,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Run { config, once } => run(&config, once),
        Command::Validate { config } => validate(&config),
        Command::Parse {
            source,
            config,
            stats,
            files,
        } => parse(&source, config.as_deref(), stats.as_deref(), &files),
        Command::Replay {
            from_dead_letter,
            config,
            sink,
            dry_run,
        } => replay(&from_dead_letter, &config, sink, dry_run),
        Command::Sources => {
            let mut out = io::stdout().lock();
            for s in Source::ALL {
                if writeln!(out, "{s}").is_err() {
                    break;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("idlink: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("IDLINK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr: stdout is for events.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .try_init();
}

fn load_config(path: &Path) -> anyhow::Result<Config> {
    config::load(path).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!("invalid configuration:\n{}", lines.join("\n"))
    })
}

fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    match config::load(path) {
        Ok(c) => {
            println!(
                "ok: {} source(s), {} sink(s)",
                c.sources.len(),
                c.sinks.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn run(path: &Path, once: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(path)?;
    // One worker drives signals and the metrics listener; the pipeline runs
    // on its own threads.
    let runtime = control_runtime()?;
    if let Some(addr) = config.prometheus_listen {
        let _guard = runtime.enter();
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
    }
    // Handlers are installed before anything starts, so a stop request is
    // never the default (immediate) death.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    on_stop_signal(&runtime, stop.clone(), "stop requested: draining")?;
    let topo = topology::start_with_stop(&config, once, stop)?;
    let stats = topo.wait()?;
    for (id, s) in stats {
        tracing::info!(source = %id, records = s.records, events = s.events, unparsed = s.unparsed, "source done");
    }
    Ok(ExitCode::SUCCESS)
}

/// The small runtime that drives signals (and the metrics listener).
fn control_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("idlink-rt")
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Set `flag` on SIGTERM or SIGINT, logging `what`.
fn on_stop_signal(
    runtime: &tokio::runtime::Runtime,
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    what: &'static str,
) -> anyhow::Result<()> {
    let (mut term, mut int) = runtime
        .block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            Ok::<_, io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })
        .context("cannot install signal handlers")?;
    runtime.spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("{what}");
        flag.store(true, std::sync::atomic::Ordering::Release);
    });
    Ok(())
}

fn replay(
    file: &Path,
    config: &Path,
    sink: Option<String>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    use std::sync::atomic::AtomicBool;
    let config = load_config(config)?;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let runtime = control_runtime()?;
    on_stop_signal(
        &runtime,
        stop.clone(),
        "stop requested: sending what was read, then stopping",
    )?;
    let opts = crate::replay::ReplayOptions {
        file: file.to_path_buf(),
        sink,
        dry_run,
    };
    let shown = file.display().to_string();
    let summary = crate::replay::replay(&config, &opts, stop, &mut |s| match s.line {
        Some(n) => eprintln!("idlink replay: {shown}:{n}: skipped: {}", s.why),
        None => eprintln!(
            "idlink replay: {shown}: events assembled from several lines not sent: {}",
            s.why
        ),
    })?;
    eprintln!("{summary}");
    Ok(if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn parse(
    source: &str,
    config: Option<&Path>,
    stats_path: Option<&Path>,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let Some(src) = Source::from_name(source) else {
        let known: Vec<&str> = Source::ALL.iter().map(|s| s.name()).collect();
        anyhow::bail!("unknown source `{source}`; known: {}", known.join(", "));
    };
    let mut opts = Options {
        reference_time_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        ..Options::default()
    };
    let mut max_line = 64 * 1024;
    let mut enrich = crate::enrich::EnrichConfig::default();
    if let Some(path) = config {
        let c = load_config(path)?;
        opts.local_domains = c.local_domains.clone();
        enrich = c.enrich.clone();
        if let Some(s) = c.sources.iter().find(|s| s.parser == src) {
            opts.year = s.year;
            opts.utc_offset_secs = s.utc_offset_secs;
            opts.raw_data = s.raw_data;
            opts.max_open = s.max_open_messages;
            opts.open_ttl_ms = s.message_ttl.as_millis() as i64;
            max_line = s.max_line_bytes;
        }
    }
    // The same enrichment as `run`, with in-memory correlation state (the
    // agent's state file is left alone).
    let shared =
        crate::enrich::Shared::new(enrich, None).map_err(|e| anyhow::anyhow!("enrich: {e}"))?;
    let mut stage = ParseStage::new(src, &opts).with_enricher(shared.enricher());
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut events: Vec<Encoded> = Vec::new();
    let mut write = |events: &mut Vec<Encoded>| -> io::Result<()> {
        for e in events.drain(..) {
            out.write_all(&e.json)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    };
    let inputs: Vec<Option<&PathBuf>> = if files.is_empty() {
        vec![None]
    } else {
        files.iter().map(Some).collect()
    };
    for input in inputs {
        let mut reader: Box<dyn Read> = match input {
            None => Box::new(io::stdin().lock()),
            Some(p) => Box::new(
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
            ),
        };
        let name = input.map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string());
        let mut framer = Framer::new(src.framing(), 0, 0, max_line);
        let path = input.map_or_else(|| PathBuf::from("<stdin>"), |p| p.to_path_buf());
        loop {
            let n = framer
                .fill(256 * 1024, &mut |buf| reader.read(buf))
                .with_context(|| format!("cannot read {name}"))?;
            if n == 0 {
                // A finished input: its last record needs no terminator.
                framer.end_of_input();
            }
            while let Some(f) = framer.next_frame() {
                if f.cut > 0 {
                    eprintln!(
                        "idlink: {name}: record at byte {} cut to {max_line} bytes",
                        f.start
                    );
                }
                match f.error {
                    Some(reason) => {
                        eprintln!(
                            "idlink: {name}: {} bytes at offset {} are not a record: {reason}",
                            f.end - f.start,
                            f.start
                        );
                        stage.framing_error(&path, f.start, f.end - f.start, reason, &mut events);
                    }
                    None => {
                        stage.decode(&f.data, &mut events);
                    }
                }
            }
            write(&mut events)?;
            if n == 0 {
                break;
            }
        }
    }
    stage.flush(&mut events);
    write(&mut events)?;
    out.flush()?;
    if let Some(p) = stats_path {
        let s = serde_json::to_vec_pretty(&stage.stats())?;
        std::fs::write(p, s).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
