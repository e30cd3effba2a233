//! CSV downloads. Every cell may hold what a device on the wire chose (a
//! hostname, a product string), so a cell that a spreadsheet would read as a
//! formula is neutralised with a leading single quote.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A cell as it goes into the file: neutralised, then quoted when needed.
pub fn cell(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// A CSV table built row by row.
pub struct Table {
    text: String,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        let mut t = Table {
            // A byte order mark, so spreadsheet programs read the UTF-8
            // (Japanese names) as UTF-8.
            text: "\u{feff}".into(),
        };
        t.row(header);
        t
    }

    pub fn row(&mut self, cells: &[&str]) {
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        self.text.push_str(&line.join(","));
        self.text.push_str("\r\n");
    }

    pub fn into_download(self, file_name: &str) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file_name}\""),
                ),
            ],
            self.text,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_are_neutralised_and_quoting_is_kept() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tcmd"), "'\tcmd");
        assert_eq!(cell("plc-01"), "plc-01");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(cell("制御盤"), "制御盤");
    }
}
