//! Saving and loading fitted models (feature `io`): [`SavedModel`], in JSON or `.npz`.
//!
//! A saved model holds W and H in row-major `f64` (exact for f32 and f64 models) with the
//! loss, ε and the fit's history, so any backend and either scalar type can load it: a model
//! fitted with faer loads into ndarray and transforms the same data to the same H.
//!
//! - JSON: one self-describing document; numbers are written in the shortest form that reads
//!   back to the same bits (serde_json with `float_roundtrip`).
//! - `.npz`: a zip (stored, uncompressed) of `W.npy` and `H.npy` (float64, C order), readable
//!   with `numpy.load`, and `model.json` with the rest.
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
        for (name, d, len) in [("W", &self.w, m * k), ("H", &self.h, k * n)] {
            if d.len() != len {
                return Err(invalid(format!(
                    "{name} has {} values, its shape needs {len}",
                    d.len()
                )));
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
                "penalty weights must be finite and ≥ 0, got {p:?}"
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
            T::from_f64(self.eps),
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

    /// Reads a model written by [`write_npz`](Self::write_npz).
    ///
    /// # Errors
    /// [`NmfError::InvalidModel`] if a member is missing or malformed.
    pub fn read_npz<R: Read + Seek>(input: R) -> Result<Self, NmfError> {
        let mut zip = zip::ZipArchive::new(input)
            .map_err(|e| invalid(format!("not a zip/.npz file: {e}")))?;
        let mut text = String::new();
        zip.by_name("model.json")
            .map_err(|e| invalid(format!("no model.json in the .npz: {e}")))?
            .read_to_string(&mut text)
            .map_err(|e| invalid(format!("model.json: {e}")))?;
        let mut model = Self::from_json(&text)?;
        for name in ["W.npy", "H.npy"] {
            let mut bytes = Vec::new();
            zip.by_name(name)
                .map_err(|e| invalid(format!("no {name} in the .npz: {e}")))?
                .read_to_end(&mut bytes)
                .map_err(|e| invalid(format!("{name}: {e}")))?;
            let npy =
                npyz::NpyFile::new(&bytes[..]).map_err(|e| invalid(format!("{name}: {e}")))?;
            let shape = npy.shape().to_vec();
            let data: Vec<f64> = npy
                .into_vec()
                .map_err(|e| invalid(format!("{name}: {e} (float64 expected)")))?;
            let want = if name == "W.npy" {
                [model.rows, model.rank]
            } else {
                [model.rank, model.cols]
            };
            if shape != [want[0] as u64, want[1] as u64] {
                return Err(invalid(format!(
                    "{name} has shape {shape:?}, model.json says {want:?}"
                )));
            }
            if name == "W.npy" {
                model.w = data
            } else {
                model.h = data
            }
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
            let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
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
}
