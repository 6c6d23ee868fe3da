//! The property suite every backend runs (feature `testing`).
//!
//! Each `check_*` function runs one property with proptest against any backend and scalar.
//! They come in groups, one module and one macro each, so that a backend, a data type or an
//! update rule opts into exactly the groups that apply to it:
//!
//! | group | module | macro |
//! |---|---|---|
//! | kernels and conformance | [`conformance`] | [`testgen_conformance!`](crate::testgen_conformance) |
//! | monotonicity and auxiliary functions | [`monotone`] | [`testgen_monotone!`](crate::testgen_monotone) |
//! | the fitting API | [`api`] | [`testgen_api!`](crate::testgen_api) |
//! | penalties | [`penalties`] | [`testgen_penalties!`](crate::testgen_penalties) |
//! | initialisation and SVD | [`initialisation`] | [`testgen_initialisation!`](crate::testgen_initialisation) |
//! | extreme inputs | [`extreme`] | [`testgen_extreme!`](crate::testgen_extreme) |
//! | the HALS solver | [`hals`] | [`testgen_hals!`](crate::testgen_hals) |
//! | sparse V | [`sparse`] | [`testgen_sparse!`](crate::testgen_sparse) |
//! | masked and weighted data | [`masked`] | [`testgen_masked!`](crate::testgen_masked) |
//! | the KL coordinate descent | [`cd_kl`] | [`testgen_cd_kl!`](crate::testgen_cd_kl) |
//! | V distributed over processes | [`distributed`] | [`testgen_distributed!`](crate::testgen_distributed) |
//! | minibatch and online NMF | [`minibatch`] | [`testgen_minibatch!`](crate::testgen_minibatch) |
//! | V streamed by row blocks (out of core) | [`streamed`] | [`testgen_streamed!`](crate::testgen_streamed) |
//!
//! [`backend_test_suite!`](crate::backend_test_suite) instantiates them all, one `#[test]` per
//! property, so a failure names both the property and the backend:
//!
//! ```ignore
//! nmf_core::backend_test_suite!(faer_f64, nmf_faer::Faer::default(), f64);
//! ```
//!
//! Cases are drawn from a fixed seed so that CI is reproducible; set `PROPTEST_RNG_SEED` to
//! explore other cases and `PROPTEST_CASES` (default 256 here) to draw more.

pub mod api;
mod cases;
pub mod cd_kl;
mod common;
pub mod conformance;
pub mod distributed;
pub mod extreme;
pub mod hals;
pub mod initialisation;
pub mod masked;
pub mod minibatch;
pub mod monotone;
pub mod penalties;
pub mod sparse;
pub mod streamed;

pub use api::*;
pub use cases::{
    DataCase, ExtremeCase, ExtremePattern, Pattern, data_case, extreme_case, extreme_exponent,
};
pub use cd_kl::*;
pub use common::{export, mat, product};
pub use conformance::*;
pub use distributed::*;
pub use extreme::*;
pub use hals::*;
pub use initialisation::*;
pub use masked::*;
pub use minibatch::*;
pub use monotone::*;
pub use penalties::*;
pub use sparse::*;
pub use streamed::*;

use proptest::test_runner::{Config, RngSeed, TestRunner};

/// The proptest runner of the suite: `PROPTEST_CASES` cases (256 by default), from the seed in
/// `PROPTEST_RNG_SEED` or else a fixed one, with no failure-persistence files.
pub fn runner() -> TestRunner {
    runner_with_cases(256)
}

/// As [`runner`], with another default number of cases (for the expensive properties).
pub fn runner_with_cases(default_cases: u32) -> TestRunner {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x6e6d_6600);
    }
    TestRunner::new(config)
}

