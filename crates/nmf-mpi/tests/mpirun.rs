//! `mpirun -np P nmf-mpi fit` on this machine (loopback), P = 1, 2, 3, on a small dense
//! (`.npy`) and sparse (`.mtx`, `.npz`) V: MU in f64 and f32 and over observed entries
//! (`--missing unobserved`), and HALS: W and H equal the single-process fit from the same
//! start (computed here with nmf-core) to a derived bound on the rounding of the different
//! order of the sums; a bad entry or an unreadable file on one rank ends every rank with the
//! message within seconds. Needs `mpirun` (Open MPI) on the PATH.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use nmf_core::masked::Observed;
use nmf_core::sparse::{Csr, Duplicates};
use nmf_core::testing::{hals_h_bound, hals_sweep_bound, mu_bound};
use nmf_core::{DataOps, HalsOptions, HalsSolver, Loss, MatrixBackend, Nmf, Scalar, Solver};
use nmf_faer::Faer;

mod common;

use common::{mpirun, problem, write_mtx};

/// A `.npy` member: `header` padded as numpy pads it, then `data`.
fn npy_raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(data);
    b
}

/// A 1-D `<i4` member (SciPy's index type for small matrices).
fn ints_npy(v: &[usize]) -> Vec<u8> {
    let data: Vec<u8> = v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect();
    npy_raw(
        &format!(
            "{{'descr': '<i4', 'fortran_order': False, 'shape': ({},), }}",
            v.len()
        ),
        &data,
    )
}

/// A 1-D `<f8` member.
fn floats_npy(v: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    npy_raw(
        &format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
            v.len()
        ),
        &data,
    )
}

