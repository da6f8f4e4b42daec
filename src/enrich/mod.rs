//! Entity resolution and risk tags, applied to each OCSF event between
//! mapping and serialisation.
//!
//! - [`canon`]: spellings → canonical keys (no directory needed).
//! - [`identity_map`]: the directory export (aliases, kind, flags), reloaded
//!   when its file changes.
//! - [`entity`]: kinds, UUIDv5 entity ids, the principals an event names.
//! - [`tags`]: the tag table and the stateless rules.
//! - [`correlate`]: the stateful rules, shared by every source of a run.
//!
//! [`Shared`] holds what every source shares (settings, identity map,
//! correlation state); each [`crate::transforms::parse::ParseStage`] gets
//! its own [`Enricher`] from it, with a private cache of resolved entities,
//! so the hot path takes no lock unless the event matters to a stateful
//! rule. The output contract (what is added to an event) is in the README
//! and `docs/enrichment.md`.

pub mod canon;
pub mod correlate;
pub mod entity;
pub mod identity_map;
pub mod tags;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use idlink_parsers::ocsf::write::{Out, WriteJson};
use idlink_parsers::ocsf::{Enrichment, Event, Json};
use uuid::Uuid;

use canon::Canon;
use correlate::{CorrelationConfig, Correlator, Hit, Obs, Profile};
use entity::{Kind, Principal, Role};
use identity_map::{Identity, IdentityMap, MapHandle};
use tags::{Tag, TagCtx, TagSet};

/// The checked `[enrich]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichConfig {
    /// Add entities and tags at all.
    pub enabled: bool,
    /// Tenant name: the namespace of entity ids.
    pub tenant: String,
    /// Organisation mail domains (lower case).
    pub local_domains: Vec<String>,
    /// Alias domain → canonical domain.
    pub domain_aliases: Vec<(String, String)>,
    /// Domains lookalikes are measured against (empty: the local ones).
    pub protected_domains: Vec<String>,
    /// Directory export (CSV or JSON).
    pub identity_map: Option<PathBuf>,
    /// How often the identity map file is checked for changes.
    pub reload_interval: Duration,
    /// How often correlation state is written to disk.
    pub snapshot_interval: Duration,
    /// Windows, thresholds, caps.
    pub correlation: CorrelationConfig,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            enabled: true,
            tenant: "default".into(),
            local_domains: Vec::new(),
            domain_aliases: Vec::new(),
            protected_domains: Vec::new(),
            identity_map: None,
            reload_interval: Duration::from_secs(5),
            snapshot_interval: Duration::from_secs(60),
            correlation: CorrelationConfig::default(),
        }
    }
}

/// Where the correlation snapshot lives under `data_dir`.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("state").join("correlation.json")
}

/// What every stage of one process shares.
#[derive(Debug)]
pub struct Shared {
    cfg: EnrichConfig,
    canon: Canon,
    ns: Uuid,
    protected: Vec<(String, String)>,
    map: MapHandle,
    correlator: Mutex<Correlator>,
    state_path: Option<PathBuf>,
}

