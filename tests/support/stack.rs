//! The browser over real HTTP, for `tests/emulator_conformance.rs` until
//! it moves to the emulator's crate; every other suite uses `testkit`
//! directly.

// Only that suite uses them.
#[allow(unused_imports)]
pub use testkit::{Browser, Page};
