use serde_json::{json, Value};

use super::*;

fn ns() -> Namespaces {
    let mut ns = Namespaces::default();
    ns.declare("example", "http://ns.example.com/epcis/");
    ns
}

fn parse(pairs: &[(&str, &str)]) -> Result<Query, QueryError> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Query::parse(
        &pairs,
        &ns(),
        &IdentifierForms::new(["https://id.example.cn/"]),
    )
}

fn sensor_event() -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2019-10-07T15:00:00.000+01:00",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4023333.002000.2019-10-07", "quantity": 150, "uom": "KGM"}],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"}],
        "persistentDisposition": {"set": ["completeness_verified"]},
        "ilmd": {"example:bestBefore": "2020-01-01", "example:grade": 3},
        "example:note": {"example:inner": "deep"},
        "sensorElementList": [{
            "sensorMetadata": {"startTime": "2019-04-01T15:00:00.000+01:00", "deviceID": "urn:epc:id:giai:4000001.111"},
            "sensorReport": [
                {"type": "Temperature", "minValue": 12.4, "maxValue": 13.8, "uom": "CEL", "percRank": 50},
                {"type": "example:someSensorProperty", "stringValue": "someSensorOutput"}
            ]
        }]
    })
}

fn holds(pairs: &[(&str, &str)]) -> bool {
    parse(pairs).unwrap().matches(&sensor_event(), &ns())
}

#[test]
fn indexed_parameters_are_normalised() {
    let q = parse(&[
        ("eventType", "ObjectEvent|AggregationEvent"),
        ("EQ_bizStep", "shipping"),
        ("EQ_bizStep", "urn:epcglobal:cbv:bizstep:receiving"),
        ("GE_eventTime", "2026-03-01T08:00:00+08:00"),
        (
            "MATCH_anyEPC",
            "hdl:88.118.8/GBX-1,https://id.example.cn/88.118.8/gbx-2",
        ),
        ("EQ_readPoint", "urn:epc:id:sgln:0614141.00777.0"),
        ("orderBy", "recordTime"),
        ("orderDirection", "DESC"),
        ("perPage", "50"),
    ])
    .unwrap();
    assert_eq!(q.event_types, ["ObjectEvent", "AggregationEvent"]);
    assert_eq!(
        q.biz_steps,
        [
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "https://ref.gs1.org/cbv/BizStep-receiving"
        ]
    );
    assert_eq!(q.ge_event_time, Some(1_772_323_200_000));
    assert_eq!(q.keys[0].1, ["hdl:88.118.8/gbx-1", "hdl:88.118.8/gbx-2"]);
    assert_eq!(q.read_points, ["https://id.gs1.org/414/0614141007776"]);
    assert_eq!(
        (q.order_by, q.descending, q.per_page),
        (OrderBy::RecordTime, true, Some(50))
    );
    // A `+` in an offset arrives as a space when the client did not encode it.
    let q = parse(&[("LT_eventTime", "2026-03-01T08:00:00 08:00")]).unwrap();
    assert_eq!(q.lt_event_time, Some(1_772_323_200_000));
}

#[test]
fn bad_parameters_are_refused_by_name() {
    for (pairs, says) in [
        (
            vec![("EQ_nonsense", "x")],
            "unknown query parameter EQ_nonsense",
        ),
        (vec![("colour", "red")], "unknown query parameter colour"),
        (
            vec![("GE_eventTime", "yesterday")],
            "GE_eventTime: not an RFC 3339",
        ),
        (vec![("eventType", "PartyEvent")], "eventType: unknown type"),
        (vec![("EQ_action", "MOVE")], "EQ_action: MOVE"),
        (vec![("orderBy", "colour")], "orderBy"),
        (vec![("perPage", "0")], "perPage: a positive integer"),
        (
            vec![("EQ_other:field", "1")],
            "prefix other is not declared",
        ),
        (
            vec![
                ("GE_eventTime", "2020-01-01T00:00:00Z"),
                ("GE_eventTime", "2021-01-01T00:00:00Z"),
            ],
            "given twice",
        ),
        (
            vec![("eventCountLimit", "1"), ("maxEventCount", "1")],
            "exclude each other",
        ),
    ] {
        let e = parse(&pairs).unwrap_err();
        assert!(e.0.contains(says), "{pairs:?}: {e}");
    }
}

