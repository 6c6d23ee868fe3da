//! Readers (and the matching writers) of the supported file types, and the choice among them.

pub mod csv;
pub mod mtx;
pub mod npy;
pub mod row_source;
pub mod scipy_npz;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::CliError;
use crate::error::fmt_bytes;
use crate::matrix::Matrix;
pub use csv::{Delimiter, Header};

/// The type of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma- or tab-separated text (`.csv`, `.txt`).
    Csv,
    /// Tab-separated text (`.tsv`, `.tab`): CSV with the tab delimiter.
    Tsv,
    /// Matrix Market (`.mtx`).
    Mtx,
    /// NumPy (`.npy`).
    Npy,
    /// A SciPy sparse matrix (`.npz` from `scipy.sparse.save_npz`: csr, csc or coo).
    Npz,
}

impl Format {
    /// The name used in messages and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Mtx => "mtx",
            Format::Npy => "npy",
            Format::Npz => "npz",
        }
    }

    /// The format of a file name's extension (after a `.gz`, if any), if known.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" | "txt" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "mtx" => Some(Format::Mtx),
            "npy" => Some(Format::Npy),
            "npz" => Some(Format::Npz),
            _ => None,
        }
    }
}

/// The default of `--max-input-bytes`: 4 GiB. Input is read whole into memory before it is
/// parsed, and a dense matrix of `f64` takes about as much memory as its `.npy` file and up
/// to 4 times its CSV text: 4 GiB of input is already a matrix of 4 to 16 GiB, more than most
/// machines fit with the factors beside it. Larger (or smaller) inputs need the flag.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 4 << 30;

/// How to read an input file.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// The CSV delimiter.
    pub delimiter: Delimiter,
    /// The CSV header line.
    pub header: Header,
    /// The most bytes a file may hold, after decompression for `.gz` files (also what a
    /// special file such as `/dev/zero` may give).
    pub max_bytes: u64,
    /// Checked while reading (between chunks of a few MiB): when it becomes true, reading
    /// stops with [`CliError::interrupted`].
    pub cancel: Option<&'static AtomicBool>,
    /// Read NaN entries, and empty CSV cells, of a CSV or `.npy` file as missing values
    /// (`--nan missing`: kept as NaN in the dense matrix, for the masked fit) instead of
    /// refusing them.
    pub nan_missing: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            delimiter: Delimiter::Auto,
            header: Header::Auto,
            max_bytes: DEFAULT_MAX_INPUT_BYTES,
            cancel: None,
            nan_missing: false,
        }
    }
}

/// Stops reading `source` when `cancel` is set (by Ctrl-C, SIGTERM or SIGHUP).
///
/// # Errors
/// [`CliError::interrupted`] naming the file.
pub(crate) fn check_cancel(cancel: Option<&AtomicBool>, source: &str) -> Result<(), CliError> {
    match cancel {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(CliError::interrupted(format!(
            "interrupted ({}) while reading {source}; nothing was written",
            crate::interrupt::SIGNALS
        ))),
        _ => Ok(()),
    }
}

/// How many values the text parsers read between two checks of [`ReadOptions::cancel`].
pub(crate) const CANCEL_EVERY: usize = 1 << 16;

/// How much is read between two checks of [`ReadOptions::cancel`].
const CHUNK: u64 = 4 << 20;

