use serde_json::json;

use super::*;

/// A document holding `events` (XML text), with an `acme` namespace.
fn doc(events: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:acme="https://acme.example/"
  schemaVersion="2.0" creationDate="2026-12-01T00:00:00Z">
  <EPCISBody><EventList>{events}</EventList></EPCISBody>
</epcis:EPCISDocument>"#
    )
}

/// The message of a refusal.
fn refusal(r: Result<Value, EpcisError>) -> String {
    match r {
        Err(EpcisError::Invalid(p)) => p[0].message.clone(),
        Ok(v) => panic!("accepted: {v}"),
    }
}

const OBSERVE: &str = "<ObjectEvent><eventTime>2026-12-01T08:00:00Z</eventTime>\
    <eventTimeZoneOffset>+08:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:6901234.012345.1</epc></epcList>\
    <action>OBSERVE</action></ObjectEvent>";

#[test]
fn a_document_reads_as_its_json_binding() {
    let d = document(doc(OBSERVE).as_bytes()).unwrap();
    assert_eq!(
        d,
        json!({
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-12-01T00:00:00Z",
            "epcisBody": {"eventList": [{
                "type": "ObjectEvent",
                "eventTime": "2026-12-01T08:00:00Z",
                "eventTimeZoneOffset": "+08:00",
                "epcList": ["urn:epc:id:sgtin:6901234.012345.1"],
                "action": "OBSERVE"
            }]}
        })
    );
}

#[test]
fn extensions_are_typed_nested_repeated_and_declared() {
    let d = document(
        doc(
            r#"<ObjectEvent><action>OBSERVE</action>
        <bizTransactionList><bizTransaction>https://erp.example/1</bizTransaction></bizTransactionList>
        <quantityList><quantityElement><epcClass>urn:epc:class:lgtin:6901234.012345.L1</epcClass>
          <quantity xsi:nil="true"/></quantityElement></quantityList>
        <acme:count xsi:type="xsd:integer">7</acme:count>
        <acme:ok xsi:type="xsd:boolean">true</acme:ok>
        <acme:tag>a</acme:tag><acme:tag>b</acme:tag>
        <acme:box size="L"><acme:id>B1</acme:id><plain>x</plain></acme:box>
        <acme:unit code="KGM">12</acme:unit>
        <other:x xmlns:other="https://other.example/">1</other:x>
        <acme:y xmlns:acme="https://not-acme.example/">2</acme:y>
        </ObjectEvent>"#,
        )
        .as_bytes(),
    )
    .unwrap();
    let e = &d["epcisBody"]["eventList"][0];
    assert_eq!(
        e["bizTransactionList"],
        json!([{"bizTransaction": "https://erp.example/1"}])
    );
    assert_eq!(
        e["quantityList"],
        json!([{"epcClass": "urn:epc:class:lgtin:6901234.012345.L1"}])
    );
    assert_eq!(e["acme:count"], json!(7));
    assert_eq!(e["acme:ok"], json!(true));
    assert_eq!(e["acme:tag"], json!(["a", "b"]));
    assert_eq!(
        e["acme:box"],
        json!({"size": "L", "acme:id": "B1", "plain": "x"})
    );
    assert_eq!(e["acme:unit"], json!({"code": "KGM", "@value": "12"}));
    assert_eq!(e["other:x"], json!("1"));
    // The prefix `acme` is taken by https://acme.example/: the other namespace written
    // with it gets a fresh one.
    assert_eq!(e["ns1:y"], json!("2"));
    assert_eq!(
        d["@context"],
        json!([CONTEXT, {
            "acme": "https://acme.example/",
            "other": "https://other.example/",
            "ns1": "https://not-acme.example/"
        }])
    );
}

