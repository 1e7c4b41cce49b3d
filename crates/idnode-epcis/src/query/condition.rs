//! Query parameters matched on an event's body: a [`Condition`] holds when some element
//! (the event, its quantity elements, its sensor reports, …) passes all its tests.

use serde_json::Value;

use super::{bad, split, time, QueryError};
use crate::hash::{term_value, Namespaces};
use crate::index::millis;
use crate::vocab::Term;

/// A bound of a `GT_`/`GE_`/`LT_`/`LE_` parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A number.
    Number(f64),
    /// A timestamp, unix ms.
    Time(i64),
}

/// A comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmp {
    /// Equal to one of these (normalised) values.
    Eq(Vec<String>, Term),
    /// Greater than.
    Gt(Scalar),
    /// Greater than or equal.
    Ge(Scalar),
    /// Less than.
    Lt(Scalar),
    /// Less than or equal.
    Le(Scalar),
    /// Present.
    Exists,
}

/// Which value of an element a test reads.
#[derive(Clone, Debug, PartialEq)]
enum Field {
    /// A standard field.
    Std(&'static str),
    /// An extension field by its expanded name (`{iri}name`), on the element itself or,
    /// `inner`, nested at any depth inside its extension fields.
    Ext { key: String, inner: bool },
}

/// One parameter as a test on the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Element paths from the event (arrays are entered): any element reached may pass.
    places: Vec<&'static [&'static str]>,
    /// Tests one element must all pass.
    tests: Vec<(Field, Cmp)>,
}

const EVENT: &[&str] = &[];
const QUANTITIES: [&[&str]; 4] = [
    &["quantityList"],
    &["childQuantityList"],
    &["inputQuantityList"],
    &["outputQuantityList"],
];
const ERROR: &[&str] = &["errorDeclaration"];
const ELEMENT: &[&str] = &["sensorElementList"];
const METADATA: &[&str] = &["sensorElementList", "sensorMetadata"];
const REPORT: &[&str] = &["sensorElementList", "sensorReport"];

/// Sensor report fields compared per unit (`GE_value_CEL`).
const MEASURES: [&str; 6] = [
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percValue",
];

impl Condition {
    fn one(places: Vec<&'static [&'static str]>, field: Field, cmp: Cmp) -> Self {
        Self {
            places,
            tests: vec![(field, cmp)],
        }
    }

    /// The condition a parameter stands for; `None` when the name is no query parameter.
    pub fn parse(name: &str, value: &str, ns: &Namespaces) -> Result<Option<Self>, QueryError> {
        let (op, rest) = name.split_once('_').unwrap_or((name, ""));
        if !matches!(op, "EQ" | "GT" | "GE" | "LT" | "LE" | "EXISTS") {
            return Ok(None);
        }
        if let Some(c) = standard(op, rest, value, ns)? {
            return Ok(Some(c));
        }
        extension(op, rest, value, ns)
    }

    /// Whether some element of `event` passes every test.
    pub fn holds(&self, event: &Value, ns: &Namespaces) -> bool {
        self.places.iter().any(|place| {
            elements(event, place)
                .into_iter()
                .any(|el| self.tests.iter().all(|(f, c)| test(el, f, c, ns)))
        })
    }
}

/// The comparison of `op` with `value`.
fn cmp(op: &str, name: &str, value: &str, term: Term, ns: &Namespaces) -> Result<Cmp, QueryError> {
    let scalar = || -> Result<Scalar, QueryError> {
        let v = value.trim();
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Scalar::Number(n)),
            _ => time(name, v).map(Scalar::Time),
        }
    };
    Ok(match op {
        "EQ" => Cmp::Eq(
            split(value)
                .iter()
                .map(|v| term_value(term, v, ns))
                .collect(),
            term,
        ),
        "GT" => Cmp::Gt(scalar()?),
        "GE" => Cmp::Ge(scalar()?),
        "LT" => Cmp::Lt(scalar()?),
        "LE" => Cmp::Le(scalar()?),
        _ => Cmp::Exists,
    })
}

