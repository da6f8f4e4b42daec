//! Shared by the `sinks_*` tests: in-process HTTP(S) receivers (hyper 1 on
//! 127.0.0.1:0), event generators, and a harness that runs one configured
//! sink against batches and reports what was acknowledged.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use idlink::acks::{Ledger, SafePoint};
use idlink::event::{Batch, Encoded};

/// A request as the receiver saw it, body decompressed.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: http::HeaderMap,
    /// Decompressed body.
    pub body: Vec<u8>,
    /// Body size on the wire.
    pub wire_len: usize,
}

impl Req {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// What the receiver does with a request.
pub enum Reply {
    /// Answer.
    Status(u16, Vec<(&'static str, String)>, String),
    /// Drop the connection without answering (a reset).
    Reset,
    /// Wait, then do the inner reply.
    After(Duration, Box<Reply>),
}

pub fn ok(body: &str) -> Reply {
    Reply::Status(200, vec![], body.to_string())
}

pub fn status(code: u16, body: &str) -> Reply {
    Reply::Status(code, vec![], body.to_string())
}

pub type Handler = dyn Fn(Req) -> Reply + Send + Sync;

/// A running receiver; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    rt: Option<tokio::runtime::Runtime>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Serve plain HTTP on 127.0.0.1 (port 0: any).
pub fn serve(handler: impl Fn(Req) -> Reply + Send + Sync + 'static) -> Server {
    serve_on(0, None, handler)
}

/// Serve on `port`, over TLS if `tls` is given.
pub fn serve_on(
    port: u16,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: impl Fn(Req) -> Reply + Send + Sync + 'static,
) -> Server {
    try_serve_on(port, tls, Arc::new(handler)).unwrap()
}

/// [`serve_on`], returning the bind error (a port still held by a server
/// that is shutting down) instead of panicking.
pub fn try_serve_on(
    port: u16,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: Arc<Handler>,
) -> std::io::Result<Server> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
    let addr = listener.local_addr()?;
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |r| {
                    let handler = handler.clone();
                    async move { handle(handler, r).await }
                });
                let conn = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(tcp).await {
                            let _ = conn.serve_connection(TokioIo::new(s), svc).await;
                        }
                    }
                    None => {
                        let _ = conn.serve_connection(TokioIo::new(tcp), svc).await;
                    }
                }
            });
        }
    });
    Ok(Server { addr, rt: Some(rt) })
}

/// A receiver that can be stopped (listener and open connections closed:
/// clients get "connection refused") and started again on the same port,
/// with the same handler.
pub struct Restartable {
    port: u16,
    handler: Arc<Handler>,
    server: Option<Server>,
}

impl Restartable {
    /// Start serving plain HTTP on a free port.
    pub fn start(handler: Arc<Handler>) -> Restartable {
        let server = try_serve_on(0, None, handler.clone()).unwrap();
        Restartable {
            port: server.addr.port(),
            handler,
            server: Some(server),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn is_up(&self) -> bool {
        self.server.is_some()
    }

    /// Close the listener and every connection.
    pub fn stop(&mut self) {
        self.server = None;
    }

    /// Serve again on the same port. The old runtime releases the port a
    /// moment after it is dropped, so binding is retried for a while.
    pub fn restart(&mut self) {
        if self.server.is_some() {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match try_serve_on(self.port, None, self.handler.clone()) {
                Ok(s) => {
                    self.server = Some(s);
                    return;
                }
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("cannot listen on port {} again: {e}", self.port),
            }
        }
    }
}

#[derive(Debug)]
struct ResetConnection;
impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reset")
    }
}
impl std::error::Error for ResetConnection {}

async fn handle(
    handler: Arc<Handler>,
    r: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, ResetConnection> {
    let (parts, body) = r.into_parts();
    let raw = body
        .collect()
        .await
        .map_err(|_| ResetConnection)?
        .to_bytes();
    let gz = parts
        .headers
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let body = if gz {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|_| ResetConnection)?;
        out
    } else {
        raw.to_vec()
    };
    let req = Req {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        wire_len: raw.len(),
    };
    let mut reply = handler(req);
    loop {
        match reply {
            Reply::After(d, next) => {
                tokio::time::sleep(d).await;
                reply = *next;
            }
            Reply::Reset => return Err(ResetConnection),
            Reply::Status(code, headers, body) => {
                let mut b = http::Response::builder().status(code);
                for (k, v) in headers {
                    b = b.header(k, v);
                }
                return Ok(b.body(Full::new(Bytes::from(body))).unwrap());
            }
        }
    }
}

/// An OCSF-like event with id `uid`, class `class_uid`, and `pad` bytes of
/// padding.
pub fn event(uid: &str, class_uid: u32, pad: usize) -> Encoded {
    let json = serde_json::json!({
        "class_uid": class_uid,
        "time": 1_767_225_600_123i64,
        "metadata": {"uid": uid, "version": "1.8.0"},
        "message": "x".repeat(pad),
    });
    Encoded {
        json: Bytes::from(serde_json::to_vec(&json).unwrap()),
        class_uid,
        time_ms: 1_767_225_600_123,
    }
}

