//! Topics of a document-term factorization V ≈ WH (documents × terms): the top terms of each
//! component (a row of H) and each document's dominant topic (from its row of W), for people
//! who fit a topic model and want to read it.
//!
//! NMF fixes W and H only up to a scale per component (W·D and D⁻¹·H fit as well), so both are
//! read in units that do not depend on it: a topic's terms by their share of the topic's
//! total weight (row a of H divided by its sum), and a document's topics by the part of the
//! document each explains, `w_ia·Σ_j h_aj` (the total over j of the document's reconstruction
//! w_ia·h_aj that component a gives).

use std::path::Path;

use serde_json::{Value, json};

use crate::CliError;
use crate::read::{ReadOptions, read_file};

/// One component read as a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    /// Its index, the row of H (0-based).
    pub index: usize,
    /// The part of the whole reconstruction ΣWH it explains, in [0, 1].
    pub share: f64,
    /// The top terms with their share of the topic's weight, largest first (ties by column).
    pub terms: Vec<(String, f64)>,
}

/// A document's dominant topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The document's label (or its row number when there are no labels).
    pub label: String,
    /// The topic explaining the largest part of it.
    pub topic: usize,
    /// That part, in [0, 1] of the document's reconstruction.
    pub share: f64,
}

/// Reads a vocabulary: one term per line (a trailing empty line ignored, `\r\n` accepted),
/// exactly `n` of them, for the `n` columns of V.
///
/// # Errors
/// A [`CliError::data`] naming `source` when the count differs from `n` or a line is empty.
pub fn parse_terms(
    text: &str,
    source: &str,
    n: usize,
    what: &str,
) -> Result<Vec<String>, CliError> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let terms: Vec<String> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect()
    };
    if terms.len() != n {
        return Err(CliError::data(format!(
            "{source}: {} lines, but the matrix has {n} {what}: one line per {}",
            terms.len(),
            what.trim_end_matches('s')
        )));
    }
    if let Some(p) = terms.iter().position(|t| t.trim().is_empty()) {
        return Err(CliError::data(format!(
            "{source}:{}: an empty line (one {} per line)",
            p + 1,
            what.trim_end_matches('s')
        )));
    }
    Ok(terms)
}

/// The lines of a text file (optionally gzipped), for --vocab and --doc-labels: exactly `n`
/// of them (`what`: the matrix's "columns" or "rows", for the error).
///
/// # Errors
/// The file's read errors, text that is not UTF-8, and [`parse_terms`]'s errors.
pub fn read_lines(
    path: &Path,
    n: usize,
    what: &str,
    opts: &ReadOptions,
) -> Result<Vec<String>, CliError> {
    let gunzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bytes = read_file(path, "read", gunzip, opts)?;
    let source = path.display().to_string();
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        CliError::data(format!(
            "{source}: not UTF-8 text (byte {})",
            e.valid_up_to()
        ))
    })?;
    parse_terms(text, &source, n, what)
}

/// The `top` terms of each of the k rows of H (k×n, row-major), with each topic's share of
/// ΣWH (W m×k row-major).
///
/// # Panics
/// If the lengths do not match `k`, `n` and `terms`.
pub fn top_terms(w: &[f64], h: &[f64], k: usize, terms: &[String], top: usize) -> Vec<Topic> {
    let n = terms.len();
    assert_eq!(h.len(), k * n, "H must be k×n");
    assert_eq!(w.len() % k.max(1), 0, "W must be m×k");
    let m = w.len() / k.max(1);
    let mass: Vec<f64> = (0..k)
        .map(|a| {
            let sw: f64 = (0..m).map(|i| w[i * k + a]).sum();
            let sh: f64 = h[a * n..(a + 1) * n].iter().sum();
            sw * sh
        })
        .collect();
    let total: f64 = mass.iter().sum();
    (0..k)
        .map(|a| {
            let row = &h[a * n..(a + 1) * n];
            let sum: f64 = row.iter().sum();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&x, &y| row[y].total_cmp(&row[x]).then(x.cmp(&y)));
            Topic {
                index: a,
                share: if total > 0.0 { mass[a] / total } else { 0.0 },
                terms: order
                    .into_iter()
                    .take(top)
                    .map(|j| (terms[j].clone(), if sum > 0.0 { row[j] / sum } else { 0.0 }))
                    .collect(),
            }
        })
        .collect()
}

