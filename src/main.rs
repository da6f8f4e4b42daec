//! The `idlink` binary: see [`idlink::cli`].

fn main() -> std::process::ExitCode {
    idlink::cli::main()
}
