use super::*;

const T0: i64 = 1_767_000_000_000;

fn fail(c: &mut Correlator, e: u128, t: i64, ip: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    c.observe(
        &Obs {
            time: t,
            subject: Some((e, Profile::Standard)),
            signin: Some(false),
            src_ip: Some(ip),
            ..Default::default()
        },
        &mut out,
    );
    out
}

#[test]
fn gen_map_never_holds_more_than_its_cap() {
    let mut m: GenMap<u128, u8> = GenMap::new(1000);
    for k in 0..100_000u128 {
        *m.entry(k) += 1;
        assert!(m.len() <= 1000);
    }
    // A recently used key survives a generation change.
    let mut m: GenMap<u128, u8> = GenMap::new(10);
    *m.entry(1) = 7;
    for k in 100..104u128 {
        m.entry(k);
    }
    assert_eq!(*m.entry(1), 7);
}

#[test]
fn entity_cap_holds_under_distinct_entities() {
    let cfg = CorrelationConfig {
        max_entities: 5_000,
        max_source_ips: 100,
        ..Default::default()
    };
    let mut c = Correlator::new(cfg);
    for e in 0..50_000u128 {
        fail(
            &mut c,
            e,
            T0 + e as i64,
            &format!("10.0.{}.{}", e % 250, e % 7),
        );
        assert!(c.entities() <= 5_000);
        assert!(c.source_ips() <= 100);
    }
}

#[test]
fn late_events_beyond_the_bound_are_ignored() {
    let mut c = Correlator::new(CorrelationConfig::default());
    fail(&mut c, 1, T0 + 10 * 86_400_000, "10.0.0.1");
    let before = c.entities();
    fail(&mut c, 2, T0, "10.0.0.1");
    assert_eq!(c.entities(), before);
}

