//! The one way adpool writes a text cell into a CSV file a person may open in a spreadsheet.

use std::borrow::Cow;

/// `text` as a CSV field that a spreadsheet shows as text: a value starting with `=`, `+`,
/// `-`, `@`, TAB or CR (which Excel, LibreOffice and Google Sheets would run as a formula) gets
/// a leading `'`, and a field with a comma, quote or line break is quoted. Numbers the program
/// writes itself are not text cells and do not pass through here.
pub fn csv_text(text: &str) -> Cow<'_, str> {
    let neutral = csv_neutral(text);
    if neutral.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", neutral.replace('"', "\"\"")))
    } else {
        neutral
    }
}

/// `text` with a leading `'` when a spreadsheet would read it as a formula, for writers that
/// quote fields themselves (the `csv` crate).
pub fn csv_neutral(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_separators_are_quoted() {
        assert_eq!(
            csv_text("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_text("+82-10"), "'+82-10");
        assert_eq!(csv_text("-5"), "'-5");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("\tcmd"), "'\tcmd");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("봄 세일"), "봄 세일");
        assert_eq!(csv_neutral("=1+1"), "'=1+1");
        assert_eq!(csv_neutral("m-1001"), "m-1001");
    }
}
