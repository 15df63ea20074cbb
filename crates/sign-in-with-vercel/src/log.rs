//! Log lines on standard error, which Vercel collects per invocation.
//!
//! Callers pass reasons and codes, never a token, code, verifier or secret:
//! the secret newtypes have no `Display`, so they cannot be formatted here
//! by accident.

/// Something went wrong that an operator should look at.
pub fn error(message: &str) {
    eprintln!("sign-in-with-vercel error: {message}");
    #[cfg(test)]
    tests::keep("error", message);
}

/// A request was refused or a provider call failed in an expected way.
pub fn warn(message: &str) {
    eprintln!("sign-in-with-vercel warn: {message}");
    #[cfg(test)]
    tests::keep("warn", message);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::RefCell;

    thread_local! {
        /// The lines this thread logged (a `current_thread` runtime's
        /// tasks run on its test's thread).
        static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn keep(level: &str, message: &str) {
        LINES.with(|lines| lines.borrow_mut().push(format!("{level}: {message}")));
    }

    /// The lines this thread logged since the last call, as
    /// `<level>: <message>`.
    pub(crate) fn taken() -> Vec<String> {
        LINES.with(|lines| std::mem::take(&mut *lines.borrow_mut()))
    }
}