impl Shared {
    /// Build from settings; with `state_path`, correlation state is loaded
    /// from there and saved there. Fails when the identity map cannot be
    /// loaded.
    pub fn new(cfg: EnrichConfig, state_path: Option<PathBuf>) -> Result<Arc<Self>, String> {
        let canon = Canon::new(&cfg.domain_aliases, &cfg.local_domains);
        let protected_src: Vec<String> = if cfg.protected_domains.is_empty() {
            canon.local_domains().to_vec()
        } else {
            cfg.protected_domains
                .iter()
                .map(|d| canon.domain(d.trim()).into_owned())
                .collect()
        };
        let protected = protected_src
            .into_iter()
            .map(|d| {
                let sk = tags::skeleton(&d);
                (d, sk)
            })
            .collect();
        let map = MapHandle::new(cfg.identity_map.clone(), canon.clone())?;
        let correlator = match &state_path {
            Some(p) => Correlator::load(cfg.correlation.clone(), p),
            None => Correlator::new(cfg.correlation.clone()),
        };
        Ok(Arc::new(Shared {
            ns: entity::tenant_namespace(&cfg.tenant),
            cfg,
            canon,
            protected,
            map,
            correlator: Mutex::new(correlator),
            state_path,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &EnrichConfig {
        &self.cfg
    }

    /// A per-stage enricher.
    pub fn enricher(self: &Arc<Self>) -> Enricher {
        Enricher {
            shared: self.clone(),
            map: self.map.current(),
            generation: self.map.generation(),
            cache: Default::default(),
            hits: Vec::new(),
            memo: Default::default(),
            scratch: Vec::with_capacity(512),
            found: Vec::new(),
            named: Vec::new(),
        }
    }

    /// Check the identity map file now (also done by the background
    /// thread).
    pub fn reload_map(&self) {
        if let Err(e) = self.map.reload_if_changed() {
            tracing::warn!(error = %e, "identity map not reloaded; the previous one stays in force");
        }
    }

    /// Write the correlation snapshot, if this process keeps one.
    pub fn save_state(&self) -> std::io::Result<()> {
        let Some(p) = &self.state_path else {
            return Ok(());
        };
        let c = self.correlator.lock().unwrap_or_else(|p| p.into_inner());
        c.save(p)
    }

    /// Entities the correlator holds (tests, metrics).
    pub fn correlated_entities(&self) -> usize {
        self.correlator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entities()
    }

    /// A thread that reloads the identity map and snapshots the state on
    /// their intervals until `stop` is set; it then saves once more and
    /// ends with the result of that last save.
    pub fn spawn_background(
        self: &Arc<Self>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<JoinHandle<std::io::Result<()>>> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("enrich".into())
            .spawn(move || {
                let mut last_reload = Instant::now();
                let mut last_save = Instant::now();
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(100));
                    if last_reload.elapsed() >= me.cfg.reload_interval {
                        me.reload_map();
                        last_reload = Instant::now();
                    }
                    if last_save.elapsed() >= me.cfg.snapshot_interval {
                        if let Err(e) = me.save_state() {
                            tracing::warn!(error = %e, "cannot write correlation state");
                        }
                        last_save = Instant::now();
                    }
                }
                me.save_state()
            })
    }
}

/// A resolved entity: a 32-byte copy, its `data` text in its
/// [`EntityCache`].
#[derive(Debug, Clone, Copy)]
struct Resolved {
    id: u128,
    /// Where its text starts in [`EntityCache::text`]: its id spelt out
    /// (36 bytes), then the first member of its `data`,
    /// `{"canonical":"..."` (the canonical key is the directory's id when
    /// it knows the entity), up to `mid`.
    start: u32,
    /// From here to `end`: the members of its `data` that do not depend
    /// on the event, from `,"department":...` (when known) to
    /// `,"privileged":...`.
    mid: u32,
    end: u32,
    kind: Kind,
    profile: Profile,
}

/// Length of a UUID spelt out.
const UUID_LEN: usize = uuid::fmt::Hyphenated::LENGTH;

impl Resolved {
    /// Its label on events: `entity:<entity_id>`.
    fn label(&self, text: &str) -> String {
        let start = self.start as usize;
        let mut l = String::with_capacity(LABEL_PREFIX.len() + UUID_LEN);
        l.push_str(LABEL_PREFIX);
        l.push_str(&text[start..start + UUID_LEN]);
        l
    }

    /// This entity's `enrichments[].data` in one event, as JSON text: its
    /// own members (`canonical`, `department` when known, `entity_id`,
    /// `executive`, `kind`, `known`, `privileged`), its `role` in the
    /// event, and there its `risk` tags and `correlations` (each naming the
    /// rule's tag and the other event). Members in key order, as a
    /// `serde_json::Map` holds them. The members that are the entity's own
    /// were written once, when it was resolved, into `text` (its cache's).
    ///
    /// `o` is scratch space; the text is copied out at its exact length.
    fn data(&self, text: &str, role: Role, tags: &TagSet, hits: &[&Hit], o: &mut Vec<u8>) -> Json {
        let text = text.as_bytes();
        o.clear();
        o.put(&text[self.start as usize + UUID_LEN..self.mid as usize]);
        if !hits.is_empty() {
            o.put(b",\"correlations\":[");
            for (i, h) in hits.iter().enumerate() {
                if i > 0 {
                    o.put_u8(b',');
                }
                o.put(b"{\"related_time\":");
                write_plain(&h.related.time, o);
                if let Some(u) = &h.related.uid {
                    o.put(b",\"related_uid\":");
                    o.put_str(u.text(&mut [0; UUID_LEN]));
                }
                o.put_key_str(false, b"\"tag\":", h.tag.name());
                o.put_u8(b'}');
            }
            o.put_u8(b']');
        }
        o.put(&text[self.mid as usize..self.end as usize]);
        if !tags.is_empty() {
            o.put(b",\"risk\":[");
            for (i, t) in tags.iter().enumerate() {
                if i > 0 {
                    o.put_u8(b',');
                }
                o.put_str(t.name());
            }
            o.put_u8(b']');
        }
        o.put_key_str(false, b"\"role\":", role.as_str());
        o.put_u8(b'}');
        Json::text(text_of(o).into())
    }
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Entries a map of [`EntityCache`] holds before the cache is emptied.
const CACHE_CAP: usize = 8_192;

/// Bytes of entity text [`EntityCache`] holds before it is emptied.
const TEXT_CAP: usize = 4 << 20;

/// The entities one stage has resolved, found by canonical key or by a
/// spelling seen before. Each entity's text lies in one shared buffer, so
/// a cache of thousands of entities is a few allocations, and a lookup
/// reads the map and that buffer.
///
/// It is emptied, whole, only between events ([`EntityCache::make_room`]):
/// the entities of the event at hand point into its text.
#[derive(Debug, Default)]
struct EntityCache {
    /// The text of every entity held, back to back.
    text: String,
    /// Canonical key → entity, by kind hint.
    by_key: [FastMap<String, Resolved>; 4],
    /// Spellings as they appear in events → what they resolved to, by
    /// kind hint and by whether the spelling is only lower-cased (devices,
    /// application ids) or canonicalised as an address: a spelling seen
    /// before skips [`Canon::address`]. Each spelling was resolved
    /// through an entry of `by_key`; the two are emptied together, so a
    /// spelling keeps answering what the keys would.
    by_spelling: [FastMap<Spelling, Resolved>; 8],
}

/// A spelling as a map key: up to [`Spelling::INLINE`] bytes (nearly every
/// address, user id and host name) in the key itself, so that a lookup
/// compares it where it finds it instead of following a pointer to bytes
/// that are seldom in the cache any more.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spelling {
    Inline(u8, [u8; Spelling::INLINE]),
    Heap(Box<[u8]>),
}

impl Spelling {
    const INLINE: usize = 38;

    /// The key for `s`. Which form a spelling takes depends on its length
    /// only, and unused inline bytes are zero, so equal spellings are
    /// equal keys.
    fn new(s: &str) -> Spelling {
        let b = s.as_bytes();
        if b.len() > Spelling::INLINE {
            return Spelling::Heap(b.into());
        }
        let mut bytes = [0; Spelling::INLINE];
        bytes[..b.len()].copy_from_slice(b);
        Spelling::Inline(b.len() as u8, bytes)
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Spelling::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Spelling::Heap(b) => b,
        }
    }
}

// Hashed as its bytes are, so a map of spellings is searched with `&[u8]`.
impl std::hash::Hash for Spelling {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_bytes().hash(h);
    }
}

