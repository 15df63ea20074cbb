//! Development parts: the emulator of Vercel's authorization server, the
//! local dev server behind `cargo run`, and the harness the tests and the
//! benchmark share. Behind the `dev` feature; the Vercel function binaries
//! never reference them, so they are not linked in.

pub mod emulator;
mod env_files;
pub mod harness;
mod http;
mod site;
mod stack;

pub use env_files::load_env;
pub use http::{Server, serve};
pub use stack::{DevOptions, DevStack, start};
