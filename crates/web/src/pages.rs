//! Server-rendered pages in the site's one look: home, announcements and
//! their feed, error pages, and the static files they use.

use crate::announcements::{self, Post};
use crate::config::Site;
use crate::session::Viewer;
use crate::AppState;
use almanac_store::StoreError;
use askama::Template;
use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    heading: &'a str,
    message: &'a str,
}

/// Renders a template, or a plain 500 if the template itself fails.
pub(crate) fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.\n",
            )
                .into_response()
        }
    }
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
    let server = site.base_url.trim_end_matches('/');
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

pub async fn blog_feed(State(state): State<AppState>) -> Response {
    let site = &state.config.site;
    let base = site.base_url.trim_end_matches('/');
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

pub(crate) fn atom_response(feed: &Feed) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response()
}

pub(crate) fn link(href: &str, rel: &str) -> Link {
    let mut link = Link::default();
    link.set_href(href);
    link.set_rel(rel);
    link
}

pub(crate) fn person(name: &str) -> Person {
    let mut person = Person::default();
    person.set_name(name);
    person
}

fn day_start(date: chrono::NaiveDate) -> atom_syndication::FixedDateTime {
    date.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .fixed_offset()
}

/// Escapes text for an HTML attribute value.
pub(crate) fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn not_found_page(site: &Site, viewer: &Viewer) -> Response {
    error_page(
        site,
        viewer,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address. It may have moved, or the link may be mistyped.",
    )
}

/// An error in the site's look, with its status code.
pub(crate) fn error_page(
    site: &Site,
    viewer: &Viewer,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    render(
        status,
        &ErrorPage {
            site,
            section: "",
            viewer,
            heading,
            message,
        },
    )
}

/// The page for a request that failed inside the server: in the site's look,
/// with no detail of the failure (that goes to the server log).
pub(crate) fn internal_error_page(site: &Site) -> Response {
    error_page(
        site,
        &Viewer::default(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete this request. Nothing you did caused it; please try again in a moment. If it keeps happening, the status page may say more.",
    )
}

/// A page that needed the database when it failed: a polite 503 (the
/// database is the usual cause), the detail in the server log.
pub(crate) fn store_error_page(site: &Site, viewer: &Viewer, error: &StoreError) -> Response {
    tracing::error!(%error, "a page could not reach the database");
    if error.is_storage_full() {
        return error_page(
            site,
            viewer,
            StatusCode::INSUFFICIENT_STORAGE,
            "We are out of storage space",
            "Nothing was changed: the server has no room to save it right now. Your data is safe; please try again later.",
        );
    }
    let mut response = error_page(
        site,
        viewer,
        StatusCode::SERVICE_UNAVAILABLE,
        "We cannot reach our database",
        "Your data is safe, but this page cannot be shown right now. Please try again in a few minutes; the status page says when the service is back.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("120"));
    response
}

#[derive(Template)]
#[template(path = "notice.html")]
struct Notice<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    heading: &'a str,
    paragraphs: &'a [&'a str],
    link_href: &'a str,
    link_text: &'a str,
}

/// A short page that tells what happened ("Check your mail"), with an
/// optional button onwards (href, text).
pub(crate) fn notice(
    site: &Site,
    viewer: &Viewer,
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> Response {
    let (link_href, link_text) = link.unwrap_or_default();
    render(
        status,
        &Notice {
            site,
            section: "",
            viewer,
            heading,
            paragraphs,
            link_href,
            link_text,
        },
    )
}

pub async fn not_found(State(state): State<AppState>, viewer: Viewer) -> Response {
    not_found_page(&state.config.site, &viewer)
}

pub async fn stylesheet() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../static/site.css"),
    )
}

pub async fn favicon(State(state): State<AppState>) -> Response {
    brand_file(
        state.config.site.favicon_file.as_deref(),
        "image/x-icon",
        include_bytes!("../static/favicon.ico"),
    )
}

/// The operator's logo or favicon when configured, else the built-in one.
fn brand_file(
    path: Option<&std::path::Path>,
    content_type: &'static str,
    built_in: &'static [u8],
) -> Response {
    let own = path.and_then(|p| {
        std::fs::read(p)
            .map_err(
                |e| tracing::error!(file = %p.display(), error = %e, "cannot read a branding file"),
            )
            .ok()
    });
    let body = own.map_or(axum::body::Body::from(built_in), axum::body::Body::from);
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Crawlers may read the site, not the calendars, the API or the dashboard.
pub async fn robots(State(state): State<AppState>) -> Response {
    let base = state.config.site.base_url.trim_end_matches('/');
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: /dav/\nDisallow: /ics/\nDisallow: /api/\nDisallow: /dashboard\nDisallow: /metrics\nDisallow: /account\nDisallow: /admin\nDisallow: /verify/\nDisallow: /reset/\nDisallow: /calendar\nDisallow: /s/\n\nSitemap: {base}/sitemap.xml\n"
        ),
    )
        .into_response()
}

/// The public pages, with the announcements, for search engines.
pub async fn sitemap(State(state): State<AppState>) -> Response {
    let base = state.config.site.base_url.trim_end_matches('/');
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

pub async fn calendar_script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../static/calendar.js"),
    )
}

pub async fn logo(State(state): State<AppState>) -> Response {
    brand_file(
        state.config.site.logo_file.as_deref(),
        "image/svg+xml",
        include_bytes!("../static/logo.svg"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