/// The standard parameters matched on the body.
fn standard(
    op: &str,
    rest: &str,
    value: &str,
    ns: &Namespaces,
) -> Result<Option<Condition>, QueryError> {
    let name = format!("{op}_{rest}");
    let c = |term| cmp(op, &name, value, term, ns);
    let std = |places: Vec<&'static [&'static str]>, field, term| -> Result<_, QueryError> {
        Ok(Some(Condition::one(places, Field::Std(field), c(term)?)))
    };
    match (op, rest) {
        ("EQ", "persistentDisposition_set") => {
            std(vec![&["persistentDisposition"]], "set", Term::Disposition)
        }
        ("EQ", "persistentDisposition_unset") => {
            std(vec![&["persistentDisposition"]], "unset", Term::Disposition)
        }
        (_, "quantity") => std(QUANTITIES.to_vec(), "quantity", Term::None),
        ("GE" | "LT", "errorDeclaration_Time") => std(vec![ERROR], "declarationTime", Term::None),
        ("EQ", "errorReason") => std(vec![ERROR], "reason", Term::ErrorReason),
        ("EQ", "correctiveEventID") => std(vec![ERROR], "correctiveEventIDs", Term::None),
        ("EXISTS", "sensorElementList") => std(vec![EVENT], "sensorElementList", Term::None),
        ("GE" | "LT", "time" | "startTime" | "endTime") => {
            let field = match rest {
                "time" => "time",
                "startTime" => "startTime",
                _ => "endTime",
            };
            std(vec![METADATA], field, Term::None)
        }
        ("EQ", "type") => std(vec![REPORT], "type", Term::Measurement),
        ("EQ", "deviceID") => std(vec![REPORT, METADATA], "deviceID", Term::None),
        ("EQ", "dataProcessingMethod") => {
            std(vec![REPORT, METADATA], "dataProcessingMethod", Term::None)
        }
        ("EQ", "bizRules") => std(vec![METADATA], "bizRules", Term::None),
        ("EQ", "microorganism") => std(vec![REPORT], "microorganism", Term::None),
        ("EQ", "chemicalSubstance") => std(vec![REPORT], "chemicalSubstance", Term::None),
        ("EQ", "stringValue") => std(vec![REPORT], "stringValue", Term::None),
        ("EQ", "booleanValue") => std(vec![REPORT], "booleanValue", Term::None),
        ("EQ", "hexBinaryValue") => std(vec![REPORT], "hexBinaryValue", Term::None),
        ("EQ", "uriValue") => std(vec![REPORT], "uriValue", Term::None),
        ("GE" | "LT" | "GT" | "LE", "percRank") => std(vec![REPORT], "percRank", Term::None),
        _ => typed(op, rest, value, ns),
    }
}

/// Parameters naming a unit or a type after the field: `GE_value_CEL`, `EQ_quantity_KGM`,
/// `EQ_bizTransaction_po`, `EQ_source_owning_party`.
fn typed(
    op: &str,
    rest: &str,
    value: &str,
    ns: &Namespaces,
) -> Result<Option<Condition>, QueryError> {
    let name = format!("{op}_{rest}");
    let Some((field, suffix)) = rest.split_once('_') else {
        return Ok(None);
    };
    let eq = |v: &str, term| Cmp::Eq(vec![term_value(term, v, ns)], term);
    let per_unit =
        |places: Vec<&'static [&'static str]>, f: &'static str| -> Result<_, QueryError> {
            Ok(Some(Condition {
                places,
                tests: vec![
                    (Field::Std("uom"), eq(suffix, Term::None)),
                    (Field::Std(f), cmp(op, &name, value, Term::None, ns)?),
                ],
            }))
        };
    let listed =
        |place: &'static [&'static str], kind: &'static str, term| -> Result<_, QueryError> {
            Ok(Some(Condition {
                places: vec![place],
                tests: vec![
                    (Field::Std("type"), eq(suffix, term)),
                    (Field::Std(kind), cmp(op, &name, value, Term::None, ns)?),
                ],
            }))
        };
    let unit = suffix.len() >= 2
        && suffix.len() <= 4
        && suffix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    match (op, field) {
        (_, "quantity") if unit => per_unit(QUANTITIES.to_vec(), "quantity"),
        (_, f) if unit && op != "EXISTS" => match MEASURES.iter().find(|m| **m == f) {
            Some(m) => per_unit(vec![REPORT], m),
            None => Ok(None),
        },
        ("EQ", "bizTransaction") => listed(
            &["bizTransactionList"],
            "bizTransaction",
            Term::BizTransaction,
        ),
        ("EQ", "source") => listed(&["sourceList"], "source", Term::SourceDest),
        ("EQ", "destination") => listed(&["destinationList"], "destination", Term::SourceDest),
        _ => Ok(None),
    }
}

