//! Stateful rules: per entity, in event time, with bounded memory.
//!
//! One [`Correlator`] is shared by every source of an `idlink run` (behind a
//! `Mutex`, taken only for events that matter to a rule), so a Defender
//! phish and an Okta sign-in read by two sources meet here.
//!
//! **Arrival order.** Sources interleave arbitrarily; each rule looks both
//! ways in event time, and a correlated tag lands on *whichever event
//! completes the pattern*. If the sign-in arrives first and the phish that
//! precedes it in event time arrives later (within the state's lifetime),
//! the phish event carries `recent_phish_target`, with the sign-in's
//! `metadata.uid` and time in the enrichment (`data.correlations[]`).
//! Events already emitted are never held or rewritten.
//!
//! **Memory.** Entities and source IPs live in two-generation maps: when
//! the young generation reaches half the cap it becomes the old one and
//! the previous old one is dropped, and an entity touched in the old one
//! moves back to the young one (least-recently-used, approximately). So
//! at most `max_entities` entities and `max_source_ips` addresses are held,
//! each with fixed-size rings. State older than the longest window plus the
//! lateness bound (in event time) is ignored and pruned.
//!
//! **Persistence.** [`Correlator::save`] writes a versioned JSON snapshot
//! (tmp → fsync → rename); [`Correlator::load`] reads it at start, so a
//! restart does not forget a phish seen an hour ago.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::tags::Tag;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Whose thresholds apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A standard user.
    Standard = 0,
    /// Holds a privileged role.
    Privileged = 1,
    /// An executive.
    Executive = 2,
    /// A service identity.
    Service = 3,
    /// A shared mailbox.
    SharedMailbox = 4,
}

/// Per-profile thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Failed sign-ins in `failure_window` for `failed_signin_burst`.
    pub failed_signins: u32,
    /// Failed sign-ins before a success for `brute_force_success`.
    pub brute_force_failures: u32,
    /// Push denials before an approval for `mfa_fatigue`.
    pub mfa_push_denials: u32,
}

/// Windows, thresholds and caps.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationConfig {
    /// After a malicious message, how long a sensitive act is
    /// `recent_phish_target` (ms).
    pub phish_window_ms: i64,
    /// Failed sign-in window (burst, brute force) (ms).
    pub failure_window_ms: i64,
    /// Push denials → approval window (ms).
    pub mfa_window_ms: i64,
    /// Password spray window (ms).
    pub spray_window_ms: i64,
    /// Distinct entities failing from one IP for `password_spray`.
    pub spray_min_entities: u32,
    /// Risky sign-in → forwarding/consent window (ms).
    pub forwarding_window_ms: i64,
    /// Speed above which two sign-ins are `impossible_travel` (km/h).
    pub travel_max_kmh: f64,
    /// Distances below this never count (geo-IP noise) (km).
    pub travel_min_km: f64,
    /// How late (event time) an event may arrive and still correlate (ms).
    pub lateness_ms: i64,
    /// Most entities held.
    pub max_entities: usize,
    /// Most source IPs held for spray detection.
    pub max_source_ips: usize,
    /// Thresholds by [`Profile`].
    pub thresholds: [Thresholds; 5],
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        let t = |f, b, m| Thresholds {
            failed_signins: f,
            brute_force_failures: b,
            mfa_push_denials: m,
        };
        CorrelationConfig {
            phish_window_ms: 24 * 3600 * 1000,
            failure_window_ms: 10 * 60 * 1000,
            mfa_window_ms: 10 * 60 * 1000,
            spray_window_ms: 10 * 60 * 1000,
            spray_min_entities: 5,
            forwarding_window_ms: 2 * 3600 * 1000,
            travel_max_kmh: 900.0,
            travel_min_km: 300.0,
            lateness_ms: 15 * 60 * 1000,
            max_entities: 20_000,
            max_source_ips: 10_000,
            thresholds: [
                t(10, 5, 3), // standard
                t(5, 3, 2),  // privileged
                t(5, 3, 2),  // executive
                t(3, 3, 1),  // service: any failure pattern is odd
                t(5, 3, 2),  // shared mailbox: nobody should sign in
            ],
        }
    }
}

