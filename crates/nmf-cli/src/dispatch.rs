//! The one dispatch over backend × scalar type × storage: every command that computes (fit,
//! topics, demo, transform) states its computation once as a [`Job`], generic over the
//! backend `B`, the scalar `T` and the data `V` (a dense `B::Mat`, a sparse
//! [`SparseData<T>`], the observed entries [`Observed<T>`] or a [`Streamed`] V re-read from
//! its file by row blocks), and [`dispatch`] runs it on the backend and scalar type chosen on the
//! command line, with the input converted to them.

use nmf_core::masked::Observed;
use nmf_core::sparse::{Csr, SparseData};
use nmf_core::streamed::{RowSource, Streamed};
use nmf_core::{DataOps, DenseBackend, Scalar};

use crate::CliError;
use crate::cli::{BackendArg, DtypeArg};
use crate::matrix::Matrix;
use crate::read::Input;
use crate::read::row_source::AsScalar;

/// A computation on one backend and scalar type, over dense or sparse data.
pub(crate) trait Job {
    /// What it returns.
    type Output;
    /// Runs it on backend `b` with the data `v` (already in the scalar type `T`), which it
    /// owns, so it can free V as soon as it is done with it (before writing its results out,
    /// which then do not add to the peak memory of V and the fit).
    fn run<T, B, V>(self, b: &B, v: V) -> Result<Self::Output, CliError>
    where
        T: Scalar,
        B: DataOps<T, V> + Sync,
        V: Sync;
}

/// How many threads the backend's dense products use: the size of rayon's global pool for
/// faer (set by [`dispatch`] from `--threads`; all cores without it), one for nalgebra and
/// ndarray. Called after [`dispatch`].
pub(crate) fn threads_used(backend: BackendArg) -> usize {
    match backend {
        BackendArg::Faer => rayon::current_num_threads(),
        BackendArg::Nalgebra | BackendArg::Ndarray => 1,
    }
}

/// Sizes rayon's global pool, which runs faer's products and the passes over sparse and
/// masked V on every backend, to `--threads` (0 or none: all cores). The command is one
/// process and one fit, so the global pool is the place: a pool installed around the job would
/// not reach the threads on which restarts run in parallel.
///
/// # Errors
/// A usage error if this process's pool was already built with another size (only possible
/// when the command runs twice in one process, as in a test). Calling it again with the same
/// size is harmless.
pub(crate) fn limit_threads(threads: Option<usize>) -> Result<(), CliError> {
    let Some(n) = threads.filter(|&n| n > 0) else {
        return Ok(());
    };
    if rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .is_err()
        && rayon::current_num_threads() != n
    {
        return Err(CliError::usage(format!(
            "--threads {n}: this process's thread pool already has {} threads",
            rayon::current_num_threads()
        )));
    }
    Ok(())
}

/// Runs `job` on `backend` (faer with `threads`) in `dtype`, with the input `v` (read from
/// `source`, named in errors) converted to that backend and scalar type. The input is
/// consumed: a sparse input in `f64` moves into the data term without a copy, and a dense
/// one is freed once the backend holds its copy.
///
/// # Errors
/// An entry beyond the range of `f32` (with its row and column), and the job's errors.
pub(crate) fn dispatch<J: Job>(
    backend: BackendArg,
    threads: Option<usize>,
    dtype: DtypeArg,
    v: Input,
    source: &str,
    job: J,
) -> Result<J::Output, CliError> {
    limit_threads(threads)?;
    match backend {
        BackendArg::Faer => {
            let b = nmf_faer::Faer::with_threads(threads.unwrap_or(0));
            on_backend(&b, dtype, v, source, job)
        }
        BackendArg::Nalgebra => on_backend(&nmf_nalgebra::Nalgebra, dtype, v, source, job),
        BackendArg::Ndarray => on_backend(&nmf_ndarray::Ndarray, dtype, v, source, job),
    }
}

fn on_backend<B, J>(
    b: &B,
    dtype: DtypeArg,
    v: Input,
    source: &str,
    job: J,
) -> Result<J::Output, CliError>
where
    B: DenseBackend<f32> + DenseBackend<f64> + Sync,
    J: Job,
{
    match dtype {
        DtypeArg::F32 => on_scalar::<f32, B, J>(b, v, source, job),
        DtypeArg::F64 => on_scalar::<f64, B, J>(b, v, source, job),
    }
}