/// `{OP}_[scope_]prefix:name`: an extension field of the event or one of its parts.
fn extension(
    op: &str,
    rest: &str,
    value: &str,
    ns: &Namespaces,
) -> Result<Option<Condition>, QueryError> {
    let (inner, rest) = match rest.strip_prefix("INNER_") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    const SCOPES: [(&str, &[&str]); 7] = [
        ("ILMD_", &["ilmd"]),
        ("ERROR_DECLARATION_", ERROR),
        ("SENSORELEMENT_", ELEMENT),
        ("SENSORMETADATA_", METADATA),
        ("SENSORREPORT_", REPORT),
        ("readPoint_", &["readPoint"]),
        ("bizLocation_", &["bizLocation"]),
    ];
    let (place, field) = SCOPES
        .iter()
        .find_map(|(scope, place)| rest.strip_prefix(scope).map(|f| (*place, f)))
        .unwrap_or((EVENT, rest));
    let Some((prefix, local)) = field.split_once(':') else {
        return Ok(None);
    };
    if prefix.is_empty() || local.is_empty() {
        return Ok(None);
    }
    if !ns.declares(prefix) {
        return Err(bad(format!(
            "{op}_{rest}: prefix {prefix} is not declared (GS1-Extensions header)"
        )));
    }
    let key = ns.key(field);
    let c = cmp(op, &format!("{op}_{rest}"), value, Term::None, ns)?;
    Ok(Some(Condition::one(
        vec![place],
        Field::Ext { key, inner },
        c,
    )))
}

/// The objects reached from `v` along `path`, entering arrays.
fn elements<'a>(v: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    let mut here = vec![v];
    for step in path {
        let mut next = Vec::new();
        for x in here {
            match x.get(step) {
                Some(Value::Array(items)) => next.extend(items),
                Some(y) => next.push(y),
                None => {}
            }
        }
        here = next;
    }
    here
}

/// Whether `el` passes one test.
fn test(el: &Value, field: &Field, c: &Cmp, ns: &Namespaces) -> bool {
    let mut values = Vec::new();
    match field {
        Field::Std(name) => {
            if let Some(v) = el.get(*name) {
                flatten(v, &mut values);
            }
        }
        Field::Ext { key, inner } => {
            if let Some(o) = el.as_object() {
                for (k, v) in o {
                    if !inner && ns.key(k) == *key {
                        flatten(v, &mut values);
                    } else if *inner && (v.is_object() || v.is_array()) {
                        nested(v, key, ns, &mut values);
                    }
                }
            }
        }
    }
    values.iter().any(|v| compare(v, c, ns))
}

/// Values under `key` at any depth below `v`.
fn nested<'a>(v: &'a Value, key: &str, ns: &Namespaces, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if ns.key(k) == key {
                    flatten(x, out);
                }
                nested(x, key, ns, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| nested(x, key, ns, out)),
        _ => {}
    }
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| flatten(x, out)),
        Value::Null => {}
        v => out.push(v),
    }
}

fn compare(v: &Value, c: &Cmp, ns: &Namespaces) -> bool {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Object(_) => return matches!(c, Cmp::Exists),
        v => v.to_string(),
    };
    let order = |bound: &Scalar| match bound {
        Scalar::Number(n) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|x| x.partial_cmp(n)),
        Scalar::Time(t) => millis(text.trim()).map(|x| x.cmp(t)),
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    match c {
        Cmp::Exists => true,
        Cmp::Eq(list, term) => list.contains(&term_value(*term, &text, ns)),
        Cmp::Gt(b) => order(b) == Some(Greater),
        Cmp::Ge(b) => matches!(order(b), Some(Greater | Equal)),
        Cmp::Lt(b) => order(b) == Some(Less),
        Cmp::Le(b) => matches!(order(b), Some(Less | Equal)),
    }
}
