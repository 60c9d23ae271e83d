//! What the commands print on standard output. A reader that stops early
//! (`meli-stock runs | head -3`) ends the output, never the command: the rest of the text is
//! dropped and the command finishes its work (the other sellers of `sync --all`, say) and
//! exits with its own code.
//!
//! The commands print with [`outln!`] and [`out!`] instead of `println!` and `print!`,
//! which panic when the pipe is closed.

use std::fmt;
use std::io::{self, Write};

/// Writes `args` to standard output. A closed pipe drops the text quietly; any other
/// failure to write is said on standard error.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    let result = io::stdout().lock().write_fmt(args);
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => eprintln!("cannot write to standard output: {e}"),
    }
}

/// `println!` that survives a closed pipe (see the module doc).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that survives a closed pipe (see the module doc).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}
