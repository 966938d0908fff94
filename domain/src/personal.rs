//! Where the personal data is in each stored event, as a closed table per aggregate: every
//! event type is listed with the JSON pointers of its personal fields (sealed with the
//! subject's key) and of its plain string fields (ids, timestamps, enum words) declared not
//! personal. The event store refuses to write an event type its aggregate's table lacks, and
//! [`unclassified`] (run by each aggregate's tests over a sample of every event) finds any
//! string field that is in neither list and any listed pointer that does not exist, so a new
//! field or a typo cannot put personal data in the log in the clear.

use serde::Serialize;
use serde_json::Value;

/// One event type's fields. Pointers start at the payload's root (the event's name); array
/// elements are written `*`.
#[derive(Debug, Clone, Copy)]
pub struct EventFields {
    pub event: &'static str,
    /// Sealed with the subject's key.
    pub personal: &'static [&'static str],
    /// String fields that are not personal (ids, times, enum words), stored readable.
    pub plain: &'static [&'static str],
}

/// The personal pointers of `event` in `table`; `None` when the table does not list it.
pub fn lookup(table: &[EventFields], event: &str) -> Option<&'static [&'static str]> {
    table.iter().find(|f| f.event == event).map(|f| f.personal)
}

/// What is wrong with `table` against `samples` (one event of every type, every optional
/// field filled): string fields neither personal nor plain, listed pointers that point at
/// nothing, events missing from the table and table entries without a sample.
pub fn unclassified<E: Serialize>(table: &[EventFields], samples: &[(&str, E)]) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in table {
        if !samples.iter().any(|(name, _)| *name == entry.event) {
            problems.push(format!("{}: listed but no sample", entry.event));
        }
    }
    for (name, event) in samples {
        let Some(entry) = table.iter().find(|f| f.event == *name) else {
            problems.push(format!("{name}: not in the table"));
            continue;
        };
        let payload = serde_json::to_value(event).expect("an event serializes");
        let mut strings = Vec::new();
        let mut present = Vec::new();
        walk(&payload, String::new(), &mut strings, &mut present);
        for path in &strings {
            let covered = entry
                .personal
                .iter()
                .any(|p| path == p || path.starts_with(&format!("{p}/")));
            if !covered && !entry.plain.contains(&path.as_str()) {
                problems.push(format!(
                    "{name}: string field {path} is neither personal nor plain"
                ));
            }
        }
        for p in entry.personal.iter().chain(entry.plain) {
            if !present.contains(&p.to_string()) {
                problems.push(format!("{name}: {p} is listed but not in the event"));
            }
        }
    }
    problems
}

/// Collects every string leaf's path, and every path present, with array indexes as `*`.
fn walk(v: &Value, path: String, strings: &mut Vec<String>, present: &mut Vec<String>) {
    present.push(path.clone());
    match v {
        // A unit variant is stored as its bare name: nothing but the event type.
        Value::String(_) if path.is_empty() => {}
        Value::String(_) => strings.push(path),
        Value::Object(m) => {
            for (k, child) in m {
                walk(child, format!("{path}/{k}"), strings, present);
            }
        }
        Value::Array(items) => {
            for child in items {
                walk(child, format!("{path}/*"), strings, present);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TABLE: &[EventFields] = &[EventFields {
        event: "Noted",
        personal: &["/Noted/note"],
        plain: &["/Noted/id", "/Noted/tags/*"],
    }];

    #[test]
    fn a_new_string_field_a_typo_and_a_missing_sample_are_each_found() {
        let good = json!({"Noted": {"id": "n-1", "note": "called back", "tags": ["a"], "n": 3}});
        assert!(unclassified(TABLE, &[("Noted", good)]).is_empty());

        let grown = json!({"Noted": {"id": "n-1", "note": "x", "tags": [], "mood": "calm"}});
        let problems = unclassified(TABLE, &[("Noted", grown)]);
        assert!(
            problems.iter().any(|p| p.contains("/Noted/mood")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("/Noted/tags/*")),
            "{problems:?}"
        );

        let typo: &[EventFields] = &[EventFields {
            event: "Noted",
            personal: &["/Noted/note", "/Noted/notes"],
            plain: &["/Noted/id", "/Noted/tags/*"],
        }];
        let sample = json!({"Noted": {"id": "n-1", "note": "x", "tags": ["a"]}});
        let problems = unclassified(typo, &[("Noted", sample.clone())]);
        assert_eq!(
            problems,
            ["Noted: /Noted/notes is listed but not in the event"]
        );

        let problems = unclassified(TABLE, &[("Other", sample)]);
        assert_eq!(
            problems,
            ["Noted: listed but no sample", "Other: not in the table"]
        );
        assert_eq!(lookup(TABLE, "Noted"), Some(&["/Noted/note"][..]));
        assert_eq!(lookup(TABLE, "Other"), None);
    }
}