fn on_scalar<T, B, J>(b: &B, v: Input, source: &str, job: J) -> Result<J::Output, CliError>
where
    T: Scalar,
    B: DenseBackend<T> + Sync,
    J: Job,
    AsScalar<T>: RowSource<T>,
{
    match v {
        Input::Dense(m) => {
            let vm = b
                .from_row_major(m.rows, m.cols, &to_scalar::<T>(&m, source)?)
                .map_err(|e| CliError::data(format!("{source}: {e}")))?;
            drop(m);
            job.run::<T, B, B::Mat>(b, vm)
        }
        Input::Sparse(c) => {
            let vm = sparse_to_scalar::<T>(c, source)?;
            job.run::<T, B, SparseData<T>>(b, vm)
        }
        Input::Observed(o) => {
            let vm = crate::masked_input::observed_to_scalar::<T>(*o, source)?;
            job.run::<T, B, Observed<T>>(b, vm)
        }
        Input::Rows(r) => {
            // V stays in its file: the fit re-reads it by blocks at every pass.
            let vm = Streamed::new(AsScalar::<T>::new(&r), r.block_rows)
                .map_err(|e| CliError::usage(format!("--out-of-core: {e}")))?;
            job.run::<T, B, Streamed<AsScalar<T>>>(b, vm)
        }
    }
}

/// Converts a matrix to the scalar type, refusing entries beyond its range.
///
/// # Errors
/// A [`CliError::data`] naming the first such entry (row and column, 0-based) in `source`.
pub(crate) fn to_scalar<T: Scalar>(m: &Matrix, source: &str) -> Result<Vec<T>, CliError> {
    let mut out = Vec::with_capacity(m.data.len());
    for (p, &x) in m.data.iter().enumerate() {
        let y = T::from_f64(x);
        if !y.is_finite() {
            return Err(beyond_range::<T>(
                source,
                x,
                p / m.cols.max(1),
                p % m.cols.max(1),
            ));
        }
        out.push(y);
    }
    Ok(out)
}

fn beyond_range<T: Scalar>(source: &str, x: f64, i: usize, j: usize) -> CliError {
    CliError::data(format!(
        "{source}: the entry {} at row {i}, column {j} (0-based) is beyond the range of {}; use --dtype f64 or rescale the data",
        crate::matrix::fmt_num(x),
        T::NAME
    ))
}

/// A sparse V in the scalar type as the data term, refusing values beyond its range. The
/// compressed arrays move (the values are converted in place when `T` is `f64`), so no second
/// copy of the matrix is held.
fn sparse_to_scalar<T: Scalar>(c: Csr<f64>, source: &str) -> Result<SparseData<T>, CliError> {
    {
        let v = c.view();
        for i in 0..v.nrows() {
            let (js, xs) = v.row(i);
            for (&j, &x) in js.iter().zip(xs) {
                if !T::from_f64(x).is_finite() {
                    return Err(beyond_range::<T>(source, x, i, j));
                }
            }
        }
    }
    let (rows, cols) = c.shape();
    let (indptr, indices, data) = c.into_parts();
    let data: Vec<T> = data.into_iter().map(T::from_f64).collect();
    Csr::from_compressed(rows, cols, indptr, indices, data)
        .and_then(SparseData::from_csr)
        .map_err(|e| CliError::data(format!("{source}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_range_is_checked() {
        let m = Matrix::new(1, 2, vec![1.0, 1e300]);
        let e = to_scalar::<f32>(&m, "big.csv").unwrap_err();
        assert_eq!(
            e.message,
            "big.csv: the entry 1e300 at row 0, column 1 (0-based) is beyond the range of f32; use --dtype f64 or rescale the data"
        );
        assert_eq!(to_scalar::<f64>(&m, "big.csv").unwrap(), vec![1.0, 1e300]);
        let c = Csr::from_triplets(
            2,
            2,
            &[1],
            &[0],
            &[1e300],
            nmf_core::sparse::Duplicates::Sum,
        )
        .unwrap();
        let e = sparse_to_scalar::<f32>(c, "big.mtx").unwrap_err();
        assert_eq!(
            e.message,
            "big.mtx: the entry 1e300 at row 1, column 0 (0-based) is beyond the range of f32; use --dtype f64 or rescale the data"
        );
    }
}
