//! The shared property suite of nmf-core, on the ndarray backend, in f32 and f64.

use nmf_ndarray::Ndarray;

nmf_core::backend_test_suite!(ndarray_f64, Ndarray, f64);
nmf_core::backend_test_suite!(ndarray_f32, Ndarray, f32);