/// Reads a whole file (`what` names it in an error: "read", "read the model"), at most
/// `opts.max_bytes` of it (after decompression with `gunzip`:
/// also for the members of a multi-member gzip file), in chunks, checking `opts.cancel`
/// between them.
///
/// # Errors
/// [`CliError::data`] for a file that cannot be opened or read, a gzip stream that is corrupt,
/// or more bytes than the limit (naming `--max-input-bytes`); [`CliError::interrupted`] when
/// cancelled.
pub fn read_file(
    path: &Path,
    what: &str,
    gunzip: bool,
    opts: &ReadOptions,
) -> Result<Vec<u8>, CliError> {
    let source = path.display().to_string();
    let file = File::open(path).map_err(|e| CliError::io(what, path, &e))?;
    // A regular file's size (what special files such as /dev/zero do not have) is a hint.
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let too_big = |max: u64| {
        let what = if gunzip { "decompresses to" } else { "holds" };
        CliError::data(format!(
            "{source}: {what} more than {} (--max-input-bytes {max}); \
             raise --max-input-bytes to read it",
            fmt_bytes(max)
        ))
    };
    if !gunzip && size.is_some_and(|n| n > opts.max_bytes) {
        return Err(too_big(opts.max_bytes));
    }
    let mut out = Vec::new();
    let mut reader: Box<dyn Read> = if gunzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        if let Some(n) = size {
            // (with one byte more, to see the end of the file)
            let n = n.saturating_add(1);
            crate::matrix::try_reserve(
                &mut out,
                usize::try_from(n).unwrap_or(usize::MAX),
                &source,
                &|| format!("reading the file ({})", fmt_bytes(n)),
            )?;
        }
        Box::new(file)
    };
    loop {
        check_cancel(opts.cancel, &source)?;
        // One byte past the limit tells a file of exactly the limit from a larger one.
        let room = (opts.max_bytes.saturating_add(1) - out.len() as u64).min(CHUNK);
        // Reads go into the room reserved (for a regular file, its size and one byte); when
        // it is full, the buffer doubles (as read_to_end would), with an error instead of the
        // process being killed when the memory is not there.
        if out.capacity() == out.len() {
            let have = out.len();
            let cap = usize::try_from(opts.max_bytes.saturating_add(1)).unwrap_or(usize::MAX);
            let grown = have.saturating_mul(2).min(cap).max(have + room as usize);
            crate::matrix::try_reserve(&mut out, grown, &source, &|| {
                format!(
                    "reading the file (more than {} so far)",
                    fmt_bytes(have as u64)
                )
            })?;
        }
        let room = room.min((out.capacity() - out.len()) as u64);
        let n = (&mut reader)
            .take(room)
            .read_to_end(&mut out)
            .map_err(|e| {
                if gunzip && e.kind() != std::io::ErrorKind::OutOfMemory {
                    CliError::data(format!("{source}: cannot decompress: {e}"))
                } else {
                    CliError::io(what, path, &e)
                }
            })?;
        if out.len() as u64 > opts.max_bytes {
            return Err(too_big(opts.max_bytes));
        }
        if n == 0 {
            return Ok(out);
        }
    }
}

/// Reads a matrix file: the format is `format` if given, else chosen by the extension
/// (`.csv`, `.txt`, `.tsv`, `.tab`, `.mtx`, `.npy`, each optionally followed by `.gz`, which is
/// decompressed). Every entry is checked to be finite and ≥ 0. At most `opts.max_bytes` are
/// read (after decompression); the matrix must have at least one row and one column.
///
/// # Errors
/// A usage error (exit code 2) when the format cannot be told from the name, and a data error
/// (exit code 1) for an unreadable file or bad contents, with the file, line and column or the
/// row and column of the bad entry; a file over the size limit (naming `--max-input-bytes`);
/// an empty matrix (no rows or no columns); a matrix that does not fit in memory (with the
/// memory it needs); [`CliError::interrupted`] when `opts.cancel` is set while reading.
pub fn read_matrix(
    path: &Path,
    format: Option<Format>,
    opts: ReadOptions,
) -> Result<(Matrix, Format), CliError> {
    let source = path.display().to_string();
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(CliError::usage(format!(
                "cannot tell the format of '{source}' from its extension: name it .csv, .tsv, .mtx, .npy or .npz, or pass --format csv|tsv|mtx|npy|npz"
            )));
        }
    };
    let gunzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bytes = read_file(path, "read", gunzip, &opts)?;
    let m = parse_bytes(&bytes, &source, format, opts)?;
    Ok((m, format))
}

/// Parses the contents of a file of a known format.
///
/// # Errors
/// As [`read_matrix`].
pub fn parse_bytes(
    bytes: &[u8],
    source: &str,
    format: Format,
    csv: ReadOptions,
) -> Result<Matrix, CliError> {
    let text = || {
        std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            CliError::data(format!(
                "{source}:{line}: not UTF-8 text (byte {at}); is it a {} file?",
                format.name()
            ))
        })
    };
    match format {
        Format::Csv => csv::parse_with(
            text()?,
            source,
            csv.delimiter,
            csv.header,
            csv.cancel,
            csv.nan_missing,
        ),
        Format::Tsv => {
            let delimiter = match csv.delimiter {
                Delimiter::Auto => Delimiter::Tab,
                d => d,
            };
            csv::parse_with(
                text()?,
                source,
                delimiter,
                csv.header,
                csv.cancel,
                csv.nan_missing,
            )
        }
        Format::Mtx => mtx::parse_cancellable(text()?, source, csv.cancel),
        Format::Npy => {
            let m = npy::parse(bytes, source)?;
            m.check_entries_allowing_nan(source, csv.nan_missing)?;
            Ok(m)
        }
        Format::Npz => densify(&scipy_npz::parse(bytes, source, csv.max_bytes)?, source),
    }
}

