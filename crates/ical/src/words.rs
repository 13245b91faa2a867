//! The words a calendar object is found by in a search: the text of its
//! SUMMARY, LOCATION, DESCRIPTION and CATEGORIES, unescaped.

use crate::model::Component;
use crate::value::unescape_text;

/// Searchable text is cut at this many bytes (a long description still
/// finds its object by its first pages).
const MAX_SEARCH_TEXT: usize = 32 * 1024;

/// The searchable text of every component of `calendar`, one value a line.
pub fn search_text(calendar: &Component) -> String {
    let mut text = String::new();
    for component in &calendar.components {
        for property in &component.properties {
            let wanted = ["SUMMARY", "LOCATION", "DESCRIPTION", "CATEGORIES"]
                .iter()
                .any(|name| property.name.eq_ignore_ascii_case(name));
            if wanted {
                text.push_str(&unescape_text(&property.value));
                text.push('\n');
            }
        }
    }
    if text.len() > MAX_SEARCH_TEXT {
        let mut end = MAX_SEARCH_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse, ParseLimits};

    #[test]
    fn the_words_of_every_component_unescaped() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nSUMMARY:Lunch\\, with Ana\r\nLOCATION:Café Müller\r\nX-NOTE:not this\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let calendar = parse(text, &ParseLimits::default()).unwrap();
        assert_eq!(search_text(&calendar), "Lunch, with Ana\nCafé Müller\n");
    }
}
