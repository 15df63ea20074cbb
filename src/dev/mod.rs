//! Development parts: the emulator of Vercel's authorization server and
//! the local dev server behind `cargo run`. Behind the `dev` feature; the
//! Vercel function binaries never reference them, so they are not linked in.

pub mod emulator;
pub mod harness;
mod serve;
pub mod server;
pub use serve::{Server, serve};
