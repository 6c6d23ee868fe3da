//! The command line: `nmf fit`, `nmf topics`, `nmf transform` and `nmf demo`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::read::{Delimiter, Format, Header};

/// Default rank of `nmf demo`.
pub const DEMO_RANK: usize = 16;
/// Default iterations of `nmf demo`: enough for the basis images to become strokes.
pub const DEMO_MAX_ITER: usize = 400;
/// Default output directory of `nmf fit`.
pub const FIT_OUT: &str = "nmf-out";
/// Default output directory of `nmf demo`.
pub const DEMO_OUT: &str = "nmf-demo";
/// Default output directory of `nmf transform`.
pub const TRANSFORM_OUT: &str = "nmf-transform";

/// Non-negative matrix factorization V ≈ WH (Lee & Seung's multiplicative updates).
#[derive(Debug, Parser)]
#[command(name = "nmf", version, propagate_version = true)]
#[command(
    after_help = "Run `nmf demo` to see NMF learn the parts of handwritten digits, \
                  or `nmf fit data.csv --rank 5` to factorize your own matrix, then \
                  `nmf transform new.csv --model nmf-out` to express new samples in its basis; \
                  `nmf topics docterm.mtx --vocab terms.txt -k 10` reads a document-term \
                  matrix as topics.\n\n\
                  Exit codes: 0 done; 1 a file or its data (unreadable, malformed, a negative \
                  or non-finite entry, a zero entry with --beta ≤ 0, shapes that do not fit, a \
                  missing or corrupt model); \
                  2 the command line or its parameters (an unknown option or value, --rank 0, \
                  --tol -1, --n-init 2 with a start that is the same every time, an --out \
                  that is not nmf's); 130 Ctrl-C, SIGTERM or SIGHUP."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Parses a size in bytes: `1000`, `64K`, `512M`, `4G`, `1T` (binary multiples; `KiB`,
/// `MiB`… and lower case are accepted too).
///
/// # Errors
/// A message for clap when the text is not such a size or it overflows 64 bits.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "expected a number of bytes, optionally followed by K, M, G or T (e.g. 4G), got '{}'",
                crate::error::excerpt(text)
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|e| format!("expected a number of bytes such as 4G ({e})"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text} is more than 2⁶⁴ bytes"))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Factorize a matrix file V (m×n, entries ≥ 0) as W (m×k) times H (k×n), writing W.npy,
    /// H.npy, the model (model.json, for `nmf transform`) and summary.json into the output
    /// directory.
    Fit(FitArgs),
    /// Fit a document-term matrix V (documents × terms, e.g. word counts; a Matrix Market or
    /// .npz file stays sparse) and read it as topics: print the top terms of each component
    /// and write topics.json (with each document's dominant topic given --doc-labels) beside
    /// the outputs of `nmf fit`. The options are those of `nmf fit`, with --vocab required.
    #[command(mut_arg("vocab", |a| a.required(true)))]
    Topics(FitArgs),
    /// Find H for new data X (m×n′: the same m rows as the training data, one column per new
    /// sample) with the W of a saved model held fixed, writing H.npy and summary.json.
    Transform(TransformArgs),
    /// Factorize the bundled handwritten digits (a 64×1797 pixels-by-images matrix) and draw
    /// the learned basis images, digits beside their reconstructions, and the loss curve.
    Demo(DemoArgs),
    /// Choose the rank by cross-validation: for each rank, fit with a random subset of the
    /// observed entries held out (several replicates), print train and test error per rank
    /// as a Markdown table, write rank.json and rank.svg, and name the rank of lowest mean test
    /// error and the smallest rank within one standard error of it.
    Rank(crate::commands::rank::RankArgs),
    /// Predict entries of V from a saved model: WH at the (row, column) pairs of a CSV file.
    Predict(crate::commands::predict::PredictArgs),
}

