//! The shared property suite of nmf-core, on the nalgebra backend, in f32 and f64.

use nmf_nalgebra::Nalgebra;

nmf_core::backend_test_suite!(nalgebra_f64, Nalgebra, f64);
nmf_core::backend_test_suite!(nalgebra_f32, Nalgebra, f32);
