//! The shared property suite of nmf-core, on the ndarray backend, in f32 and f64.

use nmf_ndarray::Ndarray;

nmf_core::backend_test_suite!(ndarray_f64, Ndarray, f64);
nmf_core::backend_test_suite!(ndarray_f32, Ndarray, f32);

/// The HALS sweeps reach the lanes of an ndarray matrix of any layout (row-major,
/// column-major, negative strides) with the same bits.
#[test]
fn hals_sweeps_on_any_layout() {
    use ndarray::{Array2, ShapeBuilder};
    use nmf_core::kernels::coordinate_sweep_block;
    use nmf_core::{Lanes, MatrixBackend};
    let (rows, cols) = (7, 5);
    let f = |i: usize, j: usize| 0.25 + ((i * 13 + j * 7) % 11) as f64 / 3.0;
    let num = Array2::from_shape_fn((rows, cols), |(i, j)| f(j, i) * 2.0);
    for lanes in [Lanes::Columns, Lanes::Rows] {
        let k = if lanes == Lanes::Columns { rows } else { cols };
        let gram: Vec<f64> = (0..k * k)
            .map(|x| if x / k == x % k { 3.0 } else { 0.5 })
            .collect();
        let order: Vec<usize> = (0..k).rev().collect();
        let sweep = |x: &mut nmf_core::lane::LaneBlockMut<'_, f64>,
                     n: &nmf_core::lane::LaneBlock<'_, f64>,
                     out: &mut [f64]| {
            coordinate_sweep_block(x, n, &gram, 0.1, 1e-9, &order, out)
        };
        let count = if lanes == Lanes::Columns { cols } else { rows };
        let run = |mut x: Array2<f64>, num: &Array2<f64>| {
            let mut out = vec![0.0; count];
            Ndarray.for_each_lane(&mut x, num, lanes, &mut out, &sweep);
            (MatrixBackend::<f64>::to_row_major(&Ndarray, &x), out)
        };
        let want = run(Array2::from_shape_fn((rows, cols), |(i, j)| f(i, j)), &num);
        let fortran = Array2::from_shape_fn((rows, cols).f(), |(i, j)| f(i, j));
        let num_f = Array2::from_shape_fn((rows, cols).f(), |(i, j)| num[(i, j)]);
        assert_eq!(run(fortran, &num_f), want, "{lanes:?}, column-major");
        // Negative strides: reverse both axes of the storage, then view them reversed back.
        let mut rev = Array2::from_shape_fn((rows, cols), |(i, j)| f(rows - 1 - i, cols - 1 - j));
        rev.invert_axis(ndarray::Axis(0));
        rev.invert_axis(ndarray::Axis(1));
        assert!(rev.strides().iter().all(|&s| s < 0));
        assert_eq!(run(rev, &num), want, "{lanes:?}, negative strides");
    }
}
