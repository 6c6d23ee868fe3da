//! The time-to-quality mode: time-to-target selection and interpolation, targets, tables,
//! the plot, this library's curve, and peers that are missing or fail being skipped.
#![allow(missing_docs)]

use clap::Parser;
use nmf_bench::quality::measure::{self, Config};
use nmf_bench::quality::target::{Reach, Target, reach, targets};
use nmf_bench::quality::{Checkpoint, Curve, Sample, input, library, parse_points, plot, table};
use nmf_cli::matrix::Matrix;

fn cp(iters: usize, seconds: f64, rel_err: f64) -> Checkpoint {
    Checkpoint {
        iters,
        n_iter: iters,
        seconds,
        rel_err,
        repeats: 1,
    }
}

fn curve(solver: &str, pts: &[(usize, f64, f64)]) -> Curve {
    Curve {
        solver: solver.to_string(),
        label: format!("{solver} label"),
        samples: pts
            .iter()
            .map(|&(iters, seconds, rel_err)| Sample {
                iters,
                n_iter: iters,
                seconds,
                rel_err,
            })
            .collect(),
    }
}

// Interpolation results are a few operations on exact binary fractions of small numbers:
// they agree with the exact value to a few units of roundoff, so 1e-12 (relative to values
// of order 1 to 100) is generous and still fails on any wrong formula.
const TIGHT: f64 = 1e-12;

#[test]
fn reach_picks_the_first_checkpoint_at_or_below_the_target() {
    let cps = [
        cp(10, 1.0, 0.60),
        cp(30, 3.0, 0.50),
        cp(100, 10.0, 0.45),
        cp(300, 30.0, 0.47), // a rise (a peer need not be monotone): ignored once reached
    ];
    // Between 10 and 30 iterations, a quarter of the way down from 0.60 to 0.50.
    match reach(&cps, 0.575).unwrap() {
        Reach::Reached {
            iters,
            measured,
            seconds,
            est_iters,
            upper_bound,
        } => {
            assert_eq!((iters, measured, upper_bound), (30, 3.0, false));
            assert!((seconds - 1.5).abs() < TIGHT, "{seconds}");
            assert!((est_iters - 15.0).abs() < TIGHT * 100.0, "{est_iters}");
        }
        r => panic!("{r:?}"),
    }
    // Exactly a checkpoint's error: that checkpoint's time and budget.
    match reach(&cps, 0.45).unwrap() {
        Reach::Reached {
            iters,
            seconds,
            est_iters,
            ..
        } => {
            assert_eq!(iters, 100);
            assert!((seconds - 10.0).abs() < TIGHT && (est_iters - 100.0).abs() < TIGHT);
        }
        r => panic!("{r:?}"),
    }
    // Reached at the first checkpoint: its time, as an upper bound.
    assert_eq!(
        reach(&cps, 0.7),
        Some(Reach::Reached {
            iters: 10,
            measured: 1.0,
            seconds: 1.0,
            est_iters: 10.0,
            upper_bound: true
        })
    );
    // Never reached: the last checkpoint says how far it got.
    assert_eq!(
        reach(&cps, 0.4),
        Some(Reach::NotReached {
            iters: 300,
            seconds: 30.0,
            rel_err: 0.47
        })
    );
    assert_eq!(reach(&cps, 0.4).unwrap().seconds(), None);
    assert_eq!(reach(&[], 0.5), None);
}

#[test]
fn checkpoints_are_medians_per_budget_in_budget_order() {
    let c = curve(
        "mu",
        &[
            (100, 4.0, 0.3),
            (10, 1.0, 0.5),
            (100, 2.0, 0.3),
            (10, 3.0, 0.5),
            (100, 9.0, 0.3),
            (10, 2.0, 0.5),
            (10, 4.0, 0.5),
        ],
    );
    let cps = c.checkpoints();
    assert_eq!(cps.len(), 2);
    // Even count: the mean of the two middle times.
    assert_eq!((cps[0].iters, cps[0].seconds, cps[0].repeats), (10, 2.5, 4));
    assert_eq!(
        (cps[1].iters, cps[1].seconds, cps[1].repeats),
        (100, 4.0, 3)
    );
    assert_eq!(c.at(100).unwrap().rel_err, 0.3);
    assert_eq!(c.at(30), None);
}

