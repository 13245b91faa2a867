//! Outgoing mail: over SMTP (lettre) when configured; otherwise each mail
//! is written to `DATA_DIR/outbox/` as an .eml file and its link is logged,
//! so a new installation works before anyone sets up mail.

use crate::config::MailSettings;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// A mail's text as an HTML page: its paragraphs and lines, web addresses
/// as links, everything escaped by the template.
#[derive(askama::Template)]
#[template(path = "mail/itip.html")]
struct MailHtml<'a> {
    subject: &'a str,
    paragraphs: Vec<Vec<Vec<Piece<'a>>>>,
}

struct Piece<'a> {
    text: &'a str,
    link: bool,
}

/// A line's web addresses as links, the rest as text.
fn pieces(line: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("https://").or_else(|| rest.find("http://")) {
        let end = rest[at..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |e| at + e);
        out.push(Piece {
            text: &rest[..at],
            link: false,
        });
        out.push(Piece {
            text: &rest[at..end],
            link: true,
        });
        rest = &rest[end..];
    }
    out.push(Piece {
        text: rest,
        link: false,
    });
    out
}

fn html_of(subject: &str, text: &str) -> String {
    let page = MailHtml {
        subject,
        paragraphs: text
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.lines().map(pieces).collect())
            .collect(),
    };
    askama::Template::render(&page).unwrap_or_default()
}

pub struct Mailer {
    from: Mailbox,
    route: Route,
}

enum Route {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// One mail: plain text, and the link it carries (for the log).
pub struct Mail<'a> {
    pub to: &'a str,
    /// Where an answer goes, when not to the sender (noreply): support
    /// mails name the support address.
    pub reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub body: String,
    pub link: Option<&'a str>,
}

impl Mailer {
    pub fn new(settings: &MailSettings, data_dir: &std::path::Path) -> Result<Self, String> {
        let from = settings
            .from
            .parse()
            .map_err(|e| format!("mail.from {:?} is not an address: {e}", settings.from))?;
        let route = if settings.smtp_url.is_empty() {
            Route::Outbox(data_dir.join("outbox"))
        } else {
            Route::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
                    .map_err(|e| format!("mail.smtp_url is not usable: {e}"))?
                    .build(),
            )
        };
        Ok(Self { from, route })
    }

    /// Sends a mail; the error is a sentence for the log.
    pub async fn send(&self, mail: &Mail<'_>) -> Result<(), String> {
        self.send_with_calendar(mail, None).await
    }

    /// Sends a mail that carries an iTIP message (RFC 6047): the text, the
    /// same as HTML (its links clickable), and the `text/calendar` part with
    /// its METHOD (`calendar`: method, iCalendar text), as
    /// multipart/alternative.
    pub async fn send_with_calendar(
        &self,
        mail: &Mail<'_>,
        calendar: Option<(&str, String)>,
    ) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("{:?} is not an address: {e}", mail.to))?;
        // lettre picks the transfer encoding: 7bit while lines are short
        // (the texts keep them short), quoted-printable otherwise.
        let mut builder = Message::builder().from(self.from.clone()).to(to);
        if let Some(reply_to) = mail.reply_to {
            let reply_to: Mailbox = reply_to
                .parse()
                .map_err(|e| format!("{reply_to:?} is not an address: {e}"))?;
            builder = builder.reply_to(reply_to);
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone());
        let builder = builder.subject(mail.subject);
        let message = match calendar {
            None => builder.singlepart(text),
            Some((method, ics)) => {
                let kind =
                    ContentType::parse(&format!("text/calendar; method={method}; charset=utf-8"))
                        .map_err(|e| format!("the mail could not be built: {e}"))?;
                let html = SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html_of(mail.subject, &mail.body));
                builder.multipart(
                    MultiPart::alternative()
                        .singlepart(text)
                        .singlepart(html)
                        .singlepart(SinglePart::builder().header(kind).body(ics)),
                )
            }
        }
        .map_err(|e| format!("the mail could not be built: {e}"))?;
        match &self.route {
            Route::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .map_err(|e| format!("SMTP delivery to {} failed: {e}", mail.to))?;
                tracing::info!(to = mail.to, subject = mail.subject, "mail sent");
            }
            Route::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    &crate::token::new_token()[..8]
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                tracing::info!(
                    to = mail.to,
                    subject = mail.subject,
                    link = mail.link.unwrap_or("-"),
                    file = %path.display(),
                    "mail written to the outbox (no SMTP configured)"
                );
            }
        }
        Ok(())
    }
}
