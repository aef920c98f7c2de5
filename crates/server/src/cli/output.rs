//! Writing results to stdout (a closed pipe is not an error) and notes to stderr.

use super::CliError;
use serde::Serialize;
use std::io::{self, Write};

/// Prints `text` on stdout, adding the final newline if it lacks one. `println!` would panic
/// when stdout is a closed pipe (`sessiond sessions list | head`); here that just ends output.
pub(crate) fn out(text: &str) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    let res = stdout
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                stdout.write_all(b"\n")
            }
        })
        .and_then(|()| stdout.flush());
    match res {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Io(format!("cannot write to stdout: {e}"))),
    }
}

/// Machine output: pretty JSON on stdout.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Io(format!("cannot encode JSON output: {e}")))?;
    out(&text)
}

/// A remark for people (counts, hints); stderr, so that stdout stays parseable.
pub(crate) fn note(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
