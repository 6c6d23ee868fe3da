//! The shared property suite of nmf-core, on the faer backend, in f32 and f64, sequential and
//! with threads (products of 127–129 run on several threads).

use nmf_faer::Faer;

nmf_core::backend_test_suite!(faer_f64, Faer::default(), f64);
nmf_core::backend_test_suite!(faer_f32, Faer::default(), f32);
nmf_core::backend_test_suite!(faer_seq_f64, Faer::sequential(), f64);
