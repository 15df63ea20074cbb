//! What the app's tests and benchmark drive it with, in one copy: a
//! browser-like client ([`Browser`]) that keeps cookies per host, follows
//! redirects, submits forms and answers the provider's pages, over real
//! HTTP, in process, or through Vercel's router to the app's functions
//! ([`Transport`]: [`Http`], [`InProcess`], [`Functions`]);
//! the one "no session" check ([`assert_no_session`]); the emulator as the
//! library's HTTP client ([`EmulatorClient`]); a real `redis-server`
//! ([`RedisServer`]); child processes killed on drop with a clean
//! environment; free loopback ports; the npm and PyPI suites. A renamed cookie or a
//! changed provider page is fixed here once.
//!
//! Test code: it panics with a message rather than returning errors.

mod browser;
mod emulator_client;
mod functions;
mod jar;
mod node;
mod page;
mod process;
mod python;
mod redis;
mod transport;

pub use browser::Browser;
pub use emulator_client::EmulatorClient;
pub use functions::{Function, Functions};
pub use jar::{Jar, assert_no_session, assert_only_the_sign_out_mark, assert_session};
pub use node::node_suite;
pub use page::{Page, location, provider_answer, query_pairs, resolve};
pub use process::{
    CLEARED_VARS, ChildLog, Process, cargo_build, child_dir, clean_command, dev_server_bin,
    emulator_bin, free_port, private_dir, spawn, spawn_command, spawn_emulator, unique_name,
    url_in, workspace_bin, workspace_root,
};
pub use python::python_suite;
pub use redis::{RedisServer, info_field, info_stat, target_dir};
pub use transport::{
    BoxFuture, Handler, Http, InProcess, Request, Response, Transport, origin_of, ready_now,
};