/// An event uid as the correlator keeps it. Most sources write UUIDs in
/// their usual spelling (lower-case hex with hyphens); those are kept in 16
/// bytes inline rather than as a string of their own (for a full state,
/// those strings were about half of its memory). Anything else is kept as
/// its text. Either way it reads back (and is saved) exactly as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uid {
    /// A UUID whose text is its lower-case hyphenated form.
    Uuid([u8; 16]),
    /// Any other text.
    Text(Box<str>),
}

/// Room for a UUID's hyphenated text.
pub type UidBuf = [u8; uuid::fmt::Hyphenated::LENGTH];

impl Uid {
    fn new(s: &str) -> Uid {
        if s.len() == uuid::fmt::Hyphenated::LENGTH {
            if let Ok(u) = uuid::Uuid::try_parse(s) {
                let u = Uid::Uuid(*u.as_bytes());
                if u.text(&mut [0; uuid::fmt::Hyphenated::LENGTH]) == s {
                    return u;
                }
            }
        }
        Uid::Text(s.into())
    }

    /// The uid's text, as it came; a UUID is spelt out in `buf`.
    pub fn text<'b>(&'b self, buf: &'b mut UidBuf) -> &'b str {
        match self {
            Uid::Uuid(b) => uuid::Uuid::from_bytes(*b).hyphenated().encode_lower(buf),
            Uid::Text(t) => t,
        }
    }
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text(&mut [0; uuid::fmt::Hyphenated::LENGTH]))
    }
}

impl Serialize for Uid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text(&mut [0; uuid::fmt::Hyphenated::LENGTH]))
    }
}

impl<'de> Deserialize<'de> for Uid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Uid::new(&String::deserialize(d)?))
    }
}

/// A sign-in country. The same few hundred names recur in every entity's
/// window, so the correlator shares one copy of each
/// ([`shared_country`]); the snapshot holds the names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Country(std::sync::Arc<str>);

impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Country(String::deserialize(d)?.into()))
    }
}

/// Distinct country names shared at most; past that, each is its own copy.
const MAX_SHARED_COUNTRIES: usize = 4096;

type CountrySet = std::collections::HashSet<std::sync::Arc<str>, foldhash::fast::RandomState>;

/// `name` as a [`Country`], sharing the copy in `set`.
fn shared_country(set: &mut CountrySet, name: &str) -> Country {
    if let Some(n) = set.get(name) {
        return Country(n.clone());
    }
    let n: std::sync::Arc<str> = name.into();
    if set.len() < MAX_SHARED_COUNTRIES {
        set.insert(n.clone());
    }
    Country(n)
}

/// A related event: its `metadata.uid` and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ref {
    /// `metadata.uid`, if the event had one (cut to 128 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<Uid>,
    /// Event time, epoch ms.
    pub time: i64,
    /// A rule already fired with this event as the completing half.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub used: bool,
}

impl Ref {
    fn new(uid: Option<&str>, time: i64) -> Self {
        Ref {
            uid: uid.map(|u| {
                let mut end = u.len().min(128);
                while !u.is_char_boundary(end) {
                    end -= 1;
                }
                Uid::new(&u[..end])
            }),
            time,
            used: false,
        }
    }
}

/// What one event tells the correlator.
#[derive(Debug, Default)]
pub struct Obs<'x> {
    /// Event time, epoch ms.
    pub time: i64,
    /// `metadata.uid`.
    pub uid: Option<&'x str>,
    /// The entity that signed in or acted, with its profile.
    pub subject: Option<(u128, Profile)>,
    /// A password sign-in: success (true) or failure (false).
    pub signin: Option<bool>,
    /// An MFA push was denied.
    pub push_denied: bool,
    /// An MFA push was approved.
    pub push_approved: bool,
    /// MFA change, consent or inbox rule (sensitive after a phish).
    pub sensitive: bool,
    /// Forwarding rule or OAuth consent (persistence).
    pub persistence: bool,
    /// The sign-in is risky by itself (vendor risk, vendor new country).
    pub risky: bool,
    /// Entities that received or were sent a malicious message.
    pub phish_targets: &'x [u128],
    /// Source IP of a sign-in.
    pub src_ip: Option<&'x str>,
    /// Country of a sign-in.
    pub country: Option<&'x str>,
    /// Latitude, longitude of a sign-in.
    pub geo: Option<(f64, f64)>,
}