/// `nmf fit` and `nmf topics` (which requires --vocab).
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct FitArgs {
    /// The matrix to factorize: .csv/.txt (comma or tab), .tsv, .mtx (Matrix Market), .npy
    /// (NumPy) or .npz (SciPy sparse), optionally gzipped (.csv.gz, …). Matrix Market
    /// coordinate files and .npz files stay sparse (memory and time per iteration in the
    /// number of non-zeros for the Frobenius and KL losses; other β-divergences need WH at
    /// every entry, formed in blocks of rows: time O(m·n·k), memory still O(nnz)).
    pub input: PathBuf,
    /// The rank k: the number of columns of W and of rows of H.
    #[arg(short = 'k', long)]
    pub rank: usize,
    /// The input's format [default: from the file extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Read a sparse input (Matrix Market coordinate, .npz) into a dense matrix (to compare,
    /// or for a β-divergence on a matrix that is not very sparse, where dense products are
    /// faster).
    #[arg(long)]
    pub dense: bool,
    /// For a document-term matrix (documents × terms): a file with one term per line, one
    /// line per column of V (optionally gzipped). Prints the top terms of each component and
    /// writes them to topics.json.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// With --vocab: a file with one label per line, one line per row of V (the documents;
    /// optionally gzipped): topics.json then gives each document's dominant topic.
    #[arg(long, value_name = "FILE", requires = "vocab")]
    pub doc_labels: Option<PathBuf>,
    /// With --vocab: the number of terms shown per topic.
    #[arg(long, value_name = "N", default_value_t = 10, requires = "vocab")]
    pub top_terms: usize,
    /// The field delimiter of CSV input (auto: a tab if the first line has one, else a comma).
    #[arg(long, value_enum, default_value_t)]
    pub delimiter: Delimiter,
    /// Whether CSV input starts with a header line (auto: if no field of the first line is a
    /// number).
    #[arg(long, value_enum, default_value_t)]
    pub header: Header,
    /// The most bytes an input file may hold, after decompression for .gz files (a number of
    /// bytes, or with a suffix K, M, G or T for 2¹⁰, 2²⁰, 2³⁰ or 2⁴⁰ bytes). Files are read
    /// whole into memory: this refuses decompression bombs and endless special files such as
    /// /dev/zero.
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub max_input_bytes: u64,
    /// Missing values and held-out entries.
    #[command(flatten)]
    pub masked: crate::masked_input::MaskArgs,
    /// Fit online (minibatch NMF, as scikit-learn's MiniBatchNMF) over blocks of N rows read
    /// from a .npy file (float32 or float64, C order) by seeking, or from a Matrix Market
    /// coordinate file sorted by row or a SciPy csr .npz (sparse blocks), never holding V whole:
    /// --max-iter counts epochs (passes over the file) and --tol bounds the relative change
    /// of H over one batch. Writes W, H and summary.json (no model file).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// The ordinary fit (--solver mu or hals, every loss, penalties, --max-iter, --tol, the
    /// model file) on V re-read from its file in blocks of ROWS rows (a .npy file, float32
    /// or float64, C order; a Matrix Market coordinate file sorted by row; a SciPy csr .npz)
    /// at every pass (each half-step, each evaluation of the loss), never holding V
    /// whole: memory is one block of V with its work buffers, W and H. Not with --solver cd,
    /// --dense or the masked options (--missing, --weights, --holdout, --nan missing).
    #[arg(long, value_name = "ROWS", conflicts_with = "batch_size")]
    pub out_of_core: Option<usize>,
    /// With --batch-size: the weight of the past statistics per pass over the file
    /// (scikit-learn's forget_factor) [default: 0.7].
    #[arg(long, value_name = "X", requires = "batch_size")]
    pub forget_factor: Option<f64>,
    /// Options shared with `nmf demo`.
    #[command(flatten)]
    pub opts: FitOptions,
}

