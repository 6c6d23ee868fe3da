//! The `nmf` command (see the `nmf_cli` library and `nmf --help`).

fn main() -> std::process::ExitCode {
    nmf_cli::interrupt::install_handler();
    nmf_cli::main_with_args(std::env::args_os())
}
