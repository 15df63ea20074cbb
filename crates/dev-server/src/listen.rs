//! The dev server's listening sockets: loopback only, the app's port on
//! both loopbacks (browsers may try `[::1]` first for `localhost`), a free
//! port when a default one is taken.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

fn bind(port: u16, variable: &str) -> Result<TcpListener, String> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port}: {e} (set a different port with {variable})")
    })
}

/// Binds the port `variable` names; when the variable is not set and its
/// default port is taken, a free one.
pub(crate) fn bind_default(
    port: u16,
    variable: &str,
    vars: &HashMap<String, String>,
) -> Result<TcpListener, String> {
    match bind(port, variable) {
        Ok(l) => Ok(l),
        Err(_) if !vars.contains_key(variable) => bind(0, variable),
        Err(e) => Err(e),
    }
}

/// The IPv6 loopback on `port`, which browsers may try first for
/// `localhost`; `None` on a machine without one. Taken by another program,
/// it is an error: that program would get the sign-in's callback, its code
/// and every `localhost` cookie.
fn bind_v6(port: u16) -> Result<Option<TcpListener>, String> {
    match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(format!(
            "cannot listen on [::1]:{port}: {e}; another program serves http://localhost:{port} \
             there (set a different port with PORT)"
        )),
        Err(_) => Ok(None),
    }
}

/// The app's port on both loopbacks. Asked for any free port (0), one
/// whose IPv6 twin another program holds is given back and another
/// picked; asked for a given port, that is an error (see [`bind_v6`]).
pub(crate) fn bind_both(asked: u16) -> Result<(TcpListener, u16, Option<TcpListener>), String> {
    bind_both_with(asked, bind_v6)
}

/// [`bind_both`] with `v6` binding the IPv6 loopback.
fn bind_both_with(
    asked: u16,
    v6: impl Fn(u16) -> Result<Option<TcpListener>, String>,
) -> Result<(TcpListener, u16, Option<TcpListener>), String> {
    const TRIES: usize = 8;
    let mut tries = 1;
    loop {
        let listener = bind(asked, "PORT")?;
        let port = port_of(&listener)?;
        match v6(port) {
            Err(_) if asked == 0 && tries < TRIES => tries += 1,
            twin => return Ok((listener, port, twin?)),
        }
    }
}

pub(crate) fn port_of(listener: &TcpListener) -> Result<u16, String> {
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asked for any free port, the server picks another when the IPv6
    /// twin of the first is taken; asked for one, it does not.
    #[test]
    fn any_free_port_is_one_free_on_both_loopbacks() {
        let tried = std::cell::RefCell::new(Vec::new());
        let taken_once = |port: u16| {
            tried.borrow_mut().push(port);
            match tried.borrow().len() {
                1 => Err(format!("[::1]:{port} taken")),
                _ => Ok(None),
            }
        };
        let (_listener, port, _) = bind_both_with(0, taken_once).unwrap();
        assert_eq!(tried.borrow().len(), 2);
        assert_eq!(tried.borrow()[1], port);
        let always_taken = |port: u16| Err(format!("[::1]:{port} taken"));
        assert!(bind_both_with(0, always_taken).is_err());
        let asked = testkit::free_port();
        tried.borrow_mut().clear();
        let e = bind_both_with(asked, taken_once).unwrap_err();
        assert!(e.contains(&asked.to_string()), "{e}");
    }
}