/// Generates the whole shared suite for a backend and scalar type, in a module named `$name`
/// (so a failure reads, for example, `faer_f32::loss_never_increases_kl`): every group macro
/// below, one `#[test]` per property. A data type or solver that supports only some of the
/// properties opts into its groups instead, inside a module of its own:
///
/// ```ignore
/// nmf_core::backend_test_suite!(faer_f64, nmf_faer::Faer::default(), f64);
/// mod faer_f64_partial {
///     nmf_core::testgen_conformance!(nmf_faer::Faer::default(), f64);
///     nmf_core::testgen_monotone!(nmf_faer::Faer::default(), f64);
/// }
/// ```
#[macro_export]
macro_rules! backend_test_suite {
    ($name:ident, $backend:expr, $t:ty) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::testgen_conformance!($backend, $t);
            $crate::testgen_monotone!($backend, $t);
            $crate::testgen_api!($backend, $t);
            $crate::testgen_penalties!($backend, $t);
            $crate::testgen_initialisation!($backend, $t);
            $crate::testgen_extreme!($backend, $t);
            $crate::testgen_hals!($backend, $t);
            $crate::testgen_sparse!($backend, $t);
            $crate::testgen_cd_kl!($backend, $t);
            $crate::testgen_distributed!($backend, $t);
            $crate::testgen_masked!($backend, $t);
            $crate::testgen_minibatch!($backend, $t);
            $crate::testgen_streamed!($backend, $t);
        }
    };
}