/// A correlated tag for one entity of the current event.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The tag.
    pub tag: Tag,
    /// The entity it concerns.
    pub entity: u128,
    /// The other event of the pattern.
    pub related: Ref,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Geo {
    time: i64,
    lat: f64,
    lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<Uid>,
}

/// The rings of [`Ref`]s each entity keeps, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ring {
    /// Malicious messages it received or sent.
    Phish,
    /// Sign-ins and sensitive acts (after a phish, they are the risk).
    Sensitive,
    /// MFA pushes it denied.
    Denials,
    /// MFA pushes it approved.
    Approvals,
    /// Failed sign-ins.
    Failures,
    /// Successful sign-ins.
    Successes,
    /// Risky sign-ins.
    Risky,
    /// Forwarding rules and consents.
    Persistence,
}

impl Ring {
    /// In the order they lie in [`Rings`] and in the snapshot.
    const ALL: [Ring; 8] = [
        Ring::Phish,
        Ring::Sensitive,
        Ring::Denials,
        Ring::Approvals,
        Ring::Failures,
        Ring::Successes,
        Ring::Risky,
        Ring::Persistence,
    ];

    /// Capacity (fixed: an entity's state never grows past it).
    const fn cap(self) -> usize {
        match self {
            Ring::Phish => 4,
            Ring::Sensitive => 8,
            Ring::Denials => 16,
            Ring::Approvals => 4,
            Ring::Failures => 32,
            Ring::Successes => 4,
            Ring::Risky => 4,
            Ring::Persistence => 4,
        }
    }
}

/// Items a full [`Rings`] buffer grows by.
const GROWTH: usize = 4;

const COUNTRIES: usize = 16;
const GEOS: usize = 4;
const SPRAY_ENTRIES: usize = 64;

/// An entity's rings of [`Ref`]s in one buffer: ring `r` is the
/// `lens[r]` items after those of the rings before it. One event reads
/// and writes several rings of one entity; lying together, they are one
/// allocation and a few neighbouring cache lines rather than one of each
/// per ring.
#[derive(Debug, Clone, Default)]
struct Rings {
    items: Vec<Ref>,
    lens: [u8; 8],
}

impl Rings {
    fn span(&self, r: Ring) -> std::ops::Range<usize> {
        let i = r as usize;
        let start = self.lens[..i]
            .iter()
            .map(|&l| usize::from(l))
            .sum::<usize>();
        start..start + usize::from(self.lens[i])
    }

    fn get(&self, r: Ring) -> &[Ref] {
        &self.items[self.span(r)]
    }

    fn get_mut(&mut self, r: Ring) -> &mut [Ref] {
        let s = self.span(r);
        &mut self.items[s]
    }

    /// Append to `r`, dropping its oldest item when it is full.
    fn push(&mut self, r: Ring, v: Ref) {
        let s = self.span(r);
        if s.len() >= r.cap() {
            let ring = &mut self.items[s];
            ring.rotate_left(1);
            if let Some(last) = ring.last_mut() {
                *last = v;
            }
        } else {
            // Grown a few items at a time: thousands of entities each
            // holding a buffer doubled past what it needs add up.
            if self.items.len() == self.items.capacity() {
                self.items.reserve_exact(GROWTH);
            }
            self.items.insert(s.end, v);
            self.lens[r as usize] += 1;
        }
    }

    /// Drop the items of `r` older than `horizon`.
    fn prune(&mut self, r: Ring, horizon: i64) {
        let s = self.span(r);
        let mut kept = s.start;
        for i in s.clone() {
            if self.items[i].time >= horizon {
                self.items.swap(kept, i);
                kept += 1;
            }
        }
        if kept < s.end {
            self.items.drain(kept..s.end);
            self.lens[r as usize] = (kept - s.start) as u8;
        }
    }

    /// Items of `r` from `from` to `to` (event time, inclusive).
    fn count(&self, r: Ring, from: i64, to: i64) -> usize {
        self.get(r)
            .iter()
            .filter(|x| x.time >= from && x.time <= to)
            .count()
    }
}

#[derive(Debug, Clone, Default)]
struct EntityState {
    rings: Rings,
    countries: Vec<Country>,
    geos: Vec<Geo>,
    burst_at: Option<i64>,
}

