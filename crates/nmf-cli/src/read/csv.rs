//! Delimited text: comma- or tab-separated numbers, one row of the matrix per record.
//!
//! - The delimiter is a comma or a tab, detected from the first line (a tab if it has one
//!   outside double quotes) or given.
//! - An optional header line, detected (a first record none of whose fields is a number) or
//!   given.
//! - Fields may be quoted as in RFC 4180: `"1.5"`, `"a,b"` (the delimiter inside quotes),
//!   `"say ""hi"""` (a doubled quote for a quote), a line break inside quotes. The fields are
//!   split by `csv-core`, the parser of the `csv` crate.
//! - Blank lines and lines starting with `#` are skipped; spaces around fields (and around
//!   their quotes) are ignored; a UTF-8 byte-order mark is ignored; lines may end in `\r\n`.
//! - Every row must have the same number of fields.

use std::sync::atomic::AtomicBool;

use super::{CANCEL_EVERY, check_cancel};
use crate::CliError;
use crate::error::excerpt;
use crate::matrix::{Matrix, describe_invalid, try_reserve, valid_entry};

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

/// Where a byte of the text is, for messages: `file:line:column` (1-based, the column in
/// characters, as editors count).
fn at(source: &str, text: &str, pos: usize) -> String {
    let before = &text[..pos];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    format!("{source}:{line}:{col}")
}

/// The line number of a byte of the text.
fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Whether a line has a tab outside double quotes.
fn has_unquoted_tab(line: &str) -> bool {
    let mut quoted = false;
    line.bytes().any(|b| {
        if b == b'"' {
            quoted = !quoted;
        }
        b == b'\t' && !quoted
    })
}

/// The records of delimited text, read one at a time by `csv-core`, which unquotes the fields
/// and tells how many bytes of the text each one took: from those counts come the line and
/// column of every field in messages.
struct Records<'a> {
    text: &'a str,
    /// Where the next record (or blank or comment line) starts.
    next: usize,
    delim: u8,
    reader: csv_core::Reader,
}

/// One record: its fields' unquoted values and where they are in the text.
#[derive(Default)]
struct Record {
    /// The unquoted values, one after another (with spare room at the end for `csv-core`).
    buf: Vec<u8>,
    /// How much of `buf` is used.
    len: usize,
    /// Each field: where its value starts in the text (past any spaces and opening quote), and
    /// where it ends in `buf`. The values are UTF-8: `csv-core` cuts the text only at ASCII
    /// bytes (quotes, delimiters, line breaks).
    fields: Vec<(usize, usize)>,
    /// Where the record ends in the text: before its line break (and a `\r`).
    end: usize,
}

impl Record {
    /// The fields: where each value starts in the text, and the value, trimmed of spaces.
    fn fields(&self) -> impl Iterator<Item = (usize, &str)> {
        let mut from = 0;
        self.fields.iter().map(move |&(pos, to)| {
            let value = std::str::from_utf8(&self.buf[from..to]).expect("cut at ASCII bytes");
            from = to;
            (pos, value.trim())
        })
    }
}

/// Skips blank lines and comment lines from `at` (the start of a line): where the next line of
/// data starts, and that line.
fn next_data_line(text: &str, mut at: usize) -> Option<(usize, &str)> {
    while at < text.len() {
        let rest = &text[at..];
        let line = rest.split('\n').next().unwrap_or(rest);
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            return Some((at, line));
        }
        at += line.len() + 1;
    }
    None
}

impl<'a> Records<'a> {
    fn new(text: &'a str, delim: u8) -> Self {
        Self {
            text,
            next: 0,
            delim,
            // Lines end at `\n` only (a `\r` before it is trimmed with the spaces), as they
            // are counted in messages.
            reader: csv_core::ReaderBuilder::new()
                .delimiter(delim)
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
        }
    }