/// Each document's dominant topic: the a maximising `w_ia·Σ_j h_aj`, with its share of the
/// document's reconstruction (ties go to the lower index).
///
/// # Panics
/// If the lengths do not match.
pub fn dominant(w: &[f64], h: &[f64], k: usize, labels: Option<&[String]>) -> Vec<Assignment> {
    let m = w.len() / k.max(1);
    let n = h.len() / k.max(1);
    let hsum: Vec<f64> = (0..k).map(|a| h[a * n..(a + 1) * n].iter().sum()).collect();
    (0..m)
        .map(|i| {
            let parts: Vec<f64> = (0..k).map(|a| w[i * k + a] * hsum[a]).collect();
            let total: f64 = parts.iter().sum();
            let (topic, best) =
                parts
                    .iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |(bi, bv), (a, &p)| {
                        if p > bv { (a, p) } else { (bi, bv) }
                    });
            Assignment {
                label: labels.map_or_else(|| i.to_string(), |l| l[i].clone()),
                topic,
                share: if total > 0.0 { best / total } else { 0.0 },
            }
        })
        .collect()
}

/// The topics as printed: one line per topic, `topic 3 (12.5%): term1 term2 …`.
pub fn format_topics(topics: &[Topic]) -> String {
    let mut out = String::new();
    for t in topics {
        let words: Vec<&str> = t.terms.iter().map(|(w, _)| w.as_str()).collect();
        out.push_str(&format!(
            "topic {} ({:.1}%): {}\n",
            t.index,
            100.0 * t.share,
            words.join(" ")
        ));
    }
    out
}

/// topics.json: the topics with their terms and weights, and the documents' dominant topics
/// when given.
pub fn topics_json(topics: &[Topic], documents: Option<&[Assignment]>) -> Value {
    let topics: Vec<Value> = topics
        .iter()
        .map(|t| {
            json!({
                "topic": t.index,
                "share": t.share,
                "terms": t.terms.iter().map(|(w, s)| json!({"term": w, "weight": s})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut out = json!({ "topics": topics });
    if let Some(docs) = documents {
        out["documents"] = docs
            .iter()
            .map(|d| json!({"document": d.label, "topic": d.topic, "share": d.share}))
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(n: usize) -> Vec<String> {
        (0..n).map(|j| format!("t{j}")).collect()
    }

    /// Two topics over four terms, and three documents; H's rows scaled differently, which must
    /// not change what is read.
    #[test]
    fn topics_and_documents_do_not_depend_on_the_scale_of_components() {
        let h = [0.0, 3.0, 1.0, 0.0, 40.0, 0.0, 0.0, 60.0];
        let w = [1.0, 0.0, 0.0, 0.1, 0.5, 0.05];
        let t = top_terms(&w, &h, 2, &terms(4), 2);
        assert_eq!(t[0].terms, vec![("t1".into(), 0.75), ("t2".into(), 0.25)]);
        assert_eq!(t[1].terms, vec![("t3".into(), 0.6), ("t0".into(), 0.4)]);
        // ΣWH: topic 0 has W-sum 1.5 × H-sum 4 = 6, topic 1 has 0.15 × 100 = 15.
        assert!((t[0].share - 6.0 / 21.0).abs() < 1e-15);
        let d = dominant(&w, &h, 2, None);
        assert_eq!((d[0].topic, d[1].topic, d[2].topic), (0, 1, 1));
        // Document 2: 0.5·4 = 2 against 0.05·100 = 5.
        assert!((d[2].share - 5.0 / 7.0).abs() < 1e-15);
        // Scaling a component (W·D, D⁻¹·H) changes nothing.
        let h2: Vec<f64> = h
            .iter()
            .enumerate()
            .map(|(p, x)| if p < 4 { x * 8.0 } else { *x })
            .collect();
        let w2: Vec<f64> = w
            .iter()
            .enumerate()
            .map(|(p, x)| if p % 2 == 0 { x / 8.0 } else { *x })
            .collect();
        assert_eq!(top_terms(&w2, &h2, 2, &terms(4), 2), t);
        assert_eq!(dominant(&w2, &h2, 2, None), d);
        let text = format_topics(&t);
        assert_eq!(text, "topic 0 (28.6%): t1 t2\ntopic 1 (71.4%): t3 t0\n");
        let j = topics_json(&t, Some(&d));
        assert_eq!(j["topics"][1]["terms"][0]["term"], "t3");
        assert_eq!(j["documents"][2]["topic"], 1);
    }

    #[test]
    fn vocabularies_are_checked() {
        assert_eq!(
            parse_terms("a\nb\r\nc\n", "v.txt", 3, "columns").unwrap(),
            ["a", "b", "c"]
        );
        let e = parse_terms("a\nb\n", "v.txt", 3, "columns").unwrap_err();
        assert_eq!(
            e.message,
            "v.txt: 2 lines, but the matrix has 3 columns: one line per column"
        );
        let e = parse_terms("a\n\nc", "v.txt", 3, "columns").unwrap_err();
        assert_eq!(e.message, "v.txt:2: an empty line (one column per line)");
    }
}
