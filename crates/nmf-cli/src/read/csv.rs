//! Delimited text: comma- or tab-separated numbers, one row of the matrix per line.
//!
//! - The delimiter is a comma or a tab, detected from the first line (a tab if it has one)
//!   or given.
//! - An optional header line, detected (a first line none of whose fields is a number) or
//!   given.
//! - Blank lines and lines starting with `#` are skipped; fields may be surrounded by spaces
//!   and by double quotes; a UTF-8 byte-order mark is ignored; lines may end in `\r\n`.
//! - Every row must have the same number of fields.

use crate::CliError;
use crate::matrix::{Matrix, describe_invalid, valid_entry};

/// The field separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Delimiter {
    /// A tab if the first line has one, else a comma.
    #[default]
    Auto,
    /// `,`
    Comma,
    /// `\t`
    Tab,
}

/// Whether the first line holds column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Header {
    /// A header if none of the first line's fields is a number.
    #[default]
    Auto,
    /// The first line is a header.
    Yes,
    /// The first line is data.
    No,
}

/// Where the reading of a text file is, for messages: `file:line:column` (1-based, in
/// characters, as editors count).
fn at(source: &str, line: usize, text: &str, byte: usize) -> String {
    let col = text[..byte].chars().count() + 1;
    format!("{source}:{line}:{col}")
}

/// Splits a line into `(byte offset of the value, value)` fields, trimming spaces and quotes.
fn fields(line: &str, delim: char) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    line.split(delim).map(move |raw| {
        let offset = start;
        start += raw.len() + delim.len_utf8();
        let lead = raw.len() - raw.trim_start().len();
        let mut value = raw.trim();
        let mut pos = offset + lead;
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = value[1..value.len() - 1].trim();
            pos += 1;
        }
        (pos, value)
    })
}

/// Parses delimited text (already decoded) into a matrix; `source` names it in messages.
/// Every entry must be a finite number ≥ 0.
///
/// # Errors
/// One-line [`CliError::data`] messages with `file:line:column` for a value that is not a
/// number, an empty field, a negative, NaN or infinite entry (with its row and column), a row
/// with another number of fields than the first, or a file without data.
pub fn parse(
    text: &str,
    source: &str,
    delimiter: Delimiter,
    header: Header,
) -> Result<Matrix, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut delim = match delimiter {
        Delimiter::Comma => Some(','),
        Delimiter::Tab => Some('\t'),
        Delimiter::Auto => None,
    };
    let mut data = Vec::new();
    let mut cols: Option<(usize, usize)> = None; // (fields, line of the first data row)
    let mut rows = 0usize;
    let mut first = true;
    for (index, line) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let d = *delim.get_or_insert(if line.contains('\t') { '\t' } else { ',' });
        if first {
            first = false;
            let is_header = match header {
                Header::Yes => true,
                Header::No => false,
                Header::Auto => fields(line, d).all(|(_, v)| v.parse::<f64>().is_err()),
            };
            if is_header {
                continue;
            }
        }
        let mut n = 0usize;
        for (pos, value) in fields(line, d) {
            if let Some((expected, first_line)) = cols
                && n == expected
            {
                let found = fields(line, d).count();
                return Err(CliError::data(format!(
                    "{}: expected {expected} fields as on line {first_line}, found {found}",
                    at(source, lineno, line, pos.min(line.len()))
                )));
            }
            if value.is_empty() {
                return Err(CliError::data(format!(
                    "{}: empty field (field {} of the row)",
                    at(source, lineno, line, pos.min(line.len())),
                    n + 1
                )));
            }
            let x: f64 = value.parse().map_err(|_| {
                CliError::data(format!(
                    "{}: cannot read '{value}' as a number",
                    at(source, lineno, line, pos)
                ))
            })?;
            if !valid_entry(x) {
                return Err(CliError::data(format!(
                    "{}: {} at row {rows}, column {n} (0-based)",
                    at(source, lineno, line, pos),
                    describe_invalid(x)
                )));
            }
            data.push(x);
            n += 1;
        }
        match cols {
            None => cols = Some((n, lineno)),
            Some((expected, first_line)) if n != expected => {
                return Err(CliError::data(format!(
                    "{}: expected {expected} fields as on line {first_line}, found {n}",
                    at(source, lineno, line, line.len())
                )));
            }
            Some(_) => {}
        }
        rows += 1;
    }
    match cols {
        Some((c, _)) => Ok(Matrix::new(rows, c, data)),
        None => Err(CliError::data(format!("{source}: no data rows"))),
    }
}