impl std::borrow::Borrow<[u8]> for Spelling {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl EntityCache {
    /// Empty it.
    fn clear(&mut self) {
        self.text.clear();
        for m in &mut self.by_key {
            m.clear();
        }
        for m in &mut self.by_spelling {
            m.clear();
        }
    }

    /// Empty it if it is full; only between events.
    fn make_room(&mut self) {
        if self.text.len() >= TEXT_CAP
            || self.by_key.iter().any(|m| m.len() >= CACHE_CAP)
            || self.by_spelling.iter().any(|m| m.len() >= CACHE_CAP)
        {
            self.clear();
        }
    }

    /// Add an entity, writing its text; `ident` is what the directory
    /// says of it.
    fn add(&mut self, id: Uuid, kind: Kind, canonical: &str, ident: Option<&Identity>) -> Resolved {
        let mut o = Vec::with_capacity(256);
        let mut buf = [0; UUID_LEN];
        let id_text = id.hyphenated().encode_lower(&mut buf);
        o.put(id_text.as_bytes());
        o.put_u8(b'{');
        o.put_key_str(true, b"\"canonical\":", canonical);
        let mid = o.len();
        if let Some(d) = ident.and_then(|i| i.department.as_deref()) {
            o.put_key_str(false, b"\"department\":", d);
        }
        o.put_key_str(false, b"\"entity_id\":", id_text);
        let (privileged, executive) = ident.map_or((false, false), |i| (i.privileged, i.executive));
        o.put_key(false, b"\"executive\":");
        write_plain(&executive, &mut o);
        o.put_key_str(false, b"\"kind\":", kind.as_str());
        o.put_key(false, b"\"known\":");
        write_plain(&ident.is_some(), &mut o);
        o.put_key(false, b"\"privileged\":");
        write_plain(&privileged, &mut o);
        let start = self.text.len();
        self.text.push_str(text_of(&o));
        let profile = match kind {
            Kind::Service => Profile::Service,
            Kind::Mailbox => Profile::SharedMailbox,
            _ if privileged => Profile::Privileged,
            _ if executive => Profile::Executive,
            _ => Profile::Standard,
        };
        Resolved {
            id: id.as_u128(),
            start: start as u32,
            mid: (start + mid) as u32,
            end: self.text.len() as u32,
            kind,
            profile,
        }
    }
}

/// What an entity's label starts with.
const LABEL_PREFIX: &str = "entity:";

/// Scratch bytes as text. Every piece written above is a JSON literal or
/// went through `put_str`, which writes valid UTF-8 for valid UTF-8 input.
fn text_of(o: &[u8]) -> &str {
    std::str::from_utf8(o).unwrap_or("{}")
}

/// Numbers and booleans cannot fail to write.
fn write_plain<T: WriteJson>(v: &T, o: &mut Vec<u8>) {
    let _ = v.write_json(o);
}

/// Adds entities and tags to events; one per parse stage.
pub struct Enricher {
    shared: Arc<Shared>,
    map: Arc<IdentityMap>,
    generation: u64,
    cache: EntityCache,
    hits: Vec<Hit>,
    memo: std::cell::RefCell<tags::SenderMemo>,
    /// Where each entity's `data` is written before it is copied out.
    scratch: Vec<u8>,
    /// The lists of principals and entities of the event at hand, empty
    /// between events: their memory serves the next event.
    found: Vec<Principal<'static>>,
    named: Vec<Named<'static>>,
}

/// `v`, emptied, as a list of another type of the same size: an in-place
/// `collect` of nothing, which keeps the allocation. Used to carry the
/// memory of a list of borrowed items from one event to the next.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().map(|_| unreachable!("emptied")).collect()
}