/// `metadata.uid` of an event document.
pub fn uid_of(v: &serde_json::Value) -> String {
    v["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What a run of one sink produced.
pub struct Outcome {
    /// Delivered offset (one batch = one offset step).
    pub acked: Option<u64>,
    /// A batch failed.
    pub pinned: bool,
    /// `metadata.uid` → dead-letter line.
    pub dead: Vec<serde_json::Value>,
}

impl Outcome {
    pub fn dead_uids(&self) -> BTreeSet<String> {
        self.dead.iter().map(|d| uid_of(&d["event"])).collect()
    }
    pub fn dead_kinds(&self) -> BTreeSet<String> {
        self.dead
            .iter()
            .map(|d| d["kind"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A config with one dummy source (`src`, never run) and the given sink
/// table (`[sinks.out]` …).
pub fn load(dir: &Path, sink_toml: &str) -> idlink::config::Config {
    let text = format!(
        "data_dir = \"{d}/data\"\n[sources.src]\ntype = \"file\"\ninclude = [\"{d}/none.log\"]\nparser = \"postfix\"\n{sink_toml}",
        d = dir.display()
    );
    let p = dir.join("idlink.toml");
    std::fs::write(&p, text).unwrap();
    match idlink::config::load_with_env(&p, &|_| None) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

pub fn dead_letter_path(dir: &Path) -> PathBuf {
    dir.join("dead.ndjson")
}

/// Run sink `out` of `cfg` over `batches` (batch `i` makes offset `i+1`
/// safe), until it has settled everything; stop is requested after
/// `stop_after` (then retries end after `drain`).
pub fn run_sink(
    dir: &Path,
    cfg: &idlink::config::Config,
    batches: Vec<Vec<Encoded>>,
    stop_after: Option<Duration>,
    drain: Duration,
) -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shutdown = Arc::new(AtomicBool::new(false));
    let ctx = idlink::sinks::SinkContext {
        data_dir: &cfg.data_dir,
        runtime: Some(rt.handle()),
        shutdown: shutdown.clone(),
        drain_deadline: drain,
    };
    let (input, handle) = idlink::sinks::start(&cfg.sinks[0], &ctx).unwrap();
    let tx = input.tx;
    let ledger = Ledger::new([]);
    let source: Arc<str> = Arc::from("src");
    if let Some(d) = stop_after {
        let flag = shutdown.clone();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            flag.store(true, std::sync::atomic::Ordering::Release);
        });
    }
    for (i, events) in batches.into_iter().enumerate() {
        let ack = ledger.register(vec![SafePoint {
            file: 1,
            offset: i as u64 + 1,
            state: 0,
        }]);
        tx.blocking_send(Batch {
            source: source.clone(),
            events,
            ack,
        })
        .unwrap();
    }
    drop(tx);
    handle.join();
    rt.shutdown_timeout(Duration::from_secs(1));
    let dead = std::fs::read_to_string(dead_letter_path(dir))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Outcome {
        acked: ledger.acked(1),
        pinned: ledger.is_pinned(),
        dead,
    }
}

/// Common sink keys for fast tests: short backoff and batch timeout,
/// dead letter in `dir`.
pub fn fast_keys(dir: &Path) -> String {
    format!(
        "batch.timeout_secs = 0.05\nrequest.retry_initial_backoff_secs = 0.01\nrequest.retry_max_backoff_secs = 0.1\nrequest.timeout_secs = 5\ndead_letter.path = \"{}\"\n",
        dead_letter_path(dir).display()
    )
}

/// A private CA with a server certificate for `localhost`/127.0.0.1 and a
/// client certificate, generated per test.
pub struct Ca {
    ca_cert: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
    server: (rcgen::Certificate, rcgen::KeyPair),
    client: (rcgen::Certificate, rcgen::KeyPair),
}

impl Ca {
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "idlink test CA");
        let ca_cert = p.self_signed(&ca_key).unwrap();
        let leaf = |names: Vec<String>| {
            let key = rcgen::KeyPair::generate().unwrap();
            let p = rcgen::CertificateParams::new(names).unwrap();
            (p.signed_by(&key, &ca_cert, &ca_key).unwrap(), key)
        };
        let server = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
        let client = leaf(vec!["idlink-agent".into()]);
        Ca {
            ca_cert,
            ca_key,
            server,
            client,
        }
    }

    /// Server TLS config; with `client_auth`, a client certificate from
    /// this CA is required.
    pub fn server_config(&self, client_auth: bool) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let b = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let b = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(self.ca_cert.der().to_vec()))
                .unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            b.with_client_cert_verifier(v)
        } else {
            b.with_no_client_auth()
        };
        let chain = vec![
            CertificateDer::from(self.server.0.der().to_vec()),
            CertificateDer::from(self.ca_cert.der().to_vec()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server.1.serialize_der()));
        Arc::new(b.with_single_cert(chain, key).unwrap())
    }

    /// Write the CA certificate and the client certificate and key as PEM.
    pub fn write_files(&self, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let ca = dir.join("ca.pem");
        let crt = dir.join("client.pem");
        let key = dir.join("client.key");
        std::fs::write(&ca, self.ca_cert.pem()).unwrap();
        std::fs::write(&crt, self.client.0.pem()).unwrap();
        std::fs::write(&key, self.client.1.serialize_pem()).unwrap();
        (ca, crt, key)
    }
}
