//! The `sessiond` binary: `serve`, offline maintenance (`backup`, `admin`), and the CLI.

use sessiond_server::{cli, config, datadir, keyfile, serve, stores};

use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

// glibc's malloc took ~20% of the server's CPU under validate load, much of it waiting on
// its arena locks (perf, 2 cores); mimalloc's per-thread heaps avoid both.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "sessiond",
    version,
    about = "Session registry and control plane"
)]
struct Cli {
    #[command(flatten)]
    client: cli::ClientOpts,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the server
    Serve {
        /// Config file (default: ./sessiond.toml when present)
        #[arg(long, env = "SESSIOND_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        cfg: Box<config::ServeConfig>,
    },
    /// Make a consistent copy of the database while the server runs
    Backup {
        #[arg(long, env = "SESSIOND_DATA_DIR", default_value = "sessiond-data")]
        data_dir: PathBuf,
        /// Destination file
        out: PathBuf,
    },
    /// Offline administration (the server must not be running on the data dir)
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Print shell completions
    Completions { shell: clap_complete::Shell },
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[derive(Subcommand, Debug)]
enum AdminCmd {
    /// Set a principal's password (and re-enable it) directly in the store
    ResetPassword {
        name: String,
        #[arg(long, env = "SESSIOND_DATA_DIR", default_value = "sessiond-data")]
        data_dir: PathBuf,
        /// Read the new password from stdin instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a key file that every replica of one store mounts (--key-file): the confirm
    /// key, the access-key seal key and the Shared Signals event-signing key (RSA-2048), kept
    /// out of the store
    Keygen {
        /// Where to write it (mode 0600; an existing file is never overwritten)
        #[arg(long)]
        out: PathBuf,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SESSIOND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log pipe that went away must not stop the server: by default a failed write is
        // reported with eprintln!, which panics on that same closed stderr (issue 13: a
        // SIGTERM then ended in a panic, or hung when the panic killed the shutdown task).
        .log_internal_errors(false)
        // Colour codes only for people: a log file or a collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), String> = match cli.cmd {
        Cmd::Serve { config, cfg } => {
            init_logging();
            match (*cfg).merge_file(config.as_deref()) {
                Ok(cfg) => serve::start(cfg).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        Cmd::Backup { data_dir, out } => backup(&data_dir, &out),
        Cmd::Admin(AdminCmd::ResetPassword {
            name,
            data_dir,
            password_stdin,
        }) => reset_password(&name, &data_dir, password_stdin).await,
        Cmd::Admin(AdminCmd::Keygen { out }) => keyfile::generate(&out)
            .map(|()| println!("key file written to {}", out.display()))
            .map_err(|e| e.to_string()),
        Cmd::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "sessiond",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Cmd::Client(cmd) => cli::run(cli.client, cmd).await.map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn backup(data_dir: &std::path::Path, out: &std::path::Path) -> Result<(), String> {
    let db = data_dir.join("sessiond.db");
    if !db.exists() {
        return Err(format!("no database at {}", db.display()));
    }
    sessiond_store_sqlite::backup_file(&db, out).map_err(|e| e.to_string())?;
    println!("backup written to {}", out.display());
    Ok(())
}

async fn reset_password(
    name: &str,
    data_dir: &std::path::Path,
    from_stdin: bool,
) -> Result<(), String> {
    let dir = datadir::DataDir::open(data_dir).map_err(|e| e.to_string())?;
    let opts = stores::StoreOptions {
        retention: sessiond_core::RegistryConfig::default().retention,
        redis_wait: None,
    };
    let store = stores::open(&stores::StoreSpec::Sqlite(None), &dir, &opts)
        .await
        .map_err(|e| e.to_string())?;
    let pw = if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_line(&mut s)
            .map_err(|e| e.to_string())?;
        s.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!("new password for {name}: "))
            .map_err(|e| e.to_string())?
    };
    let key = dir.confirm_key().map_err(|e| e.to_string())?;
    let registry = sessiond_core::Registry::new(
        store,
        std::sync::Arc::new(sessiond_core::SystemClock),
        sessiond_core::RegistryConfig::default(),
        sessiond_core::rules::bulk::ConfirmKey::new(key),
    );
    registry
        .reset_password(name, &pw)
        .await
        .map_err(|e| e.to_string())?;
    println!("password of {name} reset");
    Ok(())
}