struct Named<'a> {
    p: Principal<'a>,
    r: Resolved,
    tags: TagSet,
    hits: Vec<usize>,
}

impl Enricher {
    /// The shared part.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn resolve(&mut self, p: &Principal<'_>) -> Option<Resolved> {
        let canon = &self.shared.canon;
        let lower_only = p.hint == Kind::Device || p.path == "actor.app_uid";
        let memo = p.hint.index() * 2 + usize::from(lower_only);
        // A spelling the directory knows wins; otherwise the first one.
        let mut found: Option<(Resolved, &str)> = None;
        let mut first: Option<(Cow<'_, str>, &str)> = None;
        for k in p.keys.iter().flatten() {
            if let Some(r) = self.cache.by_spelling[memo].get(k.as_bytes()) {
                return Some(*r);
            }
            let key = if lower_only {
                lower(k)
            } else {
                match canon.address(k) {
                    Some(c) => c,
                    None => continue,
                }
            };
            if let Some(r) = self.cache.by_key[p.hint.index()].get(key.as_ref()) {
                found = Some((*r, k));
                break;
            }
            if self.map.get(&key).is_some() {
                found = Some((self.insert(p.hint, key), k));
                break;
            }
            if first.is_none() {
                first = Some((key, k));
            }
        }
        let (r, k) = match found {
            Some(f) => f,
            None => {
                let (key, k) = first?;
                (self.insert(p.hint, key), k)
            }
        };
        self.cache.by_spelling[memo].insert(Spelling::new(k), r);
        Some(r)
    }

