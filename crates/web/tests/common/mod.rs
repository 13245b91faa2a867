//! A real Almanac server on a loopback port, with a SQLite file in a
//! temporary directory, and a small HTTP client for DAV methods.

#![allow(dead_code)]

use almanac_service::{auth::hash_password, AppState, Config};
use almanac_store::{NewCollection, Store};
use almanac_web::router;
use reqwest::{Method, StatusCode};
use std::net::SocketAddr;

pub const PASSWORD: &str = "correct horse battery";

pub struct Server {
    pub base: String,
    pub store: Store,
    pub dir: tempfile::TempDir,
    client: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(Config::default()).await
    }

    pub async fn start_with(mut config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        config.data_dir = dir.path().to_owned();
        let store = Store::open(&config.database_url()).await.unwrap();
        store.migrate().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = router(AppState::new(store.clone(), config).unwrap(), None);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            base,
            store,
            dir,
            client: reqwest::Client::new(),
        }
    }

    /// Creates a user with a calendar named "calendar", like `almanac user add`.
    pub async fn user(&self, name: &str) {
        self.user_with(name, false).await;
    }

    pub async fn admin(&self, name: &str) {
        self.user_with(name, true).await;
    }

    async fn user_with(&self, name: &str, is_admin: bool) {
        let user = self
            .store
            .create_user(
                name,
                &format!("{name}@example.org"),
                &hash_password(PASSWORD),
                is_admin,
            )
            .await
            .unwrap();
        self.store
            .create_collection(
                user.id,
                &NewCollection::calendar("calendar", Some("Calendar")),
            )
            .await
            .unwrap();
    }

    /// Sends a request as `user` (None: anonymous).
    pub async fn send(
        &self,
        user: Option<&str>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .body(body.into());
        if let Some(user) = user {
            request = request.basic_auth(user, Some(PASSWORD));
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn put_ics(&self, user: &str, path: &str, ics: &str) -> Reply {
        self.send(
            Some(user),
            "PUT",
            path,
            &[("Content-Type", "text/calendar; charset=utf-8")],
            ics,
        )
        .await
    }

    pub async fn propfind(&self, user: &str, path: &str, depth: &str, props: &str) -> Reply {
        let body = format!(
            r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><D:prop>{props}</D:prop></D:propfind>"#
        );
        self.send(Some(user), "PROPFIND", path, &[("Depth", depth)], body)
            .await
    }

    pub async fn report(&self, user: &str, path: &str, body: &str) -> Reply {
        self.send(Some(user), "REPORT", path, &[("Depth", "1")], body)
            .await
    }
}

pub fn event(uid: &str, start: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{summary}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The text inside the first `<tag>...</tag>` (tag with its prefix).
pub fn element_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// All hrefs of the `D:response` elements in a multistatus body.
pub fn response_hrefs(xml: &str) -> Vec<String> {
    xml.split("<D:response>")
        .skip(1)
        .filter_map(|r| element_text(r, "D:href").map(str::to_owned))
        .collect()
}