/// A sparse matrix made dense (for the commands and options that read dense data), or an
/// error naming the memory it needs.
///
/// # Errors
/// A [`CliError::data`] when the m×n matrix does not fit in memory.
pub fn densify(c: &nmf_core::sparse::Csr<f64>, source: &str) -> Result<Matrix, CliError> {
    let (rows, cols) = c.shape();
    let mut data = crate::matrix::alloc_dense(source, rows, cols)?;
    let v = c.view();
    for i in 0..rows {
        let (js, xs) = v.row(i);
        for (&j, &x) in js.iter().zip(xs) {
            data[i * cols + j] = x;
        }
    }
    Ok(Matrix::new(rows, cols, data))
}

/// What `nmf fit`, `nmf topics` and `nmf transform` read: a dense matrix, or a sparse one kept
/// sparse; and what a fit runs on, which may also be the observed entries of a masked problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Dense entries (CSV, `.npy`, a Matrix Market `array`, or any input with `--dense`).
    Dense(Matrix),
    /// Compressed sparse rows (a Matrix Market `coordinate` file, a SciPy `.npz`).
    Sparse(nmf_core::sparse::Csr<f64>),
    /// Observed entries only, optionally weighted (missing values, held-out entries, weights:
    /// made from a read input by [`masked_input`](crate::masked_input), never by a reader).
    Observed(Box<nmf_core::masked::Observed<f64>>),
    /// Rows read from the file by blocks at every pass of the fit, never held whole
    /// (`--out-of-core ROWS`, [`row_source`]).
    Rows(row_source::RowInput),
}

impl Input {
    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Input::Dense(m) => (m.rows, m.cols),
            Input::Sparse(c) => c.shape(),
            Input::Observed(o) => o.shape(),
            Input::Rows(r) => r.shape(),
        }
    }
    /// The stored entries (every entry when dense).
    pub fn nnz(&self) -> usize {
        match self {
            Input::Dense(m) => m.data.len(),
            Input::Sparse(c) => c.nnz(),
            Input::Observed(o) => o.nnz(),
            // Every entry, as for a dense input (a streamed source's storage is seen only
            // block by block).
            Input::Rows(r) => r.shape().0.saturating_mul(r.shape().1),
        }
    }
    /// `"dense"`, `"sparse"`, `"observed"` or `"streamed"`, for messages and summary.json.
    pub fn storage(&self) -> &'static str {
        match self {
            Input::Dense(_) => "dense",
            Input::Sparse(_) => "sparse",
            Input::Observed(_) => "observed",
            Input::Rows(_) => "streamed",
        }
    }
}

