//! A strict parser of the Prometheus text exposition format, so a malformed `/metrics`
//! fails the test that reads it.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

/// One sample of the Prometheus text format.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the text exposition format strictly: `# HELP` / `# TYPE` lines, and samples
/// `name{label="value",...} number`. Panics on any other line, so a malformed exposition
/// fails the test.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut typed: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap();
            let name = parts.next().expect("metric name after # HELP/# TYPE");
            assert!(valid_name(name), "bad metric name in {line:?}");
            match keyword {
                "HELP" => {}
                "TYPE" => {
                    let kind = parts.next().expect("a type");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "bad type in {line:?}"
                    );
                    typed.insert(name.to_owned(), kind.to_owned());
                }
                other => panic!("unknown comment keyword {other:?} in {line:?}"),
            }
            continue;
        }

        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value in {line:?}"),
        };
        assert!(valid_name(name), "bad metric name in {line:?}");
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(body) = rest.strip_prefix('{') {
            let bytes = body.as_bytes();
            let mut i = 0;
            loop {
                assert!(i < bytes.len(), "unterminated labels in {line:?}");
                if bytes[i] == b'}' {
                    i += 1;
                    break;
                }
                let eq = i + body[i..].find('=').expect("label without =");
                let key = &body[i..eq];
                assert!(valid_name(key), "bad label name {key:?} in {line:?}");
                assert_eq!(bytes[eq + 1], b'"', "unquoted label value in {line:?}");
                i = eq + 2;
                let mut value = String::new();
                while bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        value.push(if bytes[i + 1] == b'n' {
                            '\n'
                        } else {
                            bytes[i + 1] as char
                        });
                        i += 2;
                    } else {
                        let c = body[i..].chars().next().unwrap();
                        value.push(c);
                        i += c.len_utf8();
                    }
                }
                i += 1;
                if bytes[i] == b',' {
                    i += 1;
                }
                labels.insert(key.to_owned(), value);
            }
            rest = &body[i..];
        }
        let value = rest.trim();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| typed.get(*base).is_some_and(|t| t == "histogram"))
            .unwrap_or(name);
        assert!(
            typed.contains_key(family),
            "sample {name} appears before its # TYPE line"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The value of the one sample named `name` whose labels include `labels`.
pub fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(
        found.len() <= 1,
        "{name} {labels:?} matches several samples"
    );
    found.first().map(|s| s.value)
}