/// `nmf transform`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct TransformArgs {
    /// The new data X (m×n′, columns are samples, the same m rows as the training data), in
    /// any input format of `nmf fit`. Matrix Market coordinate files and .npz files stay
    /// sparse (memory and time per iteration in the number of non-zeros), for a model of the
    /// Frobenius or KL loss.
    pub input: PathBuf,
    /// The saved model: a directory written by `nmf fit` (its model.json, else model.npz), or
    /// a model.json or .npz file.
    #[arg(short, long, value_name = "DIR_OR_FILE")]
    pub model: PathBuf,
    /// The input's format [default: from the file extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Read a sparse input (Matrix Market coordinate, .npz) into a dense matrix (to compare,
    /// or for a model of a β-divergence on a matrix that is not very sparse).
    #[arg(long)]
    pub dense: bool,
    /// The field delimiter of CSV input (auto: a tab if the first line has one, else a comma).
    #[arg(long, value_enum, default_value_t)]
    pub delimiter: Delimiter,
    /// Whether CSV input starts with a header line (auto: if no field of the first line is a
    /// number).
    #[arg(long, value_enum, default_value_t)]
    pub header: Header,
    /// The most bytes an input file or saved model may hold, after decompression for .gz files (a number of
    /// bytes, or with a suffix K, M, G or T for 2¹⁰, 2²⁰, 2³⁰ or 2⁴⁰ bytes). Files are read
    /// whole into memory: this refuses decompression bombs and endless special files such as
    /// /dev/zero.
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub max_input_bytes: u64,
    /// The linear-algebra backend (any backend loads a model fitted with any other).
    #[arg(long, value_enum, default_value_t = BackendArg::Faer)]
    pub backend: BackendArg,
    /// The scalar type of the computation and of H.npy [default: the model's].
    #[arg(long, value_enum)]
    pub dtype: Option<DtypeArg>,
    /// The most H updates.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_iter: usize,
    /// Stop when the loss decreased by at most this fraction over the last --check-every
    /// updates; 0 runs exactly --max-iter updates.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1e-4,
        allow_hyphen_values = true
    )]
    pub tol: f64,
    /// Evaluate the loss (for the stopping rule) every N updates.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub check_every: usize,
    /// Threads for the faer backend's products (0: all cores) [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The output directory (created if needed).
    #[arg(short, long, value_name = "DIR", default_value = TRANSFORM_OUT)]
    pub out: PathBuf,
    /// Also write H.csv.
    #[arg(long)]
    pub csv: bool,
    /// Replace the outputs of `nmf fit` or `nmf demo` if --out holds them (all of them: W,
    /// H, the model and the summary); without it, such an --out is an error.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print the settings.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `nmf demo`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct DemoArgs {
    /// The rank k: the number of basis images.
    #[arg(short = 'k', long, default_value_t = DEMO_RANK)]
    pub rank: usize,
    /// Options shared with `nmf fit`.
    #[command(flatten)]
    pub opts: FitOptions,
}

/// The loss minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// ½‖V − WH‖² (squared Frobenius norm; β = 2).
    Frobenius,
    /// The generalized Kullback–Leibler divergence D(V‖WH) (β = 1).
    Kl,
    /// The Itakura–Saito divergence (β = 0); V must have no zero entry.
    #[value(name = "itakura-saito", alias = "is")]
    ItakuraSaito,
}

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SolverArg {
    /// HALS for the frobenius loss, the multiplicative updates for the others.
    #[default]
    Auto,
    /// The multiplicative updates (every loss).
    Mu,
    /// Hierarchical ALS, accelerated (scikit-learn's cd; frobenius only).
    Hals,
    /// Coordinate descent with safeguarded Newton steps (Hsieh & Dhillon; kl only).
    Cd,
}

/// The linear-algebra backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// faer (multi-threaded products; see --threads).
    Faer,
    /// nalgebra (one thread).
    Nalgebra,
    /// ndarray (one thread).
    Ndarray,
}

impl BackendArg {
    /// The name used in messages and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            BackendArg::Faer => "faer",
            BackendArg::Nalgebra => "nalgebra",
            BackendArg::Ndarray => "ndarray",
        }
    }
}

/// The scalar type of the computation and of the written factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DtypeArg {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl DtypeArg {
    /// The name used on the command line, in messages and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            DtypeArg::F32 => "f32",
            DtypeArg::F64 => "f64",
        }
    }
}

/// How W and H start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum InitArg {
    /// Seeded random factors scaled to the data, |N(0,1)|·√(mean(V)/k) (see --seed).
    #[default]
    Random,
    /// scikit-learn's default: nndsvda when the rank is at most min(m, n), else random.
    Auto,
    /// NNDSVD from a truncated SVD of V (deterministic; sparse starting factors). Needs
    /// --rank ≤ min(m, n).
    Nndsvd,
    /// NNDSVD with its zeros filled with mean(V) (deterministic). Needs --rank ≤ min(m, n).
    Nndsvda,
    /// NNDSVD with its zeros filled with small seeded random values (see --seed). Needs
    /// --rank ≤ min(m, n).
    Nndsvdar,
    /// The factors in the files given with --w0 and --h0.
    Custom,
}

impl InitArg {
    /// The name used on the command line and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            InitArg::Random => "random",
            InitArg::Auto => "auto",
            InitArg::Nndsvd => "nndsvd",
            InitArg::Nndsvda => "nndsvda",
            InitArg::Nndsvdar => "nndsvdar",
            InitArg::Custom => "custom",
        }
    }
}

