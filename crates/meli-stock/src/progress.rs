//! Progress bars for the phases of a run (listing, items, stock, write), drawn on a terminal
//! and invisible elsewhere, so the sync code reports progress the same way in both cases.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hands out one bar per phase.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// Bars drawn on stderr.
    pub fn bars() -> Self {
        Self {
            multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// No output at all.
    pub fn hidden() -> Self {
        Self { multi: None }
    }

    /// A bar for `phase`; `len` may be set later with `set_length`.
    pub fn phase(&self, phase: &str, len: Option<u64>) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = multi.add(ProgressBar::new(len.unwrap_or(0)));
        let style = ProgressStyle::with_template(
            "{prefix:>8} [{bar:30}] {pos:>7}/{len:7} {elapsed:>4} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(phase.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}
