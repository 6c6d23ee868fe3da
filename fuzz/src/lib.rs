//! The invariants that the fuzz targets (`fuzz_targets/*.rs`) assert beyond "no panic".
//!
//! A reader either returns a matrix whose data length is rows × columns, every entry finite and
//! ≥ 0, or an error that is one short line naming the file, without control characters
//! (issue 9 §4: cell contents are escaped and cut in messages). A loaded model has shapes that
//! agree with its data.

use nmf_cli::CliError;
use nmf_cli::matrix::Matrix;
use nmf_core::SavedModel;

/// The longest message accepted, beyond the length of the source name (a message quotes at
/// most a cut piece of the input; 1 KiB leaves room for the longest fixed wording, about
/// 250 bytes, and a quoted cell cut to a few hundred bytes).
pub const MAX_MESSAGE: usize = 1024;

/// The source name given to the readers.
pub const SOURCE: &str = "fuzz-input";

/// Checks what a reader returned.
///
/// # Panics
/// If a matrix's data length is not rows × columns, an entry is negative or not finite, or
/// the error is not a data error (exit code 1) with a message as [`check_message`] wants.
pub fn check_read(result: Result<Matrix, CliError>) {
    match result {
        Ok(m) => {
            assert_eq!(
                Some(m.data.len()),
                m.rows.checked_mul(m.cols),
                "a {}×{} matrix with {} entries",
                m.rows,
                m.cols,
                m.data.len()
            );
            if let Some(x) = m.data.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                panic!("a reader returned the entry {x}");
            }
        }
        Err(e) => {
            assert_eq!(
                e.code,
                nmf_cli::error::EXIT_DATA,
                "a file's contents gave exit code {} ({})",
                e.code,
                e.message
            );
            check_message(&e.message, SOURCE);
        }
    }
}

/// Checks an error message: not empty, one line, no control character (a tab aside), at most
/// [`MAX_MESSAGE`] bytes beyond the source name, and naming the source.
///
/// # Panics
/// If one of these fails.
pub fn check_message(message: &str, source: &str) {
    assert!(!message.trim().is_empty(), "an empty error message");
    if let Some(c) = message.chars().find(|&c| c.is_control() && c != '\t') {
        panic!("the message holds the control character {c:?}: {message:?}");
    }
    assert!(
        message.len() <= MAX_MESSAGE + source.len(),
        "a message of {} bytes: {:?}…",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
    assert!(
        message.contains(source),
        "the message does not name the file: {message:?}"
    );
}

/// Checks a model that loaded: if its shapes agree with its data, it must build on the
/// reference backend in f64 and f32 with those shapes; if they do not, building must fail
/// (never panic).
///
/// # Panics
/// If building panics, succeeds with inconsistent shapes, or gives other shapes.
pub fn check_model(model: &SavedModel) {
    use nmf_core::MatrixBackend;
    use nmf_core::reference::Reference;
    let (m, k, n) = (model.rows, model.rank, model.cols);
    let consistent = m.checked_mul(k) == Some(model.w.len())
        && k.checked_mul(n) == Some(model.h.len())
        && m > 0
        && k > 0
        && n > 0;
    let b = Reference;
    match model.into_model::<f64, _>(&b) {
        Ok(built) => {
            assert!(
                consistent,
                "a model with W {m}×{k} ({} values) and H {k}×{n} ({} values) loaded",
                model.w.len(),
                model.h.len()
            );
            assert_eq!(b.shape(built.w()), (m, k));
            assert_eq!(b.shape(built.h()), (k, n));
            let f32_model = model.into_model::<f32, _>(&b);
            // f32 may refuse values beyond its range, never with a panic; when it loads, the
            // shapes are the same, every entry of W and H is finite and ε > 0 (an f64 value
            // rounded to f32 may overflow to infinity or flush to 0).
            if let Ok(built) = f32_model {
                assert_eq!(b.shape(built.w()), (m, k));
                assert_eq!(b.shape(built.h()), (k, n));
                let eps = built.eps();
                assert!(
                    eps > 0.0,
                    "an f32 model loaded with ε = {eps} (file: {})",
                    model.eps
                );
                for (name, f) in [("W", built.w()), ("H", built.h())] {
                    if let Some(x) = b.to_row_major(f).iter().find(|x| !x.is_finite()) {
                        panic!("an f32 model loaded with the entry {x} in {name}");
                    }
                }
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.trim().is_empty(), "an empty error");
        }
    }
}

/// Checks what a sparse reader returned: compressed rows that pass the library's own checks
/// (pointers, sorted in-range indices, finite values ≥ 0), or an error as [`check_read`] wants.
///
/// # Panics
/// If the matrix fails those checks or the error is not a short data error naming the file.
pub fn check_sparse(result: Result<nmf_core::sparse::Csr<f64>, CliError>) {
    match result {
        Ok(c) => {
            let v = c.view();
            let (rows, cols) = c.shape();
            if let Err(e) =
                nmf_core::sparse::CsrRef::new(rows, cols, v.indptr(), v.indices(), v.data())
            {
                panic!("a sparse reader returned an invalid matrix: {e}");
            }
        }
        Err(e) => {
            assert_eq!(
                e.code,
                nmf_cli::error::EXIT_DATA,
                "exit code {} ({})",
                e.code,
                e.message
            );
            check_message(&e.message, SOURCE);
        }
    }
}