#[test]
fn targets_come_from_the_reference_in_the_same_run() {
    let cd = curve(
        "sklearn-cd",
        &[(10, 0.1, 0.54), (30, 0.3, 0.52), (100, 1.0, 0.51)],
    );
    let mu = curve("mu", &[(10, 0.1, 0.6)]);
    let mut notes = Vec::new();
    let t = targets(
        &[mu.clone(), cd.clone()],
        "sklearn-cd",
        &[30, 100, 1000],
        &[0.55],
        &mut notes,
    );
    let errs: Vec<f64> = t.iter().map(|t| t.rel_err).collect();
    assert_eq!(errs, [0.52, 0.51, 0.55]);
    assert_eq!(t[0].label, "sklearn-cd label, 30 iter.");
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("1000") && notes[0].contains("--iters"),
        "{notes:?}"
    );

    // No reference: no targets from it, and a note saying so.
    let mut notes = Vec::new();
    assert!(targets(&[mu], "sklearn-cd", &[30], &[], &mut notes).is_empty());
    assert!(notes[0].contains("sklearn-cd") && notes[0].contains("did not run"));

    // A reference that stopped early: still its error, with a note.
    let mut early = cd;
    early.samples[1].n_iter = 17;
    let mut notes = Vec::new();
    let t = targets(&[early], "sklearn-cd", &[30], &[], &mut notes);
    assert_eq!(t[0].rel_err, 0.52);
    assert!(notes[0].contains("stopped after 17 of 30"), "{notes:?}");
}

#[test]
fn tables_show_every_budget_and_the_ratio_to_the_reference() {
    let cd = curve(
        "sklearn-cd",
        &[(10, 0.5, 0.54), (30, 1.0, 0.52), (100, 3.0, 0.51)],
    );
    let fast = curve(
        "mu",
        &[(10, 0.1, 0.53), (30, 0.2, 0.515), (100, 0.5, 0.505)],
    );
    let slow = curve("rcppml", &[(10, 2.0, 0.60), (30, 5.0, 0.58)]);
    let curves = [fast, cd, slow];
    let e = table::errors(&curves);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 2 + 3);
    assert_eq!(lines[0], "| solver | 10 iter. | 30 iter. | 100 iter. |");
    assert_eq!(lines[1], "|---|---|---|---|");
    assert_eq!(
        lines[2],
        "| mu label | 0.5300 (100 ms) | 0.5150 (200 ms) | 0.5050 (500 ms) |"
    );
    // rcppml has no 100-iteration budget.
    assert!(
        lines[4].ends_with("| 0.5800 (5.00 s) | – |"),
        "{}",
        lines[4]
    );

    let t = [
        Target {
            label: "cd, 30 iter.".into(),
            rel_err: 0.52,
        },
        Target {
            label: "cd, 100 iter.".into(),
            rel_err: 0.51,
        },
    ];
    let s = table::times(&curves, &t, "sklearn-cd");
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 2 + 3);
    assert!(lines[0].contains("to 0.5200 (cd, 30 iter.) | ÷ sklearn-cd |"));
    assert_eq!(lines[1], "|---|---|---:|---|---:|");
    // mu reaches 0.52 at its first budget? No: 0.53 > 0.52 ≥ 0.515, two thirds of the way
    // from 10 to 30 iterations: 0.1 + (2/3)·0.1 s ≈ 167 ms (≈ 23 it.), against cd's 1 s.
    assert!(
        lines[2].starts_with("| mu label | 167 ms (≈ 23 it.) | 0.17 |"),
        "{}",
        lines[2]
    );
    // cd against itself: exactly its checkpoint time, ratio 1.
    assert!(
        lines[3].starts_with(
            "| sklearn-cd label | 1.00 s (≈ 30 it.) | 1.00 | 3.00 s (≈ 100 it.) | 1.00 |"
        ),
        "{}",
        lines[3]
    );
    // rcppml never gets there: a lower bound, in time and in ratio.
    assert!(
        lines[4].contains("> 5.00 s (not in 30 it.: 0.5800) | > 5.00 |"),
        "{}",
        lines[4]
    );
    assert!(lines[4].ends_with("> 5.00 s (not in 30 it.: 0.5800) | > 1.67 |"));
}

