//! Writes a random sparse matrix as a Matrix Market coordinate file sorted by row, for the
//! streaming measurements of the README (`nmf fit big.mtx --batch-size ...`):
//!
//! ```text
//! cargo run --release -p nmf-io --example write_sparse_mtx -- OUT.mtx ROWS COLS PER_ROW [SEED]
//! ```
//!
//! Each row holds PER_ROW entries at distinct random columns (in increasing order), with
//! values 0.5, 1.0, ..., 5.0.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        return Err("usage: write_sparse_mtx OUT.mtx ROWS COLS PER_ROW [SEED]".into());
    }
    let (rows, cols, per_row): (usize, usize, usize) =
        (args[2].parse()?, args[3].parse()?, args[4].parse()?);
    let seed: u64 = args.get(5).map_or(Ok(0), |s| s.parse())?;
    if per_row > cols {
        return Err("PER_ROW must be at most COLS".into());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(&args[1])?);
    writeln!(out, "%%MatrixMarket matrix coordinate real general")?;
    writeln!(out, "{rows} {cols} {}", rows * per_row)?;
    let mut picked: Vec<usize> = Vec::with_capacity(per_row);
    let mut line = String::with_capacity(64);
    for i in 1..=rows {
        picked.clear();
        while picked.len() < per_row {
            let j = rng.random_range(1..=cols);
            if !picked.contains(&j) {
                picked.push(j);
            }
        }
        picked.sort_unstable();
        for &j in &picked {
            let x = rng.random_range(1..=10u32);
            line.clear();
            use std::fmt::Write as _;
            write!(line, "{i} {j} {}", f64::from(x) / 2.0)?;
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}
