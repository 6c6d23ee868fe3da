//! The missing-value path of `nmf fit`: with `--missing unobserved` or `--holdout`, the input
//! becomes the library's observed entries ([`Observed`]), a fraction of them is held out, and
//! the fitted model's error on them goes to the console and summary.json.

use nmf_core::masked::{Observed, holdout_error};
use nmf_core::reference::Reference;

use crate::CliError;
use crate::fitting::{Fitted, Sources, fit_input};
use crate::masked_input::{HoldoutInfo, MaskArgs, Missing, observed, with_weights};
use crate::matrix::Matrix;
use crate::read::{Input, ReadOptions, read_input};
use crate::settings::Settings;

/// The input of `nmf fit`, ready to fit.
pub(crate) enum Prepared {
    /// Every entry observed (the fit as before).
    Plain(Input),
    /// Observed entries, with the held-out part, its fraction and seed when `--holdout`.
    Masked {
        train: Box<Observed<f64>>,
        test: Option<Box<(Observed<f64>, f64, u64)>>,
    },
}

/// Reads the input as `args` say: `seed` draws the held-out entries.
///
/// # Errors
/// `--missing unobserved` on a dense input; a `--holdout` fraction out of (0, 1) or leaving
/// either part empty (naming the option); nothing observed (naming the file).
pub(crate) fn prepare(
    args: &MaskArgs,
    v: Input,
    seed: u64,
    source: &str,
    opts: ReadOptions,
) -> Result<Prepared, CliError> {
    if !args.active() {
        return Ok(Prepared::Plain(v));
    }
    if args.missing == Missing::Unobserved && matches!(v, Input::Dense(_)) {
        return Err(CliError::usage(format!(
            "--missing unobserved reads the unstored entries of a sparse input (Matrix Market \
             coordinate, .npz) as missing, but {source} is read dense (every entry is stored)"
        )));
    }
    let mut all = observed(v, args.missing, source)?;
    if let Some(path) = &args.weights {
        let wsource = path.display().to_string();
        // NaN is never a weight.
        let opts = ReadOptions {
            nan_missing: false,
            ..opts
        };
        let (w, _) = read_input(path, None, opts, true)?;
        let Input::Dense(w) = w else {
            return Err(CliError::usage(format!(
                "--weights {wsource}: not read dense"
            )));
        };
        all = with_weights(all, &w, &wsource)?;
    }
    let Some(fraction) = args.holdout else {
        return Ok(Prepared::Masked {
            train: Box::new(all),
            test: None,
        });
    };
    let (train, test) = all.split(fraction, seed).map_err(|e| match e {
        nmf_core::NmfError::InvalidHoldout { reason } => {
            CliError::usage(format!("--holdout {fraction}: {reason}"))
        }
        e => CliError::data(format!("{source}: {e}")),
    })?;
    Ok(Prepared::Masked {
        train: Box::new(train),
        test: Some(Box::new((test, fraction, seed))),
    })
}

impl Prepared {
    /// The entries fitted (stored entries for plain input).
    pub(crate) fn nnz(&self) -> usize {
        match self {
            Prepared::Plain(v) => v.nnz(),
            Prepared::Masked { train, .. } => train.nnz(),
        }
    }
    /// `dense`, `sparse` or `observed` (masked).
    pub(crate) fn storage(&self) -> &'static str {
        match self {
            Prepared::Plain(v) => v.storage(),
            Prepared::Masked { .. } => "observed",
        }
    }
    /// Fits, and measures the model on the held-out entries.
    ///
    /// # Errors
    /// The fit's errors.
    pub(crate) fn fit(
        self,
        s: &Settings,
        init: Option<(&Matrix, &Matrix)>,
        sources: &Sources<'_>,
    ) -> Result<(Fitted, Option<HoldoutInfo>), CliError> {
        match self {
            Prepared::Plain(v) => Ok((fit_input(s, v, init, sources)?, None)),
            Prepared::Masked { train, test } => {
                let f = fit_input(s, Input::Observed(train), init, sources)?;
                let Some((test, fraction, seed)) = test.map(|t| *t) else {
                    return Ok((f, None));
                };
                // The factors in f64 are the fitted ones exactly (f32 widens without rounding).
                let model = f
                    .saved
                    .into_model::<f64, Reference>(&Reference)
                    .map_err(|e| CliError::data(e.to_string()))?;
                let e = holdout_error(&Reference, &model, &test)
                    .map_err(|e| CliError::data(e.to_string()))?;
                Ok((f, Some(HoldoutInfo::new(&e, fraction, seed))))
            }
        }
    }
}

/// The console line of the held-out error.
pub(crate) fn describe(h: &HoldoutInfo) -> String {
    format!(
        "held out {} entries ({} of the observed, seed {}): RMSE {:.4}, MAE {:.4}, mean divergence {:.6e}",
        h.count, h.fraction, h.seed, h.rmse, h.mae, h.divergence
    )
}