#[test]
fn the_plot_has_a_line_and_markers_per_solver_and_the_targets() {
    let a = curve(
        "mu",
        &[(10, 0.1, 0.53), (30, 0.2, 0.515), (100, 0.5, 0.505)],
    );
    let b = curve("sklearn-cd", &[(10, 0.5, 0.54), (30, 1.0, 0.52)]);
    let t = [Target {
        label: "cd, 30 iter.".into(),
        rel_err: 0.52,
    }];
    let svg = plot::svg(&[a, b], &t, "digits & <test>").unwrap();
    // Well-formed XML with an <svg> root.
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(svg.matches("<circle").count(), 3 + 2);
    for label in [
        "mu label",
        "sklearn-cd label",
        "target 0.5200 (cd, 30 iter.)",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
    // The title is escaped.
    assert!(svg.contains("digits &amp; &lt;test&gt;"));
    // Nothing with a positive time: an error, not a panic or an empty picture.
    let zero = curve("mu", &[(10, 0.0, 0.5)]);
    assert!(plot::svg(&[zero], &[], "x").is_err());
}

#[test]
fn script_lines_are_parsed_and_bad_ones_rejected() {
    let (c, info) = parse_points(
        "info\tR\t4.2.2\npoint\trcppml\t10\t10\t0.5\t0.25\npoint\trcppml\t30\t28\t1.5\t0.2\n",
    )
    .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].1[1].n_iter, 28);
    assert_eq!(info[0].1, "4.2.2");
    for bad in [
        "point\trcppml\t10\t10\t0.5",
        "point\trcppml\tten\t10\t0.5\t0.2",
        "point\trcppml\t10\t10\tNaN\t0.2",
        "point\trcppml\t10\t10\t0.5\tinf",
        "info\tonly-key",
    ] {
        let e = parse_points(bad).unwrap_err();
        assert!(e.contains(bad.split('\t').next().unwrap()), "{e}");
    }
}

fn small() -> Matrix {
    // A positive 30×12 matrix of rank about 3 plus a little structure.
    let (m, n) = (30, 12);
    let data = (0..m * n)
        .map(|p| {
            let (i, j) = ((p / n) as f64, (p % n) as f64);
            1.0 + (i * 0.37 + j * 0.11).sin().abs() + ((i + 2.0 * j) % 5.0) * 0.2
        })
        .collect();
    Matrix::new(m, n, data)
}

fn config(solvers: &[&str]) -> Config {
    Config {
        k: 3,
        iters: vec![5, 20, 60],
        repeats: 2,
        threads: 2,
        solvers: solvers.iter().map(|s| s.to_string()).collect(),
        python: "/nonexistent/python3".into(),
        rscript: "/nonexistent/Rscript".into(),
        seed: 0,
        target_iters: vec![20],
        targets: vec![],
    }
}