/// The snapshot's form of an [`EntityState`], for both directions: a list
/// per ring (`R`: borrowed when written, owned when read), in the field
/// order of snapshot version 1.
#[derive(Serialize, Deserialize)]
struct EntitySnapshot<R, C, G> {
    #[serde(default)]
    phish: R,
    #[serde(default)]
    sensitive: R,
    #[serde(default)]
    denials: R,
    #[serde(default)]
    approvals: R,
    #[serde(default)]
    failures: R,
    #[serde(default)]
    successes: R,
    #[serde(default)]
    countries: C,
    #[serde(default)]
    geos: G,
    #[serde(default)]
    risky: R,
    #[serde(default)]
    persistence: R,
    #[serde(default)]
    burst_at: Option<i64>,
}

impl Serialize for EntityState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = |r| self.rings.get(r);
        EntitySnapshot {
            phish: g(Ring::Phish),
            sensitive: g(Ring::Sensitive),
            denials: g(Ring::Denials),
            approvals: g(Ring::Approvals),
            failures: g(Ring::Failures),
            successes: g(Ring::Successes),
            countries: &self.countries,
            geos: &self.geos,
            risky: g(Ring::Risky),
            persistence: g(Ring::Persistence),
            burst_at: self.burst_at,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for EntityState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let l = EntitySnapshot::<Vec<Ref>, Vec<Country>, Vec<Geo>>::deserialize(d)?;
        let mut st = EntityState {
            countries: newest(l.countries, COUNTRIES),
            geos: newest(l.geos, GEOS),
            burst_at: l.burst_at,
            ..Default::default()
        };
        let lists = [
            l.phish,
            l.sensitive,
            l.denials,
            l.approvals,
            l.failures,
            l.successes,
            l.risky,
            l.persistence,
        ];
        for (r, list) in Ring::ALL.into_iter().zip(lists) {
            for x in newest(list, r.cap()) {
                st.rings.push(r, x);
            }
        }
        Ok(st)
    }
}

/// The last `cap` items of `v` (a snapshot written with larger rings).
fn newest<T>(mut v: Vec<T>, cap: usize) -> Vec<T> {
    if v.len() > cap {
        v.drain(..v.len() - cap);
    }
    v
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SprayState {
    entries: VecDeque<(u128, i64)>,
    fired_at: Option<i64>,
}

/// Append to a ring of `cap` items kept as a `Vec`, oldest first.
fn push<T>(q: &mut Vec<T>, cap: usize, v: T) {
    if q.len() >= cap {
        q.remove(0);
    }
    q.push(v);
}

/// A map that holds at most `cap` keys: two generations, see the module
/// documentation.
#[derive(Debug)]
pub struct GenMap<K, V> {
    young: FastMap<K, V>,
    old: FastMap<K, V>,
    cap: usize,
}

impl<K: Hash + Eq + Copy, V: Default> GenMap<K, V> {
    /// An empty map for at most `cap` keys (at least 2).
    pub fn new(cap: usize) -> Self {
        GenMap {
            young: FastMap::default(),
            old: FastMap::default(),
            cap: cap.max(2),
        }
    }

    /// The value of `k`, created (or moved back to the young generation).
    pub fn entry(&mut self, k: K) -> &mut V {
        // A full young generation turns old before a new key comes in; a
        // key already young is found with one probe.
        if self.young.len() >= self.cap / 2 && !self.young.contains_key(&k) {
            let v = self.old.remove(&k).unwrap_or_default();
            self.old = std::mem::take(&mut self.young);
            return self.young.entry(k).or_insert(v);
        }
        match self.young.entry(k) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.old.remove(&k).unwrap_or_default())
            }
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.old.iter().chain(self.young.iter())
    }
}

/// The shared correlation state.
#[derive(Debug)]
pub struct Correlator {
    cfg: CorrelationConfig,
    /// Held in the table itself (96 bytes a slot): finding an entity and
    /// reaching its rings is then two memory reads, not three.
    entities: GenMap<u128, EntityState>,
    ips: GenMap<u64, SprayState>,
    max_time: i64,
    ip_hasher: foldhash::fast::FixedState,
    /// The shared country names.
    countries: CountrySet,
}