#[test]
fn snapshot_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("state").join("correlation.json");
    let mut c = Correlator::new(CorrelationConfig::default());
    for i in 0..4 {
        fail(&mut c, 42, T0 + i, "10.0.0.1");
    }
    c.save(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.starts_with(r#"{"version":"1""#), "{text}");
    let mut back = Correlator::load(CorrelationConfig::default(), &p);
    assert_eq!(back.entities(), 1);
    // The fifth failure after the restart completes a brute force.
    let mut out = Vec::new();
    back.observe(
        &Obs {
            time: T0 + 10,
            subject: Some((42, Profile::Standard)),
            signin: Some(false),
            ..Default::default()
        },
        &mut out,
    );
    back.observe(
        &Obs {
            time: T0 + 20,
            subject: Some((42, Profile::Standard)),
            signin: Some(true),
            ..Default::default()
        },
        &mut out,
    );
    assert!(
        out.iter().any(|h| h.tag == Tag::BruteForceSuccess),
        "{out:?}"
    );
    // A broken snapshot starts empty rather than failing.
    std::fs::write(&p, b"{not json").unwrap();
    assert_eq!(
        Correlator::load(CorrelationConfig::default(), &p).entities(),
        0
    );
}

#[test]
fn haversine_paris_new_york() {
    let d = haversine_km(48.85, 2.35, 40.71, -74.0);
    assert!((5800.0..5900.0).contains(&d), "{d}");
}

#[test]
fn uids_read_back_exactly_and_canonical_uuids_are_inline() {
    let canonical = "bd22f052-680d-4d2b-864c-b1972d4a39e8";
    assert!(matches!(Uid::new(canonical), Uid::Uuid(_)));
    for s in [
        canonical,
        "BD22F052-680D-4D2B-864C-B1972D4A39E8",
        "bd22f052680d4d2b864cb1972d4a39e8",
        "{bd22f052-680d-4d2b-864c-b1972d4a39e8}",
        "urn:uuid:bd22f052-680d-4d2b-864c-b1972d4a39e8",
        "bd22f052-680d-4d2b-864c-b1972d4a39eZ",
        "<20240301.abc@mail.example>",
        "",
        "é",
    ] {
        let u = Uid::new(s);
        assert_eq!(u.to_string(), s);
        assert_eq!(matches!(u, Uid::Uuid(_)), s == canonical, "{s}");
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(json, serde_json::to_string(s).unwrap());
        assert_eq!(serde_json::from_str::<Uid>(&json).unwrap(), u);
    }
    assert!(std::mem::size_of::<Option<Uid>>() <= 24);
}

#[test]
fn country_names_are_shared_and_saved_as_names() {
    let signin = |c: &mut Correlator, e: u128| {
        c.observe(
            &Obs {
                time: T0,
                subject: Some((e, Profile::Standard)),
                signin: Some(true),
                country: Some("Nigeria"),
                ..Default::default()
            },
            &mut Vec::new(),
        )
    };
    let names = |c: &mut Correlator| -> Vec<std::sync::Arc<str>> {
        [1u128, 2]
            .iter()
            .map(|e| c.entities.entry(*e).countries[0].0.clone())
            .collect()
    };
    let mut c = Correlator::new(CorrelationConfig::default());
    signin(&mut c, 1);
    signin(&mut c, 2);
    let n = names(&mut c);
    assert!(std::sync::Arc::ptr_eq(&n[0], &n[1]));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("correlation.json");
    c.save(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(
        text.matches(r#""countries":["Nigeria"]"#).count(),
        2,
        "{text}"
    );
    let mut back = Correlator::load(CorrelationConfig::default(), &p);
    let n = names(&mut back);
    assert_eq!(&*n[0], "Nigeria");
    assert!(std::sync::Arc::ptr_eq(&n[0], &n[1]));
}

#[test]
fn rings_behave_as_separate_bounded_queues() {
    let mut rings = Rings::default();
    let mut model: [VecDeque<Ref>; 8] = Default::default();
    for step in 0..4_000i64 {
        let r = Ring::ALL[((step * 7 + step / 3) % 8) as usize];
        let q = &mut model[r as usize];
        if step % 5 == 0 {
            let horizon = step - 40;
            rings.prune(r, horizon);
            q.retain(|x| x.time >= horizon);
        } else {
            let v = Ref::new(Some(&format!("e{step}")), step);
            rings.push(r, v.clone());
            if q.len() >= r.cap() {
                q.pop_front();
            }
            q.push_back(v);
        }
        for r in Ring::ALL {
            assert!(
                rings.get(r).iter().eq(model[r as usize].iter()),
                "ring {r:?} after step {step}"
            );
        }
    }
}

/// One entity that has been through every ring, as the snapshot holds it.
#[test]
fn snapshot_layout_of_an_entity() {
    let mut c = Correlator::new(CorrelationConfig::default());
    let e = 7;
    let obs = |time, f: &dyn Fn(&mut Obs<'static>)| {
        let mut o = Obs {
            time,
            subject: Some((e, Profile::Standard)),
            ..Default::default()
        };
        f(&mut o);
        o
    };
    let events = [
        obs(T0, &|o| o.phish_targets = &[7]),
        obs(T0 + 1, &|o| o.signin = Some(false)),
        obs(T0 + 2, &|o| {
            o.uid = Some("0f0e0d0c-0b0a-4908-8706-050403020100");
            o.signin = Some(true);
            o.country = Some("Kenya");
            o.geo = Some((-1.28, 36.82));
            o.risky = true;
        }),
        obs(T0 + 3, &|o| o.push_denied = true),
        obs(T0 + 4, &|o| o.push_approved = true),
        obs(T0 + 5, &|o| {
            o.uid = Some("rule-1");
            o.sensitive = true;
            o.persistence = true;
        }),
    ];
    for o in &events {
        c.observe(o, &mut Vec::new());
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("correlation.json");
    c.save(&p).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    let u = "0f0e0d0c-0b0a-4908-8706-050403020100";
    let t = |d: i64| T0 + d;
    assert_eq!(
        v["entities"][0][1].to_string(),
        serde_json::json!({
            "phish": [{"time": t(0)}],
            "sensitive": [{"uid": u, "time": t(2)}, {"uid": "rule-1", "time": t(5)}],
            "denials": [{"time": t(3)}],
            "approvals": [{"time": t(4)}],
            "failures": [{"time": t(1)}],
            "successes": [{"uid": u, "time": t(2)}],
            "countries": ["Kenya"],
            "geos": [{"time": t(2), "lat": -1.28, "lon": 36.82, "uid": u}],
            "risky": [{"uid": u, "time": t(2)}],
            "persistence": [{"uid": "rule-1", "time": t(5)}],
            "burst_at": null,
        })
        .to_string()
    );
    // Read back, it is the same state.
    let back = Correlator::load(CorrelationConfig::default(), &p);
    back.save(&p).unwrap();
    let again: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(again, v);
}

#[test]
fn oversized_rings_in_a_snapshot_keep_their_newest() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("correlation.json");
    let failures: Vec<_> = (0..40)
        .map(|i| serde_json::json!({"time": T0 + i}))
        .collect();
    let snap = serde_json::json!({
        "version": "1",
        "max_time": T0 + 39,
        "entities": [["00000000-0000-0000-0000-000000000007", {"failures": failures}]],
        "ips": [],
    });
    std::fs::write(&p, snap.to_string()).unwrap();
    let mut c = Correlator::load(CorrelationConfig::default(), &p);
    let st = c.entities.entry(7);
    let times: Vec<i64> = st
        .rings
        .get(Ring::Failures)
        .iter()
        .map(|r| r.time)
        .collect();
    let want: Vec<i64> = (8..40).map(|i| T0 + i).collect();
    assert_eq!(times, want);
    assert!(st.rings.get(Ring::Phish).is_empty());
}
