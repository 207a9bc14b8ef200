//! `_contained` and `_containedType`: contained resources of served types are searched
//! with `_contained=true` (only them) or `both` (them and stored ones), returned as
//! themselves or as their containers, paged and counted like any search, kept in step with
//! their container's updates and deletion, and reached only through a container the
//! token reaches.

use std::collections::BTreeSet;

use helsebro_blackbox::{json_with_status, on_both_backends, TestServer};
use serde_json::{json, Value};

use crate::observation::link;
use crate::rest::id_of;
use crate::search_depth::{bundle, bundle_as, ids_with_mode, refused};

const HPR: &str = "urn:oid:2.16.578.1.12.4.1.4.4";

fn patient(family: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Test"]}]})
}

/// A heart rate measured by a practitioner known only by name and HPR number, contained.
fn measured_by(patient: &str, family: &str, hpr: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "contained": [{
            "resourceType": "Practitioner",
            "id": "pr1",
            "identifier": [{"system": HPR, "value": hpr}],
            "name": [{"family": family, "given": ["Kari"]}]
        }],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "performer": [{"reference": "#pr1"}],
        "effectiveDateTime": "2026-11-02T08:00:00+01:00",
        "valueQuantity": {"value": 64, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

/// `Type/id` of each entry's resource, and the fullUrl a contained one has.
fn full_urls(b: &Value) -> BTreeSet<String> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["fullUrl"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn url_of(s: &TestServer, path: &str) -> String {
    s.url(path).to_string()
}

on_both_backends!(
    contained_resources_are_found_only_when_asked,
    contained_matches_follow_their_container,
    contained_search_reaches_through_the_container,
    contained_search_refuses_what_it_cannot_answer,
);

async fn contained_resources_are_found_only_when_asked(s: TestServer) {
    let hansen = id_of(&s.create(&patient("Hansen")).await);
    let olsen = id_of(&s.create(&patient("Olsen")).await);
    let by_kontainersen = id_of(
        &s.create(&measured_by(&hansen, "Kontainersen", "9144900"))
            .await,
    );
    let by_other = id_of(
        &s.create(&measured_by(&olsen, "Kontainersen", "9144901"))
            .await,
    );
    let stored = id_of(
        &s.create(&json!({"resourceType": "Practitioner", "name": [{"family": "Kontainersen"}]}))
            .await,
    );
    let name = [("name", "kontainersen")];

    // By default only stored resources are searched.
    let b = bundle(&s, "Practitioner", &name).await;
    assert_eq!(
        ids_with_mode(&b, "match"),
        BTreeSet::from([format!("Practitioner/{stored}")])
    );

    // `true`: the contained ones, as themselves, each addressed inside its container.
    let b = bundle(&s, "Practitioner", &[name[0], ("_contained", "true")]).await;
    assert_eq!(
        full_urls(&b),
        BTreeSet::from([
            format!(
                "{}#pr1",
                url_of(&s, &format!("Observation/{by_kontainersen}"))
            ),
            format!("{}#pr1", url_of(&s, &format!("Observation/{by_other}"))),
        ]),
        "{b}"
    );
    for e in b["entry"].as_array().unwrap() {
        assert_eq!(e["resource"]["resourceType"], "Practitioner", "{e}");
        assert_eq!(e["resource"]["id"], "pr1", "{e}");
        assert_eq!(e["resource"]["name"][0]["family"], "Kontainersen", "{e}");
        assert_eq!(e["search"]["mode"], "match", "{e}");
    }
    assert_eq!(
        b["total"], 2,
        "a first page holding every match states it: {b}"
    );
    let self_link = link(&b, "self").expect("self link");
    assert!(self_link.contains("_contained=true"), "{self_link}");

    // Other parameters of the contained type apply to it: its identifier.
    let b = bundle(
        &s,
        "Practitioner",
        &[
            ("identifier", &format!("{HPR}|9144901")),
            ("_contained", "true"),
        ],
    )
    .await;
    assert_eq!(
        full_urls(&b),
        BTreeSet::from([format!(
            "{}#pr1",
            url_of(&s, &format!("Observation/{by_other}"))
        )])
    );

    // `both`: stored and contained.
    let b = bundle(
        &s,
        "Practitioner",
        &[name[0], ("_contained", "both"), ("_total", "accurate")],
    )
    .await;
    assert_eq!(b["total"], 3, "{b}");
    assert_eq!(full_urls(&b).len(), 3, "{b}");
    assert!(
        full_urls(&b).contains(&url_of(&s, &format!("Practitioner/{stored}"))),
        "{b}"
    );

    // `_containedType=container`: the containers, once each.
    let b = bundle(
        &s,
        "Practitioner",
        &[
            name[0],
            ("_contained", "true"),
            ("_containedType", "container"),
        ],
    )
    .await;
    assert_eq!(
        ids_with_mode(&b, "match"),
        BTreeSet::from([
            format!("Observation/{by_kontainersen}"),
            format!("Observation/{by_other}"),
        ])
    );

    // Paging: one per page, every match once, and counting.
    let b = bundle(
        &s,
        "Practitioner",
        &[
            name[0],
            ("_contained", "true"),
            ("_count", "1"),
            ("_total", "accurate"),
        ],
    )
    .await;
    assert_eq!(b["total"], 2, "{b}");
    let next = link(&b, "next").expect("a second page");
    let second = json_with_status(s.get(&next).await, 200).await;
    let both: BTreeSet<String> = full_urls(&b)
        .into_iter()
        .chain(full_urls(&second))
        .collect();
    assert_eq!(both.len(), 2, "{b} {second}");
    assert!(link(&second, "next").is_none(), "{second}");
    let b = bundle(
        &s,
        "Practitioner",
        &[name[0], ("_contained", "true"), ("_summary", "count")],
    )
    .await;
    assert_eq!(b["total"], 2, "{b}");
}

async fn contained_matches_follow_their_container(s: TestServer) {
    let hansen = id_of(&s.create(&patient("Hansen")).await);
    let first = id_of(
        &s.create(&measured_by(&hansen, "Kontainersen", "9144900"))
            .await,
    );
    let second = id_of(
        &s.create(&measured_by(&hansen, "Kontainersen", "9144901"))
            .await,
    );
    let search = |family: &str| {
        let s = &s;
        let family = family.to_string();
        async move {
            full_urls(
                &bundle(
                    s,
                    "Practitioner",
                    &[("name", family.as_str()), ("_contained", "true")],
                )
                .await,
            )
        }
    };
    assert_eq!(search("kontainersen").await.len(), 2);

    // An update that renames the contained practitioner moves it in the index.
    let mut renamed = measured_by(&hansen, "Omdøpt", "9144900");
    renamed["id"] = json!(first);
    json_with_status(
        s.put_json(&format!("Observation/{first}"), &renamed).await,
        200,
    )
    .await;
    assert_eq!(
        search("kontainersen").await,
        BTreeSet::from([format!(
            "{}#pr1",
            url_of(&s, &format!("Observation/{second}"))
        )])
    );
    assert_eq!(search("omdøpt").await.len(), 1);

    // An update without it, and a deletion, leave nothing behind.
    let mut without = measured_by(&hansen, "Omdøpt", "9144900");
    without["id"] = json!(first);
    without.as_object_mut().unwrap().remove("contained");
    without.as_object_mut().unwrap().remove("performer");
    json_with_status(
        s.put_json(&format!("Observation/{first}"), &without).await,
        200,
    )
    .await;
    assert!(search("omdøpt").await.is_empty());
    assert_eq!(
        s.delete(&format!("Observation/{second}"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert!(search("kontainersen").await.is_empty());
}

async fn contained_search_reaches_through_the_container(s: TestServer) {
    let hansen = id_of(&s.create(&patient("Hansen")).await);
    let olsen = id_of(&s.create(&patient("Olsen")).await);
    let hansens = id_of(
        &s.create(&measured_by(&hansen, "Kontainersen", "9144900"))
            .await,
    );
    id_of(
        &s.create(&measured_by(&olsen, "Kontainersen", "9144901"))
            .await,
    );
    let params = [("name", "kontainersen"), ("_contained", "true")];
    // Hansen's token sees the practitioner contained in Hansen's observation, not the one
    // in Olsen's.
    let token = s.token("patient/*.rs", Some(&hansen)).await;
    let b = bundle_as(&s, &token, "Practitioner", &params).await;
    assert_eq!(
        full_urls(&b),
        BTreeSet::from([format!(
            "{}#pr1",
            url_of(&s, &format!("Observation/{hansens}"))
        )]),
        "{b}"
    );
    // A token that may search practitioners but no container type finds none contained.
    let token = s.token("system/Practitioner.rs", None).await;
    let b = bundle_as(&s, &token, "Practitioner", &params).await;
    assert_eq!(b["resourceType"], "Bundle", "{b}");
    assert!(full_urls(&b).is_empty(), "{b}");
}

async fn contained_search_refuses_what_it_cannot_answer(s: TestServer) {
    for (params, names) in [
        (vec![("_contained", "maybe")], "_contained"),
        (vec![("_containedType", "parent")], "_containedType"),
        (
            vec![
                ("_contained", "true"),
                ("_revinclude", "Patient:general-practitioner"),
            ],
            "_include",
        ),
        (
            vec![
                ("_contained", "true"),
                ("_has:Patient:general-practitioner:name", "x"),
            ],
            "_has",
        ),
        (
            vec![
                ("_contained", "true"),
                ("_containedType", "container"),
                ("_sort", "name"),
            ],
            "_sort",
        ),
    ] {
        let why = refused(&s, "Practitioner", &params, 400).await;
        assert!(why.contains(names), "{params:?}: {why}");
    }
    // `false` is the default, and accepted as such.
    bundle(&s, "Practitioner", &[("_contained", "false")]).await;
}
