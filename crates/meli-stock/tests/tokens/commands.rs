//! The commands as the built binary runs them.
