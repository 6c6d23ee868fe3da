//! Reads a matrix file once by blocks of rows through [`nmf_io::RowFile`] and prints what it
//! read (the README's measurement of the readers alone, without a fit):
//!
//! ```text
//! cargo run --release -p nmf-io --example stream_rows -- FILE ROWS_PER_BLOCK
//! ```

use nmf_core::streamed::{RowBlock, RowSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: stream_rows FILE ROWS_PER_BLOCK".into());
    }
    let block: usize = args[2].parse()?;
    let t = std::time::Instant::now();
    let v = nmf_io::RowFile::open(args[1].as_ref())?;
    let opened = t.elapsed().as_secs_f64();
    let (m, n) = v.shape();
    let (mut stored, mut sum) = (0usize, 0.0f64);
    for start in (0..m).step_by(block.max(1)) {
        match RowSource::<f32>::read_rows(&v, start..(start + block).min(m))? {
            RowBlock::Sparse(c) => {
                stored += c.nnz();
                sum += c.view().data().iter().map(|&x| f64::from(x)).sum::<f64>();
            }
            RowBlock::Dense { data, .. } => {
                stored += data.len();
                sum += data.iter().map(|&x| f64::from(x)).sum::<f64>();
            }
        }
    }
    println!(
        "{m}×{n}: {stored} entries stored, sum {sum}; opened in {opened:.1} s, one pass in {:.1} s",
        t.elapsed().as_secs_f64() - opened
    );
    Ok(())
}