#[test]
fn body_conditions_match_as_the_standard_says() {
    for (pairs, expected) in [
        (vec![("EQ_quantity", "150")], true),
        (vec![("GT_quantity", "150")], false),
        (vec![("GE_quantity_KGM", "150")], true),
        (vec![("GE_quantity_LBR", "150")], false),
        (
            vec![("EQ_persistentDisposition_set", "completeness_verified")],
            true,
        ),
        (
            vec![("EQ_persistentDisposition_unset", "completeness_verified")],
            false,
        ),
        (
            vec![(
                "EQ_bizTransaction_po",
                "urn:epcglobal:cbv:bt:0614141073467:1152",
            )],
            true,
        ),
        (
            vec![(
                "EQ_bizTransaction_inv",
                "urn:epcglobal:cbv:bt:0614141073467:1152",
            )],
            false,
        ),
        (vec![("EXISTS_sensorElementList", "")], true),
        (vec![("GE_startTime", "2019-04-01T14:00:00Z")], true),
        (vec![("LT_startTime", "2019-04-01T14:00:00Z")], false),
        (vec![("EQ_type", "Temperature")], true),
        (vec![("GE_maxValue_CEL", "13.8")], true),
        (vec![("GT_maxValue_CEL", "13.8")], false),
        (vec![("GE_maxValue_FAR", "1")], false),
        (vec![("EQ_deviceID", "urn:epc:id:giai:4000001.111")], true),
        (vec![("EQ_stringValue", "someSensorOutput")], true),
        (vec![("GE_percRank", "50")], true),
        (vec![("EQ_ILMD_example:bestBefore", "2020-01-01")], true),
        (vec![("GT_ILMD_example:grade", "2")], true),
        (vec![("LT_ILMD_example:grade", "2")], false),
        (vec![("EXISTS_example:note", "")], true),
        (vec![("EQ_INNER_example:inner", "deep")], true),
        (vec![("EQ_example:inner", "deep")], false),
        (vec![("EXISTS_ILMD_example:missing", "")], false),
        (vec![("HASATTR_example:colour", "x")], false),
        (vec![("EQ_errorReason", "incorrect_data")], false),
    ] {
        assert_eq!(holds(&pairs), expected, "{pairs:?}");
    }
}

#[test]
fn definitions_become_pairs() {
    let d = json!({"eventType": ["ObjectEvent", "AggregationEvent"], "eventCountLimit": 5, "EXISTS_errorDeclaration": true, "GE_eventTime": "2020-01-01T00:00:00Z"});
    let pairs = Query::definition_pairs(&d).unwrap();
    let q = Query::parse(
        &pairs,
        &ns(),
        &IdentifierForms::new(["https://id.example.cn/"]),
    )
    .unwrap();
    assert_eq!(q.event_types, ["ObjectEvent", "AggregationEvent"]);
    assert_eq!(q.event_count_limit, Some(5));
    assert_eq!(q.declares_error, Some(true));
    assert!(q.ge_event_time.is_some());
    // Not an object, a nested value, an array for a single-valued parameter, transport.
    for bad in [
        json!(["eventType"]),
        json!({"eventType": [["ObjectEvent"]]}),
        json!({"GE_eventTime": ["2020-01-01T00:00:00Z"]}),
        json!({"perPage": 3}),
        json!({"nextPageToken": "x"}),
    ] {
        assert!(Query::definition_pairs(&bad).is_err(), "{bad}");
    }
}
