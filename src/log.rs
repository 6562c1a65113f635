//! Error and access logs in Netdata's shapes.
//!
//! Owns: the process-wide log sinks. Each record is formatted into one buffer and written
//! with a single `write(2)` to stderr or to an `O_APPEND` file, so records from different
//! shards never interleave and no lock is taken. Shapes:
//! `YYYY-MM-DD HH:MM:SS: strata INFO  : <thread> : <message>` for the error log and
//! `YYYY-MM-DD HH:MM:SS: <message>` for the access log (health-api-export.md §B.7).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

/// Severity of an error-log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
    Fatal,
}

impl Level {
    fn tag(self) -> &'static str {
        match self {
            Level::Info => "INFO ",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

struct Sinks {
    error: Option<File>,
    access: Option<File>,
}

static SINKS: OnceLock<Sinks> = OnceLock::new();

/// Sends the logs to `DIR/error.log` and `DIR/access.log` when a log directory is
/// configured; otherwise both go to stderr. Call once, before the shards start.
pub fn init(log_dir: Option<&Path>) -> std::io::Result<()> {
    let sinks = match log_dir {
        None => Sinks { error: None, access: None },
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let open = |name: &str| OpenOptions::new().create(true).append(true).open(dir.join(name));
            Sinks { error: Some(open("error.log")?), access: Some(open("access.log")?) }
        }
    };
    let _ = SINKS.set(sinks);
    Ok(())
}

fn timestamp() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn thread_tag() -> String {
    std::thread::current().name().unwrap_or("MAIN").to_string()
}

fn emit(to: Option<&File>, line: &[u8]) {
    match to {
        Some(mut f) => {
            let _ = f.write_all(line);
        }
        None => {
            let _ = std::io::stderr().lock().write_all(line);
        }
    }
}

/// Writes one error-log record.
pub fn write(level: Level, args: fmt::Arguments<'_>) {
    let line = format!("{}: strata {} : {} : {}\n", timestamp(), level.tag(), thread_tag(), args);
    emit(SINKS.get().and_then(|s| s.error.as_ref()), line.as_bytes());
}

/// Writes one access-log record.
pub fn access(args: fmt::Arguments<'_>) {
    let line = format!("{}: {}\n", timestamp(), args);
    emit(SINKS.get().and_then(|s| s.access.as_ref()), line.as_bytes());
}

/// `info!("...")`: an INFO record in the error log.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// `error!("...")`: an ERROR record in the error log.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($arg)*)) };
}

/// `access!("...")`: a record in the access log.
#[macro_export]
macro_rules! access {
    ($($arg:tt)*) => { $crate::log::access(format_args!($($arg)*)) };
}
