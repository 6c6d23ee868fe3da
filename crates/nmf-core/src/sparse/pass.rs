//! The frame of one pass of a compressed data term ([`SparseData`](super::SparseData),
//! [`Observed`](crate::masked::Observed)) over the rows of V or Vᵀ: the factors laid out as
//! rows of k contiguous entries ([`rows_of`], [`cols_of`]), the rows spread over rayon's
//! threads in fixed blocks ([`par_blocks`]), and the outputs written back into the backend's
//! matrices ([`write_back`]).
//!
//! # Determinism and allocation
//! [`par_blocks`] hands every block to one call of the kernel, with the block's own parts of
//! the output buffers, by recursive `rayon::join` (its jobs live on the stack: nothing is
//! allocated). It reduces nothing itself: each output row is written by the one call that owns
//! its block, so a kernel that computes each row on its own (every kernel here does) gives the
//! same bits for any blocks and any number of threads. A pass that sums over rows keeps one
//! partial sum per block of a split that does not depend on the threads, and merges them in
//! block order after the pass (as the general β loss does, see
//! [`BetaSums`](super::BetaSums)).

use core::ops::Range;

use crate::{MatrixBackend, RunAxis, Scalar};

/// A buffer that [`par_blocks`] splits between the blocks of rows it runs.
pub(crate) trait Split: Send + Sized {
    /// The part of the first `blocks` blocks, covering `rows` rows, and the rest.
    fn split(self, rows: usize, blocks: usize) -> (Self, Self);
}

/// A buffer of `.1` entries per row (the rows of an output, or k-contiguous factor rows).
pub(crate) struct PerRow<'a, T>(pub &'a mut [T], pub usize);

/// A buffer of `.1` entries per block (a block's scratch space); the last block gets what is
/// left.
pub(crate) struct PerBlock<'a, T>(pub &'a mut [T], pub usize);

impl<T: Send> Split for PerRow<'_, T> {
    fn split(self, rows: usize, _blocks: usize) -> (Self, Self) {
        let (lo, hi) = self.0.split_at_mut(rows * self.1);
        (PerRow(lo, self.1), PerRow(hi, self.1))
    }
}

impl<T: Send> Split for PerBlock<'_, T> {
    fn split(self, _rows: usize, blocks: usize) -> (Self, Self) {
        let (lo, hi) = self.0.split_at_mut(blocks * self.1);
        (PerBlock(lo, self.1), PerBlock(hi, self.1))
    }
}

impl<A: Split, B: Split> Split for (A, B) {
    fn split(self, rows: usize, blocks: usize) -> (Self, Self) {
        let ((a0, a1), (b0, b1)) = (self.0.split(rows, blocks), self.1.split(rows, blocks));
        ((a0, b0), (a1, b1))
    }
}

/// Runs `f(rows, their parts of out)` for every range of `blocks` (consecutive ranges, the
/// first starting where `out` starts) on rayon's current pool, by recursive `join`: nothing
/// is allocated, and each block is one call whatever the number of threads (see the module's
/// documentation for what that guarantees).
pub(crate) fn par_blocks<O: Split>(
    blocks: &[Range<usize>],
    out: O,
    f: &(dyn Fn(Range<usize>, O) + Sync),
) {
    match blocks {
        [] => {}
        [r] => f(r.clone(), out),
        _ => {
            let (left, right) = blocks.split_at(blocks.len() / 2);
            let (lo, hi) = out.split(right[0].start - left[0].start, left.len());
            rayon::join(|| par_blocks(left, lo, f), || par_blocks(right, hi, f));
        }
    }
}

/// A (m×k) into `out`, row-major.
pub(crate) fn rows_of<T: Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat, out: &mut [T]) {
    b.copy_to_row_major(a, out);
}

/// H (k×n) into `out` as Hᵀ, n×k row-major.
pub(crate) fn cols_of<T: Scalar, B: MatrixBackend<T>>(b: &B, h: &B::Mat, out: &mut [T]) {
    let k = b.nrows(h);
    b.visit(&[h], &mut |run, s| {
        let x = s[0];
        match run.axis {
            RunAxis::Row => {
                for (t, &x) in x.iter().enumerate() {
                    out[(run.col + t) * k + run.row] = x;
                }
            }
            RunAxis::Column => {
                for (t, &x) in x.iter().enumerate() {
                    out[run.col * k + run.row + t] = x;
                }
            }
        }
    });
}

/// `dst` (rows×k, a backend matrix) ← `src` (rows×k row-major) when `transposed` is false,
/// `dst` (k×rows) ← `srcᵀ` when it is true.
pub(crate) fn write_back<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    dst: &mut B::Mat,
    src: &[T],
    k: usize,
    transposed: bool,
) {
    b.zip_mut(&mut [dst], &[], &|run, outs, _| {
        let o = &mut *outs[0];
        // Entry (r, c) of dst is src[r·k + c], or src[c·k + r] when transposed.
        let at = |r: usize, c: usize| if transposed { c * k + r } else { r * k + c };
        match run.axis {
            RunAxis::Row => {
                for (t, o) in o.iter_mut().enumerate() {
                    *o = src[at(run.row, run.col + t)];
                }
            }
            RunAxis::Column => {
                for (t, o) in o.iter_mut().enumerate() {
                    *o = src[at(run.row + t, run.col)];
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row is handed to exactly one call with its own parts of both buffers, and each
    /// block gets its own scratch, whatever the blocks and the threads.
    #[test]
    fn blocks_get_their_own_rows_and_scratch() {
        let blocks = [0..3, 3..4, 4..9, 9..10];
        let (k, s) = (2, 3);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (mut rows, mut scratch) = (vec![0usize; 10 * k], vec![0usize; blocks.len() * s]);
            pool.install(|| {
                par_blocks(
                    &blocks,
                    (PerRow(&mut rows, k), PerBlock(&mut scratch, s)),
                    &|r, (PerRow(o, _), PerBlock(sc, _))| {
                        assert_eq!(o.len(), r.len() * k);
                        sc.fill(r.start + 1);
                        for (t, x) in o.iter_mut().enumerate() {
                            *x = r.start * k + t;
                        }
                    },
                )
            });
            assert_eq!(rows, (0..10 * k).collect::<Vec<_>>());
            let firsts: Vec<usize> = scratch.chunks(s).map(|c| c[0]).collect();
            assert_eq!(firsts, [1, 4, 5, 10]);
        }
    }
}