#[test]
fn this_librarys_curve_decreases_and_its_errors_are_the_fits_losses() {
    let v = small();
    let mu = library::find("mu").unwrap();
    let mut seen = 0;
    let c = library::run(mu, v.rows, v.cols, &v.data, 3, &[5, 20, 60], 2, 2, |_| {
        seen += 1
    })
    .unwrap();
    assert_eq!(seen, 6);
    assert_eq!(c.samples.len(), 6);
    let cps = c.checkpoints();
    assert_eq!(cps.iter().map(|c| c.iters).collect::<Vec<_>>(), [5, 20, 60]);
    for w in cps.windows(2) {
        // MU never increases the loss: errors decrease with the budget (same start).
        assert!(w[1].rel_err <= w[0].rel_err, "{cps:?}");
    }
    for cp in &cps {
        assert_eq!(cp.n_iter, cp.iters);
        assert!(cp.seconds > 0.0);
    }
    // The error of each budget is that of a plain fit with the same settings:
    // √(2F)/‖V‖ from the library's own loss, up to the rounding of two different
    // evaluations of a sum of 360 squares (a relative 1e-9 is far above it).
    use nmf_core::{MatrixBackend, Nmf, Solver};
    let b = nmf_faer::Faer::with_threads(1);
    let vm = b.from_row_major(v.rows, v.cols, &v.data).unwrap();
    let model = Nmf::params(3)
        .solver(Solver::Mu)
        .max_iter(20)
        .tol(0.0)
        .fit(&b, &vm)
        .unwrap();
    let vnorm = v.data.iter().map(|x| x * x).sum::<f64>().sqrt();
    let want = (2.0 * model.final_loss()).sqrt() / vnorm;
    let got = c.at(20).unwrap().rel_err;
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
}

#[test]
fn missing_peers_are_skipped_with_a_note_not_an_error() {
    let v = small();
    let r = measure::run(
        &v,
        &config(&["mu", "sklearn-cd", "sklearn-mu", "rcppml"]),
        |_| {},
    )
    .unwrap();
    assert_eq!(r.curves.len(), 1);
    assert_eq!(r.curves[0].solver, "mu");
    let notes = r.notes.join("\n");
    assert!(
        notes.contains("scikit-learn (cd, mu) skipped: cannot run /nonexistent/python3"),
        "{notes}"
    );
    assert!(
        notes.contains("RcppML skipped: cannot run /nonexistent/Rscript"),
        "{notes}"
    );
    // No reference, so no target from it; said so.
    assert!(r.targets.is_empty());
    assert!(
        notes.contains("no target errors from sklearn-cd"),
        "{notes}"
    );
}