/// Writes a matrix as comma-separated text, one row per line, each value in the shortest
/// form that reads back to the same number.
pub fn to_csv_string<T: core::fmt::Display>(rows: usize, cols: usize, data: &[T]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(data.len() * 12);
    for i in 0..rows {
        for j in 0..cols {
            if j > 0 {
                s.push(',');
            }
            let _ = write!(s, "{}", data[i * cols + j]);
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Matrix, CliError> {
        parse(text, "t.csv", Delimiter::Auto, Header::Auto)
    }

    #[test]
    fn comma_tab_header_comments_crlf() {
        let m = p("a,b\r\n1,2\r\n3, 4.5\r\n").unwrap();
        assert_eq!((m.rows, m.cols, m.data), (2, 2, vec![1.0, 2.0, 3.0, 4.5]));
        let m = p("\u{feff}# comment\n1\t2\t3\n\n4\t5\t6\n").unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        let m = p("\"x\",\"y\"\n\"1\",\"2e1\"\n").unwrap();
        assert_eq!(m.data, vec![1.0, 20.0]);
        let m = p("7\n8\n").unwrap();
        assert_eq!((m.rows, m.cols), (2, 1));
    }

    #[test]
    fn header_given() {
        // A numeric first line read as a header when told so.
        let m = parse("1,2\n3,4\n", "t.csv", Delimiter::Comma, Header::Yes).unwrap();
        assert_eq!(m.data, vec![3.0, 4.0]);
        // A text first line is an error when told there is no header.
        let e = parse("a,b\n3,4\n", "t.csv", Delimiter::Comma, Header::No).unwrap_err();
        assert_eq!(e.message, "t.csv:1:1: cannot read 'a' as a number");
    }

    #[test]
    fn explicit_delimiter() {
        // With a comma delimiter, a tab inside a field is part of the value.
        let e = parse("1,2\t3\n", "t.csv", Delimiter::Comma, Header::No).unwrap_err();
        assert_eq!(e.message, "t.csv:1:3: cannot read '2\t3' as a number");
        let m = parse("1\t2\n", "t.tsv", Delimiter::Tab, Header::No).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0]);
    }

    #[test]
    fn errors_have_line_and_column() {
        assert_eq!(
            p("1,2,3\n4,x5,6\n").unwrap_err().message,
            "t.csv:2:3: cannot read 'x5' as a number"
        );
        assert_eq!(
            p("1,2\n3,,\n").unwrap_err().message,
            "t.csv:2:3: empty field (field 2 of the row)"
        );
        assert_eq!(
            p("1,2\n3,4,5\n").unwrap_err().message,
            "t.csv:2:5: expected 2 fields as on line 1, found 3"
        );
        assert_eq!(
            p("1,2\n3\n").unwrap_err().message,
            "t.csv:2:2: expected 2 fields as on line 1, found 1"
        );
        assert_eq!(
            p("1,2\n3,-4\n").unwrap_err().message,
            "t.csv:2:3: negative entry -4 at row 1, column 1 (0-based)"
        );
        assert_eq!(
            p("h1,h2\n1,2\nNaN,4\n").unwrap_err().message,
            "t.csv:3:1: non-finite entry (NaN) at row 1, column 0 (0-based)"
        );
        assert_eq!(
            p("1,inf\n").unwrap_err().message,
            "t.csv:1:3: non-finite entry (inf) at row 0, column 1 (0-based)"
        );
        assert_eq!(p("a,b\n\n").unwrap_err().message, "t.csv: no data rows");
        assert_eq!(p("").unwrap_err().message, "t.csv: no data rows");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(
            p("\"é\",\"b\"\n1,2\n1,é\n").unwrap_err().message,
            "t.csv:3:3: cannot read 'é' as a number"
        );
    }

    #[test]
    fn writer_round_trips() {
        let data = [0.1_f64, 1e-300, 3.0, 2.5e10, 7.0, 1.0 / 3.0];
        let s = to_csv_string(2, 3, &data);
        let m = parse(&s, "w.csv", Delimiter::Auto, Header::Auto).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.data, data);
        let f = [0.1_f32, 1.0 / 3.0];
        let m = p(&to_csv_string(1, 2, &f)).unwrap();
        // f32 values are written in their shortest f32 form: they read back exactly in f32.
        let back: Vec<f32> = m.data.iter().map(|&x| x as f32).collect();
        assert_eq!(back, f);
    }
}