/// Which files hold the fitted model (for `nmf transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ModelFormat {
    /// model.json: W, H, the loss, ε and the history in one JSON document.
    #[default]
    Json,
    /// model.npz: a zip of W.npy, H.npy and model.json, readable with numpy.load.
    Npz,
    /// Both model.json and model.npz.
    Both,
    /// No model file.
    None,
}

/// The options of a fit, shared by `nmf fit` and `nmf demo`.
#[derive(Debug, Clone, Args)]
pub struct FitOptions {
    /// The loss to minimise [default: frobenius for fit, kl for demo].
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Minimise the β-divergence with this β instead of a named --loss: 2 is frobenius, 1 is
    /// kl, 0 is itakura-saito, any other finite β its own divergence (Févotte & Idier's
    /// updates). With β ≤ 0, V must have no zero entry.
    #[arg(
        long,
        value_name = "X",
        conflicts_with = "loss",
        allow_hyphen_values = true
    )]
    pub beta: Option<f64>,
    /// Regularisation weight of W (scikit-learn's alpha_W): the objective gains
    /// n·α_W·(ρ‖W‖₁ + ½(1−ρ)‖W‖²), n the columns of V and ρ the --l1-ratio. Every loss and
    /// β supports it, with updates that keep the penalised objective non-increasing.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    pub alpha_w: f64,
    /// Regularisation weight of H (scikit-learn's alpha_H), scaled by m, the rows of V
    /// [default: the same as --alpha-w].
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub alpha_h: Option<f64>,
    /// The share ρ ∈ [0, 1] of L1 in the regularisation: 0 is pure L2 (ridge), 1 pure L1
    /// (sparse factors).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    pub l1_ratio: f64,
    /// Fit this many times from random starts (seeds --seed, --seed + 1, …) and keep the fit
    /// with the lowest final loss. With --init random or nndsvdar (the other starts are the
    /// same every time).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub n_init: usize,
    /// Run the --n-init restarts on up to N threads at once (0: one after another). The
    /// result is identical to the sequential run (the same W, H and loss, bit for bit); with
    /// the faer backend each restart's products still use --threads. No effect with
    /// --n-init 1.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub parallel_restarts: usize,
    /// The update rule; every one keeps the objective non-increasing. Recorded in
    /// summary.json as the one used.
    #[arg(long, value_enum, default_value_t = SolverArg::Auto)]
    pub solver: SolverArg,
    /// The linear-algebra backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Faer)]
    pub backend: BackendArg,
    /// The scalar type of the computation and of W.npy and H.npy.
    #[arg(long, value_enum, default_value_t = DtypeArg::F64)]
    pub dtype: DtypeArg,
    /// The most iterations [default: 200 for fit, 400 for demo].
    #[arg(long, value_name = "N")]
    pub max_iter: Option<usize>,
    /// Stop when the loss decreased by at most this fraction over the last --check-every
    /// iterations; 0 runs exactly --max-iter iterations [default: 1e-4 for fit, 0 for demo].
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub tol: Option<f64>,
    /// Evaluate the loss (for the stopping rule, the progress and the history) every N
    /// iterations.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub check_every: usize,
    /// The seed of the random starts (--init random and nndsvdar); restart i of --n-init uses
    /// seed + i.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Threads for the faer backend's products (0: all cores) [default: all cores]. The
    /// nalgebra and ndarray backends run on one thread.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The lower bound ε on every entry of W and H [default: from the data: 2u·√(mean(V)/k),
    /// u the unit roundoff of --dtype].
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub eps: Option<f64>,
    /// How W and H start: seeded random (the default), the SVD-based NNDSVD family (auto,
    /// nndsvd, nndsvda, nndsvdar), or custom from --w0 and --h0.
    #[arg(long, value_enum, default_value_t)]
    pub init: InitArg,
    /// The initial W (m×k) for --init custom, in any input format.
    #[arg(long, value_name = "FILE")]
    pub w0: Option<PathBuf>,
    /// The initial H (k×n) for --init custom, in any input format.
    #[arg(long, value_name = "FILE")]
    pub h0: Option<PathBuf>,
    /// The output directory (created if needed) [default: nmf-out for fit, nmf-demo for demo].
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write W.csv and H.csv.
    #[arg(long)]
    pub csv: bool,
    /// Which files hold the fitted model, for `nmf transform --model DIR`.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t)]
    pub model_format: ModelFormat,
    /// Print nothing but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print the settings, and the loss at every evaluation.
    #[arg(short, long)]
    pub verbose: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_states_the_demo_defaults() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("demo")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(
            help.contains(&format!("{DEMO_MAX_ITER} for demo")),
            "{help}"
        );
        assert!(help.contains(&format!("[default: {DEMO_RANK}]")), "{help}");
        assert!(help.contains(&format!("{DEMO_OUT} for demo")), "{help}");
        assert!(help.contains(&format!("{FIT_OUT} for fit")), "{help}");
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["nmf", "fit", "v.csv", "-k", "3"]).unwrap();
        let Command::Fit(f) = cli.command else {
            panic!("not fit")
        };
        assert_eq!(f.rank, 3);
        assert_eq!(f.opts.backend, BackendArg::Faer);
        assert_eq!(f.opts.dtype, DtypeArg::F64);
        assert_eq!(f.opts.loss, None);
        assert_eq!((f.opts.n_init, f.opts.parallel_restarts), (1, 0));
        let cli = Cli::try_parse_from(["nmf", "demo", "--tol", "-1"]).unwrap();
        let Command::Demo(d) = cli.command else {
            panic!("not demo")
        };
        assert_eq!((d.rank, d.opts.tol), (DEMO_RANK, Some(-1.0)));
        assert_eq!(f.max_input_bytes, crate::read::DEFAULT_MAX_INPUT_BYTES);
    }

    #[test]
    fn negative_numbers_in_scientific_notation() {
        for (text, value) in [
            ("-1e-300", -1e-300),
            ("-0.5", -0.5),
            ("-1E+2", -100.0),
            ("-2e3", -2000.0),
            ("1e-3", 1e-3),
        ] {
            let cli = Cli::try_parse_from(["nmf", "fit", "v.csv", "-k", "2", "--beta", text])
                .unwrap_or_else(|e| panic!("--beta {text}: {e}"));
            let Command::Fit(f) = cli.command else {
                panic!("not fit")
            };
            assert_eq!(f.opts.beta, Some(value), "--beta {text}");
            // The other real-valued options too (the library judges their values).
            for opt in ["--alpha-w", "--alpha-h", "--l1-ratio", "--tol", "--eps"] {
                let args = ["nmf", "fit", "v.csv", "-k", "2", opt, text];
                assert!(Cli::try_parse_from(args).is_ok(), "{opt} {text}");
            }
            let args = ["nmf", "transform", "x.csv", "-m", "d", "--tol", text];
            assert!(Cli::try_parse_from(args).is_ok(), "transform --tol {text}");
        }
        // An option name after --beta is still no number.
        let e = Cli::try_parse_from(["nmf", "fit", "v.csv", "-k", "2", "--beta", "--csv"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid value '--csv' for '--beta <X>'"), "{e}");
    }

    #[test]
    fn topics_takes_the_options_of_fit_and_requires_vocab() {
        let cli = Cli::try_parse_from([
            "nmf",
            "topics",
            "d.mtx",
            "--vocab",
            "t.txt",
            "-k",
            "4",
            "--loss",
            "kl",
            "--top-terms",
            "5",
        ])
        .unwrap();
        let Command::Topics(t) = cli.command else {
            panic!("not topics")
        };
        assert_eq!(t.vocab, Some(PathBuf::from("t.txt")));
        assert_eq!(
            (t.rank, t.top_terms, t.opts.loss),
            (4, 5, Some(LossArg::Kl))
        );
        let e = Cli::try_parse_from(["nmf", "topics", "d.mtx", "-k", "4"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--vocab <FILE>"), "{e}");
        // `nmf fit` keeps --vocab optional.
        assert!(Cli::try_parse_from(["nmf", "fit", "d.mtx", "-k", "4"]).is_ok());
    }

    #[test]
    fn sizes_in_bytes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_size("16777216T"),
            Err("16777216T is more than 2⁶⁴ bytes".into())
        );
        assert!(parse_size("4X").unwrap_err().contains("'4X'"));
        assert!(parse_size("-1").is_err());
        assert!(parse_size("").is_err());
        let cli = Cli::try_parse_from([
            "nmf",
            "transform",
            "x.csv",
            "-m",
            "d",
            "--max-input-bytes",
            "1M",
        ])
        .unwrap();
        let Command::Transform(t) = cli.command else {
            panic!("not transform")
        };
        assert_eq!(t.max_input_bytes, 1 << 20);
    }
}
