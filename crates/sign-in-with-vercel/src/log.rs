//! Log lines on standard error, which Vercel collects per invocation.
//!
//! Callers pass reasons and codes, never a token, code, verifier or secret:
//! the secret newtypes have no `Display`, so they cannot be formatted here
//! by accident.

use std::borrow::Cow;

/// The longest message written, in bytes; a longer one is cut, and says
/// so.
const MAX_MESSAGE_BYTES: usize = 4096;

/// Something went wrong that an operator should look at.
pub fn error(message: &str) {
    let message = one_line(message);
    eprintln!("sign-in-with-vercel error: {message}");
    #[cfg(test)]
    tests::keep("error", &message);
}

/// A request was refused or a provider call failed in an expected way.
pub fn warn(message: &str) {
    let message = one_line(message);
    eprintln!("sign-in-with-vercel warn: {message}");
    #[cfg(test)]
    tests::keep("warn", &message);
}

/// `message` as one line of the log, whatever a caller put in it: each
/// line is one event to Vercel's logs and to a log drain, so a line
/// break (or a character a terminal or viewer takes for one, or that
/// reorders text: U+0085, U+2028, U+2029, bidirectional controls) is
/// escaped as `\u{…}` (`\n` for a line feed), and a message past
/// [`MAX_MESSAGE_BYTES`] is cut. A certificate's names, which rustls
/// quotes as the certificate holds them, reach a line this way: one with
/// a line feed in a name could otherwise write a second, forged, line.
/// Borrowed when there is nothing to do, which is every line the library
/// writes itself.
fn one_line(message: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
                    | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            )
    };
    // Printable ASCII, every line of the library's own: a byte test.
    let printable = |b: &u8| b.is_ascii_graphic() || *b == b' ';
    if message.len() <= MAX_MESSAGE_BYTES
        && (message.as_bytes().iter().all(printable) || !message.chars().any(unsafe_char))
    {
        return Cow::Borrowed(message);
    }
    let mut line = String::with_capacity(message.len().min(MAX_MESSAGE_BYTES) + 32);
    for c in message.chars() {
        if line.len() >= MAX_MESSAGE_BYTES {
            line.push_str(&format!(" … (cut: {} bytes)", message.len()));
            break;
        }
        if unsafe_char(c) {
            line.extend(c.escape_debug());
        } else {
            line.push(c);
        }
    }
    Cow::Owned(line)
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

    /// A message holding a line feed, a carriage return, an escape, NEL,
    /// the line and paragraph separators and a right-to-left override is
    /// written as one line (the forged second line of a certificate's
    /// name stays inside the first); a long one is cut; an ordinary one
    /// is written as it is.
    #[test]
    fn every_message_is_one_line() {
        super::error(
            "TLS: certificate is only valid for DnsName(\"x\nsign-in-with-vercel error: FORGED\r\u{1b}[31m\u{85}\u{2028}\u{2029}\u{202E}\")",
        );
        super::warn(&"a".repeat(10_000));
        super::warn("callback: access_denied (provider returned error=access_denied)");
        let lines = taken();
        assert_eq!(
            lines[0],
            "error: TLS: certificate is only valid for DnsName(\"x\\nsign-in-with-vercel error: FORGED\\r\\u{1b}[31m\\u{85}\\u{2028}\\u{2029}\\u{202e}\")"
        );
        assert!(
            lines[1].len() < 4200 && lines[1].ends_with("(cut: 10000 bytes)"),
            "{}",
            lines[1].len()
        );
        assert_eq!(
            lines[2],
            "warn: callback: access_denied (provider returned error=access_denied)"
        );
        for line in &lines {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }
}
