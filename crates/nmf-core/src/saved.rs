//! Saving and loading fitted models (feature `io`): [`SavedModel`], in JSON or `.npz`.
//!
//! A saved model holds W and H in row-major `f64` (exact for f32 and f64 models) with the
//! loss, ε and the fit's history, so any backend and either scalar type can load it: a model
//! fitted with faer loads into ndarray and transforms the same data to the same H.
//!
//! - JSON: one self-describing document; numbers are written in the shortest form that reads
//!   back to the same bits (serde_json with `float_roundtrip`).
//! - `.npz`: a zip (stored, uncompressed) of `W.npy` and `H.npy` (float64, C order), readable
//!   with `numpy.load`, and `model.json` with the rest. Deflate-compressed members (what
//!   `numpy.savez_compressed` writes) are read too.
//!
//! Every size read from a file is checked (`rows × rank` may not wrap around), `W.npy` and
//! `H.npy` must agree with `model.json`, and nothing reads more than a limit
//! ([`SavedModel::DEFAULT_MAX_READ_BYTES`], or the one given to
//! [`read_npz_with_limit`](SavedModel::read_npz_with_limit)): a small compressed file cannot
//! make the reader take gigabytes.
//!
//! ```
//! use nmf_core::{MatrixBackend, Nmf, SavedModel, reference::Reference};
//! let b = Reference;
//! let v = b.from_row_major(2, 3, &[1.0_f32, 2.0, 3.0, 2.0, 4.0, 6.0]).unwrap();
//! let model = Nmf::params(1).fit(&b, &v).unwrap();
//! let json = model.to_saved(&b).to_json();
//! let back = SavedModel::from_json(&json).unwrap().into_model::<f32, _>(&b).unwrap();
//! assert_eq!(b.to_row_major(back.w()), b.to_row_major(model.w()));
//! ```

use std::io::{Read, Seek, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Loss, LossRecord, MatrixBackend, NmfError, NmfModel, Penalty, Scalar};

/// The format tag written into every saved model.
pub const FORMAT: &str = "nmf-rs model";
/// The version of the format.
pub const VERSION: u32 = 1;

/// A fitted model in a backend-independent form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version ([`VERSION`]).
    pub version: u32,
    /// The scalar type of the fit (`"f32"` or `"f64"`).
    pub scalar: String,
    /// The β of the loss (2: Frobenius, 1: KL, 0: Itakura–Saito); loaded with
    /// [`Loss::beta`].
    pub beta: f64,
    /// The lower bound ε of the fit.
    pub eps: f64,
    /// m, the rows of V and W.
    pub rows: usize,
    /// k.
    pub rank: usize,
    /// n, the columns of V and H.
    pub cols: usize,
    /// W (m×k), row-major. Not in the JSON part of an `.npz` (it is `W.npy` there).
    #[serde(default)]
    pub w: Vec<f64>,
    /// H (k×n), row-major. Not in the JSON part of an `.npz` (it is `H.npy` there).
    #[serde(default)]
    pub h: Vec<f64>,
    /// Iterations run.
    pub n_iter: usize,
    /// Whether the stopping rule was met.
    pub converged: bool,
    /// `(iteration, loss)` at every evaluation.
    pub loss_history: Vec<(usize, f64)>,
    /// The penalty weights of the fit (absent, and so all 0, in files without
    /// regularisation written before this field existed).
    #[serde(default)]
    pub penalty: Penalty,
}

fn invalid(reason: impl Into<String>) -> NmfError {
    NmfError::InvalidModel {
        reason: reason.into(),
    }
}

