//! Announcements: one Markdown file per post in `CONTENT_DIR/announcements/`,
//! named `YYYY-MM-DD-slug.md` so the names sort by date, with a small front
//! matter (`title:`, `author:`, optional `summary:`). Files are read on each
//! request, so a new post appears without a restart.

use chrono::NaiveDate;
use pulldown_cmark::{html, Event, Options, Parser};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub slug: String,
    pub date: NaiveDate,
    pub title: String,
    pub author: String,
    pub summary: Option<String>,
    /// The body rendered to HTML (raw HTML in the source is shown as text).
    pub html: String,
}

/// Every readable post, newest first. Files that do not follow the naming
/// rule or lack a title are skipped with a warning in the log.
pub fn load(content_dir: &Path) -> Vec<Post> {
    let dir = content_dir.join("announcements");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("md"))
        })
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    names
        .into_iter()
        .filter_map(|name| {
            let text = std::fs::read_to_string(dir.join(&name)).ok()?;
            let post = parse(&name, &text);
            if post.is_none() {
                tracing::warn!(file = %name, "skipping an announcement: name must be YYYY-MM-DD-slug.md and it needs a title");
            }
            post
        })
        .collect()
}

pub fn find(content_dir: &Path, slug: &str) -> Option<Post> {
    load(content_dir).into_iter().find(|p| p.slug == slug)
}

fn parse(file_name: &str, text: &str) -> Option<Post> {
    let stem = file_name.strip_suffix(".md")?;
    let date = NaiveDate::parse_from_str(stem.get(..10)?, "%Y-%m-%d").ok()?;
    let slug = stem.get(11..)?.to_owned();
    if slug.is_empty() || !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    let (front, body) = split_front_matter(text);
    let field = |key: &str| {
        front.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    Some(Post {
        slug,
        date,
        title: field("title").filter(|t| !t.is_empty())?,
        author: field("author").unwrap_or_default(),
        summary: field("summary").filter(|s| !s.is_empty()),
        html: markdown(body),
    })
}

pub(crate) fn split_front_matter(text: &str) -> (&str, &str) {
    let Some(rest) = text.strip_prefix("---\n") else {
        return ("", text);
    };
    match rest.find("\n---\n") {
        Some(end) => (&rest[..end], &rest[end + 5..]),
        None => ("", text),
    }
}

pub(crate) fn markdown(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_front_matter_and_body() {
        let post = parse(
            "2026-11-26-hello-world.md",
            "---\ntitle: Hello: world\nauthor: Ops\n---\nSome *text* <script>x</script>\n",
        )
        .unwrap();
        assert_eq!(post.slug, "hello-world");
        assert_eq!(post.date, NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        assert_eq!(post.title, "Hello: world");
        assert_eq!(post.summary, None);
        assert!(post.html.contains("<em>text</em>"));
        assert!(
            post.html.contains("&lt;script&gt;"),
            "raw HTML is shown, not run: {}",
            post.html
        );
    }

    #[test]
    fn rejects_bad_names_and_missing_titles() {
        assert!(parse("hello.md", "---\ntitle: x\n---\n").is_none());
        assert!(parse("2026-13-01-x.md", "---\ntitle: x\n---\n").is_none());
        assert!(parse("2026-11-26-x.md", "no front matter").is_none());
        assert!(parse("2026-11-26-a b.md", "---\ntitle: x\n---\n").is_none());
    }
}
