//! The grid's exchanges in one communicator (a grid row or column): all-gathering a factor
//! from its pieces, reduce-scattering a partial product into its pieces, all-reducing a small
//! matrix. Each packs the faer matrices into flat `f64` buffers owned by the fit's work (so
//! the iterations allocate nothing) and unpacks the result.

use std::ops::Range;

use faer::Mat;
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use nmf_core::Collective;
use nmf_core::distributed::block_rows;

use crate::MpiCollective;

/// How a block of `len` rows of W (or columns of H) is cut into the pieces of the members of
/// one communicator, member q holding `ranges[q]` (offsets within the block), with `k` values
/// per row (column).
#[derive(Debug, Clone)]
pub(crate) struct Pieces {
    pub(crate) ranges: Vec<Range<usize>>,
    counts: Vec<i32>,
    displs: Vec<i32>,
    /// The longest piece.
    pub(crate) max: usize,
    /// The block's length.
    pub(crate) len: usize,
    k: usize,
}

impl Pieces {
    /// `len` cut in `parts` by [`block_rows`], `k` values per row.
    pub(crate) fn new(len: usize, parts: usize, k: usize) -> Self {
        let ranges: Vec<_> = (0..parts).map(|q| block_rows(len, parts, q)).collect();
        let counts = ranges.iter().map(|r| (r.len() * k) as i32).collect();
        let displs = ranges.iter().map(|r| (r.start * k) as i32).collect();
        let max = ranges.iter().map(|r| r.len()).max().unwrap_or(0);
        Self {
            ranges,
            counts,
            displs,
            max,
            len,
            k,
        }
    }
    /// The values a reduce-scatter sends (every piece padded to the longest).
    pub(crate) fn padded(&self) -> usize {
        self.ranges.len() * self.max * self.k
    }
}

/// `full` (len × k) ← the pieces (`mine`, this member's rows × k) of all members, in order.
pub(crate) fn gather_rows(
    comm: &SimpleCommunicator,
    p: &Pieces,
    mine: &Mat<f64>,
    (send, recv): (&mut [f64], &mut [f64]),
    full: &mut Mat<f64>,
) {
    let k = p.k;
    let rows = p.ranges[comm.rank() as usize].len();
    for a in 0..k {
        for (t, &x) in mine.col_as_slice(a).iter().enumerate() {
            send[t * k + a] = x;
        }
    }
    let total = p.len * k;
    {
        let mut part = PartitionMut::new(&mut recv[..total], &p.counts[..], &p.displs[..]);
        comm.all_gather_varcount_into(&send[..rows * k], &mut part);
    }
    for a in 0..k {
        for (t, x) in full.col_as_slice_mut(a).iter_mut().enumerate() {
            *x = recv[t * k + a];
        }
    }
}

/// `full` (k × len) ← the pieces (`mine`, k × this member's columns) of all members, in order.
pub(crate) fn gather_cols(
    comm: &SimpleCommunicator,
    p: &Pieces,
    mine: &Mat<f64>,
    (send, recv): (&mut [f64], &mut [f64]),
    full: &mut Mat<f64>,
) {
    let k = p.k;
    let cols = p.ranges[comm.rank() as usize].len();
    for c in 0..cols {
        send[c * k..(c + 1) * k].copy_from_slice(mine.col_as_slice(c));
    }
    let total = p.len * k;
    {
        let mut part = PartitionMut::new(&mut recv[..total], &p.counts[..], &p.displs[..]);
        comm.all_gather_varcount_into(&send[..cols * k], &mut part);
    }
    for c in 0..p.len {
        full.col_as_slice_mut(c)
            .copy_from_slice(&recv[c * k..(c + 1) * k]);
    }
}

/// `dst` (this member's rows × k) ← its rows of Σ over the members of `src` (len × k).
pub(crate) fn reduce_scatter_rows(
    comm: &SimpleCommunicator,
    p: &Pieces,
    src: &Mat<f64>,
    (send, recv): (&mut [f64], &mut [f64]),
    dst: &mut Mat<f64>,
) {
    let (k, blk) = (p.k, p.max * p.k);
    for (q, r) in p.ranges.iter().enumerate() {
        let out = &mut send[q * blk..(q + 1) * blk];
        for a in 0..k {
            let col = &src.col_as_slice(a)[r.clone()];
            for (t, &x) in col.iter().enumerate() {
                out[t * k + a] = x;
            }
        }
        out[r.len() * k..].fill(0.0);
    }
    comm.reduce_scatter_block_into(
        &send[..p.padded()],
        &mut recv[..blk],
        SystemOperation::sum(),
    );
    for a in 0..k {
        for (t, x) in dst.col_as_slice_mut(a).iter_mut().enumerate() {
            *x = recv[t * k + a];
        }
    }
}

/// `dst` (k × this member's columns) ← its columns of Σ over the members of `src` (k × len).
pub(crate) fn reduce_scatter_cols(
    comm: &SimpleCommunicator,
    p: &Pieces,
    src: &Mat<f64>,
    (send, recv): (&mut [f64], &mut [f64]),
    dst: &mut Mat<f64>,
) {
    let (k, blk) = (p.k, p.max * p.k);
    for (q, r) in p.ranges.iter().enumerate() {
        let out = &mut send[q * blk..(q + 1) * blk];
        for (t, c) in r.clone().enumerate() {
            out[t * k..(t + 1) * k].copy_from_slice(src.col_as_slice(c));
        }
        out[r.len() * k..].fill(0.0);
    }
    comm.reduce_scatter_block_into(
        &send[..p.padded()],
        &mut recv[..blk],
        SystemOperation::sum(),
    );
    for t in 0..dst.ncols() {
        dst.col_as_slice_mut(t)
            .copy_from_slice(&recv[t * k..(t + 1) * k]);
    }
}

/// `a ← Σ` over the members of `a` (a small matrix: the Gram matrices), with the same bits
/// on every member ([`MpiCollective`]); `buf` holds at least its entries.
pub(crate) fn all_reduce_mat(coll: &MpiCollective<'_>, a: &mut Mat<f64>, buf: &mut [f64]) {
    let (r, c) = (a.nrows(), a.ncols());
    for j in 0..c {
        buf[j * r..(j + 1) * r].copy_from_slice(a.col_as_slice(j));
    }
    coll.all_reduce_sum(&mut buf[..r * c]);
    for j in 0..c {
        a.col_as_slice_mut(j)
            .copy_from_slice(&buf[j * r..(j + 1) * r]);
    }
}
