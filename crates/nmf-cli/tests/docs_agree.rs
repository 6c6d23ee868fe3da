//! One source of truth for what the command line accepts: the help texts (`nmf --help` and
//! the subcommands'), crates/nmf-cli/README.md and the root README.md must agree with the
//! binary. This checks the claims that can drift:
//!
//! - every `--option` the READMEs name exists in the `--help` output of `nmf` or a subcommand;
//! - every list of values written `--option a|b|c` in the READMEs is exactly the values that
//!   option accepts;
//! - the exit codes listed by `nmf --help` and by both READMEs are the error module's
//!   constants, and the binary exits with them in the cases the help gives as examples;
//! - the combinations the docs say work do work: regularisation (L1, L2 and both) with every
//!   named loss and with other β (and `fit --help` says every loss supports it); `--n-init`
//!   works with exactly the starts that `fit --help` and both READMEs name (random,
//!   nndsvdar) and exits 2 with the others.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use clap::CommandFactory;
use common::{nmf, stderr};
use nmf_cli::cli::Cli;
use nmf_cli::error::{EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE};

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The root README's section on the command (from its heading to the next `## `), and the
/// whole README of nmf-cli: the two places that document the command line.
fn documents() -> Vec<(&'static str, String)> {
    let root = read("../../README.md");
    let start = root
        .find("## The `nmf` command")
        .expect("README.md has a section on the nmf command");
    let end = root[start + 3..]
        .find("\n## ")
        .map_or(root.len(), |e| start + 3 + e);
    vec![
        ("README.md", root[start..end].to_string()),
        ("crates/nmf-cli/README.md", read("README.md")),
    ]
}

