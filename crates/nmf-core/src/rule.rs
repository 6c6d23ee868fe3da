//! The update rule a fit runs ([`Rule`]): the one place the driver ([`crate::driver`])
//! dispatches on the solver. A new rule is a variant here, an arm in [`Rule::new`] and one in
//! each forwarding method; the driver itself does not change.

use crate::masked::AnlsSolver;
use crate::update::{CdKlSolver, Evaluation, HalsSolver, MuSolver};
use crate::{DataOps, HalsOptions, Loss, NmfError, NmfValidParams, Penalty, Scalar, Solver};

/// The update rule of one restart, behind one interface for the driver.
/// One per restart, on the stack of the driver's `run`: the size difference of the variants
/// does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Rule<'a, T: Scalar, B: DataOps<T, V>, V> {
    Mu(MuSolver<'a, T, B, V>),
    Hals(HalsSolver<'a, T, B, V>),
    CdKl(CdKlSolver<'a, T, B, V>),
    Anls(AnlsSolver<'a, T, B, V>),
}

impl<'a, T: Scalar, B: DataOps<T, V>, V> Rule<'a, T, B, V> {
    /// The rule `params` asks for ([`NmfValidParams::effective_solver`]) on the data the
    /// solver sees, from (W0, H0) in the solver's units, with lower bound `eps` there.
    /// Restart `restart` seeds its own randomness (HALS's shuffled order) from
    /// `seed + restart`, as its random start is drawn.
    pub(crate) fn new(
        params: &NmfValidParams,
        backend: &'a B,
        v: &'a V,
        w0: B::Mat,
        h0: B::Mat,
        eps: T,
        restart: usize,
    ) -> Result<Self, NmfError> {
        let weighted = backend.data_weighted(v);
        // Weighted data: Auto picks masked least squares for the Frobenius loss on observed
        // entries, the multiplicative updates otherwise; HALS and KL coordinate descent need
        // the unweighted statistics.
        let solver = match params.solver {
            Solver::Auto if weighted => {
                if params.loss == Loss::Frobenius && backend.data_observed(v).is_some() {
                    Solver::Anls
                } else {
                    Solver::Mu
                }
            }
            Solver::Hals | Solver::CdKl if weighted => {
                return Err(NmfError::SolverNotForData {
                    solver: params.solver,
                    data: "weighted or masked V",
                    reason: "its statistics need every entry of V with weight 1; use the                              solver anls (Frobenius, observed entries), mu (every loss) or auto"
                        .into(),
                });
            }
            _ => params.effective_solver(),
        };
        Ok(match solver {
            Solver::Anls => Rule::Anls(AnlsSolver::new(backend, v, w0, h0, eps, params.anls)?),
            Solver::Hals => {
                let options = HalsOptions {
                    seed: params.seed.wrapping_add(restart as u64),
                    ..params.hals
                };
                Rule::Hals(HalsSolver::new(backend, v, w0, h0, eps, options)?)
            }
            Solver::CdKl => Rule::CdKl(CdKlSolver::new(backend, v, w0, h0, eps, params.cd_kl)?),
            _ => Rule::Mu(MuSolver::new(backend, v, w0, h0, params.loss, eps)?),
        })
    }

    pub(crate) fn set_penalty(&mut self, p: Penalty) -> Result<(), NmfError> {
        match self {
            Rule::Mu(s) => s.set_penalty(p),
            Rule::Hals(s) => s.set_penalty(p),
            Rule::CdKl(s) => s.set_penalty(p),
            Rule::Anls(s) => s.set_penalty(p),
        }
    }
    pub(crate) fn step(&mut self) {
        match self {
            Rule::Mu(s) => s.step(),
            Rule::Hals(s) => s.step(),
            Rule::CdKl(s) => s.step(),
            Rule::Anls(s) => s.step(),
        }
    }
    pub(crate) fn update_h(&mut self) {
        match self {
            Rule::Mu(s) => s.update_h(),
            Rule::Hals(s) => s.update_h(),
            Rule::CdKl(s) => s.update_h(),
            Rule::Anls(s) => s.update_h(),
        }
    }
    pub(crate) fn update_w(&mut self) {
        match self {
            Rule::Mu(s) => s.update_w(),
            Rule::Hals(s) => s.update_w(),
            Rule::CdKl(s) => s.update_w(),
            Rule::Anls(s) => s.update_w(),
        }
    }
    pub(crate) fn evaluate(&mut self) -> Evaluation {
        match self {
            Rule::Mu(s) => s.evaluate(),
            Rule::Hals(s) => s.evaluate(),
            Rule::CdKl(s) => s.evaluate(),
            Rule::Anls(s) => s.evaluate(),
        }
    }
    pub(crate) fn factors(&self) -> (&B::Mat, &B::Mat) {
        match self {
            Rule::Mu(s) => (s.w(), s.h()),
            Rule::Hals(s) => (s.w(), s.h()),
            Rule::CdKl(s) => (s.w(), s.h()),
            Rule::Anls(s) => (s.w(), s.h()),
        }
    }
    pub(crate) fn into_factors(self) -> (B::Mat, B::Mat) {
        match self {
            Rule::Mu(s) => s.into_factors(),
            Rule::Hals(s) => s.into_factors(),
            Rule::CdKl(s) => s.into_factors(),
            Rule::Anls(s) => s.into_factors(),
        }
    }
}