/// The entries of a `.npy` member of an `.npz` (float64, C order), checked against the shape
/// `model.json` gives before anything is allocated.
fn npy_f64(name: &str, bytes: &[u8], (rows, cols): (usize, usize)) -> Result<Vec<f64>, NmfError> {
    let shape_error = |shape: &[u64]| {
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        invalid(format!(
            "{name} has shape ({}), but model.json says {rows}×{cols}",
            dims.join(", ")
        ))
    };
    // Headers nested deeper than any array's take exponential time to parse (see
    // crate::npy_header).
    if let Some(text) = npy_header_text(bytes) {
        let depth = crate::npy_header::nesting(text);
        if depth > crate::npy_header::MAX_NESTING {
            return Err(invalid(format!(
                "{name}: the .npy header nests brackets {depth} deep (an array's nests 2)"
            )));
        }
    }
    // npyz multiplies the declared dimensions unchecked: they are compared with model.json's
    // first, and their product checked.
    if let Some(shape) = npy_declared_shape(bytes) {
        if shape != [rows as u64, cols as u64] {
            return Err(shape_error(&shape));
        }
        if rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(8))
            .is_none()
        {
            return Err(invalid(format!(
                "{name}: a {rows}×{cols} float64 array needs more than 2⁶⁴ bytes"
            )));
        }
    }
    let mut rest = bytes;
    let header =
        npyz::NpyHeader::from_reader(&mut rest).map_err(|e| invalid(format!("{name}: {e}")))?;
    let shape = header.shape().to_vec();
    if shape != [rows as u64, cols as u64] {
        return Err(shape_error(&shape));
    }
    let f8 = matches!(header.dtype(), npyz::DType::Plain(t)
        if t.type_char() == npyz::TypeChar::Float && t.size_field() == 8);
    if !f8 {
        return Err(invalid(format!(
            "{name} holds {}, float64 expected",
            header.dtype().descr()
        )));
    }
    if header.order() != npyz::Order::C {
        return Err(invalid(format!(
            "{name} is in Fortran order (C order expected)"
        )));
    }
    let need = rows.checked_mul(cols).and_then(|n| n.checked_mul(8));
    if need != Some(rest.len()) {
        return Err(invalid(format!(
            "{name}: a {rows}×{cols} float64 array needs {} bytes of data, but the member has {}",
            need.map_or_else(|| "more than 2⁶⁴".to_string(), |n| n.to_string()),
            rest.len()
        )));
    }
    npyz::NpyFile::with_header(header, rest)
        .into_vec::<f64>()
        .map_err(|e| invalid(format!("{name}: {e} (float64 expected)")))
}

/// The header text of a `.npy` file (after the preamble), if the preamble is sound.
fn npy_header_text(bytes: &[u8]) -> Option<&[u8]> {
    let (start, len): (usize, usize) = match bytes.get(6..8)? {
        [1, 0] => (
            10,
            usize::from(u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?)),
        ),
        [2 | 3, 0] => {
            let len = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
            (12, usize::try_from(len).ok()?)
        }
        _ => return None,
    };
    bytes.get(start..start.checked_add(len)?)
}

