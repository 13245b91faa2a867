//! `almanac mail-intake`: one mail on standard input, as a mail server's
//! pipe delivers it (Postfix `pipe`, Exim `pipe`, a procmail rule), for the
//! address invitations name as Reply-To-able organizer. A calendar REPLY in
//! it (what Gmail, Outlook and Apple Mail send when a guest answers) goes
//! into the organizer's copy. Exit codes follow sysexits so the mail server
//! knows what to do: 0 applied, 65 (EX_DATAERR) nothing to apply, 75
//! (EX_TEMPFAIL) try again later.

use almanac_ical::ParseLimits;
use almanac_service::AppState;
use anyhow::Result;
use mail_parser::MimeHeaders as _;
use std::io::Read as _;

/// The largest mail read (a reply is a few kilobytes).
const MAX_MAIL: u64 = 4 * 1024 * 1024;

pub async fn run(state: &AppState) -> Result<i32> {
    let mut raw = Vec::new();
    std::io::stdin().take(MAX_MAIL).read_to_end(&mut raw)?;
    let Some(message) = mail_parser::MessageParser::default().parse(&raw) else {
        eprintln!("mail-intake: not a mail message");
        return Ok(65);
    };
    let mut applied = Vec::new();
    let mut found_calendar = false;
    for part in &message.parts {
        let is_calendar =
            part.is_content_type("text", "calendar") || part.is_content_type("application", "ics");
        if !is_calendar {
            continue;
        }
        found_calendar = true;
        let text = String::from_utf8_lossy(part.contents());
        let Ok(reply) = almanac_ical::parse(&text, &ParseLimits::default()) else {
            continue;
        };
        match almanac_service::invitations::apply_reply(state, &reply).await {
            Ok(done) => applied.extend(done),
            Err(e) => {
                eprintln!("mail-intake: the database did not answer ({e}); try again later");
                return Ok(75);
            }
        }
    }
    if applied.is_empty() {
        eprintln!(
            "mail-intake: {}",
            if found_calendar {
                "the calendar reply matches no invitation sent from here"
            } else {
                "no calendar part (text/calendar) in the mail"
            }
        );
        return Ok(65);
    }
    for line in &applied {
        println!("applied: {line}");
    }
    Ok(0)
}