#[test]
fn cbv_values_become_bare_terms_and_others_stay() {
    let d = document(
        doc(
            r#"<ObjectEvent><action>OBSERVE</action>
        <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
        <disposition>https://ref.gs1.org/cbv/Disp-in_transit</disposition>
        <sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:pgln:6901234.00000</source></sourceList>
        <errorDeclaration><declarationTime>2026-12-01T00:00:00Z</declarationTime>
          <reason>urn:epcglobal:cbv:er:did_not_occur</reason></errorDeclaration>
        <persistentDisposition><set>urn:epcglobal:cbv:disp:recalled</set></persistentDisposition>
        <sensorElementList><sensorElement><sensorReport type="gs1:Temperature" value="1.50" booleanValue="false" uom="CEL"/></sensorElement></sensorElementList>
        </ObjectEvent>
        <ObjectEvent><action>OBSERVE</action><bizStep>urn:acme:step:polishing</bizStep></ObjectEvent>"#,
        )
        .as_bytes(),
    )
    .unwrap();
    let e = &d["epcisBody"]["eventList"][0];
    assert_eq!(e["bizStep"], json!("shipping"));
    assert_eq!(e["disposition"], json!("in_transit"));
    assert_eq!(e["sourceList"][0]["type"], json!("owning_party"));
    assert_eq!(e["errorDeclaration"]["reason"], json!("did_not_occur"));
    assert_eq!(e["persistentDisposition"], json!({"set": ["recalled"]}));
    assert_eq!(
        e["sensorElementList"],
        json!([{"sensorReport": [{"type": "gs1:Temperature", "value": 1.5, "booleanValue": false, "uom": "CEL"}]}])
    );
    assert_eq!(
        d["epcisBody"]["eventList"][1]["bizStep"],
        json!("urn:acme:step:polishing")
    );
}

#[test]
fn query_documents_and_single_events_are_read() {
    let q = r#"<epcisq:EPCISQueryDocument xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2" schemaVersion="2.0">
      <EPCISBody><epcisq:QueryResults><queryName>q</queryName><resultsBody><EventList>EVENT</EventList>
      </resultsBody></epcisq:QueryResults></EPCISBody></epcisq:EPCISQueryDocument>"#
        .replace("EVENT", OBSERVE);
    let d = document(q.as_bytes()).unwrap();
    assert_eq!(d["epcisBody"]["eventList"][0]["action"], json!("OBSERVE"));

    let one = event(OBSERVE.as_bytes()).unwrap();
    assert_eq!(one["type"], json!("ObjectEvent"));
    assert_eq!(one["@context"], json!(CONTEXT));
    let from_doc = event(doc(OBSERVE).as_bytes()).unwrap();
    assert_eq!(from_doc, one);
    let two = format!("{OBSERVE}{OBSERVE}");
    assert!(refusal(event(doc(&two).as_bytes())).contains("takes one event"));
}

#[test]
fn malformed_documents_are_refused_with_the_fault() {
    for (input, says) in [
        ("", "no root element"),
        ("{\"type\": \"EPCISDocument\"}", "no root element"),
        ("<a><b></a>", "not XML"),
        ("<EPCISDocument/>", "a capture takes an EPCISDocument"),
        (
            "<x:EPCISDocument xmlns:x=\"urn:epcglobal:epcis:xsd:1\"/>",
            "a capture takes an EPCISDocument",
        ),
        (
            "<x:EPCISDocument xmlns:x=\"urn:epcglobal:epcis:xsd:2\"><EPCISBody/></x:EPCISDocument>",
            "no EPCISBody/EventList",
        ),
    ] {
        let said = refusal(document(input.as_bytes()));
        assert!(said.contains(says), "{input}: {said}");
    }
    for (events, says) in [
        ("<Thing/>", "not an EPCIS event"),
        (
            "<ObjectEvent><action>ADD</action><action>ADD</action></ObjectEvent>",
            "given twice",
        ),
        (
            "<ObjectEvent><action><x>ADD</x></action></ObjectEvent>",
            "not a field of ObjectEvent",
        ),
    ] {
        let said = refusal(document(doc(events).as_bytes()));
        assert!(said.contains(says), "{events}: {said}");
    }
    assert!(refusal(document(&[0xff, 0xfe])).contains("not UTF-8"));
}

#[test]
fn entities_are_never_expanded_and_nesting_is_bounded() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
      <epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList>
      <ObjectEvent><action>&b;</action></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#;
    assert!(refusal(document(bomb.as_bytes())).contains("not XML"));
    let external = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList>
      <ObjectEvent><action>&x;</action></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#;
    assert!(refusal(document(external.as_bytes())).contains("not XML"));
    let deep = format!(
        "{}{}",
        "<acme:n xmlns:acme=\"https://acme.example/\">".repeat(100),
        "</acme:n>".repeat(100)
    );
    let said = refusal(document(
        doc(&format!("<ObjectEvent>{deep}</ObjectEvent>")).as_bytes(),
    ));
    assert!(said.contains("nested deeper"), "{said}");
}
