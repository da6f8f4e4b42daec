use super::*;

fn sk(d: &str) -> String {
    skeleton(d)
}

#[test]
fn lookalikes_of_a_protected_domain() {
    let p = "corp.example";
    let s = sk(p);
    for d in [
        "c0rp.example",      // digit for letter
        "corp.exarnple",     // rn for m
        "corpp.example",     // one typo
        "corp-example.test", // separator moved, TLD changed
        "corpexample.com",   // separator dropped
    ] {
        assert!(looks_like(d, p, &s), "{d}");
    }
    let cyr = idna::domain_to_ascii("соrp.example").unwrap();
    assert!(cyr.starts_with("xn--"));
    assert!(looks_like(&cyr, p, &s), "{cyr}");
    for d in [
        "corp.example",
        "mail.corp.example",
        "partner.test",
        "example.org",
        "orp.test",
    ] {
        assert!(!looks_like(d, p, &s), "{d}");
    }
}

#[test]
fn high_privilege_scopes() {
    for s in [
        "Mail.Read",
        "https://graph.microsoft.com/Mail.Send",
        "offline_access",
        "full_access_as_app",
    ] {
        assert!(high_scope(s), "{s}");
    }
    for s in ["User.Read", "openid", "profile", "email", ""] {
        assert!(!high_scope(s), "{s}");
    }
}

#[test]
fn tag_table_is_in_enum_order_and_fits_the_set() {
    assert!(TAGS.len() <= 64);
    for (i, t) in TAGS.iter().enumerate() {
        assert_eq!(t.tag as usize, i, "{}", t.name);
        assert_eq!(Tag::from_name(t.name), Some(t.tag));
        assert_eq!(t.label, format!("risk:{}", t.name));
    }
    let mut s = TagSet::default();
    s.insert(Tag::MfaFatigue);
    s.insert(Tag::SpfFail);
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        vec![Tag::SpfFail, Tag::MfaFatigue]
    );
}

#[test]
fn a_set_lists_its_tags_in_table_order() {
    // Every single tag, every pair, and pseudo-random sets, against the
    // table filtered by `contains`.
    let mut sets: Vec<TagSet> = Vec::new();
    for a in TAGS {
        for b in TAGS {
            let mut s = TagSet::default();
            s.insert(a.tag);
            s.insert(b.tag);
            sets.push(s);
        }
    }
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut s = TagSet::default();
        for t in TAGS.iter().filter(|t| x >> (t.tag as u8) & 1 == 1) {
            s.insert(t.tag);
        }
        sets.push(s);
    }
    sets.push(TagSet::default());
    for s in sets {
        let want: Vec<Tag> = TAGS
            .iter()
            .map(|i| i.tag)
            .filter(|t| s.contains(*t))
            .collect();
        assert_eq!(s.iter().collect::<Vec<_>>(), want, "{s:?}");
    }
}