    /// Reads the next record into `rec`; false at the end of the text.
    ///
    /// # Errors
    /// Where in the text, and what: a quoted field not closed before the end of the text (at
    /// its opening quote), or text after a closing quote (which `csv-core` would take as part
    /// of the value: `"1"2` as `12`).
    fn read(&mut self, rec: &mut Record) -> Result<bool, (usize, &'static str)> {
        let Some((start, _)) = next_data_line(self.text, self.next) else {
            return Ok(false);
        };
        self.next = start;
        let bytes = self.text.as_bytes();
        rec.len = 0;
        rec.fields.clear();
        loop {
            // Spaces before a field are not part of it, so that ` "a,b"` is quoted too.
            while let Some(&c) = bytes.get(self.next)
                && (c == b' ' || (c == b'\t' && self.delim != b'\t'))
            {
                self.next += 1;
            }
            let start = self.next;
            let quoted = bytes.get(start) == Some(&b'"');
            let (record_end, last_nin) = loop {
                if rec.len == rec.buf.len() {
                    rec.buf.resize(rec.buf.len() * 2 + 256, 0);
                }
                let (result, nin, nout) = self
                    .reader
                    .read_field(&bytes[self.next..], &mut rec.buf[rec.len..]);
                self.next += nin;
                rec.len += nout;
                match result {
                    // All the text was given: the next call (with none) ends the field.
                    csv_core::ReadFieldResult::InputEmpty
                    | csv_core::ReadFieldResult::OutputFull => {}
                    csv_core::ReadFieldResult::Field { record_end } => break (record_end, nin),
                    csv_core::ReadFieldResult::End => break (true, 0),
                }
            };
            // The field's text ends before the delimiter or line break that ended it, if any.
            let raw_end = if last_nin > 0 {
                self.next - 1
            } else {
                self.next
            };
            if quoted {
                let inner = &bytes[start + 1..raw_end];
                let Some(close) = closing_quote(inner) else {
                    return Err((
                        start,
                        "the quoted field is not closed before the end of the file",
                    ));
                };
                if let Some(j) = inner[close + 1..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                {
                    return Err((
                        start + close + 2 + j,
                        "text after the closing quote of a field",
                    ));
                }
            }
            rec.fields.push((start + usize::from(quoted), rec.len));
            if record_end {
                rec.end = if raw_end > start && bytes[raw_end - 1] == b'\r' {
                    raw_end - 1
                } else {
                    raw_end
                };
                return Ok(true);
            }
        }
    }
}

/// Where the closing quote is in the text after an opening one (`""` is a quote inside).
fn closing_quote(inner: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        at += inner[at..].iter().position(|&b| b == b'"')?;
        if inner.get(at + 1) != Some(&b'"') {
            return Some(at);
        }
        at += 2;
    }
}

/// Parses delimited text (already decoded) into a matrix; `source` names it in messages.
/// Every entry must be a finite number ≥ 0.
///
/// # Errors
/// One-line [`CliError::data`] messages with `file:line:column` for a value that is not a
/// number, an empty field, a negative, NaN or infinite entry (with its row and column), a row
/// with another number of fields than the first, a quoted field not closed, or a file without
/// data.
pub fn parse(
    text: &str,
    source: &str,
    delimiter: Delimiter,
    header: Header,
) -> Result<Matrix, CliError> {
    parse_cancellable(text, source, delimiter, header, None)
}

/// [`parse`], stopping with [`CliError::interrupted`] when `cancel` is set (checked every
/// few tens of thousands of values).
///
/// # Errors
/// As [`parse`], and [`CliError::interrupted`].
pub fn parse_cancellable(
    text: &str,
    source: &str,
    delimiter: Delimiter,
    header: Header,
    cancel: Option<&AtomicBool>,
) -> Result<Matrix, CliError> {
    parse_with(text, source, delimiter, header, cancel, false)
}

