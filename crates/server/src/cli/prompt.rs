//! Reading secrets and confirmations from the person (or the pipe) at the other end.

use super::CliError;
use std::io::{self, BufRead, IsTerminal, Write};

/// Env fallback for `login` when there is neither `--password-stdin` nor a terminal.
pub(crate) const PASSWORD_ENV: &str = "SESSIOND_PASSWORD";

/// The first line of stdin without its line ending (`--password-stdin`).
pub(crate) fn stdin_line() -> Result<String, CliError> {
    let mut line = String::new();
    let read = io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Io(format!("cannot read stdin: {e}")))?;
    if read == 0 {
        return Err(CliError::Usage(
            "--password-stdin: nothing on stdin".to_owned(),
        ));
    }
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    non_empty(line)
}

/// The password for `login`: stdin when asked, else a prompt on a terminal, else
/// `$SESSIOND_PASSWORD`.
pub(crate) fn login_password(from_stdin: bool, prompt: &str) -> Result<String, CliError> {
    if from_stdin {
        return stdin_line();
    }
    if io::stdin().is_terminal() {
        return read_hidden(prompt);
    }
    match std::env::var(PASSWORD_ENV) {
        Ok(p) => non_empty(p),
        Err(_) => Err(CliError::Usage(format!(
            "no password: stdin is not a terminal; pass --password-stdin or set {PASSWORD_ENV}"
        ))),
    }
}

/// A new password (principal create, set-password): stdin when asked, else typed twice on a
/// terminal.
pub(crate) fn new_password(from_stdin: bool, who: &str) -> Result<String, CliError> {
    if from_stdin {
        return stdin_line();
    }
    if !io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no password: stdin is not a terminal; pass --password-stdin".to_owned(),
        ));
    }
    let first = read_hidden(&format!("New password for {who}: "))?;
    let second = read_hidden("Repeat it: ")?;
    if first != second {
        return Err(CliError::Usage("the passwords do not match".to_owned()));
    }
    Ok(first)
}

/// Asks `question [y/N]` on stderr and reads the answer from stdin (a terminal: the caller
/// has checked).
pub(crate) fn confirm(question: &str) -> Result<bool, CliError> {
    {
        let mut err = io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
    }
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Io(format!("cannot read stdin: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn read_hidden(prompt: &str) -> Result<String, CliError> {
    let p = rpassword::prompt_password(prompt)
        .map_err(|e| CliError::Io(format!("cannot read the password: {e}")))?;
    non_empty(p)
}

fn non_empty(p: String) -> Result<String, CliError> {
    if p.is_empty() {
        Err(CliError::Usage("the password is empty".to_owned()))
    } else {
        Ok(p)
    }
}
