//! The environment files `cargo run` reads: `.env` and `.env.local`, the
//! files `vercel dev` and `vercel env pull` use.
//!
//! `vercel env pull` writes `NAME="value"`, a line each, with a value's
//! line feeds and carriage returns written `\n` and `\r` and nothing else
//! escaped: a `"` or a `$` in a value is written as it is. So a
//! double-quoted value closes at the first `"` of its line after which
//! only blanks or a `#` comment follow (its last one, in what the CLI
//! writes), and only `\n` and `\r` are read as escapes, as Node's `dotenv`
//! reads them. Nothing is substituted: `$NAME` is text. A value whose line
//! has no other quote goes on over the next lines, up to a line whose first
//! quote closes it so; a value no line closes is skipped, and the lines
//! after it are read as their own. Single-quoted values are taken as they
//! are; unquoted ones end at a `#` after a blank and are trimmed. Blank
//! lines, `#` comments and an `export ` before the name are allowed; lines
//! end at `\n`, `\r\n` or `\r`. A line that is none of these is skipped and
//! named by its number, never by its text (it may hold a secret).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where `cargo run` started in `cwd` reads `.env` and `.env.local`: the
/// Vercel project it runs in, the nearest directory up from `cwd` (itself
/// included) with a `vercel.json`, else `cwd`.
pub fn env_dir(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|dir| dir.join("vercel.json").is_file())
        .unwrap_or(cwd)
        .to_owned()
}

/// The environment as `cargo run` sees it: the process environment, over
/// `.env.local`, over `.env` (the files `vercel env pull` and `vercel dev`
/// use), read from `dir`. A line of a file that cannot be read is skipped
/// with a warning on standard error; so is a process variable whose name
/// or value is not UTF-8.
pub fn load_env(dir: &Path) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for file in [".env", ".env.local"] {
        let path = dir.join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            eprintln!("{file} is not UTF-8 text: skipped");
            continue;
        };
        let (found, skipped) = parse(&text);
        for (line, why) in skipped {
            eprintln!("{file}: line {line} skipped: {why}");
        }
        vars.extend(found);
    }
    for (name, value) in std::env::vars_os() {
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => {
                vars.insert(name, value);
            }
            (Ok(name), Err(_)) => eprintln!("the variable {name} is not UTF-8: ignored"),
            (Err(_), _) => eprintln!("a variable whose name is not UTF-8 is ignored"),
        }
    }
    vars
}

/// A variable's name and value.
type Variable = (String, String);
/// A line skipped: its number (from 1) and why.
type Skipped = (usize, &'static str);

/// The variables of one file's `text`, in order, and the lines skipped.
fn parse(text: &str) -> (Vec<Variable>, Vec<Skipped>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split(['\n', '\r']).collect();
    let (mut found, mut skipped) = (Vec::new(), Vec::new());
    let mut at = 0;
    while at < lines.len() {
        let number = at + 1;
        let line = lines[at].trim_start();
        at += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let Some((name, rest)) = line.split_once('=') else {
            skipped.push((number, "not NAME=value"));
            continue;
        };
        let name = name.trim_end();
        if !is_name(name) {
            skipped.push((number, "not a variable name"));
            continue;
        }
        let raw = rest;
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => match quoted(&rest[1..], quote, &lines, &mut at) {
                Some(inside) if quote == '"' => inside.replace("\\n", "\n").replace("\\r", "\r"),
                Some(inside) => inside,
                None => {
                    skipped.push((number, "a quote is never closed"));
                    continue;
                }
            },
            _ => unquoted(raw).to_owned(),
        };
        found.push((name.to_owned(), value));
    }
    (found, skipped)
}

/// `[A-Za-z0-9_.-]+`, as `dotenv` accepts.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The text of a value opened by `quote` just before `first`. When
/// `first` has another `quote`, the value closes there, at the first one
/// after which only blanks or a comment follow. Otherwise it goes on over
/// the next lines (joined with line feeds; `at` moves past them), up to a
/// line whose first `quote` closes it so. `None` if it does not close, `at`
/// left where it was.
fn quoted(first: &str, quote: char, lines: &[&str], at: &mut usize) -> Option<String> {
    if first.contains(quote) {
        return first
            .match_indices(quote)
            .map(|(i, _)| i)
            .find(|&i| ends_the_line(&first[i + 1..]))
            .map(|end| first[..end].to_owned());
    }
    let next = *at;
    let mut value = first.to_owned();
    while let Some(line) = lines.get(*at) {
        *at += 1;
        value.push('\n');
        if let Some(end) = line.find(quote) {
            if ends_the_line(&line[end + 1..]) {
                value.push_str(&line[..end]);
                return Some(value);
            }
            break;
        }
        value.push_str(line);
    }
    *at = next;
    None
}

/// Whether `rest` of a line after a closing quote is only blanks, or a
/// comment.
fn ends_the_line(rest: &str) -> bool {
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with('#')
}

