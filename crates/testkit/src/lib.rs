//! What the app's tests and benchmark both need to drive the functions the
//! way a browser and Vercel do: a cookie jar, child processes killed on
//! drop with a clean environment, free loopback ports, the emulator's
//! login screen and consent page, and the emulator as the library's HTTP
//! client. One copy, so that a renamed cookie or a changed consent
//! form is fixed in one place.
//!
//! Test code: it panics with a message rather than returning errors.

mod consent;
mod functions;
mod in_process;
mod jar;
mod process;
mod redis;

pub use consent::{
    consent, consent_as, decision_form, location, login_choice_in, login_form, request_id_in,
};
pub use functions::{Function, Functions};
pub use in_process::InProcess;
pub use jar::{Jar, assert_no_session};
pub use process::{CLEARED_VARS, Process, clean_command, free_port, workspace_bin};
pub use redis::RedisServer;
