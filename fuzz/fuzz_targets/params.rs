//! The parameter validation: every setter of `Nmf::params(k)` driven by arbitrary values, then
//! `check()`. No panic; validated parameters are in range. When they are small enough to run
//! in microseconds (k ≤ 6, at most 64 iterations and 3 restarts), they also fit a small matrix
//! of arbitrary entries (0 to 255) scaled by an arbitrary power of two, anywhere in the scalar
//! type's range (2⁻¹⁴⁹ to 2¹²⁷ in f32, 2⁻¹⁰⁷⁴ to 2¹⁰²³ in f64), on the reference backend, in
//! f32 or f64: the guarantee holds on every input or the fit says it cannot. A fit either
//! fails with an error or returns what `NmfModel` documents: W and H finite and ≥ ε, a finite
//! loss history, at most `max_iter` iterations, and a final loss not above the initial one.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nmf_core::reference::Reference;
use nmf_core::{Fixed, Init, Loss, MatrixBackend, Nmf, NmfValidParams, Scalar};

#[derive(Debug, Arbitrary)]
enum LossIn {
    Frobenius,
    Kl,
    ItakuraSaito,
    Beta(f64),
}

#[derive(Debug, Arbitrary)]
enum InitIn {
    Auto,
    Random,
    Nndsvd,
    Nndsvda,
    Nndsvdar,
}

#[derive(Debug, Arbitrary)]
enum FixedIn {
    None,
    W,
    H,
}

#[derive(Debug, Arbitrary)]
struct Input {
    rank: usize,
    loss: LossIn,
    max_iter: usize,
    tol: f64,
    check_every: usize,
    init: InitIn,
    seed: u64,
    eps: Option<f64>,
    fixed: FixedIn,
    n_init: usize,
    alpha_w: f64,
    alpha_h: Option<f64>,
    l1_ratio: f64,
    // The data of the fit.
    f32: bool,
    rows: u8,
    cols: u8,
    scale: i16,
    entries: [u8; 16],
}

/// The largest rise of the loss accepted from the initial to the final evaluation, relative to
/// the initial loss. Every update is the exact minimiser of an auxiliary function, so the loss
/// can rise only by rounding: each rounded entry of W and H (at most 48 of them) moves the loss
/// by about u times the loss's scale, every iteration, for at most 64 iterations: about 3100u,
/// 1.8e-4 in f32 (u = 6e-8) and 3.4e-13 in f64. The bounds below are ten times more or over;
/// the rises of issue 9 are by factors of 10¹³ and more. The initial loss is the loss's scale
/// only for a random start (an NNDSVD start of a low-rank V may already sit at the rounding
/// floor, where rounding is all that moves): the check is made for random starts.
fn rise_bound(f32: bool) -> f64 {
    if f32 { 2e-3 } else { 1e-11 }
}

/// The absolute part of the bound, for losses among the subnormal numbers of f64 (data of
/// 2⁻¹⁰⁷⁴·255), where rounding is absolute: the loss is a sum of at most 16 terms computed
/// with a few roundings each, every one off by up to half the smallest subnormal (2.5e-324);
/// 1e-320 is over 30 times their sum.
const RISE_ABSOLUTE: f64 = 1e-320;

fn fit<T: Scalar>(p: &NmfValidParams, input: &Input) {
    let b = Reference;
    let (m, n) = (
        1 + usize::from(input.rows % 4),
        1 + usize::from(input.cols % 4),
    );
    let exp = if input.f32 {
        i32::from(input.scale).rem_euclid(277) - 149
    } else {
        i32::from(input.scale).rem_euclid(2098) - 1074
    };
    // In two factors: 2^exp itself may be subnormal, where `powi` would round through ∞.
    let s = 2f64.powi(exp / 2) * 2f64.powi(exp - exp / 2);
    let v = b.from_fn(m, n, |i, j| {
        T::from_f64(f64::from(input.entries[i * 4 + j]) * s)
    });
    let Ok(model) = p.fit(&b, &v) else {
        return;
    };
    assert!(
        model.n_iter() <= p.max_iter(),
        "{} iterations",
        model.n_iter()
    );
    let eps = model.eps();
    assert!(eps.as_f64() > 0.0 && eps.as_f64().is_finite(), "ε = {eps}");
    for (name, f) in [("W", model.w()), ("H", model.h())] {
        if let Some(x) = b
            .to_row_major(f)
            .into_iter()
            .find(|x| !(x.as_f64().is_finite() && *x >= eps))
        {
            panic!("{name} has the entry {x} (ε = {eps})");
        }
    }
    let history = model.loss_history();
    assert!(!history.is_empty(), "no loss evaluated");
    if let Some(r) = history.iter().find(|r| !r.loss.is_finite()) {
        panic!(
            "a fit returned the loss {} at iteration {}",
            r.loss, r.iteration
        );
    }
    let random = match p.init() {
        Init::Random => true,
        Init::Auto => p.init().nndsvd_variant(p.rank(), m, n).is_none(),
        _ => false,
    };
    let (first, last) = (history[0].loss, model.final_loss());
    assert!(
        !random || last <= first + rise_bound(input.f32) * first.abs() + RISE_ABSOLUTE,
        "the loss rose from {first:e} to {last:e} (converged: {}, {} iterations)",
        model.converged(),
        model.n_iter()
    );
}

fuzz_target!(|input: Input| {
    let loss = match input.loss {
        LossIn::Frobenius => Loss::Frobenius,
        LossIn::Kl => Loss::KullbackLeibler,
        LossIn::ItakuraSaito => Loss::ItakuraSaito,
        LossIn::Beta(b) => Loss::beta(b),
    };
    let init = match input.init {
        InitIn::Auto => Init::Auto,
        InitIn::Random => Init::Random,
        InitIn::Nndsvd => Init::Nndsvd,
        InitIn::Nndsvda => Init::Nndsvda,
        InitIn::Nndsvdar => Init::Nndsvdar,
    };
    let fixed = match input.fixed {
        FixedIn::None => Fixed::None,
        FixedIn::W => Fixed::W,
        FixedIn::H => Fixed::H,
    };
    let mut params = Nmf::params(input.rank)
        .loss(loss)
        .max_iter(input.max_iter)
        .tol(input.tol)
        .check_every(input.check_every)
        .init(init)
        .seed(input.seed)
        .fixed(fixed)
        .n_init(input.n_init)
        .alpha_w(input.alpha_w)
        .l1_ratio(input.l1_ratio);
    if let Some(e) = input.eps {
        params = params.eps(e);
    }
    if let Some(a) = input.alpha_h {
        params = params.alpha_h(a);
    }
    let Ok(p) = params.check() else {
        return;
    };
    // What `check` promises.
    assert!(p.rank() >= 1 && p.max_iter() >= 1 && p.check_every() >= 1 && p.n_init() >= 1);
    assert!(p.tol().is_finite() && p.tol() >= 0.0, "tol = {}", p.tol());
    assert!(
        p.loss().beta_value().is_finite(),
        "β = {}",
        p.loss().beta_value()
    );
    if p.rank() <= 6 && p.max_iter() <= 64 && p.n_init() <= 3 {
        if input.f32 {
            fit::<f32>(&p, &input);
        } else {
            fit::<f64>(&p, &input);
        }
    }
});