/// An unquoted value: up to a `#` after whitespace (a comment), trimmed.
fn unquoted(rest: &str) -> &str {
    let end = rest
        .char_indices()
        .find(|&(i, c)| c == '#' && rest[..i].ends_with([' ', '\t']))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.env.local` over `.env`, the process environment over both, as
    /// `vercel dev` reads them; a directory without the files is just the
    /// process environment.
    #[test]
    fn env_local_overrides_env_and_the_process_overrides_both() {
        let dir = std::env::temp_dir().join(format!("dev-server-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(".env"),
            "ONLY_ENV=1\nBOTH=from-env\nPATH=from-env\n",
        )
        .unwrap();
        std::fs::write(dir.join(".env.local"), "BOTH=from-local\nQUOTED=\"a b\"\n").unwrap();
        let vars = load_env(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(vars["ONLY_ENV"], "1");
        assert_eq!(vars["BOTH"], "from-local");
        assert_eq!(vars["QUOTED"], "a b");
        assert_eq!(vars.get("PATH"), std::env::var("PATH").ok().as_ref());
        let bare = load_env(&std::env::temp_dir().join("dev-server-env-none"));
        assert!(!bare.contains_key("ONLY_ENV"));
        assert_eq!(bare.get("PATH"), std::env::var("PATH").ok().as_ref());
    }

    fn vars(text: &str) -> Vec<Variable> {
        let (found, skipped) = parse(text);
        assert_eq!(skipped, [], "{text:?}");
        found
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<Variable> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// What `vercel env pull` writes reads back as the values it was
    /// given: its comment line, `\n` and `\r` for line breaks, and `"`,
    /// `$` and `\` written as they are.
    #[test]
    fn a_pulled_file_reads_back_as_its_values() {
        let pulled = "# Created by Vercel CLI\r\n\
            AUTH_SECRET=\"abc+/=\"\r\n\
            VERCEL_APP_CLIENT_SECRET=\"pa$$w$HOME\\d\"\r\n\
            QUOTE=\"cl_a\"b\"\r\n\
            PEM=\"-----BEGIN CERTIFICATE-----\\nMIIB\\r\\n-----END CERTIFICATE-----\\n\"\r\n\
            EMPTY=\"\"\r\n";
        assert_eq!(
            vars(pulled),
            pairs(&[
                ("AUTH_SECRET", "abc+/="),
                ("VERCEL_APP_CLIENT_SECRET", "pa$$w$HOME\\d"),
                ("QUOTE", "cl_a\"b"),
                (
                    "PEM",
                    "-----BEGIN CERTIFICATE-----\nMIIB\r\n-----END CERTIFICATE-----\n"
                ),
                ("EMPTY", ""),
            ])
        );
    }

    /// The forms people write by hand: `export`, single quotes, unquoted
    /// values with a comment, spaces around `=`, a double-quoted value over
    /// several lines, a byte-order mark.
    #[test]
    fn hand_written_files_read_as_dotenv_reads_them() {
        let text = "\u{feff}export A=1\n\
            B = 'single $HOME \\n'\n\
            \t# a comment\n\
            C=plain value # a comment\n\
            D=a#b\n\
            E=\"line one\n\
            line two\"\n\
            F.G-H=\n";
        assert_eq!(
            vars(text),
            pairs(&[
                ("A", "1"),
                ("B", "single $HOME \\n"),
                ("C", "plain value"),
                ("D", "a#b"),
                ("E", "line one\nline two"),
                ("F.G-H", ""),
            ])
        );
    }

    /// Comments after a value, quoted or not, and line ends of every kind.
    #[test]
    fn comments_and_line_ends_are_not_values() {
        assert_eq!(
            vars("A= # generate one\rB=\"x\" # say \"hi\"\r\nC=#not a comment\nD='y' # z\n"),
            pairs(&[("A", ""), ("B", "x"), ("C", "#not a comment"), ("D", "y")])
        );
    }

    /// A value whose quote no line closes takes no later variable with it,
    /// even one whose own value is quoted: that line is read as its own.
    #[test]
    fn an_unclosed_quote_does_not_swallow_the_next_variable() {
        let (found, skipped) = parse("CONFIG=\"emulator.json\nAUTH_SECRET=\"k3y\"\nX=1\n");
        assert_eq!(found, pairs(&[("AUTH_SECRET", "k3y"), ("X", "1")]));
        assert_eq!(skipped, [(1, "a quote is never closed")]);
        let (found, skipped) = parse("A=\"one\ntwo\" # end\nB='x\nC=2");
        assert_eq!(found, pairs(&[("A", "one\ntwo"), ("C", "2")]));
        assert_eq!(skipped, [(3, "a quote is never closed")]);
    }

    /// A line that cannot be read is skipped and named by its number, and
    /// the lines around it still count; a quote never closed takes no
    /// later line with it.
    #[test]
    fn unreadable_lines_are_skipped_by_number() {
        let (found, skipped) = parse("A=1\nnot a variable\nB C=2\n=3\nD=4\nE=\"open\nF=5\n");
        assert_eq!(found, pairs(&[("A", "1"), ("D", "4"), ("F", "5")]));
        assert_eq!(
            skipped,
            [
                (2, "not NAME=value"),
                (3, "not a variable name"),
                (4, "not a variable name"),
                (6, "a quote is never closed"),
            ]
        );
    }
}