/// The shape a `.npy` file's header declares, read with the parser npyz uses (`None` when the
/// header is not a dict with a shape of 64-bit dimensions: npyz then says what is wrong).
fn npy_declared_shape(bytes: &[u8]) -> Option<Vec<u64>> {
    use py_literal::Value;
    let text = std::str::from_utf8(npy_header_text(bytes)?).ok()?;
    let Ok(Value::Dict(dict)) = text.strip_suffix('\n').unwrap_or(text).parse::<Value>() else {
        return None;
    };
    // (the last of repeated keys, as npyz reads them into a map)
    let (_, shape) = dict
        .iter()
        .rev()
        .find(|(k, _)| k.as_string().is_some_and(|k| k == "shape"))?;
    match shape {
        Value::Tuple(d) | Value::List(d) => d
            .iter()
            .map(|d| u64::try_from(d.as_integer()?).ok())
            .collect(),
        _ => None,
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> NmfError {
    NmfError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl<T: Scalar, B: MatrixBackend<T>> NmfModel<T, B> {
    /// The model in a backend-independent form, for saving.
    pub fn to_saved(&self, backend: &B) -> SavedModel {
        let (m, k) = backend.shape(self.w());
        let n = backend.ncols(self.h());
        let f = |a: &B::Mat| {
            backend
                .to_row_major(a)
                .into_iter()
                .map(Scalar::as_f64)
                .collect()
        };
        SavedModel {
            format: FORMAT.to_string(),
            version: VERSION,
            scalar: T::NAME.to_string(),
            beta: self.loss().beta_value(),
            eps: self.eps().as_f64(),
            rows: m,
            rank: k,
            cols: n,
            w: f(self.w()),
            h: f(self.h()),
            n_iter: self.n_iter(),
            converged: self.converged(),
            loss_history: self
                .loss_history()
                .iter()
                .map(|r| (r.iteration, r.loss))
                .collect(),
            penalty: self.penalty(),
        }
    }
}

impl SavedModel {
    /// The most bytes [`read_npz`](Self::read_npz) decompresses from one member and
    /// [`load`](Self::load) reads from a file: 4 GiB, a model of half a billion entries.
    pub const DEFAULT_MAX_READ_BYTES: u64 = 4 << 30;

    /// Checks the format, shapes and entries, and builds the model on `backend` in scalar
    /// `T` (an f64 model loaded as f32 is rounded once).
    ///
    /// # Errors
    /// [`NmfError::InvalidModel`] for another format or version, inconsistent shapes, or an
    /// entry that is negative or not finite (or ε not positive).
    pub fn into_model<T: Scalar, B: MatrixBackend<T>>(
        &self,
        backend: &B,
    ) -> Result<NmfModel<T, B>, NmfError> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(invalid(format!(
                "not an {FORMAT} of version {VERSION} (found {:?} version {})",
                self.format, self.version
            )));
        }
        let (m, k, n) = (self.rows, self.rank, self.cols);
        if m == 0 || k == 0 || n == 0 {
            return Err(invalid(format!("empty shapes: W {m}×{k}, H {k}×{n}")));
        }
        for (name, d, (r, c)) in [("W", &self.w, (m, k)), ("H", &self.h, (k, n))] {
            // A corrupt file may declare a shape whose product wraps around.
            match r.checked_mul(c) {
                Some(len) if len == d.len() => {}
                Some(len) => {
                    return Err(invalid(format!(
                        "{name} has {} values, its shape needs {len}",
                        d.len()
                    )));
                }
                None => {
                    return Err(invalid(format!(
                        "{name} has {} values, its shape {r}×{c} needs more than 2⁶⁴",
                        d.len()
                    )));
                }
            }
            if let Some(i) = d.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
                let cols = if name == "W" { k } else { n };
                return Err(invalid(format!(
                    "{name} has the entry {} at row {}, column {}",
                    d[i],
                    i / cols,
                    i % cols
                )));
            }
            // An f64 model loaded into f32: every entry must be finite there too.
            if let Some(i) = d.iter().position(|&x| !T::from_f64(x).is_finite()) {
                let cols = if name == "W" { k } else { n };
                return Err(invalid(format!(
                    "{name} has the entry {:e} at row {}, column {}, beyond the range of {}",
                    d[i],
                    i / cols,
                    i % cols,
                    T::NAME
                )));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0 && self.beta.is_finite()) {
            return Err(invalid(format!(
                "eps = {} and beta = {} must be finite, eps > 0",
                self.eps, self.beta
            )));
        }
        let p = self.penalty;
        if [p.l1_w, p.l2_w, p.l1_h, p.l2_h]
            .iter()
            .any(|x: &f64| !(x.is_finite() && *x >= 0.0))
        {
            return Err(invalid(format!(
                "penalty weights must be finite and ≥ 0, got l1_w = {}, l2_w = {}, l1_h = {}, \
                 l2_h = {}",
                p.l1_w, p.l2_w, p.l1_h, p.l2_h
            )));
        }
        let to = |rows, cols, d: &[f64]| {
            backend.from_fn(rows, cols, |i, j| T::from_f64(d[i * cols + j]))
        };
        Ok(NmfModel::from_parts(
            to(m, k, &self.w),
            to(k, n, &self.h),
            Loss::beta(self.beta),
            self.loss_history
                .iter()
                .map(|&(iteration, loss)| LossRecord { iteration, loss })
                .collect(),
            self.n_iter,
            self.converged,
            // An f64 model's ε may be below T's normal range (0 once rounded to f32): it is
            // raised to T's smallest normal number, never 0 (transform raises it further, to
            // its range for the data).
            T::from_f64(self.eps).max(T::min_positive_value()),
            self.penalty,
        ))
    }

    /// The model as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a SavedModel always serialises")
    }

    /// Reads a model from JSON.
    ///
    /// # Errors
    /// [`NmfError::InvalidModel`] with serde_json's message (line and column).
    pub fn from_json(text: &str) -> Result<Self, NmfError> {
        serde_json::from_str(text).map_err(|e| invalid(format!("bad JSON: {e}")))
    }

    /// Writes the model as `.npz` (stored zip of `W.npy`, `H.npy` and `model.json`).
    ///
    /// # Errors
    /// [`NmfError::Io`] (with the name `<npz>`) if writing fails.
    pub fn write_npz<W: Write + Seek>(&self, out: W) -> Result<(), NmfError> {
        let err = |e: &dyn std::fmt::Display| io_error(Path::new("<npz>"), e);
        let mut zip = zip::ZipWriter::new(out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut meta = self.clone();
        meta.w.clear();
        meta.h.clear();
        for (name, data, shape) in [
            ("W.npy", &self.w, [self.rows as u64, self.rank as u64]),
            ("H.npy", &self.h, [self.rank as u64, self.cols as u64]),
        ] {
            let mut buf = Vec::new();
            {
                use npyz::WriterBuilder;
                let mut w = npyz::WriteOptions::new()
                    .default_dtype()
                    .shape(&shape)
                    .writer(&mut buf)
                    .begin_nd()
                    .map_err(|e| err(&e))?;
                w.extend(data.iter().copied()).map_err(|e| err(&e))?;
                w.finish().map_err(|e| err(&e))?;
            }
            zip.start_file(name, opts).map_err(|e| err(&e))?;
            zip.write_all(&buf).map_err(|e| err(&e))?;
        }
        zip.start_file("model.json", opts).map_err(|e| err(&e))?;
        zip.write_all(meta.to_json().as_bytes())
            .map_err(|e| err(&e))?;
        zip.finish().map_err(|e| err(&e))?;
        Ok(())
    }

    /// Reads a model written by [`write_npz`](Self::write_npz) (or by numpy's `savez` or
    /// `savez_compressed` with the same members), decompressing at most
    /// [`DEFAULT_MAX_READ_BYTES`](Self::DEFAULT_MAX_READ_BYTES) from each member.
    ///
    /// # Errors
    /// As [`read_npz_with_limit`](Self::read_npz_with_limit).
    pub fn read_npz<R: Read + Seek>(input: R) -> Result<Self, NmfError> {
        Self::read_npz_with_limit(input, Self::DEFAULT_MAX_READ_BYTES)
    }

    /// Reads a model from `.npz`, decompressing at most `max_bytes` from each member.
    ///
    /// # Errors
    /// [`NmfError::InvalidModel`] if a member is missing, malformed or larger than
    /// `max_bytes`, a compression method other than stored or deflate, a shape in `W.npy` or
    /// `H.npy` other than `model.json`'s, a data length other than the shape's, or entries
    /// of `W.npy` or `H.npy` other than those in `model.json` (when it holds them too).
    pub fn read_npz_with_limit<R: Read + Seek>(input: R, max_bytes: u64) -> Result<Self, NmfError> {
        let mut zip = zip::ZipArchive::new(input)
            .map_err(|e| invalid(format!("not a zip/.npz file: {e}")))?;
        let mut member = |name: &str| -> Result<Vec<u8>, NmfError> {
            let file = zip
                .by_name(name)
                .map_err(|e| invalid(format!("no {name} in the .npz: {e}")))?;
            let too_big = || {
                invalid(format!(
                    "{name} decompresses to more than {max_bytes} bytes (the limit)"
                ))
            };
            // The declared size first, then what the data really gives (a zip may lie).
            if file.size() > max_bytes {
                return Err(too_big());
            }
            let mut bytes = Vec::new();
            file.take(max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| invalid(format!("{name}: {e}")))?;
            if bytes.len() as u64 > max_bytes {
                return Err(too_big());
            }
            Ok(bytes)
        };
        let text = String::from_utf8(member("model.json")?)
            .map_err(|_| invalid("model.json in the .npz is not UTF-8 text"))?;
        let mut model = Self::from_json(&text)?;
        for (name, rows, cols) in [
            ("W.npy", model.rows, model.rank),
            ("H.npy", model.rank, model.cols),
        ] {
            let bytes = member(name)?;
            let data = npy_f64(name, &bytes, (rows, cols))?;
            let json = if name == "W.npy" {
                &mut model.w
            } else {
                &mut model.h
            };
            // model.json normally leaves W and H to the .npy members; if it holds them too,
            // they must be the same numbers.
            if !json.is_empty() {
                if json.len() != data.len() {
                    return Err(invalid(format!(
                        "{name} has {} values, but model.json's copy has {}",
                        data.len(),
                        json.len()
                    )));
                }
                if let Some(p) = (0..data.len()).find(|&p| data[p].to_bits() != json[p].to_bits()) {
                    return Err(invalid(format!(
                        "{name} and model.json disagree at row {}, column {}: {} and {}",
                        p / cols,
                        p % cols,
                        data[p],
                        json[p]
                    )));
                }
            }
            *json = data;
        }
        Ok(model)
    }

    /// Saves to a file: `.npz` if the name ends in `.npz`, JSON otherwise.
    ///
    /// # Errors
    /// [`NmfError::Io`] with the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), NmfError> {
        let path = path.as_ref();
        if path.extension().is_some_and(|e| e == "npz") {
            let f = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
            self.write_npz(std::io::BufWriter::new(f))
        } else {
            std::fs::write(path, self.to_json()).map_err(|e| io_error(path, e))
        }
    }

    /// Loads from a file written by [`save`](Self::save).
    ///
    /// # Errors
    /// [`NmfError::Io`] with the path, or [`NmfError::InvalidModel`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NmfError> {
        let path = path.as_ref();
        if path.extension().is_some_and(|e| e == "npz") {
            let f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
            Self::read_npz(std::io::BufReader::new(f))
        } else {
            let f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
            let mut text = String::new();
            // (a special file such as /dev/zero never ends)
            f.take(Self::DEFAULT_MAX_READ_BYTES + 1)
                .read_to_string(&mut text)
                .map_err(|e| io_error(path, e))?;
            if text.len() as u64 > Self::DEFAULT_MAX_READ_BYTES {
                return Err(io_error(
                    path,
                    format!(
                        "more than {} bytes: not a saved model",
                        Self::DEFAULT_MAX_READ_BYTES
                    ),
                ));
            }
            Self::from_json(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Nmf, reference::Reference};

    fn model() -> NmfModel<f64, Reference> {
        let v = Reference
            .from_row_major(
                3,
                4,
                &[1.0, 0.0, 2.0, 3.0, 4.0, 1.0, 0.5, 0.0, 2.0, 2.0, 1.0, 7.0],
            )
            .unwrap();
        Nmf::params(2)
            .max_iter(20)
            .seed(3)
            .alpha_w(0.01)
            .l1_ratio(0.25)
            .fit(&Reference, &v)
            .unwrap()
    }

    #[test]
    fn json_and_npz_round_trip_exactly() {
        let s = model().to_saved(&Reference);
        assert_eq!(s.penalty, crate::Penalty::sklearn(3, 4, 0.01, 0.01, 0.25));
        assert_eq!(
            s.into_model::<f64, _>(&Reference).unwrap().penalty(),
            s.penalty
        );
        assert_eq!(SavedModel::from_json(&s.to_json()).unwrap(), s);
        let mut buf = std::io::Cursor::new(Vec::new());
        s.write_npz(&mut buf).unwrap();
        buf.set_position(0);
        assert_eq!(SavedModel::read_npz(buf).unwrap(), s);
        let dir = tempfile::tempdir().unwrap();
        for name in ["m.json", "m.npz"] {
            s.save(dir.path().join(name)).unwrap();
            assert_eq!(SavedModel::load(dir.path().join(name)).unwrap(), s);
        }
    }

    #[test]
    fn entries_beyond_the_scalar_type_are_errors() {
        // Found by the model_json fuzz target: an f64 entry beyond f32's range became +∞.
        let mut s = model().to_saved(&Reference);
        s.h[5] = 1e300;
        assert!(s.into_model::<f64, _>(&Reference).is_ok());
        let e = s.into_model::<f32, _>(&Reference).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid saved model: H has the entry 1e300 at row 1, column 1, beyond the range of f32"
        );
    }

    #[test]
    fn an_eps_below_the_scalar_types_range_is_raised_not_zero() {
        // Found by the model_json fuzz target: ε = 1.2e-57 became 0 in f32.
        let mut s = model().to_saved(&Reference);
        s.eps = 1.2e-57;
        assert_eq!(s.into_model::<f64, _>(&Reference).unwrap().eps(), 1.2e-57);
        assert_eq!(
            s.into_model::<f32, _>(&Reference).unwrap().eps(),
            f32::MIN_POSITIVE
        );
    }

    #[test]
    fn npz_members_nested_too_deep_are_refused_before_parsing() {
        let s = model().to_saved(&Reference);
        let mut npy = Vec::from(&b"\x93NUMPY\x01\x00"[..]);
        let header = format!("{{'descr': '<f8', {}", "[".repeat(40));
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        let start = std::time::Instant::now();
        let e = npy_f64("W.npy", &npy, (s.rows, s.rank))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid saved model: W.npy: the .npy header nests brackets 41 deep (an array's nests 2)"
        );
        // (unchecked, 30 brackets take hours)
        assert!(start.elapsed().as_secs() < 2);
    }

    #[test]
    fn bad_models_are_errors() {
        let s = model().to_saved(&Reference);
        let mut bad = s.clone();
        bad.w[1] = -1.0;
        assert!(matches!(
            bad.into_model::<f64, _>(&Reference),
            Err(NmfError::InvalidModel { .. })
        ));
        let mut bad = s.clone();
        bad.h.pop();
        assert!(matches!(
            bad.into_model::<f64, _>(&Reference),
            Err(NmfError::InvalidModel { .. })
        ));
        let mut bad = s.clone();
        bad.penalty.l2_h = f64::NAN;
        assert!(matches!(
            bad.into_model::<f64, _>(&Reference),
            Err(NmfError::InvalidModel { .. })
        ));
        // A file without the penalty field (written before it existed) loads with none.
        let mut json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        json.as_object_mut().unwrap().remove("penalty");
        let old = SavedModel::from_json(&json.to_string()).unwrap();
        assert_eq!(old.penalty, crate::Penalty::default());
        let mut bad = s.clone();
        bad.format = "other".into();
        assert!(matches!(
            bad.into_model::<f64, _>(&Reference),
            Err(NmfError::InvalidModel { .. })
        ));
        assert!(matches!(
            SavedModel::from_json("{ not json"),
            Err(NmfError::InvalidModel { .. })
        ));
        assert!(matches!(
            SavedModel::read_npz(std::io::Cursor::new(b"garbage".to_vec())),
            Err(NmfError::InvalidModel { .. })
        ));
        assert!(matches!(
            SavedModel::load("/nonexistent/model.json"),
            Err(NmfError::Io { .. })
        ));
    }

    /// A zip of these members, each stored or deflated.
    fn zip_of(members: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for &(name, bytes, method) in members {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(method)
                .large_file(bytes.len() >= u32::MAX as usize);
            zip.start_file(name, opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// A `.npy` file of float64 (or `descr`) with any declared shape and payload.
    fn npy_bytes(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        header.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn f8(data: &[f64]) -> Vec<u8> {
        data.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// The members of `s` as `write_npz` writes them: W.npy, H.npy, model.json without W, H.
    fn members(s: &SavedModel) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let w = npy_bytes("<f8", &format!("({}, {})", s.rows, s.rank), &f8(&s.w));
        let h = npy_bytes("<f8", &format!("({}, {})", s.rank, s.cols), &f8(&s.h));
        let mut meta = s.clone();
        meta.w.clear();
        meta.h.clear();
        (w, h, meta.to_json().into_bytes())
    }

    fn npz_error(bytes: Vec<u8>, limit: u64) -> String {
        match SavedModel::read_npz_with_limit(std::io::Cursor::new(bytes), limit) {
            Err(NmfError::InvalidModel { reason }) => reason,
            other => panic!("expected InvalidModel, got {other:?}"),
        }
    }

    #[test]
    fn deflated_npz_reads_as_stored() {
        // What numpy.savez_compressed writes: the same members, deflate-compressed.
        let s = model().to_saved(&Reference);
        let (w, h, json) = members(&s);
        let d = zip::CompressionMethod::Deflated;
        let bytes = zip_of(&[("W.npy", &w, d), ("H.npy", &h, d), ("model.json", &json, d)]);
        assert_eq!(
            SavedModel::read_npz(std::io::Cursor::new(bytes)).unwrap(),
            s
        );
    }

    #[test]
    fn decompression_is_capped() {
        // 64 MiB of zeros deflate to about 64 kB: a member that would decompress past the
        // limit is refused, by its declared size and by what it really gives.
        let s = model().to_saved(&Reference);
        let (w, h, json) = members(&s);
        let d = zip::CompressionMethod::Deflated;
        let zeros = vec![b' '; 64 << 20];
        let mut bomb = json.clone();
        bomb.extend_from_slice(&zeros);
        let bytes = zip_of(&[("W.npy", &w, d), ("H.npy", &h, d), ("model.json", &bomb, d)]);
        assert!(bytes.len() < 1 << 20, "{}", bytes.len());
        assert_eq!(
            npz_error(bytes.clone(), 1 << 20),
            "model.json decompresses to more than 1048576 bytes (the limit)"
        );
        // (under a limit that fits, trailing spaces are valid JSON)
        assert_eq!(
            SavedModel::read_npz_with_limit(std::io::Cursor::new(bytes), 128 << 20).unwrap(),
            s
        );
        // A member whose headers understate its size (patched to 10 bytes, in the local
        // header and in the central directory): the zip reader stops at the declared size (and
        // the cap would stop it beyond the limit).
        let mut bytes = zip_of(&[("model.json", &bomb, d)]);
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        bytes[22..26].copy_from_slice(&10u32.to_le_bytes());
        let central = (0..bytes.len() - 4)
            .find(|&p| &bytes[p..p + 4] == b"PK\x01\x02")
            .unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(
            npz_error(bytes, 1 << 20),
            "model.json: File is larger than its declared uncompressed size"
        );
    }

    #[test]
    fn sizes_from_files_are_checked() {
        let s = model().to_saved(&Reference);
        // rows × rank wraps around to 0 in 64 bits: with empty W that once passed the check.
        let mut bad = s.clone();
        bad.rows = 1 << 63;
        bad.rank = 2;
        bad.w.clear();
        bad.h.clear();
        let json = bad.to_json();
        let m = SavedModel::from_json(&json).unwrap();
        match m.into_model::<f64, _>(&Reference) {
            Err(NmfError::InvalidModel { reason }) => assert_eq!(
                reason,
                "W has 0 values, its shape 9223372036854775808×2 needs more than 2⁶⁴"
            ),
            other => panic!("{other:?}"),
        }
        let (w, h, json) = members(&s);
        let st = zip::CompressionMethod::Stored;
        // A W.npy of another shape than model.json's.
        let w34 = npy_bytes("<f8", "(3, 4)", &[0; 96]);
        let e = npz_error(
            zip_of(&[
                ("W.npy", &w34, st),
                ("H.npy", &h, st),
                ("model.json", &json, st),
            ]),
            1 << 30,
        );
        assert_eq!(e, "W.npy has shape (3, 4), but model.json says 3×2");
        // A huge declared shape that model.json agrees with, with no data: refused before
        // anything is allocated.
        let mut huge = s.clone();
        (huge.rows, huge.rank) = (30000, 30000);
        let (_, _, huge_json) = members(&huge);
        let w_huge = npy_bytes("<f8", "(30000, 30000)", &[]);
        let e = npz_error(
            zip_of(&[
                ("W.npy", &w_huge, st),
                ("H.npy", &h, st),
                ("model.json", &huge_json, st),
            ]),
            1 << 30,
        );
        assert_eq!(
            e,
            "W.npy: a 30000×30000 float64 array needs 7200000000 bytes of data, but the member has 0"
        );
        // Dimensions whose product overflows 64 bits, in both files.
        let mut wrap = s.clone();
        (wrap.rows, wrap.rank) = (1 << 32, 1 << 32);
        let (_, _, wrap_json) = members(&wrap);
        let w_wrap = npy_bytes("<f8", "(4294967296, 4294967296)", &[]);
        let e = npz_error(
            zip_of(&[
                ("W.npy", &w_wrap, st),
                ("H.npy", &h, st),
                ("model.json", &wrap_json, st),
            ]),
            1 << 30,
        );
        assert_eq!(
            e,
            "W.npy: a 4294967296×4294967296 float64 array needs more than 2⁶⁴ bytes"
        );
        // Another element type.
        let w4 = npy_bytes("<f4", "(3, 2)", &[0; 24]);
        let e = npz_error(
            zip_of(&[
                ("W.npy", &w4, st),
                ("H.npy", &h, st),
                ("model.json", &json, st),
            ]),
            1 << 30,
        );
        assert_eq!(e, "W.npy holds '<f4', float64 expected");
        // model.json carrying W too: it must be W.npy's.
        let mut both = s.clone();
        both.h.clear();
        both.w[3] += 1.0;
        let e = npz_error(
            zip_of(&[
                ("W.npy", &w, st),
                ("H.npy", &h, st),
                ("model.json", both.to_json().as_bytes(), st),
            ]),
            1 << 30,
        );
        assert_eq!(
            e,
            format!(
                "W.npy and model.json disagree at row 1, column 1: {} and {}",
                s.w[3], both.w[3]
            )
        );
        both.w = s.w.clone();
        let ok = zip_of(&[
            ("W.npy", &w, st),
            ("H.npy", &h, st),
            ("model.json", both.to_json().as_bytes(), st),
        ]);
        assert_eq!(SavedModel::read_npz(std::io::Cursor::new(ok)).unwrap(), s);
        // A truncated W.npy.
        let e = npz_error(
            zip_of(&[
                ("W.npy", &w[..w.len() - 8], st),
                ("H.npy", &h, st),
                ("model.json", &json, st),
            ]),
            1 << 30,
        );
        assert_eq!(
            e,
            "W.npy: a 3×2 float64 array needs 48 bytes of data, but the member has 40"
        );
    }
}