/// The suite's group of kernels and conformance ([`conformance`](crate::testing::conformance)):
/// the backend primitives against a naive reference.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_conformance {
    ($backend:expr, $t:ty) => {
        #[test]
        fn matmul_matches_reference() {
            $crate::testing::check_matmul::<$t, _>(&$backend);
        }
        #[test]
        fn elementwise_kernels_match_reference() {
            $crate::testing::check_elementwise::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of monotonicity and auxiliary functions
/// ([`monotone`](crate::testing::monotone)): MU half-steps for every loss.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_monotone {
    ($backend:expr, $t:ty) => {
        #[test]
        fn factors_stay_positive_frobenius() {
            $crate::testing::check_factors_stay_positive::<$t, _>(
                &$backend,
                $crate::Loss::Frobenius,
            );
        }
        #[test]
        fn factors_stay_positive_kl() {
            $crate::testing::check_factors_stay_positive::<$t, _>(
                &$backend,
                $crate::Loss::KullbackLeibler,
            );
        }
        #[test]
        fn loss_never_increases_frobenius() {
            $crate::testing::check_loss_never_increases::<$t, _>(
                &$backend,
                $crate::Loss::Frobenius,
            );
        }
        #[test]
        fn loss_never_increases_kl() {
            $crate::testing::check_loss_never_increases::<$t, _>(
                &$backend,
                $crate::Loss::KullbackLeibler,
            );
        }
        #[test]
        fn auxiliary_lemmas_frobenius() {
            $crate::testing::check_auxiliary_lemmas::<$t, _>(&$backend, $crate::Loss::Frobenius);
        }
        #[test]
        fn auxiliary_lemmas_kl() {
            $crate::testing::check_auxiliary_lemmas::<$t, _>(
                &$backend,
                $crate::Loss::KullbackLeibler,
            );
        }
        #[test]
        fn auxiliary_lemmas_beta() {
            $crate::testing::check_auxiliary_lemmas_beta::<$t, _>(&$backend);
        }
        #[test]
        fn zero_rows_and_columns_give_eps_frobenius() {
            $crate::testing::check_zero_rows_and_columns::<$t, _>(
                &$backend,
                $crate::Loss::Frobenius,
            );
        }
        #[test]
        fn zero_rows_and_columns_give_eps_kl() {
            $crate::testing::check_zero_rows_and_columns::<$t, _>(
                &$backend,
                $crate::Loss::KullbackLeibler,
            );
        }
        #[test]
        fn beta_loss_never_increases() {
            $crate::testing::check_beta_loss_never_increases::<$t, _>(&$backend);
        }
        #[test]
        fn beta_path_matches_dedicated_paths() {
            $crate::testing::check_beta_path_matches_dedicated::<$t, _>(&$backend);
        }
        #[test]
        fn evaluation_bounds_the_rounding_scales() {
            $crate::testing::check_evaluation_bounds::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of the fitting API ([`api`](crate::testing::api)):
/// recovery, bad input, determinism, transform, restarts.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_api {
    ($backend:expr, $t:ty) => {
        #[test]
        fn recovers_low_rank_frobenius() {
            $crate::testing::check_recovery::<$t, _>(&$backend, $crate::Loss::Frobenius);
        }
        #[test]
        fn recovers_low_rank_kl() {
            $crate::testing::check_recovery::<$t, _>(&$backend, $crate::Loss::KullbackLeibler);
        }
        #[test]
        fn transform_frobenius() {
            $crate::testing::check_transform::<$t, _>(&$backend, $crate::Loss::Frobenius);
        }
        #[test]
        fn transform_kl() {
            $crate::testing::check_transform::<$t, _>(&$backend, $crate::Loss::KullbackLeibler);
        }
        #[test]
        fn fixed_factor_is_kept() {
            $crate::testing::check_fixed_factor::<$t, _>(&$backend);
        }
        #[test]
        fn restarts_keep_the_best_fit() {
            $crate::testing::check_restarts::<$t, _>(&$backend);
        }
        #[test]
        fn parallel_restarts_match_sequential() {
            $crate::testing::check_parallel_restarts::<$t, _>(&$backend);
        }
        #[test]
        fn score_is_the_loss_on_data() {
            $crate::testing::check_score::<$t, _>(&$backend);
        }
        #[test]
        fn bad_input_is_an_error() {
            $crate::testing::check_bad_input::<$t, _>(&$backend);
        }
        #[test]
        fn same_seed_same_factors() {
            $crate::testing::check_same_seed::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of penalties ([`penalties`](crate::testing::penalties)):
/// penalised objectives never rise; L1 sparsity.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_penalties {
    ($backend:expr, $t:ty) => {
        #[test]
        fn regularized_objective_never_increases_frobenius() {
            $crate::testing::check_regularized_objective_never_increases::<$t, _>(
                &$backend,
                $crate::Loss::Frobenius,
            );
        }
        #[test]
        fn regularized_objective_never_increases_kl() {
            $crate::testing::check_regularized_objective_never_increases::<$t, _>(
                &$backend,
                $crate::Loss::KullbackLeibler,
            );
        }
        #[test]
        fn regularized_objective_never_increases_beta() {
            $crate::testing::check_regularized_beta_objective_never_increases::<$t, _>(&$backend);
        }
        #[test]
        fn l1_makes_factors_sparser_frobenius() {
            $crate::testing::check_l1_sparsity::<$t, _>(&$backend, $crate::Loss::Frobenius);
        }
        #[test]
        fn l1_makes_factors_sparser_kl() {
            $crate::testing::check_l1_sparsity::<$t, _>(&$backend, $crate::Loss::KullbackLeibler);
        }
    };
}

/// The suite's group of initialisation and the truncated SVD
/// ([`initialisation`](crate::testing::initialisation)): every property of it.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_initialisation {
    ($backend:expr, $t:ty) => {
        #[test]
        fn truncated_svd_is_an_svd() {
            $crate::testing::check_truncated_svd::<$t, _>(&$backend);
        }
        #[test]
        fn every_initialisation_fits() {
            $crate::testing::check_initialisations::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of extreme inputs ([`extreme`](crate::testing::extreme)):
/// magnitudes 1e-30 to 1e30 in f32 and f64.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_extreme {
    ($backend:expr, $t:ty) => {
        #[test]
        fn extreme_scales_frobenius() {
            $crate::testing::check_extreme_scales::<$t, _>(&$backend, $crate::Loss::Frobenius);
        }
        #[test]
        fn extreme_scales_kl() {
            $crate::testing::check_extreme_scales::<$t, _>(
                &$backend,
                $crate::Loss::KullbackLeibler,
            );
        }
        #[test]
        fn extreme_scales_beta() {
            $crate::testing::check_extreme_scales_beta::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of the HALS solver ([`hals`](crate::testing::hals)):
/// monotone, exact coordinate minimisers, agreement, solver choice.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_hals {
    ($backend:expr, $t:ty) => {
        #[test]
        fn hals_objective_never_increases() {
            $crate::testing::check_hals_objective_never_increases::<$t, _>(&$backend);
        }
        #[test]
        fn hals_sweep_budget() {
            $crate::testing::check_hals_sweep_budget::<$t, _>(&$backend);
        }
        #[test]
        fn hals_coordinate_minimiser() {
            $crate::testing::check_hals_coordinate_minimiser::<$t, _>(&$backend);
        }
        #[test]
        fn hals_agrees_across_backends_and_is_deterministic() {
            $crate::testing::check_hals_agreement_and_determinism::<$t, _>(&$backend);
        }
        #[test]
        fn solver_choice() {
            $crate::testing::check_solver_choice::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of sparse V ([`sparse`](crate::testing::sparse)): the sparse data term
/// against the dense one, the rules monotone on it, fits that match.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_sparse {
    ($backend:expr, $t:ty) => {
        #[test]
        fn sparse_statistics_match_dense() {
            $crate::testing::check_sparse_statistics::<$t, _>(&$backend);
        }
        #[test]
        fn sparse_rules_are_monotone() {
            $crate::testing::check_sparse_rules_are_monotone::<$t, _>(&$backend);
        }
        #[test]
        fn sparse_beta_statistics_match_dense() {
            $crate::testing::check_sparse_beta_statistics::<$t, _>(&$backend);
        }
        #[test]
        fn sparse_beta_is_monotone() {
            $crate::testing::check_sparse_beta_is_monotone::<$t, _>(&$backend);
        }
        #[test]
        fn sparse_fit_matches_dense() {
            $crate::testing::check_sparse_fit_matches_dense::<$t, _>(&$backend);
        }
        #[test]
        fn sparse_cd_kl_is_monotone() {
            $crate::testing::check_sparse_cd_kl_is_monotone::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of the KL coordinate descent ([`cd_kl`](crate::testing::cd_kl)):
/// monotone after every block, the safeguarded step, KKT, agreement, parameters (dense V).
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_cd_kl {
    ($backend:expr, $t:ty) => {
        #[test]
        fn cd_kl_objective_never_increases() {
            $crate::testing::check_cd_kl_objective_never_increases::<$t, _>(&$backend);
        }
        #[test]
        fn cd_kl_step_minimises_one_dimension() {
            $crate::testing::check_cd_kl_step_minimises_one_dimension::<$t, _>(&$backend);
        }
        #[test]
        fn cd_kl_kkt() {
            $crate::testing::check_cd_kl_kkt::<$t, _>(&$backend);
        }
        #[test]
        fn cd_kl_agrees_across_backends_and_is_deterministic() {
            $crate::testing::check_cd_kl_agreement_and_determinism::<$t, _>(&$backend);
        }
        #[test]
        fn cd_kl_parameters() {
            $crate::testing::check_cd_kl_parameters::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of the distributed data term ([`distributed`](crate::testing::distributed)):
/// P = 1, 2, 3 simulated processes against one (whole MU fits, HALS half-steps), and a bad
/// entry in one block stopping all.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_distributed {
    ($backend:expr, $t:ty) => {
        #[test]
        fn distributed_fit_equals_single() {
            $crate::testing::check_distributed_fit_equals_single::<$t, _>(&$backend);
        }
        #[test]
        fn distributed_hals_half_step_within_bound() {
            $crate::testing::check_distributed_hals_half_step::<$t, _>(&$backend);
        }
        #[test]
        fn distributed_bad_entry_stops_every_process() {
            $crate::testing::check_distributed_bad_entry_everywhere::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of masked and weighted data ([`masked`](crate::testing::masked)):
/// monotone MU (every loss) and ANLS, the weighted auxiliary functions, a full mask, weight-0
/// entries, low-rank recovery, predictions and held-out errors, bad weights.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_masked {
    ($backend:expr, $t:ty) => {
        #[test]
        fn masked_mu_monotone() {
            $crate::testing::check_masked_mu_monotone::<$t, _>(&$backend);
        }
        #[test]
        fn masked_anls_monotone() {
            $crate::testing::check_anls_monotone::<$t, _>(&$backend);
        }
        #[test]
        fn masked_weighted_auxiliary() {
            $crate::testing::check_weighted_auxiliary::<$t, _>(&$backend);
        }
        #[test]
        fn masked_full_mask_is_unmasked() {
            $crate::testing::check_full_mask_is_unmasked::<$t, _>(&$backend);
        }
        #[test]
        fn masked_zero_weight_is_irrelevant() {
            $crate::testing::check_zero_weight_is_irrelevant::<$t, _>(&$backend);
        }
        #[test]
        fn masked_recovers_low_rank() {
            $crate::testing::check_masked_recovers_low_rank::<$t, _>(&$backend);
        }
        #[test]
        fn masked_predict_and_holdout() {
            $crate::testing::check_predict_and_holdout::<$t, _>(&$backend);
        }
        #[test]
        fn masked_holdout_fit() {
            $crate::testing::check_holdout_fit::<$t, _>(&$backend);
        }
        #[test]
        fn masked_threads_bit_identical() {
            $crate::testing::check_masked_threads_bit_identical::<$t, _>(&$backend);
        }
        #[test]
        fn masked_bad_weights_are_errors() {
            $crate::testing::check_bad_weights_are_errors::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of minibatch and online NMF ([`minibatch`](crate::testing::minibatch)):
/// bounds, the accumulated surrogate never rising, the W_b steps never raising the batch's
/// penalised loss, `partial_fit` equal to `fit`, parameters (all with penalties).
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_minibatch {
    ($backend:expr, $t:ty) => {
        #[test]
        fn minibatch_surrogate_never_increases() {
            $crate::testing::check_minibatch_surrogate_never_increases::<$t, _>(&$backend);
        }
        #[test]
        fn minibatch_w_steps_never_increase() {
            $crate::testing::check_minibatch_w_steps_never_increase::<$t, _>(&$backend);
        }
        #[test]
        fn minibatch_early_stop_fits_every_row() {
            $crate::testing::check_minibatch_early_stop_fits_every_row::<$t, _>(&$backend);
        }
        #[test]
        fn minibatch_partial_fit_equals_fit() {
            $crate::testing::check_minibatch_partial_fit_equals_fit::<$t, _>(&$backend);
        }
        #[test]
        fn minibatch_parameters() {
            $crate::testing::check_minibatch_parameters::<$t, _>(&$backend);
        }
    };
}

/// The suite's group of V streamed by row blocks ([`streamed`](crate::testing::streamed)):
/// the streamed fit equals the in-memory one, a failing read stops the fit with its error,
/// the stopping rule stops both at the same iteration.
/// One `#[test]` per property, in the current module, for `$backend` and the scalar `$t`.
#[macro_export]
macro_rules! testgen_streamed {
    ($backend:expr, $t:ty) => {
        #[test]
        fn streamed_fit_equals_in_memory() {
            $crate::testing::check_streamed_fit_equals_in_memory::<$t, _>(&$backend);
        }
        #[test]
        fn streamed_hals_half_step() {
            $crate::testing::check_streamed_hals_half_step::<$t, _>(&$backend);
        }
        #[test]
        fn streamed_read_error_stops_the_fit() {
            $crate::testing::check_streamed_read_error_stops_the_fit::<$t, _>(&$backend);
        }
        #[test]
        fn streamed_stops_with_in_memory() {
            $crate::testing::check_streamed_stops_with_in_memory::<$t, _>(&$backend);
        }
    };
}

#[cfg(test)]
mod tests {
    crate::backend_test_suite!(reference_f64, crate::reference::Reference, f64);
    crate::backend_test_suite!(reference_f32, crate::reference::Reference, f32);
}
