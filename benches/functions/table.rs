//! A plain table: printed aligned on stdout, written as Markdown to
//! `BENCHMARKS.md`. Every measurement of the run is one.

use std::fmt::Write as _;

/// One table: a title, a line saying what it measured, a header, rows.
pub struct Table {
    pub title: String,
    pub note: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with `header`.
    pub fn new(title: &str, note: &str, header: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            note: note.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per column).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len(), "{}", self.title);
        self.rows.push(cells);
    }

    /// The table as aligned text.
    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut o = format!("\n{}\n", self.title);
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(o, "  {}", cells.join("  ").trim_end());
        }
        o
    }

    /// The table as Markdown: a heading, the note, the table.
    pub fn markdown(&self) -> String {
        let mut o = format!("## {}\n\n", self.title);
        if !self.note.is_empty() {
            let _ = writeln!(o, "{}\n", self.note);
        }
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        o.push_str(&line(&self.header));
        o.push_str(&line(&vec!["---".to_owned(); self.header.len()]));
        for row in &self.rows {
            o.push_str(&line(row));
        }
        o.push('\n');
        o
    }
}

/// Everything from this line on in BENCHMARKS.md is written by hand (the
/// method and the analysis) and kept when the benchmark rewrites the file.
pub const HAND_WRITTEN: &str = "<!-- Hand-written from here on: kept by the benchmark -->";

/// Writes `generated` to `path` followed by the hand-written part of the
/// file already there (from [`HAND_WRITTEN`] on).
pub fn write(path: &str, generated: &str) {
    let kept = std::fs::read_to_string(path)
        .ok()
        .and_then(|old| old.find(HAND_WRITTEN).map(|i| old[i..].to_owned()))
        .unwrap_or_else(|| format!("{HAND_WRITTEN}\n"));
    write_whole(path, &format!("{generated}{kept}"));
}

/// Writes `table` into the generated part of the file at `path` in place of
/// its own section (its heading up to the next one), or, when the file has
/// none yet, after the section titled `after` (else at the end of the
/// generated part); every other byte of the file is kept. For a run of one
/// phase alone: the other tables stay as the last whole run wrote them.
pub fn write_section(path: &str, table: &Table, after: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let generated_end = old
        .find(HAND_WRITTEN)
        .unwrap_or_else(|| panic!("{path} has no line {HAND_WRITTEN}"));
    let generated = &old[..generated_end];
    // A section: its heading line, to the next heading or the end of the
    // generated part.
    let section = |title: &str| {
        let heading = format!("## {title}\n");
        let start = generated
            .match_indices(&heading)
            .map(|(i, _)| i)
            .find(|&i| i == 0 || generated[..i].ends_with('\n'))?;
        let body = start + heading.len();
        let end = generated[body..]
            .find("\n## ")
            .map_or(generated_end, |i| body + i + 1);
        Some(start..end)
    };
    let place = section(&table.title)
        .or_else(|| section(after).map(|s| s.end..s.end))
        .unwrap_or(generated_end..generated_end);
    let new = format!(
        "{}{}{}",
        &old[..place.start],
        table.markdown(),
        &old[place.end..]
    );
    write_whole(path, &new);
}

/// Replaces `path` with `contents` whole: written beside it, then renamed
/// over it, so that a run cut off while writing leaves the old file.
fn write_whole(path: &str, contents: &str) {
    let temporary = format!("{path}.tmp");
    std::fs::write(&temporary, contents)
        .and_then(|()| std::fs::rename(&temporary, path))
        .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
}
