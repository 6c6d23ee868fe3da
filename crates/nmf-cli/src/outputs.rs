//! The matrices and the model a command adds to its staged output set
//! ([`Staged`](crate::write::Staged)): `.npy` (and `.csv` on request) in the chosen scalar
//! type, `model.json` and/or `model.npz`.

use nmf_core::SavedModel;

use crate::CliError;
use crate::cli::{DtypeArg, ModelFormat};
use crate::matrix::Matrix;
use crate::read::{csv, npy};
use crate::write::Staged;

/// Adds `NAME.npy` (and `NAME.csv` with `csv_too`) for each named matrix, in `dtype`,
/// every `.npy` before the first `.csv`, and returns the names written.
pub(crate) fn write_matrices(
    staged: &mut Staged,
    matrices: &[(&str, &Matrix)],
    dtype: DtypeArg,
    csv_too: bool,
) -> Result<Vec<String>, CliError> {
    let mut names = Vec::new();
    for &(name, m) in matrices {
        let bytes = match dtype {
            DtypeArg::F64 => npy::to_npy_bytes(m.rows, m.cols, &m.data),
            DtypeArg::F32 => npy::to_npy_bytes(m.rows, m.cols, &as_f32(m)),
        };
        staged.add(&format!("{name}.npy"), &bytes)?;
        names.push(format!("{name}.npy"));
    }
    if csv_too {
        for &(name, m) in matrices {
            let text = match dtype {
                DtypeArg::F64 => csv::to_csv_string(m.rows, m.cols, &m.data),
                DtypeArg::F32 => csv::to_csv_string(m.rows, m.cols, &as_f32(m)),
            };
            staged.add(&format!("{name}.csv"), text.as_bytes())?;
            names.push(format!("{name}.csv"));
        }
    }
    Ok(names)
}

fn as_f32(m: &Matrix) -> Vec<f32> {
    m.data.iter().map(|&x| x as f32).collect()
}

/// Adds model.json and/or model.npz, returning their names.
pub(crate) fn write_model(
    staged: &mut Staged,
    saved: &SavedModel,
    format: ModelFormat,
) -> Result<Vec<String>, CliError> {
    let mut names = Vec::new();
    if matches!(format, ModelFormat::Json | ModelFormat::Both) {
        let mut text = saved.to_json();
        text.push('\n');
        staged.add("model.json", text.as_bytes())?;
        names.push("model.json".to_string());
    }
    if matches!(format, ModelFormat::Npz | ModelFormat::Both) {
        let mut buf = std::io::Cursor::new(Vec::new());
        saved.write_npz(&mut buf).map_err(|e| {
            CliError::data(format!(
                "cannot write '{}': {e}",
                staged.dir().join("model.npz").display()
            ))
        })?;
        staged.add("model.npz", buf.get_ref())?;
        names.push("model.npz".to_string());
    }
    Ok(names)
}
