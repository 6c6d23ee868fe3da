//! Where each piece of a grid lies: the grid given to `--grid` ([`GridSpec`]) and the
//! blocks of V and pieces of W and H of every process ([`Layout`]).

use std::ops::Range;

use nmf_core::distributed::block_rows;

/// A grid `PRxPC` as given to `--grid` (`2x3`, also `2X3` or `2×3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridSpec {
    /// Grid rows pr (blocks of rows of V and W).
    pub rows: usize,
    /// Grid columns pc (blocks of columns of V and H).
    pub cols: usize,
}

impl std::str::FromStr for GridSpec {
    type Err = String;
    /// ```
    /// use nmf_mpi::grid::GridSpec;
    /// assert_eq!("2x3".parse::<GridSpec>(), Ok(GridSpec { rows: 2, cols: 3 }));
    /// assert!("2x0".parse::<GridSpec>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--grid: expected PRxPC with PR, PC ≥ 1 (such as 2x2), got {s:?}");
        let (r, c) = s.split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let rows: usize = r.trim().parse().map_err(|_| bad())?;
        let cols: usize = c.trim().parse().map_err(|_| bad())?;
        if rows == 0 || cols == 0 {
            return Err(bad());
        }
        Ok(Self { rows, cols })
    }
}

impl std::fmt::Display for GridSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.rows, self.cols)
    }
}

impl GridSpec {
    /// Checks that the grid has `size` processes and that V (m×n) gives every process at
    /// least one row of W and one column of H (m ≥ P and n ≥ P).
    ///
    /// # Errors
    /// What does not fit, with the numbers.
    pub fn check(&self, size: usize, m: usize, n: usize) -> Result<(), String> {
        let p = self.rows.saturating_mul(self.cols);
        if p != size {
            return Err(format!(
                "--grid {self} needs {p} processes (PR·PC), but mpirun started {size}"
            ));
        }
        if m < p || n < p {
            return Err(format!(
                "--grid {self}: V is {m}×{n}, but every one of the {p} processes needs at least \
                 one row of W and one column of H (m and n at least {p}); use fewer processes"
            ));
        }
        Ok(())
    }
}

/// Where each piece lies: the grid's shape, this process's place (i, j) and V's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Grid rows pr.
    pub pr: usize,
    /// Grid columns pc.
    pub pc: usize,
    /// This process's grid row.
    pub i: usize,
    /// This process's grid column.
    pub j: usize,
    /// Rows of V.
    pub m: usize,
    /// Columns of V.
    pub n: usize,
}

impl Layout {
    /// The layout of rank `rank` (= i·pc + j) on the grid `spec` for V m×n.
    pub fn new(spec: GridSpec, rank: usize, m: usize, n: usize) -> Self {
        Self {
            pr: spec.rows,
            pc: spec.cols,
            i: rank / spec.cols,
            j: rank % spec.cols,
            m,
            n,
        }
    }
    /// The rows of V's block row `i` (those of W_i).
    pub fn block_rows_of(&self, i: usize) -> Range<usize> {
        block_rows(self.m, self.pr, i)
    }
    /// The columns of V's block column `j` (those of H_j).
    pub fn block_cols_of(&self, j: usize) -> Range<usize> {
        block_rows(self.n, self.pc, j)
    }
    /// The global rows of process (i, j)'s piece of W: piece j of pc of W_i.
    pub fn w_rows(&self, i: usize, j: usize) -> Range<usize> {
        let r = self.block_rows_of(i);
        let s = block_rows(r.len(), self.pc, j);
        r.start + s.start..r.start + s.end
    }
    /// The global columns of process (i, j)'s piece of H: piece i of pr of H_j.
    pub fn h_cols(&self, i: usize, j: usize) -> Range<usize> {
        let c = self.block_cols_of(j);
        let s = block_rows(c.len(), self.pr, i);
        c.start + s.start..c.start + s.end
    }
    /// This process's rows of V (and of W_i).
    pub fn rows(&self) -> Range<usize> {
        self.block_rows_of(self.i)
    }
    /// This process's columns of V (and of H_j).
    pub fn cols(&self) -> Range<usize> {
        self.block_cols_of(self.j)
    }
    /// The grid place `(i, j)` of rank `q`.
    pub fn place(&self, q: usize) -> (usize, usize) {
        (q / self.pc, q % self.pc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces of W cover its rows in rank order, those of H its columns in the order
    /// (grid column, grid row), every piece non-empty when m, n ≥ P.
    #[test]
    fn pieces_cover_the_factors() {
        for (pr, pc) in [(1, 1), (1, 3), (3, 1), (2, 2), (2, 3)] {
            let spec = GridSpec { rows: pr, cols: pc };
            let p = pr * pc;
            for (m, n) in [(p, p), (17, 11 + p), (40, 30)] {
                spec.check(p, m, n).unwrap();
                let l = Layout::new(spec, 0, m, n);
                let mut next = 0;
                for q in 0..p {
                    let (i, j) = l.place(q);
                    let r = l.w_rows(i, j);
                    assert_eq!(r.start, next);
                    assert!(!r.is_empty());
                    next = r.end;
                }
                assert_eq!(next, m);
                let mut next = 0;
                for j in 0..pc {
                    for i in 0..pr {
                        let c = l.h_cols(i, j);
                        assert_eq!(c.start, next);
                        assert!(!c.is_empty());
                        next = c.end;
                    }
                }
                assert_eq!(next, n);
            }
        }
    }

    /// Bad grids are refused with the reason.
    #[test]
    fn bad_specs_say_why() {
        for s in ["2", "2x", "x2", "0x2", "2x-1", "ax2"] {
            let e = s.parse::<GridSpec>().unwrap_err();
            assert!(e.contains("--grid: expected PRxPC"), "{e}");
        }
        let g: GridSpec = "2X3".parse().unwrap();
        let e = g.check(4, 10, 10).unwrap_err();
        assert!(e.contains("--grid 2x3 needs 6 processes"), "{e}");
        let e = g.check(6, 5, 10).unwrap_err();
        assert!(e.contains("V is 5×10"), "{e}");
    }
}