/// V (m×n, row-major) as `scipy.sparse.save_npz` writes it in `format` (csr, csc or coo):
/// `format.npy` a 0-d `|S3`, `shape.npy`, and the format's arrays; the members deflated (as
/// save_npz's default) unless `stored`.
fn write_npz(path: &Path, format: &str, m: usize, n: usize, v: &[f64], stored: bool) {
    let mut members = vec![
        (
            "format.npy",
            npy_raw(
                "{'descr': '|S3', 'fortran_order': False, 'shape': (), }",
                format.as_bytes(),
            ),
        ),
        ("shape.npy", ints_npy(&[m, n])),
    ];
    // The entries in the format's order: by rows (csr, coo) or by columns (csc).
    let by_cols = format == "csc";
    let (major, minor) = if by_cols { (n, m) } else { (m, n) };
    let (mut ptr, mut idx, mut row, mut data) = (vec![0], vec![], vec![], vec![]);
    for a in 0..major {
        for b in 0..minor {
            let (i, j) = if by_cols { (b, a) } else { (a, b) };
            let x = v[i * n + j];
            if x != 0.0 {
                idx.push(if by_cols { i } else { j });
                row.push(i);
                data.push(x);
            }
        }
        ptr.push(data.len());
    }
    if format == "coo" {
        // Coordinates in reverse order: a rank's entries are not together.
        idx.reverse();
        row.reverse();
        data.reverse();
        members.push(("row.npy", ints_npy(&row)));
        members.push(("col.npy", ints_npy(&idx)));
    } else {
        members.push(("indptr.npy", ints_npy(&ptr)));
        members.push(("indices.npy", ints_npy(&idx)));
    }
    members.push(("data.npy", floats_npy(&data)));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(if stored {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    });
    for (name, bytes) in members {
        zip.start_file(name, opts).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    std::fs::write(path, zip.finish().unwrap().into_inner()).unwrap();
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

/// The single-process fit from nmf-mpi's start (seed 5), with nmf-mpi's settings, in `T`
/// (MU, or HALS with one sweep per half-step), on dense V or on its non-zeros as the observed
/// entries (`observed`: the start's scale from their mean, as nmf-mpi's).
fn single<T: Scalar>(
    v: &[f64],
    (m, n, k): (usize, usize, usize),
    loss: Loss,
    solver: Solver,
    iters: usize,
    observed: bool,
) -> (Vec<f64>, Vec<f64>)
where
    Faer: nmf_core::DenseBackend<T>,
{
    let b = Faer::sequential();
    let t = |a: &[f64]| a.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let f = |a: &<Faer as MatrixBackend<T>>::Mat| {
        b.to_row_major(a).into_iter().map(|x| x.as_f64()).collect()
    };
    let nz = v.iter().filter(|&&x| x != 0.0).count();
    let mean = v.iter().sum::<f64>() / if observed { nz } else { m * n } as f64;
    let (w0, h0) = nmf_mpi::start_rows(0..m, n, k, mean, 5);
    let (w0, h0) = (
        b.from_row_major(m, k, &t(&w0)).unwrap(),
        b.from_row_major(k, n, &t(&h0)).unwrap(),
    );
    let p = Nmf::params(k)
        .loss(loss)
        .solver(solver)
        .hals_acceleration(0.0, 0.1)
        .max_iter(iters)
        .tol(0.0)
        .check()
        .unwrap();
    if observed {
        let (mut r, mut c, mut x) = (vec![], vec![], vec![]);
        for (p, &y) in v.iter().enumerate() {
            if y != 0.0 {
                r.push(p / n);
                c.push(p % n);
                x.push(T::from_f64(y));
            }
        }
        let csr = Csr::from_triplets(m, n, &r, &c, &x, Duplicates::Sum).unwrap();
        let vo = Observed::from_csr(csr).unwrap();
        let model = p
            .fitting::<T, Faer, Observed<T>>(&b, &vo)
            .start(&w0, &h0)
            .run()
            .unwrap();
        (f(model.w()), f(model.h()))
    } else {
        let vm = b.from_row_major(m, n, &t(v)).unwrap();
        let model = p
            .fitting::<T, Faer, <Faer as MatrixBackend<T>>::Mat>(&b, &vm)
            .start(&w0, &h0)
            .run()
            .unwrap();
        (f(model.w()), f(model.h()))
    }
}

/// Runs `nmf-mpi fit input -k k --max-iter iters --tol 0 --seed 5 -o out extra...` on `p`
/// processes and reads W and H (their `.npy` element type too).
fn fit_mpi(
    p: usize,
    input: &Path,
    out: &Path,
    (k, iters): (usize, usize),
    extra: &[&str],
) -> (Vec<f64>, Vec<f64>, nmf_mpi::Dtype) {
    let (k, it) = (k.to_string(), iters.to_string());
    let mut args = vec![
        "fit",
        input.to_str().unwrap(),
        "-k",
        &k,
        "--max-iter",
        &it,
        "--tol",
        "0",
        "--seed",
        "5",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = mpirun(p, &args, Duration::from_secs(60));
    assert!(
        o.status.success(),
        "P = {p} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut f = std::fs::File::open(out.join("W.npy")).unwrap();
    let dtype = nmf_mpi::read::npy_header(&mut f, &out.join("W.npy"))
        .unwrap()
        .dtype;
    let (_, _, w) = nmf_mpi::read_npy(&out.join("W.npy")).unwrap();
    let (_, _, h) = nmf_mpi::read_npy(&out.join("H.npy")).unwrap();
    (w, h, dtype)
}

/// P = 1, 2, 3 against the single-process fit, MU (Frobenius, KL), dense (`.npy`) and sparse
/// (`.mtx`) V, in f64 and in f32 (`--dtype f32`, W.npy and H.npy in `<f4`). The bound is
/// nmf-core's first-order bound for MU (`nmf_core::testing::mu_bound`: sums of non-negative
/// terms added in another order, each within γ of the exact sum, propagated through the
/// multiplicative steps) in the unit roundoff of the type, with one more iteration for the
/// start, whose scale √mean(V) comes from a sum added in another order too (in f64, so below
/// that iteration's γ in either type). Fewer iterations in f32, where the bound grows from a
/// larger γ.
#[test]
fn p_processes_equal_one() {
    let (m, n, k) = (40, 30, 3);
    let dir = tempfile::tempdir().unwrap();
    let v = problem(m, n);
    let npy = dir.path().join("v.npy");
    nmf_mpi::write_npy(&npy, m, n, &v).unwrap();
    let mtx = dir.path().join("v.mtx");
    write_mtx(&mtx, m, n, &v);
    for f32 in [false, true] {
        let (u, iters, dtype) = if f32 {
            (f64::from(f32::EPSILON) / 2.0, 2, "f32")
        } else {
            (f64::EPSILON / 2.0, 5, "f64")
        };
        for (loss, loss_arg) in [
            (Loss::Frobenius, "frobenius"),
            (Loss::KullbackLeibler, "kl"),
        ] {
            let (w1, h1) = if f32 {
                single::<f32>(&v, (m, n, k), loss, Solver::Mu, iters, false)
            } else {
                single::<f64>(&v, (m, n, k), loss, Solver::Mu, iters, false)
            };
            let bound = mu_bound(iters + 1, m, n, k, u);
            assert!(bound < 0.1, "a bound of {bound:e} would not test anything");
            for input in [&npy, &mtx] {
                for p in 1..=3 {
                    let out = dir.path().join(format!("out-{loss_arg}-{dtype}-{p}"));
                    let extra = ["--loss", loss_arg, "--solver", "mu", "--dtype", dtype];
                    let (w, h, written) = fit_mpi(p, input, &out, (k, iters), &extra);
                    let what = format!("{loss} {dtype} P = {p} {}", input.display());
                    let want = if f32 {
                        nmf_mpi::Dtype::F32
                    } else {
                        nmf_mpi::Dtype::F64
                    };
                    assert_eq!(written, want, "{what}: W.npy's element type");
                    let (ew, eh) = (max_rel(&w, &w1), max_rel(&h, &h1));
                    assert!(
                        ew <= bound && eh <= bound,
                        "{what}: W within {ew:e}, H within {eh:e} of one process, bound {bound:e}"
                    );
                }
            }
        }
    }
}

/// `--missing unobserved` on a `.mtx`: the stored entries are the observed ones. P = 1, 2, 3
/// against the single-process MU fit of the same observed entries (`nmf_core::masked::
/// Observed`) within `mu_bound` (one more iteration for the start, as above: the weighted
/// statistics Wᵀ(M∘V) and Wᵀ(M∘WH), Wᵀ(M∘V/WH) and WᵀM have the structure the bound
/// assumes). `--solver anls` is refused naming mu, and HALS is refused for masked V.
#[test]
fn missing_unobserved_equals_one() {
    let (m, n, k, iters) = (40, 30, 3, 4);
    let dir = tempfile::tempdir().unwrap();
    let v = problem(m, n);
    let mtx = dir.path().join("v.mtx");
    write_mtx(&mtx, m, n, &v);
    let u = f64::EPSILON / 2.0;
    let bound = mu_bound(iters + 1, m, n, k, u);
    for (loss, loss_arg) in [
        (Loss::Frobenius, "frobenius"),
        (Loss::KullbackLeibler, "kl"),
    ] {
        let (w1, h1) = single::<f64>(&v, (m, n, k), loss, Solver::Mu, iters, true);
        // The fit over the observed entries is not the fit with zeros.
        let (w0, _) = single::<f64>(&v, (m, n, k), loss, Solver::Mu, iters, false);
        assert!(max_rel(&w0, &w1) > 1e-3, "{loss}: masking changed nothing");
        for p in 1..=3 {
            let out = dir.path().join(format!("out-{loss_arg}-{p}"));
            let extra = ["--loss", loss_arg, "--missing", "unobserved"];
            let (w, h, _) = fit_mpi(p, &mtx, &out, (k, iters), &extra);
            let (ew, eh) = (max_rel(&w, &w1), max_rel(&h, &h1));
            assert!(
                ew <= bound && eh <= bound,
                "{loss} P = {p}: W within {ew:e}, H within {eh:e} of one process, bound {bound:e}"
            );
        }
    }
    for (solver, needle) in [("anls", "--solver mu"), ("hals", "hals")] {
        let out = dir.path().join(format!("out-{solver}"));
        let args = [
            "fit",
            mtx.to_str().unwrap(),
            "-k",
            "3",
            "--missing",
            "unobserved",
            "--solver",
            solver,
            "-o",
            out.to_str().unwrap(),
        ];
        let o = mpirun(2, &args, Duration::from_secs(30));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{solver}: {err}");
        assert!(
            err.to_lowercase().contains(needle),
            "{solver}: {err:?} lacks {needle:?}"
        );
        assert!(!out.exists());
    }
}

/// HALS (one sweep per half-step) through `mpirun -np 1|2|3`, one iteration (an H half-step,
/// then a W half-step) against the same iteration on one process, within the derived bound
/// of each half-step (`nmf_core::testing::hals_sweep_bound`). V has integer entries, so its
/// mean, and so the seeded start, is the same bits for any number of processes. The H
/// half-step's statistics WᵀV and WᵀW differ by δ = 2γ_{m+2} relative (`hals_h_bound`); the
/// W half-step's VHᵀ and HHᵀ are computed by each run from its own H, which differs by e_H:
/// |ΔVHᵀ|_ia ≤ Σ_j v_ij e_aj + γ_n(2·(VHᵀ)_ia + Σ_j v_ij e_aj) and
/// |ΔHHᵀ|_ab ≤ Σ_j (h_aj e_bj + e_aj h_bj + e_aj e_bj) + γ_n(2·(HHᵀ)_ab + that), both from the
/// same W0.
#[test]
fn hals_iteration_within_bound() {
    let (m, n, k) = (40, 30, 3);
    let dir = tempfile::tempdir().unwrap();
    let v: Vec<f64> = problem(m, n).iter().map(|x| (x * 17.0).round()).collect();
    let npy = dir.path().join("v.npy");
    nmf_mpi::write_npy(&npy, m, n, &v).unwrap();
    let mtx = dir.path().join("v.mtx");
    write_mtx(&mtx, m, n, &v);
    let u = f64::EPSILON / 2.0;
    let g = |t: usize| t as f64 * u / (1.0 - t as f64 * u);
    // One iteration on one process, half-step by half-step, and the statistics of each.
    let b = Faer::sequential();
    let vm = b.from_row_major(m, n, &v).unwrap();
    let mean = v.iter().sum::<f64>() / (m * n) as f64;
    let (w0, h0) = nmf_mpi::start_rows(0..m, n, k, mean, 5);
    let (w0m, h0m) = (
        b.from_row_major(m, k, &w0).unwrap(),
        b.from_row_major(k, n, &h0).unwrap(),
    );
    let opts = HalsOptions {
        alpha: 0.0,
        ..HalsOptions::default()
    };
    let eps = 1e-9;
    let mut work = <Faer as DataOps<f64, faer::Mat<f64>>>::data_work(&b, &vm, k, Loss::Frobenius);
    let (mut num, mut gram) = (b.zeros(k, n), b.zeros(k, k));
    b.frobenius_stats_h(&vm, &mut work, &w0m, &mut num, &mut gram);
    let (num_h, gram_h) = (b.to_row_major(&num), b.to_row_major(&gram));
    let mut s = HalsSolver::new(&b, &vm, w0m, h0m, eps, opts).unwrap();
    s.update_h();
    let h1 = b.to_row_major(s.h());
    let (mut num, mut gram) = (b.zeros(m, k), b.zeros(k, k));
    b.frobenius_stats_w(&vm, &mut work, s.h(), &mut num, &mut gram);
    let (num_w, gram_w) = (b.to_row_major(&num), b.to_row_major(&gram));
    s.update_w();
    let w1 = b.to_row_major(s.w());
    // The bounds.
    let delta = 2.0 * g(m + 2) / (1.0 - g(m + 2));
    let eh = hals_h_bound(&num_h, &gram_h, &h0, &h1, (k, n), delta, u);
    let dnum: Vec<f64> = (0..m * k)
        .map(|t| {
            let (i, a) = (t / k, t % k);
            let ve: f64 = (0..n).map(|j| v[i * n + j] * eh[a * n + j]).sum();
            1.01 * (ve + g(n) * (2.0 * num_w[t] + ve))
        })
        .collect();
    let dgram: Vec<f64> = (0..k * k)
        .map(|t| {
            let (a, c) = (t / k, t % k);
            let he: f64 = (0..n)
                .map(|j| {
                    let (ha, hc, ea, ec) =
                        (h1[a * n + j], h1[c * n + j], eh[a * n + j], eh[c * n + j]);
                    ha * ec + ea * hc + ea * ec
                })
                .sum();
            1.01 * (he + g(n) * (2.0 * gram_w[t] + he))
        })
        .collect();
    let ew = hals_sweep_bound(
        (m, k),
        |l, a| l * k + a,
        &num_w,
        &dnum,
        &gram_w,
        &dgram,
        &w0,
        &w1,
        u,
    );
    let within = |got: &[f64], want: &[f64], bound: &[f64]| {
        (0..got.len())
            .map(|t| ((got[t] - want[t]).abs(), bound[t]))
            .find(|(d, b)| d > b)
    };
    for input in [&npy, &mtx] {
        for p in 1..=3 {
            let out = dir.path().join(format!("out-hals-{p}"));
            let extra = ["--solver", "hals", "--eps", "1e-9"];
            let (w, h, _) = fit_mpi(p, input, &out, (k, 1), &extra);
            let what = format!("P = {p} {}", input.display());
            assert_eq!(within(&h, &h1, &eh), None, "{what}: H beyond its bound");
            assert_eq!(within(&w, &w1, &ew), None, "{what}: W beyond its bound");
        }
    }
}

/// The same V as `.mtx` and as `.npz` in each of SciPy's csr (stored), csc and coo
/// (deflated) forms gives the same W and H through `mpirun -np 2`, to the bit: each rank's
/// block is the same sparse matrix whichever file it came from, and the fit is the same
/// computation on it.
#[test]
fn npz_equals_mtx() {
    let (m, n, k) = (17, 11, 3);
    let dir = tempfile::tempdir().unwrap();
    let v = problem(m, n);
    let mtx = dir.path().join("v.mtx");
    write_mtx(&mtx, m, n, &v);
    let fit = |input: &Path, out: &Path| {
        let args = [
            "fit",
            input.to_str().unwrap(),
            "-k",
            &k.to_string(),
            "--loss",
            "kl",
            "--max-iter",
            "7",
            "--tol",
            "0",
            "--seed",
            "3",
            "-o",
            out.to_str().unwrap(),
        ];
        let o = mpirun(2, &args, Duration::from_secs(60));
        assert!(
            o.status.success(),
            "{}: {}",
            input.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        (
            nmf_mpi::read_npy(&out.join("W.npy")).unwrap(),
            nmf_mpi::read_npy(&out.join("H.npy")).unwrap(),
        )
    };
    let want = fit(&mtx, &dir.path().join("out-mtx"));
    assert_eq!((want.0.0, want.0.1, want.1.0, want.1.1), (m, k, k, n));
    for (format, stored) in [("csr", true), ("csc", false), ("coo", false)] {
        let npz = dir.path().join(format!("v-{format}.npz"));
        write_npz(&npz, format, m, n, &v, stored);
        let got = fit(&npz, &dir.path().join(format!("out-{format}")));
        assert!(got == want, "{format}: W and H differ from the .mtx fit");
    }
}

/// A negative entry in the rows of rank 1 (of 3), in a `.mtx` (found by rank 1's reader) and
/// a `.npy` (found by the fit's collective check), and a missing file: every rank exits with
/// code 1 within seconds, and the message names the place.
#[test]
fn an_error_on_one_rank_stops_all() {
    let (m, n) = (9, 5);
    let dir = tempfile::tempdir().unwrap();
    let mut v = problem(m, n);
    // Rows 3..6 belong to rank 1 of 3.
    v[4 * n + 2] = -0.5;
    let npy = dir.path().join("bad.npy");
    nmf_mpi::write_npy(&npy, m, n, &v).unwrap();
    let mtx = dir.path().join("bad.mtx");
    write_mtx(&mtx, m, n, &v);
    let missing = dir.path().join("missing.npy");
    let mut expect = vec![
        (mtx.clone(), "rank 1: ".to_string()),
        (npy.clone(), "negative entry -0.5 at row 4, column 2".into()),
        (missing.clone(), "missing.npy".into()),
    ];
    // The .npz readers check the values of their rows: rank 1 alone finds it.
    for format in ["csr", "csc", "coo"] {
        let npz = dir.path().join(format!("bad-{format}.npz"));
        write_npz(&npz, format, m, n, &v, false);
        let needle = format!(
            "rank 1: {}: V must be finite and ≥ 0, entry (4, 2) (0-based; data.npy[",
            npz.display()
        );
        expect.push((npz, needle));
    }
    for (input, needle) in &expect {
        let start = Instant::now();
        let out = dir.path().join("out");
        let o = mpirun(
            3,
            &[
                "fit",
                input.to_str().unwrap(),
                "-k",
                "2",
                "-o",
                out.to_str().unwrap(),
            ],
            Duration::from_secs(30),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", input.display());
        assert!(
            err.contains(needle),
            "{}: {err:?} lacks {needle:?}",
            input.display()
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}: took {:?}",
            input.display(),
            start.elapsed()
        );
        assert!(!out.exists(), "no output after an error");
    }
}

/// `--scatter-output` with 3 processes: every rank's `W.rank{p}.npy`, taken in the order
/// `W.parts.json` lists them, concatenates to the gathered `W.npy` of the same fit, to the
/// bit (the same computation, written from each rank instead of gathered), and H.npy is the
/// same; the JSON gives each file's first row and row count.
#[test]
fn scatter_output_concatenates_to_gathered_w() {
    let (m, n, k, p) = (20, 9, 2, 3);
    let dir = tempfile::tempdir().unwrap();
    let v = problem(m, n);
    let npy = dir.path().join("v.npy");
    nmf_mpi::write_npy(&npy, m, n, &v).unwrap();
    let gathered = dir.path().join("gathered");
    let scattered = dir.path().join("scattered");
    // An existing output directory is replaced whole.
    std::fs::create_dir(&scattered).unwrap();
    std::fs::write(scattered.join("stale"), "x").unwrap();
    for (out, extra) in [(&gathered, None), (&scattered, Some("--scatter-output"))] {
        let mut args = vec![
            "fit",
            npy.to_str().unwrap(),
            "-k",
            "2",
            "--max-iter",
            "6",
            "--tol",
            "0",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let o = mpirun(p, &args, Duration::from_secs(60));
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let (_, _, w) = nmf_mpi::read_npy(&gathered.join("W.npy")).unwrap();
    assert!(!scattered.join("W.npy").exists() && !scattered.join("stale").exists());
    let json = std::fs::read_to_string(scattered.join("W.parts.json")).unwrap();
    // 20 rows over 3 ranks: 7, 7, 6.
    let want_json = "{\n  \"rows\": 20,\n  \"cols\": 2,\n  \"parts\": [\n    \
        {\"file\": \"W.rank0.npy\", \"first_row\": 0, \"rows\": 7},\n    \
        {\"file\": \"W.rank1.npy\", \"first_row\": 7, \"rows\": 7},\n    \
        {\"file\": \"W.rank2.npy\", \"first_row\": 14, \"rows\": 6}\n  ]\n}\n";
    assert_eq!(json, want_json);
    let mut cat = Vec::new();
    let mut next_row = 0;
    for (q, rows) in [7, 7, 6].into_iter().enumerate() {
        let (r, c, part) = nmf_mpi::read_npy(&scattered.join(format!("W.rank{q}.npy"))).unwrap();
        assert_eq!((r, c), (rows, k), "rank {q}");
        next_row += r;
        cat.extend(part);
    }
    assert_eq!(next_row, m);
    assert!(
        cat == w,
        "the concatenated parts differ from the gathered W"
    );
    assert_eq!(
        nmf_mpi::read_npy(&scattered.join("H.npy")).unwrap(),
        nmf_mpi::read_npy(&gathered.join("H.npy")).unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary directories left: {leftovers:?}"
    );
}