/// [`parse_cancellable`], reading empty cells and NaN as missing values (kept as NaN) when
/// `nan_missing` (`--nan missing`), instead of refusing them.
///
/// # Errors
/// As [`parse`], except for empty cells and NaN when `nan_missing`.
pub fn parse_with(
    text: &str,
    source: &str,
    delimiter: Delimiter,
    header: Header,
    cancel: Option<&AtomicBool>,
    nan_missing: bool,
) -> Result<Matrix, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let no_data = || CliError::data(format!("{source}: no data rows"));
    let (_, first_line) = next_data_line(text, 0).ok_or_else(no_data)?;
    let delim = match delimiter {
        Delimiter::Comma => b',',
        Delimiter::Tab => b'\t',
        Delimiter::Auto if has_unquoted_tab(first_line) => b'\t',
        Delimiter::Auto => b',',
    };
    let mut records = Records::new(text, delim);

    let here = |pos: usize| at(source, text, pos);
    let mut rec = Record::default();
    let mut data = Vec::new();
    let mut cols: Option<(usize, usize)> = None; // (fields, line of the first data row)
    let mut rows = 0usize;
    let mut first = true;
    loop {
        let more = records
            .read(&mut rec)
            .map_err(|(pos, what)| CliError::data(format!("{}: {what}", here(pos))))?;
        if !more {
            break;
        }
        if first {
            first = false;
            let is_header = match header {
                Header::Yes => true,
                Header::No => false,
                Header::Auto => rec.fields().all(|(_, v)| v.parse::<f64>().is_err()),
            };
            if is_header {
                continue;
            }
        }
        let found = rec.fields.len();
        let mut n = 0usize;
        for (pos, value) in rec.fields() {
            if let Some((expected, first_line)) = cols
                && n == expected
            {
                return Err(CliError::data(format!(
                    "{}: expected {expected} fields as on line {first_line}, found {found}",
                    here(pos)
                )));
            }
            if value.is_empty() && !nan_missing {
                return Err(CliError::data(format!(
                    "{}: empty field (field {} of the row)",
                    here(pos),
                    n + 1
                )));
            }
            let x: f64 = if value.is_empty() {
                f64::NAN
            } else {
                value.parse().map_err(|_| {
                    CliError::data(format!(
                        "{}: cannot read '{}' as a number",
                        here(pos),
                        excerpt(value)
                    ))
                })?
            };
            if !(valid_entry(x) || nan_missing && x.is_nan()) {
                return Err(CliError::data(format!(
                    "{}: {} at row {rows}, column {n} (0-based)",
                    here(pos),
                    describe_invalid(x)
                )));
            }
            if data.len().is_multiple_of(CANCEL_EVERY) {
                check_cancel(cancel, source)?;
            }
            if data.len() == data.capacity() {
                // Grown by doubling, as push would, but with an error instead of an abort.
                let (have, len) = (data.len(), data.len().saturating_mul(2).max(1024));
                try_reserve(&mut data, len, source, &|| {
                    format!("a matrix of more than {have} values")
                })?;
            }
            data.push(x);
            n += 1;
        }
        match cols {
            None => cols = Some((n, line_of(text, rec.fields[0].0))),
            Some((expected, first_line)) if n != expected => {
                return Err(CliError::data(format!(
                    "{}: expected {expected} fields as on line {first_line}, found {n}",
                    here(rec.end)
                )));
            }
            Some(_) => {}
        }
        rows += 1;
    }
    match cols {
        Some((c, _)) => Ok(Matrix::new(rows, c, data)),
        None => Err(no_data()),
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
        // (the tab is escaped in the message)
        assert_eq!(e.message, "t.csv:1:3: cannot read '2\\t3' as a number");
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
    fn quoted_fields() {
        // The delimiter, a doubled quote and a line break inside quotes; spaces around quotes.
        let m = p("\"a,b\",\"say \"\"hi\"\"\", \"two\nlines\"\n\"1.5\", \"2\" ,3\n").unwrap();
        assert_eq!((m.rows, m.cols, m.data), (1, 3, vec![1.5, 2.0, 3.0]));
        // A quoted tab on the first line does not make the file tab-separated.
        let m = p("\"a\tb\",c\n1,2\n").unwrap();
        assert_eq!((m.rows, m.cols), (1, 2));
        let m = p("\"a,b\"\t\"c\"\n1\t2\n").unwrap();
        assert_eq!((m.rows, m.cols), (1, 2));
        // A quoted number is a number: the first line is data.
        let m = p("\"1\",\"2\"\n3,4\n").unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        // Quotes in the middle of an unquoted field are kept.
        assert_eq!(
            p("1,2\"\n").unwrap_err().message,
            "t.csv:1:3: cannot read '2\"' as a number"
        );
    }

    #[test]
    fn quoted_errors_have_line_and_column() {
        // The column is the value's, inside the quotes; lines count the breaks inside quotes.
        assert_eq!(
            p("\"a\nb\",c\n1,\"x,y\"\n").unwrap_err().message,
            "t.csv:3:4: cannot read 'x,y' as a number"
        );
        assert_eq!(
            p("\"a,b\",c\n1, \"-2\"\n").unwrap_err().message,
            "t.csv:2:5: negative entry -2 at row 0, column 1 (0-based)"
        );
        assert_eq!(
            p("1,2\n3,\"\"\n").unwrap_err().message,
            "t.csv:2:4: empty field (field 2 of the row)"
        );
        assert_eq!(
            p("1,2\n3,\"4\",\"5,6\"\n").unwrap_err().message,
            "t.csv:2:8: expected 2 fields as on line 1, found 3"
        );
        assert_eq!(
            p("\"a\",\"b\"\n1,2\n\"3\"\r\n").unwrap_err().message,
            "t.csv:3:4: expected 2 fields as on line 2, found 1"
        );
        assert_eq!(
            p("1,2\n3,\"4\n5,6\n").unwrap_err().message,
            "t.csv:2:3: the quoted field is not closed before the end of the file"
        );
        assert_eq!(
            p("1,2\n3,\"4\"5\n").unwrap_err().message,
            "t.csv:2:6: text after the closing quote of a field"
        );
        assert_eq!(
            p("\"a\"\" b\",c\n1,\"2\"  \"\n").unwrap_err().message,
            "t.csv:2:8: text after the closing quote of a field"
        );
        // Closed at the very end of the text, or followed by spaces.
        assert_eq!(p("1,\"2\"").unwrap().data, vec![1.0, 2.0]);
        assert_eq!(p("1,\"2\"  \r\n").unwrap().data, vec![1.0, 2.0]);
        assert_eq!(
            p("1,\"2\"\"\"").unwrap_err().message,
            "t.csv:1:4: cannot read '2\"' as a number"
        );
    }

    #[test]
    fn bad_cells_are_escaped_and_cut_in_messages() {
        // Terminal escape codes and other control characters are shown escaped.
        assert_eq!(
            p("1,2\n3,\u{1b}[2J\u{7}x\n").unwrap_err().message,
            "t.csv:2:3: cannot read '\\u{1b}[2J\\u{7}x' as a number"
        );
        // A quoted line break too (the message stays one line).
        assert_eq!(
            p("1,2\n3,\"a\nb\"\n").unwrap_err().message,
            "t.csv:2:4: cannot read 'a\\nb' as a number"
        );
        // A long cell is cut after 40 characters, with its length.
        let long = "x".repeat(5_000_000);
        let e = p(&format!("1,2\n3,{long}\n")).unwrap_err().message;
        assert_eq!(
            e,
            format!(
                "t.csv:2:3: cannot read '{}… (5000000 characters)' as a number",
                "x".repeat(40)
            )
        );
        // Characters, not bytes: a cut never splits one.
        let e = p(&format!("1,{}\n", "é".repeat(41))).unwrap_err().message;
        assert_eq!(
            e,
            format!(
                "t.csv:1:3: cannot read '{}… (41 characters)' as a number",
                "é".repeat(40)
            )
        );
    }

    #[test]
    fn parsing_stops_when_cancelled() {
        let cancel = AtomicBool::new(true);
        let e = parse_cancellable(
            "1,2\n",
            "t.csv",
            Delimiter::Auto,
            Header::Auto,
            Some(&cancel),
        )
        .unwrap_err();
        assert_eq!(e.code, crate::error::EXIT_INTERRUPTED);
        assert_eq!(
            e.message,
            "interrupted (Ctrl-C, SIGTERM or SIGHUP) while reading t.csv; nothing was written"
        );
        cancel.store(false, std::sync::atomic::Ordering::Relaxed);
        let m = parse_cancellable(
            "1,2\n",
            "t.csv",
            Delimiter::Auto,
            Header::Auto,
            Some(&cancel),
        );
        assert_eq!(m.unwrap().data, vec![1.0, 2.0]);
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