/// Reads the input of `nmf fit`, `nmf topics` and `nmf transform` as [`read_matrix`] does, keeping Matrix Market `coordinate` files and
/// SciPy `.npz` files sparse unless `dense` is set: memory O(nnz + rows) for them, never
/// O(rows × columns).
///
/// # Errors
/// As [`read_matrix`].
pub fn read_input(
    path: &Path,
    format: Option<Format>,
    opts: ReadOptions,
    dense: bool,
) -> Result<(Input, Format), CliError> {
    let source = path.display().to_string();
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => return read_matrix(path, None, opts).map(|(m, f)| (Input::Dense(m), f)),
    };
    if dense || !matches!(format, Format::Mtx | Format::Npz) {
        return read_matrix(path, Some(format), opts).map(|(m, f)| (Input::Dense(m), f));
    }
    let gunzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bytes = read_file(path, "read", gunzip, &opts)?;
    let input = if format == Format::Npz {
        Input::Sparse(scipy_npz::parse(&bytes, &source, opts.max_bytes)?)
    } else {
        // The text moves into the parser, which frees it before the compressed rows are built.
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            CliError::data(format!(
                "{source}:{line}: not UTF-8 text (byte {at}); is it a mtx file?"
            ))
        })?;
        match mtx::parse_sparse_owned(text, &source, opts.cancel)? {
            mtx::MtxMatrix::Dense(m) => Input::Dense(m),
            mtx::MtxMatrix::Sparse(c) => Input::Sparse(c),
        }
    };
    Ok((input, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        let f = |s: &str| Format::from_path(Path::new(s));
        assert_eq!(f("a/b.CSV"), Some(Format::Csv));
        assert_eq!(f("x.tsv.gz"), Some(Format::Tsv));
        assert_eq!(f("m.mtx"), Some(Format::Mtx));
        assert_eq!(f("v.npy"), Some(Format::Npy));
        assert_eq!(f("v.dat"), None);
        assert_eq!(f("noext"), None);
    }

    #[test]
    fn binary_data_as_text_is_a_clear_error() {
        let e = parse_bytes(
            b"1,2\n\xff\xfe",
            "b.csv",
            Format::Csv,
            ReadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "b.csv:2: not UTF-8 text (byte 4); is it a csv file?"
        );
    }

    #[test]
    fn npy_entries_are_checked() {
        let bytes = npy::to_npy_bytes(1, 2, &[1.0f64, -2.0]);
        let e = parse_bytes(&bytes, "n.npy", Format::Npy, ReadOptions::default()).unwrap_err();
        assert_eq!(
            e.message,
            "n.npy: negative entry -2 at row 0, column 1 (0-based)"
        );
    }

    fn limited(max_bytes: u64) -> ReadOptions {
        ReadOptions {
            max_bytes,
            ..ReadOptions::default()
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn reading_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        std::fs::write(&path, b"1,2\n3,4\n").unwrap();
        // Exactly the limit is read; one byte less is refused.
        assert_eq!(
            read_file(&path, "read", false, &limited(8)).unwrap().len(),
            8
        );
        assert_eq!(
            read_file(&path, "read", false, &limited(7))
                .unwrap_err()
                .message,
            format!(
                "{}: holds more than 7 bytes (--max-input-bytes 7); raise --max-input-bytes to read it",
                path.display()
            )
        );
        // A special file that never ends.
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            let e = read_matrix(zero, Some(Format::Csv), limited(10 << 20)).unwrap_err();
            assert_eq!(
                e.message,
                "/dev/zero: holds more than 10.5 MB (10485760 bytes) (--max-input-bytes 10485760); raise --max-input-bytes to read it"
            );
        }
    }

    #[test]
    fn decompression_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        // 256 MiB of zeros compress to about 250 kB.
        let bomb = gzip(&vec![b'0'; 256 << 20]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let path = dir.path().join("bomb.csv.gz");
        std::fs::write(&path, &bomb).unwrap();
        let e = read_matrix(&path, None, limited(1 << 20)).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "{}: decompresses to more than 1.0 MB (1048576 bytes) (--max-input-bytes 1048576); raise --max-input-bytes to read it",
                path.display()
            )
        );
        assert_eq!(e.code, crate::error::EXIT_DATA);
        // The cap counts decompressed bytes: a small file under it reads.
        let path = dir.path().join("ok.csv.gz");
        std::fs::write(&path, gzip(b"1,2\n3,4\n")).unwrap();
        let (m, _) = read_matrix(&path, None, limited(8)).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        assert!(read_matrix(&path, None, limited(7)).is_err());
        // A corrupt stream.
        let mut bad = gzip(b"1,2\n3,4\n");
        let n = bad.len();
        bad[n - 12] ^= 0xff;
        let path = dir.path().join("bad.csv.gz");
        std::fs::write(&path, &bad).unwrap();
        let e = read_matrix(&path, None, limited(1 << 20)).unwrap_err();
        assert!(
            e.message
                .starts_with(&format!("{}: cannot decompress: ", path.display())),
            "{}",
            e.message
        );
    }

    #[test]
    fn reading_stops_when_cancelled() {
        static CANCEL: AtomicBool = AtomicBool::new(true);
        let opts = ReadOptions {
            cancel: Some(&CANCEL),
            ..ReadOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        std::fs::write(&path, b"1,2\n").unwrap();
        let e = read_matrix(&path, None, opts).unwrap_err();
        assert_eq!(e.code, crate::error::EXIT_INTERRUPTED);
        assert_eq!(
            e.message,
            format!(
                "interrupted (Ctrl-C, SIGTERM or SIGHUP) while reading {}; nothing was written",
                path.display()
            )
        );
    }
}
