//! Full-batch multiplicative updates over the row blocks of a V that is not held in memory
//! ([`mu_iteration_by_blocks`]): the statistics of the H half-step are sums over rows, so they
//! are accumulated block by block from each block's data term; the W half-step is per row
//! block. W (m×k) stays in memory, row-major; V is read twice per iteration (once per
//! half-step).
//!
//! The result is the in-memory [`MuSolver`](crate::MuSolver) iteration up to the order of the
//! sums: WᵀV = Σ_b W_bᵀV_b (and WᵀW, Wᵀ(V/WH), the column sums of W likewise) are added block
//! by block. Frobenius and KL; no penalties.

use core::ops::Range;

use crate::{Accum, DataOps, Loss, NmfError, Scalar, Trans};

/// One iteration (H half-step, then W half-step) of the multiplicative updates with the ε
/// lower bound on V of m rows given by its row blocks `blocks` (`batch(range)` returns rows
/// `range` of V), W (m×k, row-major, updated in place) and H (k×n).
///
/// # Errors
/// [`NmfError::LossNotForData`] for a loss other than Frobenius and KL; the errors of
/// `batch`.
#[allow(clippy::too_many_arguments)]
pub fn mu_iteration_by_blocks<T, B, V, F>(
    b: &B,
    loss: Loss,
    eps: T,
    blocks: &[Range<usize>],
    w: &mut [T],
    h: &mut B::Mat,
    mut batch: F,
) -> Result<(), NmfError>
where
    T: Scalar,
    B: DataOps<T, V>,
    F: FnMut(Range<usize>) -> Result<V, NmfError>,
{
    if !matches!(loss, Loss::Frobenius | Loss::KullbackLeibler) {
        return Err(NmfError::LossNotForData {
            loss,
            data: "V read by row blocks",
            reason: "only the Frobenius and KL statistics are accumulated over blocks".into(),
        });
    }
    let (k, n) = b.shape(h);
    let frob = loss == Loss::Frobenius;
    // The H half-step: sums over the blocks.
    let (mut num, mut num_b) = (b.zeros(k, n), b.zeros(k, n));
    let (mut gram, mut gram_b) = (b.zeros(k, k), b.zeros(k, k));
    let (mut sums, mut sums_b) = (vec![T::zero(); k], vec![T::zero(); k]);
    for r in blocks {
        let v_b = batch(r.clone())?;
        let w_b = b.from_row_major(r.len(), k, &w[r.start * k..r.end * k])?;
        let mut work = b.data_work(&v_b, k, loss);
        if frob {
            b.frobenius_stats_h(&v_b, &mut work, &w_b, &mut num_b, &mut gram_b);
            b.axpy(&mut gram, T::one(), &gram_b);
        } else {
            b.kl_stats_h(&v_b, &mut work, &w_b, h, &mut num_b, &mut sums_b);
            for (s, x) in sums.iter_mut().zip(&sums_b) {
                *s += *x;
            }
        }
        b.axpy(&mut num, T::one(), &num_b);
    }
    if frob {
        let mut den = b.zeros(k, n);
        b.matmul(
            &mut den,
            Accum::Replace,
            T::one(),
            &gram,
            Trans::No,
            h,
            Trans::No,
        );
        b.mu_update(h, &num, &den, eps);
    } else {
        b.mu_update_row_den(h, &num, &sums, eps);
    }
    // The W half-step: block by block.
    for r in blocks {
        let v_b = batch(r.clone())?;
        let mut w_b = b.from_row_major(r.len(), k, &w[r.start * k..r.end * k])?;
        let mut work = b.data_work(&v_b, k, loss);
        let mut num_w = b.zeros(r.len(), k);
        if frob {
            b.frobenius_stats_w(&v_b, &mut work, h, &mut num_w, &mut gram);
            let mut den = b.zeros(r.len(), k);
            b.matmul(
                &mut den,
                Accum::Replace,
                T::one(),
                &w_b,
                Trans::No,
                &gram,
                Trans::No,
            );
            b.mu_update(&mut w_b, &num_w, &den, eps);
        } else {
            b.kl_stats_w(&v_b, &mut work, &w_b, h, &mut num_w, &mut sums);
            b.mu_update_col_den(&mut w_b, &num_w, &sums, eps);
        }
        b.copy_to_row_major(&w_b, &mut w[r.start * k..r.end * k]);
    }
    Ok(())
}
