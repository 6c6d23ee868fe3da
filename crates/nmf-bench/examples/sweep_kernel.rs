//! Nanoseconds per lane-coordinate of one HALS coordinate sweep
//! ([`nmf_core::kernels::coordinate_sweep_block`]) on adjacent lanes (the rows of a
//! column-major W) and on contiguous lanes (the columns of a column-major H), on one thread,
//! outside any backend (issue 11 measurement; not a test). Usage:
//! `cargo run --release -p nmf-bench --example sweep_kernel -- [LANES] [K] [REPS]`.
use std::time::Instant;

use nmf_core::kernels::coordinate_sweep_block;
use nmf_core::lane::{BlockShape, LaneBlock, LaneBlockMut};

fn run<T: nmf_core::Scalar>(lanes: usize, k: usize, reps: usize) {
    let gram: Vec<T> = (0..k * k)
        .map(|x| {
            T::from_f64(if x / k == x % k {
                40.0
            } else {
                ((x * 7) % 5) as f64
            })
        })
        .collect();
    let order: Vec<usize> = (0..k).collect();
    let x0: Vec<T> = (0..lanes * k)
        .map(|i| T::from_f64(((i * 7919) % 1000) as f64 / 37.0))
        .collect();
    let num: Vec<T> = (0..lanes * k)
        .map(|i| T::from_f64(((i * 31) % 97) as f64))
        .collect();
    let mut out = vec![0.0; lanes];
    for (name, shape) in [
        (
            "adjacent (W rows, col-major)",
            BlockShape {
                lanes,
                len: k,
                lane_stride: 1,
                coord_stride: lanes as isize,
            },
        ),
        (
            "contiguous (H columns, col-major)",
            BlockShape {
                lanes,
                len: k,
                lane_stride: k as isize,
                coord_stride: 1,
            },
        ),
    ] {
        let mut best = f64::INFINITY;
        let mut x = x0.clone();
        for _ in 0..reps {
            x.copy_from_slice(&x0);
            let t = Instant::now();
            coordinate_sweep_block(
                &mut LaneBlockMut::from_slice(&mut x, shape),
                &LaneBlock::from_slice(&num, shape),
                &gram,
                T::zero(),
                T::from_f64(1e-12),
                &order,
                &mut out,
            );
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{} {name}: {lanes} lanes, k = {k}: {:.3} ms, {:.2} ns per lane-coordinate (fastest of {reps})",
            T::NAME,
            best * 1e3,
            best * 1e9 / (lanes * k) as f64
        );
    }
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let lanes = a.first().copied().unwrap_or(1797);
    let k = a.get(1).copied().unwrap_or(20);
    let reps = a.get(2).copied().unwrap_or(500);
    run::<f64>(lanes, k, reps);
    run::<f32>(lanes, k, reps);
}
