//! The property suite every backend runs (feature `testing`).
//!
//! Each `check_*` function runs one property with proptest against any backend and scalar;
//! [`backend_test_suite!`](crate::backend_test_suite) turns them into one `#[test]` per
//! property, so a failure names both the property and the backend:
//!
//! ```ignore
//! nmf_core::backend_test_suite!(faer_f64, nmf_faer::Faer::default(), f64);
//! ```
//!
//! Cases are drawn from a fixed seed so that CI is reproducible; set `PROPTEST_RNG_SEED` to
//! explore other cases and `PROPTEST_CASES` (default 256 here) to draw more.

mod cases;
mod hals;
mod properties;

pub use cases::{
    DataCase, ExtremeCase, ExtremePattern, Pattern, data_case, extreme_case, extreme_exponent,
};
pub use hals::*;
pub use properties::*;

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

/// Generates one `#[test]` per property of the shared suite for a backend and scalar type, in
/// a module named `$name` (so a failure reads, for example, `faer_f32::loss_never_increases_kl`).
#[macro_export]
macro_rules! backend_test_suite {
    ($name:ident, $backend:expr, $t:ty) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::Loss::{Frobenius, KullbackLeibler};
            use $crate::testing as suite;

            #[test]
            fn matmul_matches_reference() {
                suite::check_matmul::<$t, _>(&$backend);
            }
            #[test]
            fn elementwise_kernels_match_reference() {
                suite::check_elementwise::<$t, _>(&$backend);
            }
            #[test]
            fn factors_stay_positive_frobenius() {
                suite::check_factors_stay_positive::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn factors_stay_positive_kl() {
                suite::check_factors_stay_positive::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn loss_never_increases_frobenius() {
                suite::check_loss_never_increases::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn loss_never_increases_kl() {
                suite::check_loss_never_increases::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn auxiliary_lemmas_frobenius() {
                suite::check_auxiliary_lemmas::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn auxiliary_lemmas_kl() {
                suite::check_auxiliary_lemmas::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn auxiliary_lemmas_beta() {
                suite::check_auxiliary_lemmas_beta::<$t, _>(&$backend);
            }
            #[test]
            fn zero_rows_and_columns_give_eps_frobenius() {
                suite::check_zero_rows_and_columns::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn zero_rows_and_columns_give_eps_kl() {
                suite::check_zero_rows_and_columns::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn recovers_low_rank_frobenius() {
                suite::check_recovery::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn recovers_low_rank_kl() {
                suite::check_recovery::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn beta_loss_never_increases() {
                suite::check_beta_loss_never_increases::<$t, _>(&$backend);
            }
            #[test]
            fn beta_path_matches_dedicated_paths() {
                suite::check_beta_path_matches_dedicated::<$t, _>(&$backend);
            }
            #[test]
            fn transform_frobenius() {
                suite::check_transform::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn transform_kl() {
                suite::check_transform::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn fixed_factor_is_kept() {
                suite::check_fixed_factor::<$t, _>(&$backend);
            }
            #[test]
            fn restarts_keep_the_best_fit() {
                suite::check_restarts::<$t, _>(&$backend);
            }
            #[test]
            fn parallel_restarts_match_sequential() {
                suite::check_parallel_restarts::<$t, _>(&$backend);
            }
            #[test]
            fn regularized_objective_never_increases_frobenius() {
                suite::check_regularized_objective_never_increases::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn regularized_objective_never_increases_kl() {
                suite::check_regularized_objective_never_increases::<$t, _>(
                    &$backend,
                    KullbackLeibler,
                );
            }
            #[test]
            fn regularized_objective_never_increases_beta() {
                suite::check_regularized_beta_objective_never_increases::<$t, _>(&$backend);
            }
            #[test]
            fn l1_makes_factors_sparser_frobenius() {
                suite::check_l1_sparsity::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn l1_makes_factors_sparser_kl() {
                suite::check_l1_sparsity::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn truncated_svd_is_an_svd() {
                suite::check_truncated_svd::<$t, _>(&$backend);
            }
            #[test]
            fn every_initialisation_fits() {
                suite::check_initialisations::<$t, _>(&$backend);
            }
            #[test]
            fn bad_input_is_an_error() {
                suite::check_bad_input::<$t, _>(&$backend);
            }
            #[test]
            fn evaluation_bounds_the_rounding_scales() {
                suite::check_evaluation_bounds::<$t, _>(&$backend);
            }
            #[test]
            fn extreme_scales_frobenius() {
                suite::check_extreme_scales::<$t, _>(&$backend, Frobenius);
            }
            #[test]
            fn extreme_scales_kl() {
                suite::check_extreme_scales::<$t, _>(&$backend, KullbackLeibler);
            }
            #[test]
            fn extreme_scales_beta() {
                suite::check_extreme_scales_beta::<$t, _>(&$backend);
            }
            #[test]
            fn hals_objective_never_increases() {
                suite::check_hals_objective_never_increases::<$t, _>(&$backend);
            }
            #[test]
            fn hals_sweep_budget() {
                suite::check_hals_sweep_budget::<$t, _>(&$backend);
            }
            #[test]
            fn hals_coordinate_minimiser() {
                suite::check_hals_coordinate_minimiser::<$t, _>(&$backend);
            }
            #[test]
            fn hals_agrees_across_backends_and_is_deterministic() {
                suite::check_hals_agreement_and_determinism::<$t, _>(&$backend);
            }
            #[test]
            fn solver_choice() {
                suite::check_solver_choice::<$t, _>(&$backend);
            }
            #[test]
            fn same_seed_same_factors() {
                suite::check_same_seed::<$t, _>(&$backend);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::backend_test_suite!(reference_f64, crate::reference::Reference, f64);
    crate::backend_test_suite!(reference_f32, crate::reference::Reference, f32);
}