/// Snapshot on disk. `version` says the layout; a reader refuses versions
/// it does not know (and starts empty) rather than misreading them.
#[derive(Deserialize)]
struct Snapshot {
    version: String,
    max_time: i64,
    entities: Vec<(String, EntityState)>,
    ips: Vec<(u64, SprayState)>,
}

/// [`Snapshot`] as it is written: borrowing the live state, which can be
/// tens of megabytes, rather than copying it.
#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: &'a str,
    max_time: i64,
    entities: Vec<(Uid, &'a EntityState)>,
    ips: Vec<(u64, &'a SprayState)>,
}

/// The snapshot layout this build writes.
const SNAPSHOT_VERSION: &str = "1";

impl Correlator {
    /// Empty state.
    pub fn new(cfg: CorrelationConfig) -> Self {
        Correlator {
            entities: GenMap::new(cfg.max_entities),
            ips: GenMap::new(cfg.max_source_ips),
            cfg,
            max_time: i64::MIN,
            ip_hasher: foldhash::fast::FixedState::with_seed(0x001d_114b),
            countries: Default::default(),
        }
    }

    /// Entities held.
    pub fn entities(&self) -> usize {
        self.entities.len()
    }

    /// Source IPs held.
    pub fn source_ips(&self) -> usize {
        self.ips.len()
    }

    /// The settings.
    pub fn config(&self) -> &CorrelationConfig {
        &self.cfg
    }

    fn horizon(&self) -> i64 {
        let c = &self.cfg;
        let longest = c
            .phish_window_ms
            .max(c.failure_window_ms)
            .max(c.mfa_window_ms)
            .max(c.spray_window_ms)
            .max(c.forwarding_window_ms);
        self.max_time.saturating_sub(longest + c.lateness_ms)
    }

    /// Feed one event; correlated tags go to `out`.
    pub fn observe(&mut self, o: &Obs<'_>, out: &mut Vec<Hit>) {
        let t = o.time;
        // An event far older than everything seen is past the lateness
        // bound: it neither fires nor is recorded.
        if self.max_time != i64::MIN
            && t < self
                .max_time
                .saturating_sub(self.cfg.lateness_ms + self.cfg.phish_window_ms)
        {
            return;
        }
        self.max_time = self.max_time.max(t);
        let horizon = self.horizon();
        let cfg = self.cfg.clone();
        let me = Ref::new(o.uid, t);

        for &target in o.phish_targets {
            let st = &mut self.entities.entry(target).rings;
            st.prune(Ring::Phish, horizon);
            for s in st.get(Ring::Sensitive) {
                if s.time >= t && s.time - t <= cfg.phish_window_ms {
                    out.push(hit(Tag::RecentPhishTarget, target, s));
                }
            }
            st.push(Ring::Phish, me.clone());
        }

        let Some((e, profile)) = o.subject else {
            return;
        };
        let th = cfg.thresholds[profile as usize];
        let spray_ip = match (o.signin, o.src_ip) {
            (Some(false), Some(ip)) => Some(self.ip_hasher.hash_one(ip)),
            _ => None,
        };
        let st = self.entities.entry(e);
        let mut risky = o.risky && o.signin == Some(true);
        let recent_phish = |st: &Rings, out: &mut Vec<Hit>| {
            for p in st.get(Ring::Phish) {
                if p.time <= t && t - p.time <= cfg.phish_window_ms {
                    out.push(hit(Tag::RecentPhishTarget, e, p));
                }
            }
        };
        match o.signin {
            Some(false) => {
                st.rings.prune(Ring::Failures, horizon);
                st.rings.push(Ring::Failures, me.clone());
                let n = st.rings.count(Ring::Failures, t - cfg.failure_window_ms, t);
                let fired_lately = st
                    .burst_at
                    .is_some_and(|b| (t - b).abs() <= cfg.failure_window_ms);
                if n >= th.failed_signins as usize && !fired_lately {
                    st.burst_at = Some(t);
                    if let Some(first) = st
                        .rings
                        .get(Ring::Failures)
                        .iter()
                        .find(|f| f.time >= t - cfg.failure_window_ms)
                    {
                        out.push(hit(Tag::FailedSigninBurst, e, first));
                    }
                }
                // A success seen before these failures arrived.
                for i in 0..st.rings.get(Ring::Successes).len() {
                    let s = &st.rings.get(Ring::Successes)[i];
                    if !s.used && s.time >= t && s.time - t <= cfg.failure_window_ms {
                        let n =
                            st.rings
                                .count(Ring::Failures, s.time - cfg.failure_window_ms, s.time);
                        if n >= th.brute_force_failures as usize {
                            let s = &mut st.rings.get_mut(Ring::Successes)[i];
                            s.used = true;
                            out.push(hit(Tag::BruteForceSuccess, e, s));
                        }
                    }
                }
            }
            Some(true) => {
                let prev_success = st.rings.get(Ring::Successes).last().cloned();
                let n = st.rings.count(Ring::Failures, t - cfg.failure_window_ms, t);
                let mut s = me.clone();
                if n >= th.brute_force_failures as usize {
                    if let Some(last) = st
                        .rings
                        .get(Ring::Failures)
                        .iter()
                        .filter(|f| f.time <= t)
                        .max_by_key(|f| f.time)
                    {
                        out.push(hit(Tag::BruteForceSuccess, e, last));
                        s.used = true;
                    }
                }
                st.rings.push(Ring::Successes, s);
                if let Some(c) = o.country {
                    let known = st.countries.iter().any(|k| k.0.eq_ignore_ascii_case(c));
                    if !known {
                        if !st.countries.is_empty() {
                            risky = true;
                            let prev = prev_success.clone().unwrap_or_else(|| me.clone());
                            out.push(hit(Tag::NewCountry, e, &prev));
                        }
                        let name = shared_country(&mut self.countries, c);
                        push(&mut st.countries, COUNTRIES, name);
                    }
                }
                if let Some((lat, lon)) = o.geo {
                    for g in st.geos.iter() {
                        let km = haversine_km(lat, lon, g.lat, g.lon);
                        if km < cfg.travel_min_km {
                            continue;
                        }
                        let hours = (t - g.time).abs() as f64 / 3_600_000.0;
                        if hours == 0.0 || km / hours > cfg.travel_max_kmh {
                            risky = true;
                            out.push(Hit {
                                tag: Tag::ImpossibleTravel,
                                entity: e,
                                related: Ref {
                                    uid: g.uid.clone(),
                                    time: g.time,
                                    used: false,
                                },
                            });
                            break;
                        }
                    }
                    push(
                        &mut st.geos,
                        GEOS,
                        Geo {
                            time: t,
                            lat,
                            lon,
                            uid: me.uid.clone(),
                        },
                    );
                }
                recent_phish(&st.rings, out);
                st.rings.prune(Ring::Sensitive, horizon);
                st.rings.push(Ring::Sensitive, me.clone());
            }
            None => {}
        }
        if o.push_approved {
            let n = st.rings.count(Ring::Denials, t - cfg.mfa_window_ms, t);
            let mut a = me.clone();
            if n >= th.mfa_push_denials as usize {
                if let Some(last) = st
                    .rings
                    .get(Ring::Denials)
                    .iter()
                    .filter(|d| d.time <= t)
                    .max_by_key(|d| d.time)
                {
                    out.push(hit(Tag::MfaFatigue, e, last));
                    a.used = true;
                }
            }
            st.rings.push(Ring::Approvals, a);
        }
        if o.push_denied {
            st.rings.prune(Ring::Denials, horizon);
            st.rings.push(Ring::Denials, me.clone());
            for i in 0..st.rings.get(Ring::Approvals).len() {
                let a = &st.rings.get(Ring::Approvals)[i];
                if !a.used && a.time >= t && a.time - t <= cfg.mfa_window_ms {
                    let n = st
                        .rings
                        .count(Ring::Denials, a.time - cfg.mfa_window_ms, a.time);
                    if n >= th.mfa_push_denials as usize {
                        let a = &mut st.rings.get_mut(Ring::Approvals)[i];
                        a.used = true;
                        out.push(hit(Tag::MfaFatigue, e, a));
                    }
                }
            }
        }
        if o.sensitive && o.signin.is_none() {
            recent_phish(&st.rings, out);
            st.rings.prune(Ring::Sensitive, horizon);
            st.rings.push(Ring::Sensitive, me.clone());
        }
        if risky {
            for p in st.rings.get(Ring::Persistence) {
                if p.time >= t && p.time - t <= cfg.forwarding_window_ms {
                    out.push(hit(Tag::ForwardingAfterRiskySignin, e, p));
                }
            }
            st.rings.prune(Ring::Risky, horizon);
            st.rings.push(Ring::Risky, me.clone());
        }
        if o.persistence {
            for r in st.rings.get(Ring::Risky) {
                if r.time <= t && t - r.time <= cfg.forwarding_window_ms {
                    out.push(hit(Tag::ForwardingAfterRiskySignin, e, r));
                }
            }
            st.rings.prune(Ring::Persistence, horizon);
            st.rings.push(Ring::Persistence, me.clone());
        }
        if let Some(ip) = spray_ip {
            let sp = self.ips.entry(ip);
            sp.entries.retain(|(_, ft)| *ft >= horizon);
            if sp.entries.len() >= SPRAY_ENTRIES {
                sp.entries.pop_front();
            }
            sp.entries.push_back((e, t));
            let w = cfg.spray_window_ms;
            let mut distinct: Vec<u128> = sp
                .entries
                .iter()
                .filter(|(_, ft)| (ft - t).abs() <= w)
                .map(|(x, _)| *x)
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            let fired_lately = sp.fired_at.is_some_and(|f| (t - f).abs() <= w);
            if distinct.len() >= cfg.spray_min_entities as usize && !fired_lately {
                sp.fired_at = Some(t);
                let first = sp
                    .entries
                    .iter()
                    .filter(|(_, ft)| (ft - t).abs() <= w)
                    .min_by_key(|(_, ft)| *ft)
                    .map_or(t, |(_, ft)| *ft);
                out.push(Hit {
                    tag: Tag::PasswordSpray,
                    entity: e,
                    related: Ref {
                        uid: None,
                        time: first,
                        used: false,
                    },
                });
            }
        }
    }

    /// Write the state to `path` (tmp → fsync → rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let snap = SnapshotRef {
            version: SNAPSHOT_VERSION,
            max_time: self.max_time,
            entities: self
                .entities
                .iter()
                .map(|(k, v)| (Uid::Uuid(uuid::Uuid::from_u128(*k).into_bytes()), v))
                .collect(),
            ips: self.ips.iter().map(|(k, v)| (*k, v)).collect(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        {
            let mut f = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(&tmp)?);
            serde_json::to_writer(&mut f, &snap)?;
            f.flush()?;
            f.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// State from `path`, or empty when there is none. A snapshot that
    /// cannot be read is logged and ignored (the agent starts fresh rather
    /// than not at all).
    pub fn load(cfg: CorrelationConfig, path: &Path) -> Self {
        let mut c = Correlator::new(cfg);
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return c,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read correlation state; starting empty");
                return c;
            }
        };
        match serde_json::from_slice::<Snapshot>(&bytes) {
            Ok(snap) if snap.version != SNAPSHOT_VERSION => {
                tracing::warn!(path = %path.display(), version = %snap.version,
                    "correlation state has an unknown version; starting empty");
            }
            Ok(Snapshot {
                max_time,
                entities,
                ips,
                ..
            }) => {
                c.max_time = max_time;
                for (k, mut v) in entities {
                    for country in v.countries.iter_mut() {
                        *country = shared_country(&mut c.countries, &country.0);
                    }
                    if let Ok(id) = uuid::Uuid::parse_str(&k) {
                        *c.entities.entry(id.as_u128()) = v;
                    }
                }
                for (k, v) in ips {
                    *c.ips.entry(k) = v;
                }
                tracing::info!(path = %path.display(), entities = c.entities.len(), "correlation state loaded");
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "correlation state unreadable; starting empty");
            }
        }
        c
    }
}

fn hit(tag: Tag, entity: u128, r: &Ref) -> Hit {
    Hit {
        tag,
        entity,
        related: Ref {
            uid: r.uid.clone(),
            time: r.time,
            used: false,
        },
    }
}

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    // The same place again (the usual case for one entity) is 0 km away,
    // as the formula gives exactly, without the trigonometry.
    if (lat1, lon1) == (lat2, lon2) {
        return 0.0;
    }
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

#[cfg(test)]
mod tests;