    fn insert(&mut self, hint: Kind, key: Cow<'_, str>) -> Resolved {
        let ident = self.map.get(&key);
        let (kind, canonical) = match ident {
            Some(i) => (i.kind, i.id.as_str()),
            None => (hint, key.as_ref()),
        };
        let id = entity::entity_id(&self.shared.ns, kind, canonical);
        let r = self.cache.add(id, kind, canonical, ident);
        self.cache.by_key[hint.index()].insert(key.into_owned(), r);
        r
    }

    /// Add entity enrichments, labels and risk tags to `ev`.
    pub fn enrich(&mut self, ev: &mut Event<'_>) {
        if !self.shared.cfg.enabled {
            return;
        }
        let gen = self.shared.map.generation();
        if gen != self.generation {
            self.map = self.shared.map.current();
            self.generation = gen;
            self.cache.clear();
            // Executives may have changed; sender verdicts do not depend on
            // the map, but a reload is a cheap moment to start afresh.
            *self.memo.borrow_mut() = Default::default();
        }
        self.cache.make_room();
        let mut found: Vec<Principal<'_>> = recycle(std::mem::take(&mut self.found));
        entity::principals(ev, &mut found);
        let mut named: Vec<Named<'_>> = recycle(std::mem::take(&mut self.named));
        for p in found.drain(..) {
            let Some(r) = self.resolve(&p) else { continue };
            if named.iter().any(|n| n.r.id == r.id) {
                continue;
            }
            named.push(Named {
                p,
                r,
                tags: TagSet::default(),
                hits: Vec::new(),
            });
        }
        self.found = recycle(found);
        let cx = TagCtx {
            canon: &self.shared.canon,
            protected: &self.shared.protected,
            map: &self.map,
            memo: &self.memo,
        };
        let mut event_tags = tags::evaluate(ev, &cx);
        let subject = named
            .iter()
            .position(|n| n.p.role == Role::Target && n.r.kind != Kind::Device)
            .or_else(|| named.iter().position(|n| n.p.role == Role::Actor));
        let class = ev.class_uid.unwrap_or(0);
        if class == 3002
            && subject.is_some_and(|i| named[i].r.kind == Kind::Service)
            && matches!(ev.logon_type_id, Some(2 | 10 | 11 | 12))
        {
            event_tags.insert(Tag::ServiceInteractive);
        }
        let malicious = tags::malicious_message(ev);
        if malicious && named.iter().any(|n| n.p.role == Role::Recipient) {
            event_tags.insert(Tag::PhishTarget);
        }
        // Tags on entities: mail verdicts on the sender, phish_target on
        // recipients, identity tags on the subject.
        for t in event_tags.iter() {
            match t {
                Tag::PhishTarget => {
                    for n in named.iter_mut().filter(|n| n.p.role == Role::Recipient) {
                        n.tags.insert(t);
                    }
                }
                Tag::SpfFail
                | Tag::DkimFail
                | Tag::DmarcFail
                | Tag::LookalikeDomain
                | Tag::ExecImpersonation
                | Tag::ExternalSender
                | Tag::ImpersonationLure
                | Tag::MaliciousUrl
                | Tag::MaliciousAttachment
                | Tag::BlockedPhish => {
                    if let Some(n) = named.iter_mut().find(|n| n.p.role == Role::Sender) {
                        n.tags.insert(t);
                    }
                }
                _ => {
                    if let Some(i) = subject {
                        named[i].tags.insert(t);
                    }
                }
            }
        }

        // Stateful rules.
        self.hits.clear();
        let targets: Vec<u128> = if malicious {
            named
                .iter()
                .filter(|n| n.p.role == Role::Recipient)
                .map(|n| n.r.id)
                .collect()
        } else {
            Vec::new()
        };
        let rule = if class == 6003 {
            tags::inbox_rule(ev, &cx)
        } else {
            None
        };
        let consent = tags::is_consent(ev) && ev.activity_id == Some(1);
        let signin = (class == 3002 && ev.activity_id == Some(1)).then_some(());
        let push_denied = event_tags.contains(Tag::MfaPushDenied);
        let mut obs = Obs {
            time: ev.time.unwrap_or(0),
            uid: event_uid(ev),
            phish_targets: &targets,
            ..Default::default()
        };
        if let Some(i) = subject {
            let s = &named[i];
            if signin.is_some() && !push_denied {
                obs.signin = match ev.status_id {
                    Some(1) => Some(true),
                    Some(2) => Some(false),
                    _ => None,
                };
            }
            obs.push_denied = push_denied;
            obs.push_approved = tags::mfa_push_approved(ev);
            obs.sensitive = event_tags.contains(Tag::MfaMethodChange)
                || consent
                || rule.is_some_and(|r| r.any());
            obs.persistence =
                consent || rule.is_some_and(|r| r.external_forward || r.mailbox_forward);
            obs.risky =
                event_tags.contains(Tag::VendorRiskHigh) || event_tags.contains(Tag::NewCountry);
            if obs.signin.is_some() {
                obs.src_ip = ev.src_endpoint.as_deref().and_then(|e| e.ip.as_deref());
                obs.country = tags::country(ev);
                obs.geo = tags::geo(ev);
            }
            if obs.signin.is_some()
                || obs.push_denied
                || obs.push_approved
                || obs.sensitive
                || obs.persistence
            {
                obs.subject = Some((s.r.id, s.r.profile));
            }
        }
        if obs.subject.is_some() || !targets.is_empty() {
            let mut c = self
                .shared
                .correlator
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            c.observe(&obs, &mut self.hits);
        }
        for (hi, h) in self.hits.iter().enumerate() {
            event_tags.insert(h.tag);
            if let Some(n) = named.iter_mut().find(|n| n.r.id == h.entity) {
                n.tags.insert(h.tag);
                n.hits.push(hi);
            }
        }

        if named.is_empty() && event_tags.is_empty() {
            self.named = recycle(named);
            return;
        }
        let meta = ev.meta();
        for n in &named {
            meta.labels.push(Cow::Owned(n.r.label(&self.cache.text)));
        }
        for t in event_tags.iter() {
            meta.labels.push(Cow::Borrowed(t.info().label));
        }
        // At its exact size: `Enrichment` is large, and four of them (the
        // first step of a growing `Vec`) would be a request past malloc's
        // small bins, which makes it consolidate its free lists.
        ev.enrichments.reserve_exact(named.len());
        for n in named.drain(..) {
            let hits: Vec<&Hit> = n.hits.iter().map(|&i| &self.hits[i]).collect();
            let data = n.r.data(
                &self.cache.text,
                n.p.role,
                &n.tags,
                &hits,
                &mut self.scratch,
            );
            ev.enrichments.push(Enrichment {
                name: Some(Cow::Borrowed(n.p.path)),
                value: Some(n.p.raw),
                type_: Some(Cow::Borrowed("entity")),
                provider: Some(Cow::Borrowed("idlink")),
                data: Some(data),
                ..Default::default()
            });
        }
        self.named = recycle(named);
    }
}

/// The id other events refer to this one by.
fn event_uid<'e>(ev: &'e Event<'_>) -> Option<&'e str> {
    let m = ev.metadata.as_deref();
    m.and_then(|m| m.uid.as_deref())
        .or(ev.message_trace_uid.as_deref())
        .or_else(|| m.and_then(|m| m.correlation_uid.as_deref()))
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests;
