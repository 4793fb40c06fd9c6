//! Plain-text and Markdown tables for the reports the command line prints
//! (`steadfast chaos`, `steadfast report`).

use std::fmt::Write as _;

/// One section of a report: a title, a header and rows of cells.
pub type Section = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// The sections as aligned plain-text tables, each under its title.
pub fn text(sections: Vec<Section>) -> String {
    let mut out = String::new();
    for (name, header, rows) in sections {
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("  {}\n", padded.join("  ").trim_end())
        };
        let _ = write!(out, "\n{name}\n");
        out.push_str(&line(header.iter().map(|h| (*h).to_owned()).collect()));
        for row in rows {
            out.push_str(&line(row));
        }
    }
    out
}

/// The sections as Markdown tables, each under a second-level heading.
pub fn markdown(sections: Vec<Section>) -> String {
    let mut out = String::new();
    for (name, header, rows) in sections {
        let _ = write!(
            out,
            "\n## {name}\n\n| {} |\n|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        );
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
    }
    out
}

/// `12.34%`, or `-` for nothing.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".into(), |v| format!("{:.2}%", v * 100.0))
}

/// `123 ms`, or `-` for nothing.
pub fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.0} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_under_their_header() {
        let section: Section = (
            "Routes",
            vec!["route", "requests"],
            vec![vec!["chat-with-a-long-name".into(), "7".into()]],
        );
        let text = text(vec![section.clone()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "Routes");
        assert_eq!(lines[2].find("requests"), lines[3].find('7'));
        assert!(markdown(vec![section]).contains("| route | requests |\n|---|---|\n"));
    }
}