#[cfg(unix)]
#[test]
fn a_peer_whose_script_fails_or_talks_nonsense_is_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("nmf-bench-quality-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Passes the availability check (`-c ...`), then prints an unreadable point.
    let nonsense = dir.join("python-nonsense");
    std::fs::write(
        &nonsense,
        "#!/bin/sh\nif [ \"$1\" = \"-c\" ]; then echo 1.0; exit 0; fi\nprintf 'point\\tsklearn-cd\\tx\\n'\n",
    )
    .unwrap();
    // Passes the check, then fails.
    let failing = dir.join("python-failing");
    std::fs::write(
        &failing,
        "#!/bin/sh\nif [ \"$1\" = \"-c\" ]; then echo 1.0; exit 0; fi\necho 'ImportError: no' >&2\nexit 3\n",
    )
    .unwrap();
    for f in [&nonsense, &failing] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let v = small();
    for (python, says) in [
        (&nonsense, "unreadable line"),
        (&failing, "ImportError: no"),
    ] {
        let mut cfg = config(&["sklearn-cd", "mu"]);
        cfg.python = python.display().to_string();
        let r = measure::run(&v, &cfg, |_| {}).unwrap();
        assert_eq!(r.curves.len(), 1, "{:?}", r.notes);
        let notes = r.notes.join("\n");
        assert!(
            notes.contains("scikit-learn (cd) skipped") && notes.contains(says),
            "{notes}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn installed_peers_give_curves_and_missing_ones_a_note() {
    // With the real interpreters: curves where the peers are installed (CI may not have
    // them), a skip note where not. Either way the run succeeds.
    let v = small();
    let mut cfg = config(&["sklearn-cd", "rcppml"]);
    cfg.python = nmf_bench::sklearn::python(None);
    cfg.rscript = nmf_bench::rcppml::rscript(None);
    cfg.repeats = 1;
    let r = measure::run(&v, &cfg, |_| {}).unwrap();
    let notes = r.notes.join("\n");
    let sk = nmf_bench::sklearn::available(&cfg.python).is_ok();
    let rc = nmf_bench::rcppml::available(&cfg.rscript).is_ok();
    for (solver, installed, skipped) in [
        ("sklearn-cd", sk, "scikit-learn (cd) skipped"),
        ("rcppml", rc, "RcppML skipped"),
    ] {
        let c = r.curves.iter().find(|c| c.solver == solver);
        if installed {
            let c = c.unwrap_or_else(|| panic!("{solver}: no curve; {notes}"));
            let cps = c.checkpoints();
            assert_eq!(cps.iter().map(|c| c.iters).collect::<Vec<_>>(), [5, 20, 60]);
            // Both are fits of a rank-3 model to a positive matrix: errors in (0, 1).
            assert!(
                cps.iter().all(|c| c.rel_err > 0.0 && c.rel_err < 1.0),
                "{cps:?}"
            );
        } else {
            assert!(c.is_none() && notes.contains(skipped), "{notes}");
        }
    }
    assert_eq!(r.targets.len(), usize::from(sk));
}

#[test]
fn settings_are_checked_with_the_option_named() {
    let v = small();
    let mut cfg = config(&["mu", "hals2"]);
    let e = measure::run(&v, &cfg, |_| {}).unwrap_err();
    assert!(
        e.contains("--solvers: unknown solver 'hals2'") && e.contains("known: hals, mu"),
        "{e}"
    );
    cfg.solvers = vec!["mu".into(), "mu".into()];
    assert!(cfg.check().unwrap_err().contains("named twice"));
    for (f, opt) in [
        (
            &(|c: &mut Config| c.k = 0) as &dyn Fn(&mut Config),
            "--rank",
        ),
        (&|c: &mut Config| c.iters = vec![10, 0], "--iters"),
        (&|c: &mut Config| c.iters.clear(), "--iters"),
        (&|c: &mut Config| c.repeats = 0, "--repeats"),
        (&|c: &mut Config| c.threads = 0, "--threads"),
        (&|c: &mut Config| c.targets = vec![f64::NAN], "--targets"),
        (&|c: &mut Config| c.target_iters = vec![0], "--target-iters"),
    ] {
        let mut c = config(&["mu"]);
        f(&mut c);
        let e = c.check().unwrap_err();
        assert!(e.contains(opt), "{opt}: {e}");
    }
    // The reference's target budgets join the budgets only when it runs.
    let mut c = config(&["mu", "sklearn-cd"]);
    c.target_iters = vec![20, 100];
    assert_eq!(c.budgets(), [5, 20, 60, 100]);
    c.solvers = vec!["mu".into()];
    assert_eq!(c.budgets(), [5, 20, 60]);
}

#[derive(Parser)]
struct Wrap {
    #[command(flatten)]
    q: nmf_bench::quality::cli::QualityArgs,
}

#[test]
fn the_command_line_defaults_name_every_solver_and_two_threads() {
    let w = Wrap::try_parse_from(["x"]).unwrap();
    let c = w.q.config();
    assert_eq!(
        c.solvers,
        ["hals", "mu", "sklearn-cd", "sklearn-mu", "rcppml"]
    );
    assert_eq!((c.k, c.threads, c.repeats), (20, 2, 3));
    assert_eq!(c.iters, [10, 30, 100, 300]);
    assert_eq!(c.target_iters, [30, 100]);
    assert!(c.check().is_ok());
    assert_eq!(w.q.input, input::DIGITS);
    let w = Wrap::try_parse_from([
        "x",
        "--solvers",
        "mu,sklearn-cd",
        "-k",
        "50",
        "--iters",
        "10,1000",
    ])
    .unwrap();
    let c = w.q.config();
    assert_eq!(
        (c.solvers.len(), c.k, c.iters.clone()),
        (2, 50, vec![10, 1000])
    );
}

#[test]
fn inputs_the_digits_and_files() {
    let (v, what) = input::load(input::DIGITS, None, false).unwrap();
    assert_eq!((v.rows, v.cols), (1797, 64));
    assert!(what.contains("digits"));
    let (t, _) = input::load(input::DIGITS, Some(100), true).unwrap();
    assert_eq!((t.rows, t.cols), (64, 100));
    assert_eq!(t.get(5, 7), v.get(7, 5));
    assert!(
        input::load(input::DIGITS, Some(0), false)
            .unwrap_err()
            .contains("--rows")
    );
    // A file, through the readers of the nmf command.
    let dir = std::env::temp_dir().join(format!("nmf-bench-quality-in-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("v.csv");
    std::fs::write(&p, "1,2\n3,4\n5,6\n").unwrap();
    let (f, what) = input::load(p.to_str().unwrap(), None, false).unwrap();
    assert_eq!(
        (f.rows, f.cols, f.data.clone()),
        (3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    assert_eq!(what, "v.csv");
    std::fs::write(&p, "1,2\n3,-4\n").unwrap();
    let e = input::load(p.to_str().unwrap(), None, false).unwrap_err();
    assert!(e.contains("v.csv"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn markdown_report_has_both_tables_and_the_notes() {
    let cd = curve("sklearn-cd", &[(10, 0.5, 0.54), (30, 1.0, 0.52)]);
    let mu = curve("mu", &[(10, 0.1, 0.53), (30, 0.2, 0.515)]);
    let report = measure::Report {
        curves: vec![mu, cd],
        targets: vec![Target {
            label: "cd, 30 iter.".into(),
            rel_err: 0.52,
        }],
        notes: vec!["RcppML skipped: cannot run Rscript".into()],
    };
    let md = nmf_bench::quality::cli::markdown("digits", 1797, 64, &config(&["mu"]), &report);
    assert!(md.starts_with("V: digits, 1797×64; rank 3, Frobenius loss, f64, 2 thread(s)"));
    assert!(md.contains("| solver | 10 iter. | 30 iter. |"));
    assert!(md.contains("÷ sklearn-cd"));
    assert!(md.ends_with("- RcppML skipped: cannot run Rscript\n"));
}

/// `small()` with two entries of every three set to zero, as dense and as CSR.
fn small_sparse() -> (Matrix, nmf_core::sparse::Csr<f64>) {
    let mut d = small();
    let (mut rows, mut cols, mut vals) = (vec![], vec![], vec![]);
    for i in 0..d.rows {
        for j in 0..d.cols {
            if (i + 2 * j) % 3 == 0 {
                rows.push(i);
                cols.push(j);
                vals.push(d.data[i * d.cols + j]);
            } else {
                d.data[i * d.cols + j] = 0.0;
            }
        }
    }
    let c = nmf_core::sparse::Csr::from_triplets(
        d.rows,
        d.cols,
        &rows,
        &cols,
        &vals,
        nmf_core::sparse::Duplicates::Reject,
    )
    .unwrap();
    (d, c)
}

#[test]
fn the_sparse_error_is_the_dense_one() {
    let (d, c) = small_sparse();
    let k = 3;
    let w: Vec<f64> = (0..d.rows * k)
        .map(|p| 0.1 + (p % 7) as f64 * 0.3)
        .collect();
    let h: Vec<f64> = (0..k * d.cols)
        .map(|p| 0.2 + (p % 5) as f64 * 0.25)
        .collect();
    let dense = nmf_bench::quality::rel_error(d.rows, d.cols, k, &d.data, &w, &h);
    let sparse = nmf_bench::quality::sparse_rel_error(c.view(), k, &w, &h);
    // Both sum O(mn + (m+n)k²) ≈ 600 products of non-negative numbers (each within ~600u
    // of exact) but in different orders and groupings; the squared error of order 1 is then
    // within ~10³·u·(1 + ‖WH‖²/‖V‖²) of each other, ‖WH‖²/‖V‖² < 10⁴ here: 1e-8 is far above.
    assert!(dense > 1.0, "{dense}");
    assert!(
        (sparse - dense).abs() <= 1e-8 * dense,
        "{sparse} vs {dense}"
    );
}

#[test]
fn a_sparse_input_stays_sparse_and_its_fits_match_the_dense_ones() {
    use nmf_bench::quality::input::{self, Data};
    let (d, c) = small_sparse();
    // A Matrix Market coordinate file is read sparse, and --rows/--transpose act on it as
    // they do on the dense form.
    let dir = std::env::temp_dir().join(format!("nmf-bench-quality-sp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("v.mtx");
    let mut text = format!(
        "%%MatrixMarket matrix coordinate real general\n{} {} {}\n",
        d.rows,
        d.cols,
        c.nnz()
    );
    for i in 0..d.rows {
        let (js, xs) = c.view().row(i);
        for (j, x) in js.iter().zip(xs) {
            text.push_str(&format!("{} {} {x:?}\n", i + 1, j + 1));
        }
    }
    std::fs::write(&p, text).unwrap();
    let path = p.to_str().unwrap();
    let (v, what) = input::load_data(path, Some(20), true, false).unwrap();
    assert!(what.contains("kept sparse"), "{what}");
    let (dv, _) = input::load_data(path, Some(20), true, true).unwrap();
    let (Data::Sparse(sv), Data::Dense(dv)) = (&v, &dv) else {
        panic!("{v:?}")
    };
    assert_eq!(sv.shape(), (12, 20));
    for i in 0..12 {
        let (js, xs) = sv.view().row(i);
        for j in 0..20 {
            let at = js.iter().position(|&c| c == j).map_or(0.0, |p| xs[p]);
            assert_eq!(at, dv.get(i, j), "({i}, {j})");
            assert_eq!(at, d.get(j, i), "({i}, {j})");
        }
    }
    // This library's fits of the sparse V: MU from the same (NNDSVDA) start as the dense fit
    // up to the rounding of differently ordered sums, so the errors agree far below 1e-6
    // (the budgets' errors differ from one another by more than 1e-3).
    let mu = library::find("mu").unwrap();
    let budgets = [5, 20, 60];
    let sparse =
        library::run_data(mu, &Data::Sparse(c.clone()), 3, &budgets, 1, 2, |_| {}).unwrap();
    let dense = library::run(mu, d.rows, d.cols, &d.data, 3, &budgets, 1, 2, |_| {}).unwrap();
    for (s, t) in sparse.checkpoints().iter().zip(dense.checkpoints()) {
        assert_eq!((s.iters, s.n_iter), (t.iters, t.n_iter));
        assert!(
            (s.rel_err - t.rel_err).abs() <= 1e-6 * t.rel_err,
            "{s:?} vs {t:?}"
        );
    }
    // The peers, where installed, fit the same matrix kept sparse: the same errors as on its
    // dense form (the same deterministic algorithms; only the order of sums differs).
    let mut cfg = config(&["sklearn-cd", "rcppml"]);
    cfg.python = nmf_bench::sklearn::python(None);
    cfg.rscript = nmf_bench::rcppml::rscript(None);
    cfg.repeats = 1;
    let rs = measure::run_data(&Data::Sparse(c), &cfg, |_| {}).unwrap();
    let rd = measure::run(&d, &cfg, |_| {}).unwrap();
    assert_eq!(rs.curves.len(), rd.curves.len(), "{:?}", rs.notes);
    for (s, t) in rs.curves.iter().zip(&rd.curves) {
        assert_eq!(s.solver, t.solver);
        for (a, b) in s.checkpoints().iter().zip(t.checkpoints()) {
            assert!(
                (a.rel_err - b.rel_err).abs() <= 1e-6 * b.rel_err,
                "{}: {a:?} vs {b:?}",
                s.solver
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
