//! Server-rendered pages in the site's one look: home, announcements and
//! their feed, error pages, and the static files they use.

use crate::announcements::{self, Post};
use almanac_service::config::Site;
use almanac_service::page::{atom_response, escape_attr, link, not_found_page, person, render};
use almanac_service::public_url::PublicUrl;
use almanac_service::session::Viewer;
use almanac_service::AppState;
use askama::Template;
use atom_syndication::{Content, Entry, Feed, Text};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    posts: Vec<Post>,
}

#[derive(Template)]
#[template(path = "blog_index.html")]
struct BlogIndex<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    posts: Vec<Post>,
}

#[derive(Template)]
#[template(path = "blog_post.html")]
struct BlogPost<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    post: Post,
}

#[derive(Template)]
#[template(path = "page.html")]
struct ContentPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    title: String,
    html: String,
}

pub fn home(state: &AppState, viewer: &Viewer) -> Response {
    let mut posts = announcements::load(&state.config.content_dir);
    posts.truncate(3);
    render(
        StatusCode::OK,
        &HomePage {
            site: &state.config.site,
            section: "home",
            viewer,
            posts,
        },
    )
}

pub async fn blog(State(state): State<AppState>, viewer: Viewer) -> Response {
    let posts = announcements::load(&state.config.content_dir);
    render(
        StatusCode::OK,
        &BlogIndex {
            site: &state.config.site,
            section: "blog",
            viewer: &viewer,
            posts,
        },
    )
}

pub async fn blog_post(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Response {
    match announcements::find(&state.config.content_dir, &slug) {
        Some(post) => render(
            StatusCode::OK,
            &BlogPost {
                site: &state.config.site,
                section: "blog",
                viewer: &viewer,
                post,
            },
        ),
        None => not_found_page(&state.config.site, &viewer),
    }
}

/// `/{page}`: a page of `CONTENT_DIR/pages/{page}.md` (About, Terms,
/// Privacy, Help, FAQ, Supported clients ...), with the reader's addresses
/// filled in.
pub async fn content_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(page): Path<String>,
) -> Response {
    show_content(&state, &viewer, &page)
}

/// `/clients/{client}`: how to set up one client.
pub async fn client_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(client): Path<String>,
) -> Response {
    show_content(&state, &viewer, &format!("clients-{client}"))
}

fn show_content(state: &AppState, viewer: &Viewer, name: &str) -> Response {
    let site = &state.config.site;
    let safe = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let text = safe
        .then(|| {
            std::fs::read_to_string(
                state
                    .config
                    .content_dir
                    .join("pages")
                    .join(format!("{name}.md")),
            )
            .ok()
        })
        .flatten();
    let Some(text) = text else {
        return not_found_page(site, viewer);
    };
    let (front, body) = announcements::split_front_matter(&text);
    let title = front
        .lines()
        .find_map(|l| l.strip_prefix("title:"))
        .map_or_else(|| name.to_owned(), |t| t.trim().to_owned());
    let server = viewer.base_url.as_str();
    // A logged-in reader sees their own user name and calendar address.
    let user = match viewer.user.as_ref() {
        Some(user) => user.name.as_str(),
        None => "your user name",
    };
    let ics_user = match viewer.user.as_ref() {
        Some(user) => {
            percent_encoding::utf8_percent_encode(&user.name, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        }
        None => "YOUR-USER-NAME".to_owned(),
    };
    let filled = body
        .replace("{{name}}", &site.name)
        .replace("{{server}}", server)
        .replace("{{caldav}}", &format!("{server}/dav/"))
        .replace("{{ics}}", &format!("{server}/ics/{ics_user}/calendar.ics"))
        .replace("{{user}}", user)
        .replace("{{support}}", &site.support_email);
    let section = if name == "help" || name.starts_with("clients") || name == "faq" {
        "help"
    } else {
        ""
    };
    render(
        StatusCode::OK,
        &ContentPage {
            site,
            section,
            viewer,
            title,
            html: announcements::markdown(&filled),
        },
    )
}

pub async fn blog_feed(State(state): State<AppState>, base: PublicUrl) -> Response {
    let site = &state.config.site;
    let base = base.as_str();
    let posts = announcements::load(&state.config.content_dir);
    let entries: Vec<Entry> = posts
        .iter()
        .map(|post| {
            let url = format!("{base}/blog/{}", post.slug);
            let mut entry = Entry::default();
            entry.set_id(url.clone());
            entry.set_title(Text::plain(post.title.clone()));
            entry.set_updated(day_start(post.date));
            entry.set_published(Some(day_start(post.date)));
            entry.set_links(vec![link(&url, "alternate")]);
            entry.set_authors(vec![person(if post.author.is_empty() {
                &site.name
            } else {
                &post.author
            })]);
            if let Some(summary) = &post.summary {
                entry.set_summary(Some(Text::plain(summary.clone())));
            }
            let mut content = Content::default();
            content.set_content_type(Some("html".to_owned()));
            content.set_value(Some(post.html.clone()));
            entry.set_content(Some(content));
            entry
        })
        .collect();
    let mut feed = Feed::default();
    feed.set_id(format!("{base}/blog"));
    feed.set_title(Text::plain(format!("{} announcements", site.name)));
    feed.set_updated(
        posts
            .first()
            .map_or_else(|| day_start(chrono::NaiveDate::MIN), |p| day_start(p.date)),
    );
    feed.set_links(vec![
        link(&format!("{base}/blog/feed.atom"), "self"),
        link(&format!("{base}/blog"), "alternate"),
    ]);
    feed.set_authors(vec![person(&site.name)]);
    feed.set_entries(entries);
    atom_response(&feed)
}

fn day_start(date: chrono::NaiveDate) -> atom_syndication::FixedDateTime {
    date.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .fixed_offset()
}

/// Crawlers may read the site, not the calendars, the API or the dashboard.
pub async fn robots(base: PublicUrl) -> Response {
    let base = base.as_str();
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: /dav/\nDisallow: /ics/\nDisallow: /api/\nDisallow: /dashboard\nDisallow: /metrics\nDisallow: /account\nDisallow: /admin\nDisallow: /verify/\nDisallow: /reset/\nDisallow: /calendar\nDisallow: /s/\n\nSitemap: {base}/sitemap.xml\n"
        ),
    )
        .into_response()
}

/// The public pages, with the announcements, for search engines.
pub async fn sitemap(State(state): State<AppState>, base: PublicUrl) -> Response {
    let base = base.as_str();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut url = |path: &str, modified: Option<chrono::NaiveDate>| {
        let _ = write!(
            xml,
            "<url><loc>{}{}</loc>",
            escape_attr(base),
            escape_attr(path)
        );
        if let Some(date) = modified {
            let _ = write!(xml, "<lastmod>{date}</lastmod>");
        }
        xml.push_str("</url>\n");
    };
    let posts = announcements::load(&state.config.content_dir);
    url("/", posts.first().map(|p| p.date));
    url("/blog", posts.first().map(|p| p.date));
    for post in &posts {
        url(&format!("/blog/{}", post.slug), Some(post.date));
    }
    url("/status", None);
    for page in ["/signup", "/login", "/contact"] {
        url(page, None);
    }
    let mut pages: Vec<String> = std::fs::read_dir(state.config.content_dir.join("pages"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .into_string()
                        .ok()?
                        .strip_suffix(".md")
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    pages.sort_unstable();
    for page in pages {
        let path = match page.strip_prefix("clients-") {
            Some(client) => format!("/clients/{client}"),
            None => format!("/{page}"),
        };
        url(&path, None);
    }
    xml.push_str("</urlset>\n");
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}
