use serde_json::json;

use super::*;

#[test]
fn timestamps_are_utc_milliseconds_rounded_half_up() {
    for (given, canonical) in [
        ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),
        ("2005-04-03T20:33:31.116-06:00", "2005-04-04T02:33:31.116Z"),
        ("2019-04-02T13:05:00Z", "2019-04-02T13:05:00.000Z"),
        ("2019-12-31T23:59:59.9996Z", "2020-01-01T00:00:00.000Z"),
    ] {
        assert_eq!(timestamp(given).as_deref(), Some(canonical), "{given}");
    }
    assert_eq!(timestamp("yesterday"), None);
    // Past the last representable millisecond, or out of range in UTC: kept as written.
    assert_eq!(timestamp("9999-12-31T23:59:59.9999Z"), None);
    assert_eq!(timestamp("9999-12-31T23:00:00-05:00"), None);
}

#[test]
fn numbers_lose_trailing_zeros() {
    assert_eq!(number("1.0").as_deref(), Some("1"));
    assert_eq!(number("0.3400").as_deref(), Some("0.34"));
    assert_eq!(number("200").as_deref(), Some("200"));
    assert_eq!(number("KGM"), None);
    assert_eq!(number("inf"), None);
    assert_eq!(number("1.2.3"), None);
}

/// The first event of the standard's example 9.6.1, and the pre-hash string the
/// algorithm's description gives for such an event.
#[test]
fn an_object_event_prehash() {
    let doc = json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"example": "http://ns.example.com/epcis/"}]});
    let event = json!({
        "type": "ObjectEvent",
        "eventTime": "2005-04-03T20:33:31.116-06:00",
        "eventTimeZoneOffset": "-06:00",
        "eventID": "urn:uuid:1",
        "recordTime": "2005-04-03T20:33:32Z",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018", "urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
        "example:myField": "Example of a vendor/user extension"
    });
    let ns = Namespaces::of_document(&doc);
    assert_eq!(
        prehash(&event, &ns),
        "eventType=ObjectEvent\
         eventTime=2005-04-04T02:33:31.116Z\
         eventTimeZoneOffset=-06:00\
         epcListepc=https://id.gs1.org/01/10614141073464/21/2017\
         epc=https://id.gs1.org/01/10614141073464/21/2018\
         action=OBSERVE\
         bizStep=https://ref.gs1.org/cbv/BizStep-shipping\
         disposition=https://ref.gs1.org/cbv/Disp-in_transit\
         readPointid=https://id.gs1.org/414/0614141073467/254/1234\
         bizTransactionListtype=https://ref.gs1.org/cbv/BTT-po\
         bizTransaction=http://transaction.acme.com/po/12345678\
         {http://ns.example.com/epcis/}myField=Example of a vendor/user extension"
    );
    let mut again = event.clone();
    again["eventID"] = json!("urn:uuid:2");
    again["epcList"] = json!([
        "https://example.com/01/10614141073464/21/2017?x=1",
        "urn:epc:id:sgtin:0614141.107346.2018"
    ]);
    assert_eq!(event_hash(&event, &ns), event_hash(&again, &ns));
    again["action"] = json!("ADD");
    assert_ne!(event_hash(&event, &ns), event_hash(&again, &ns));
}