/// The text without cargo commands (`cargo install --path …`, `cargo run --release …`),
/// whose options are cargo's.
fn without_cargo(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("cargo ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(['`', '\n']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Every `--name` in the text.
fn long_options(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i + 2 < b.len() {
        let starts = b[i] == b'-'
            && b[i + 1] == b'-'
            && b[i + 2].is_ascii_lowercase()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-'));
        if starts {
            let end = (i + 2..b.len())
                .find(|&j| !(b[j].is_ascii_alphanumeric() || b[j] == b'-'))
                .unwrap_or(b.len());
            out.insert(text[i..end].trim_end_matches('-').to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn help_text() -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut all = String::new();
    for args in [
        &["--help"][..],
        &["fit", "--help"],
        &["transform", "--help"],
        &["demo", "--help"],
        &["rank", "--help"],
        &["predict", "--help"],
    ] {
        let o = nmf(dir.path(), args);
        assert!(o.status.success(), "nmf {args:?}: {}", stderr(&o));
        all.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    all
}

#[test]
fn every_option_the_readmes_name_is_in_the_help() {
    let help = long_options(&help_text());
    for (name, text) in documents() {
        let named = long_options(&without_cargo(&text));
        assert!(named.len() > 20, "{name}: found only {named:?}");
        let unknown: Vec<_> = named.difference(&help).collect();
        assert!(
            unknown.is_empty(),
            "{name} names {unknown:?}, which `nmf … --help` does not have"
        );
    }
}

/// The values each long option accepts (names and aliases), over every subcommand.
fn accepted_values() -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            let (Some(long), values) = (arg.get_long(), arg.get_possible_values()) else {
                continue;
            };
            if values.is_empty() {
                continue;
            }
            let names: BTreeSet<String> = values
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            let all: BTreeSet<String> = values
                .iter()
                .flat_map(|v| v.get_name_and_aliases().map(str::to_string))
                .collect();
            out.push((format!("--{long}"), names, all));
        }
    }
    out
}

#[test]
fn the_value_lists_in_the_readmes_are_the_accepted_values() {
    let accepted = accepted_values();
    let mut checked = 0;
    for (name, text) in documents() {
        let text = without_cargo(&text);
        // `--option a|b|c`: an option, a space, and values joined by `|`.
        for (i, _) in text.match_indices("--") {
            let rest = &text[i..];
            let Some(space) = rest.find(' ') else {
                continue;
            };
            let option = &rest[..space];
            let is_option = option.len() > 2
                && option[2..].starts_with(|c: char| c.is_ascii_lowercase())
                && option[2..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !is_option {
                continue;
            }
            let list: String = rest[space + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '|' || *c == '-')
                .collect();
            if !list.contains('|') {
                continue;
            }
            let listed: BTreeSet<String> = list.split('|').map(str::to_string).collect();
            let matching: Vec<_> = accepted.iter().filter(|(o, _, _)| o == option).collect();
            assert!(
                !matching.is_empty(),
                "{name}: `{option} {list}`: no such option with values"
            );
            for (_, names, all) in matching {
                assert!(
                    listed.is_subset(all),
                    "{name}: `{option} {list}` lists values the command refuses (it accepts {all:?})"
                );
                assert!(
                    names.is_subset(&listed),
                    "{name}: `{option} {list}` leaves out accepted values {names:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "found only {checked} value lists");
}

#[test]
fn the_exit_codes_are_the_same_in_the_help_the_readmes_and_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let o = nmf(dir.path(), &["--help"]);
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let codes = &help[help
        .find("Exit codes:")
        .expect("nmf --help lists the exit codes")..];
    for (code, what) in [
        (EXIT_DATA, "a file or its data"),
        (EXIT_USAGE, "the command line"),
        (EXIT_INTERRUPTED, "Ctrl-C"),
    ] {
        assert!(
            codes.contains(&format!("; {code} {what}")),
            "nmf --help: no `{code} {what}` in {codes}"
        );
    }
    // Each document names the three codes in this order, each with its cause (the READMEs
    // may add details in parentheses between them).
    let parts = [
        format!("Exit codes: {EXIT_DATA} for a file or its data"),
        format!("{EXIT_USAGE} for the command line"),
        format!("{EXIT_INTERRUPTED} after Ctrl-C, SIGTERM or SIGHUP"),
    ];
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for (name, text) in documents() {
        let text = flat(&text);
        let mut from = 0;
        for part in &parts {
            match text[from..].find(part.as_str()) {
                Some(at) => from += at + part.len(),
                None => panic!("{name} does not say, in order: {parts:?} (missing {part:?})"),
            }
        }
    }

    // The examples of the help: a file that cannot be read, a negative entry and a zero with
    // β ≤ 0 exit 1; an unknown option, --rank 0 and --tol -1 exit 2.
    std::fs::write(dir.path().join("neg.csv"), "1,2\n-3,4\n").unwrap();
    std::fs::write(dir.path().join("zero.csv"), "1,2\n0,4\n").unwrap();
    std::fs::write(dir.path().join("v.csv"), "1,2\n3,4\n").unwrap();
    for (args, code) in [
        (&["fit", "missing.csv", "-k", "1"][..], EXIT_DATA),
        (&["fit", "neg.csv", "-k", "1"], EXIT_DATA),
        (&["fit", "zero.csv", "-k", "1", "--beta", "0"], EXIT_DATA),
        (&["fit", "v.csv", "-k", "1", "--no-such-option"], EXIT_USAGE),
        (&["fit", "v.csv", "-k", "0"], EXIT_USAGE),
        (&["fit", "v.csv", "-k", "1", "--tol", "-1"], EXIT_USAGE),
    ] {
        let o = nmf(dir.path(), args);
        assert_eq!(
            o.status.code(),
            Some(i32::from(code)),
            "nmf {args:?}: {}",
            stderr(&o)
        );
    }
}

/// A 6×5 matrix with positive entries (so that β ≤ 0 accepts it).
fn write_matrix(dir: &Path) {
    let text: String = (0..6)
        .map(|i| {
            (0..5)
                .map(|j| format!("{}", 1 + (i * 7 + j * 3) % 5))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(dir.join("v.csv"), text).unwrap();
}

#[test]
fn regularisation_works_for_every_loss_and_beta() {
    let dir = tempfile::tempdir().unwrap();
    write_matrix(dir.path());
    let losses: [&[&str]; 6] = [
        &["--loss", "frobenius"],
        &["--loss", "kl"],
        &["--loss", "itakura-saito"],
        &["--beta", "0.5"],
        &["--beta", "3"],
        &["--beta", "-0.5"],
    ];
    for loss in losses {
        for l1_ratio in ["0", "0.5", "1"] {
            let mut args = vec!["fit", "v.csv", "-k", "2", "--max-iter", "5", "--quiet"];
            args.extend_from_slice(loss);
            args.extend_from_slice(&[
                "--alpha-w",
                "0.1",
                "--alpha-h",
                "0.05",
                "--l1-ratio",
                l1_ratio,
            ]);
            let o = nmf(dir.path(), &args);
            assert!(
                o.status.success(),
                "nmf {args:?} exited {:?}: {}",
                o.status.code(),
                stderr(&o)
            );
        }
    }
    // What the help and the READMEs say of it.
    let help = help_paragraph("--alpha-w");
    assert!(
        help.contains("Every loss and β supports it"),
        "nmf fit --help says of --alpha-w: {help}"
    );
    for (name, text) in documents() {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("for every loss and β") || flat.contains("Every loss and β supports it"),
            "{name} does not say that regularisation works for every loss and β"
        );
        assert!(!flat.contains("refused as a bad command line"), "{name}");
    }
}

/// The paragraph of `nmf fit --help` that documents `option`, as one line: from its line to
/// the next line that starts with an option (`--name` or `-x,`).
fn help_paragraph(option: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let help = String::from_utf8_lossy(&nmf(dir.path(), &["fit", "--help"]).stdout).into_owned();
    let is_option = |l: &str| {
        let t = l.trim_start();
        t.starts_with("--") || (t.starts_with('-') && t.chars().nth(2) == Some(','))
    };
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(&format!("{option} ")));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {option} in nmf fit --help"));
    let paragraph: Vec<&str> = std::iter::once(first)
        .chain(lines.take_while(|l| !is_option(l)))
        .collect();
    paragraph
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn restarts_work_with_the_starts_the_help_names_and_are_refused_with_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write_matrix(dir.path());
    let inits: BTreeSet<String> = accepted_values()
        .into_iter()
        .find(|(o, _, _)| o == "--init")
        .expect("--init has values")
        .1;
    let mut working = BTreeSet::new();
    for init in &inits {
        let args = [
            "fit",
            "v.csv",
            "-k",
            "2",
            "--max-iter",
            "5",
            "--quiet",
            "--init",
            init,
            "--n-init",
            "3",
        ];
        let o = nmf(dir.path(), &args);
        match o.status.code() {
            Some(0) => {
                working.insert(init.clone());
            }
            Some(c) if c == i32::from(EXIT_USAGE) => {}
            other => panic!("nmf {args:?} exited {other:?}: {}", stderr(&o)),
        }
    }
    assert_eq!(
        working,
        BTreeSet::from(["random".to_string(), "nndsvdar".to_string()])
    );
    // The help of --n-init names exactly these starts.
    let help = help_paragraph("--n-init");
    let named: BTreeSet<String> = help
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| inits.contains(*w))
        .map(str::to_string)
        .collect();
    assert_eq!(named, working, "nmf fit --help says of --n-init: {help}");
    // And both READMEs say so.
    for (name, text) in documents() {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("with `--init random` or `nndsvdar`"),
            "{name} does not say that --n-init works with `--init random` or `nndsvdar`"
        );
    }
}

#[test]
fn the_readme_starts_with_the_demo_and_the_tests_and_says_how_to_install() {
    let root = read("../../README.md");
    let blocks: Vec<&str> = root
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim())
        .collect();
    assert_eq!(
        blocks[..2],
        [
            "cargo run --release -p nmf-cli -- demo",
            "cargo test --workspace"
        ],
        "the first two shell blocks of README.md are the set-up commands"
    );
    assert!(blocks.contains(&"cargo install --locked --path crates/nmf-cli"));
    // The demo's default output folder and the fit's are ignored by git.
    let ignore = read("../../.gitignore");
    for dir in [
        nmf_cli::cli::DEMO_OUT,
        nmf_cli::cli::FIT_OUT,
        nmf_cli::cli::TRANSFORM_OUT,
    ] {
        assert!(
            ignore.lines().any(|l| l == format!("{dir}/")),
            "{dir}/ not in .gitignore"
        );
    }
}
