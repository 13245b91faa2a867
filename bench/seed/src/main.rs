//! `almanac-bench-seed`: fills an Almanac data directory with the benchmark's
//! data set, and writes the same calendars into a Radicale storage folder.
//!
//! Users, calendars and the schema go through the `Store` API. The items are
//! inserted with plain SQL in large transactions (with `synchronous=OFF` on
//! this connection only): one `put_item` transaction per event with
//! `synchronous=FULL` would take far too long for a million events. Every
//! column is filled exactly as `Store::put_item` fills it: the strong ETag
//! (SHA-256 of the bytes, first 12 bytes in hex, quoted), the UID, component
//! and UTC span from `almanac_ical::parse_object`, one revision per event, a
//! `changes` row per event and the collection's `sync_revision` at the last
//! revision, so the sync tokens are those the server would have handed out.
//!
//! The data are deterministic (a fixed PRNG seeded by the user name): the
//! Radicale copy of a calendar is byte for byte the Almanac one.

// A one-off load tool: its two long functions read top to bottom as scripts.
#![allow(clippy::too_many_lines)]

use almanac_ical::{parse_object, EvalContext, ParseLimits};
use almanac_store::{NewCollection, Store};
use anyhow::{bail, ensure, Context, Result};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use clap::Parser;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bump when the generated data change, so `bench/run.sh` re-seeds its cache.
const SEED_VERSION: u32 = 2;
const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";
const SYNC_TOKEN_PREFIX: &str = "urn:almanac:sync:";
/// Rows per multi-row INSERT (13 parameters a row, far below SQLite's limit).
const ROWS_PER_INSERT: usize = 64;
/// Events per transaction.
const EVENTS_PER_TRANSACTION: usize = 50_000;

#[derive(Parser)]
#[command(about = "Seed the Almanac load benchmark's data set")]
struct Args {
    /// Almanac data directory to create (must not hold a database yet).
    #[arg(long)]
    data_dir: PathBuf,
    /// Radicale storage folder (`[storage] filesystem_folder`); its
    /// collection-root/ receives the calendars of --radicale-users and `big`.
    #[arg(long)]
    radicale_dir: Option<PathBuf>,
    /// Number of ordinary users (user0001, user0002, ...).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Events in each ordinary user's calendar.
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Events in the calendar of the user `big`.
    #[arg(long, default_value_t = 10_000)]
    big_events: usize,
    /// The password of every user.
    #[arg(long, default_value = "bench-password")]
    password: String,
    /// How many of the ordinary users' calendars also go to Radicale.
    #[arg(long, default_value_t = 1)]
    radicale_users: usize,
    /// Print the seed version string and exit.
    #[arg(long)]
    print_version: bool,
}

/// One user's calendar to fill.
struct Calendar {
    user: String,
    collection_id: i64,
    events: usize,
    to_radicale: bool,
}

/// One item row, ready for the database.
struct Row {
    name: String,
    uid: String,
    etag: String,
    data: Vec<u8>,
    start: i64,
    end: i64,
    search_text: String,
}

struct Batch {
    collection_id: i64,
    user: String,
    rows: Vec<Row>,
}

fn version_string(args: &Args) -> String {
    format!(
        "almanac-bench-seed v{SEED_VERSION} schema={} users={} events={} big_events={} radicale_users={} password={}",
        almanac_store::LATEST_VERSION,
        args.users,
        args.events,
        args.big_events,
        args.radicale_users,
        args.password
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.print_version {
        println!("{}", version_string(&args));
        return Ok(());
    }
    ensure!(args.password.len() >= 8, "the password needs 8 characters");
    let started = Instant::now();
    std::fs::create_dir_all(&args.data_dir)?;
    let db_path = args.data_dir.join("almanac.db");
    if db_path.exists() {
        bail!(
            "{} exists already: seed into a new directory",
            db_path.display()
        );
    }

    // Schema, users and calendars through the Store API.
    let store = Store::open(&format!("sqlite://{}", db_path.display())).await?;
    store.migrate().await?;
    let hash = almanac_service::auth::hash_password(&args.password);
    let mut calendars = Vec::with_capacity(args.users + 1);
    let mut names: Vec<(String, usize, bool)> = (1..=args.users)
        .map(|i| (format!("user{i:04}"), args.events, i <= args.radicale_users))
        .collect();
    names.push(("big".to_owned(), args.big_events, true));
    for (name, events, to_radicale) in names {
        let user = store
            .create_user(&name, &format!("{name}@bench.example"), &hash, false)
            .await?;
        let collection = store
            .create_collection(
                user.id,
                &NewCollection::calendar("calendar", Some("Calendar")),
            )
            .await?;
        calendars.push(Calendar {
            user: name,
            collection_id: collection.id,
            events,
            to_radicale,
        });
    }
    store.close().await;
    println!(
        "created {} users and their calendars in {:.1} s",
        calendars.len(),
        started.elapsed().as_secs_f64()
    );

    // Events: generated and parsed on a thread, inserted here.
    let radicale_root = args
        .radicale_dir
        .as_ref()
        .map(|d| d.join("collection-root"));
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(4);
    let plan: Vec<(String, i64, usize, bool)> = calendars
        .iter()
        .map(|c| (c.user.clone(), c.collection_id, c.events, c.to_radicale))
        .collect();
    let producer = std::thread::spawn(move || -> Result<Vec<(String, i64, usize, String)>> {
        let mut manifest = Vec::new();
        for (user, collection_id, events, to_radicale) in plan {
            let rows = generate_calendar(&user, events)?;
            if to_radicale {
                if let Some(root) = &radicale_root {
                    write_radicale_calendar(&root.join(&user).join("calendar"), &rows)?;
                }
            }
            manifest.push((
                user.clone(),
                collection_id,
                rows.len(),
                rows[0].name.clone(),
            ));
            if sender
                .send(Batch {
                    collection_id,
                    user,
                    rows,
                })
                .is_err()
            {
                bail!("the inserting side stopped");
            }
        }
        Ok(manifest)
    });

    let options = SqliteConnectOptions::new()
        .filename(&db_path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let now = chrono::Utc::now().timestamp();
    let mut in_transaction = 0usize;
    let mut total = 0usize;
    let mut done_calendars = 0usize;
    let mut tx_open = false;
    while let Ok(batch) = receiver.recv() {
        if !tx_open {
            sqlx::query("BEGIN").execute(&mut conn).await?;
            tx_open = true;
        }
        insert_batch(&mut conn, &batch, now).await?;
        in_transaction += batch.rows.len();
        total += batch.rows.len();
        done_calendars += 1;
        if in_transaction >= EVENTS_PER_TRANSACTION {
            sqlx::query("COMMIT").execute(&mut conn).await?;
            tx_open = false;
            in_transaction = 0;
        }
        if done_calendars.is_multiple_of(100) || batch.user == "big" {
            println!(
                "  {done_calendars}/{} calendars, {total} events, {:.1} s",
                calendars.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if tx_open {
        sqlx::query("COMMIT").execute(&mut conn).await?;
    }
    let manifest = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the generating thread panicked"))??;
    ensure!(
        manifest.len() == calendars.len(),
        "some calendars were not generated"
    );
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;

    // The manifest the wrk scripts read: user, collection id, sync token, one item.
    let mut out = String::new();
    for (user, collection_id, events, first) in &manifest {
        let revision = i64::try_from(*events)?;
        writeln!(
            out,
            "{user}\t{collection_id}\t{SYNC_TOKEN_PREFIX}{collection_id}:{revision}\t{first}"
        )?;
    }
    std::fs::write(args.data_dir.join("bench-manifest.tsv"), out)?;
    if let Some(dir) = &args.radicale_dir {
        std::fs::write(
            dir.join("htpasswd"),
            calendars
                .iter()
                .filter(|c| c.to_radicale)
                .fold(String::new(), |mut out, c| {
                    let _ = writeln!(out, "{}:{}", c.user, args.password);
                    out
                }),
        )?;
    }
    std::fs::write(
        args.data_dir.join("SEED_VERSION"),
        version_string(&args) + "\n",
    )?;
    println!(
        "seeded {} users, {total} events in {:.1} s",
        calendars.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn insert_batch(conn: &mut SqliteConnection, batch: &Batch, now: i64) -> Result<()> {
    for (chunk_index, chunk) in batch.rows.chunks(ROWS_PER_INSERT).enumerate() {
        let first_revision = i64::try_from(chunk_index * ROWS_PER_INSERT)? + 1;
        let mut sql = String::from(
            "INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, \
             component, start_utc, end_utc, revision, modified_at, search_text) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let p = i * 13;
            write!(
                sql,
                "(?{},?{},?{},?{},?{},?{},?{},?{},?{},?{},?{},?{},?{})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 8,
                p + 9,
                p + 10,
                p + 11,
                p + 12,
                p + 13
            )?;
        }
        let mut query = sqlx::query(&sql);
        for (i, row) in chunk.iter().enumerate() {
            query = query
                .bind(batch.collection_id)
                .bind(&row.name)
                .bind(CONTENT_TYPE)
                .bind(&row.etag)
                .bind(&row.data)
                .bind(i64::try_from(row.data.len())?)
                .bind(&row.uid)
                .bind("VEVENT")
                .bind(row.start)
                .bind(row.end)
                .bind(first_revision + i64::try_from(i)?)
                .bind(now)
                .bind(&row.search_text);
        }
        query.execute(&mut *conn).await?;

        let mut sql =
            String::from("INSERT INTO changes (collection_id, name, revision, deleted) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let p = i * 3;
            write!(sql, "(?{},?{},?{},0)", p + 1, p + 2, p + 3)?;
        }
        let mut query = sqlx::query(&sql);
        for (i, row) in chunk.iter().enumerate() {
            query = query
                .bind(batch.collection_id)
                .bind(&row.name)
                .bind(first_revision + i64::try_from(i)?);
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE collections SET sync_revision = ?1, modified_at = ?2 WHERE id = ?3")
        .bind(i64::try_from(batch.rows.len())?)
        .bind(now)
        .bind(batch.collection_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn write_radicale_calendar(dir: &Path, rows: &[Row]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join(".Radicale.props"),
        serde_json::json!({"tag": "VCALENDAR", "D:displayname": "Calendar"}).to_string(),
    )?;
    for row in rows {
        let mut file = std::fs::File::create(dir.join(&row.name))?;
        file.write_all(&row.data)?;
    }
    Ok(())
}

fn generate_calendar(user: &str, events: usize) -> Result<Vec<Row>> {
    let mut rng = Rng::for_name(user);
    let ctx = EvalContext::default();
    let limits = ParseLimits::default();
    let mut rows = Vec::with_capacity(events);
    for k in 0..events {
        let (uid, text) = event_text(&mut rng, k);
        let object = parse_object(&text, &limits, &ctx).map_err(|e| {
            anyhow::anyhow!("generated event {uid} of {user} is invalid: {e}\n{text}")
        })?;
        ensure!(object.uid == uid, "parsed UID differs");
        ensure!(object.kind.as_str() == "VEVENT", "not a VEVENT");
        let data = text.into_bytes();
        rows.push(Row {
            name: format!("{uid}.ics"),
            etag: almanac_store::etag_of(&data),
            uid,
            data,
            start: object.span.start,
            end: object.span.end,
            search_text: almanac_ical::search_text(&object.calendar),
        });
    }
    Ok(rows)
}

/// splitmix64: deterministic across platforms and crate versions.
struct Rng(u64);

impl Rng {
    fn for_name(name: &str) -> Self {
        let digest = Sha256::digest(name.as_bytes());
        Self(u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.below(items.len() as u64)).expect("small")]
    }
}

const SUMMARIES: &[&str] = &[
    "Team stand-up",
    "Weekly planning",
    "1:1 with manager",
    "Design review",
    "Sprint retrospective",
    "Customer call",
    "Lunch with Sam",
    "Dentist appointment",
    "Yoga class",
    "Quarterly business review",
    "Budget meeting",
    "Interview: backend engineer",
    "Product demo",
    "Board meeting",
    "Coffee with Alex",
    "Doctor's appointment",
    "Parent-teacher conference",
    "Flight to Berlin",
    "Conference keynote",
    "Workshop: accessibility",
    "Release go/no-go",
    "Incident post-mortem",
    "Marketing sync",
    "Hiring committee",
    "Book club",
    "Football practice",
    "Piano lesson",
    "Car service",
    "Birthday party",
    "Architecture office hours",
];

const LOCATIONS: &[&str] = &[
    "Room 4.12",
    "Main conference room",
    "https://meet.example.com/abc-defg-hij",
    "Café Central; Herrengasse 14; Vienna",
    "Zoom",
    "Building B, 2nd floor",
    "Home office",
    "Hauptbahnhof, Gleis 7",
    "Community center",
    "Dr. Müller's practice",
];

const SENTENCES: &[&str] = &[
    "Agenda: review last week's action items, then open questions.",
    "Please bring the updated figures for Q3.",
    "Dial-in details are in the invitation, passcode 482913.",
    "We will go through the mock-ups and collect feedback.",
    "Remember to book a meeting room for the follow-up.",
    "Notes from the previous session are in the shared folder.",
    "Parking is available behind the building, entrance on the left.",
    "If you cannot attend, send a delegate or your written comments.",
];

const CATEGORIES: &[&str] = &["Work", "Personal", "Family", "Travel", "Health", "Meetings"];

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\n\
TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n\
TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// How an event's times are written.
#[derive(Clone, Copy, PartialEq)]
enum TimeStyle {
    Utc,
    Berlin,
    AllDay,
}

fn time_value(style: TimeStyle, at: NaiveDateTime) -> (String, String) {
    match style {
        TimeStyle::Utc => (String::new(), at.format("%Y%m%dT%H%M%SZ").to_string()),
        TimeStyle::Berlin => (
            ";TZID=Europe/Berlin".to_owned(),
            at.format("%Y%m%dT%H%M%S").to_string(),
        ),
        TimeStyle::AllDay => (";VALUE=DATE".to_owned(), at.format("%Y%m%d").to_string()),
    }
}

fn time_line(out: &mut String, name: &str, style: TimeStyle, at: NaiveDateTime) {
    let (params, value) = time_value(style, at);
    line(out, &format!("{name}{params}:{value}"));
}

/// Appends a content line, folded at 75 octets (RFC 5545 §3.1).
fn line(out: &mut String, text: &str) {
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() {
        let room = if first { 75 } else { 74 };
        let mut cut = rest.len().min(room);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n");
        rest = &rest[cut..];
        first = false;
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// One calendar object: about 10% weekly recurring events (some endless,
/// some with COUNT or UNTIL, half with EXDATEs, a quarter with an
/// overridden instance), 5% all-day events, 30% in Europe/Berlin with its
/// VTIMEZONE, the rest in UTC; start times spread over 2025-2027.
fn event_text(rng: &mut Rng, k: usize) -> (String, String) {
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.next() & 0xffff_ffff,
        rng.next() & 0xffff,
        rng.next() & 0xfff,
        0x8000 | (rng.next() & 0x3fff),
        rng.next() & 0xffff_ffff_ffff
    );
    let recurring = k % 10 == 3;
    let style = if !recurring && rng.chance(5) {
        TimeStyle::AllDay
    } else if rng.chance(30) {
        TimeStyle::Berlin
    } else {
        TimeStyle::Utc
    };
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid date")
        + Duration::days(i64::try_from(rng.below(3 * 365)).expect("small"));
    let start = day
        .and_hms_opt(
            7 + u32::try_from(rng.below(12)).expect("small"),
            15 * u32::try_from(rng.below(4)).expect("small"),
            0,
        )
        .expect("valid time");
    let minutes = [30, 45, 60, 60, 60, 90, 120][usize::try_from(rng.below(7)).expect("small")];
    let end = if style == TimeStyle::AllDay {
        start + Duration::days(1)
    } else {
        start + Duration::minutes(minutes)
    };
    let stamp = NaiveDate::from_ymd_opt(2024, 12, 1)
        .expect("valid date")
        .and_hms_opt(9, 0, 0)
        .expect("valid")
        + Duration::minutes(i64::try_from(rng.below(60 * 24 * 30)).expect("small"));
    let summary = rng.pick(SUMMARIES);

    let mut out = String::with_capacity(1500);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Almanac//bench seed//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    if style == TimeStyle::Berlin {
        out.push_str(BERLIN);
    }
    line(&mut out, "BEGIN:VEVENT");
    line(&mut out, &format!("UID:{uid}"));
    line(
        &mut out,
        &format!("DTSTAMP:{}", stamp.format("%Y%m%dT%H%M%SZ")),
    );
    line(
        &mut out,
        &format!("CREATED:{}", stamp.format("%Y%m%dT%H%M%SZ")),
    );
    line(
        &mut out,
        &format!("LAST-MODIFIED:{}", stamp.format("%Y%m%dT%H%M%SZ")),
    );
    time_line(&mut out, "DTSTART", style, start);
    time_line(&mut out, "DTEND", style, end);
    line(&mut out, &format!("SUMMARY:{}", escape(summary)));
    if rng.chance(40) {
        line(
            &mut out,
            &format!("LOCATION:{}", escape(rng.pick(LOCATIONS))),
        );
    }
    if rng.chance(30) {
        let n = 1 + rng.below(3);
        let text: Vec<&str> = (0..n).map(|_| rng.pick(SENTENCES)).collect();
        line(
            &mut out,
            &format!("DESCRIPTION:{}", escape(&text.join("\n"))),
        );
    }
    if rng.chance(20) {
        line(&mut out, &format!("CATEGORIES:{}", rng.pick(CATEGORIES)));
    }
    if rng.chance(15) {
        line(
            &mut out,
            "ORGANIZER;CN=Jordan Lee:mailto:jordan.lee@example.com",
        );
        for i in 0..2 + rng.below(3) {
            line(
                &mut out,
                &format!(
                    "ATTENDEE;CN=Guest {i};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:guest{i}@example.org"
                ),
            );
        }
    }
    line(&mut out, "STATUS:CONFIRMED");
    line(&mut out, "TRANSP:OPAQUE");
    line(&mut out, "SEQUENCE:0");
    let mut override_at = None;
    if recurring {
        let interval: i64 = if rng.chance(25) { 2 } else { 1 };
        let rule = match rng.below(3) {
            0 => String::new(),
            1 => format!(";COUNT={}", 8 + rng.below(45)),
            _ => {
                let until = start
                    + Duration::days(
                        120 + i64::try_from(rng.below(280)).expect("small") * interval,
                    );
                format!(";UNTIL={}", until.format("%Y%m%dT%H%M%SZ"))
            }
        };
        let interval_text = if interval == 2 { ";INTERVAL=2" } else { "" };
        line(&mut out, &format!("RRULE:FREQ=WEEKLY{interval_text}{rule}"));
        let instance = |i: i64| start + Duration::weeks(i * interval);
        if rng.chance(50) {
            let first = 1 + i64::try_from(rng.below(3)).expect("small");
            for i in first..=first + i64::try_from(rng.below(2)).expect("small") {
                time_line(&mut out, "EXDATE", style, instance(i));
            }
        }
        if rng.chance(25) {
            override_at = Some(instance(5 + i64::try_from(rng.below(3)).expect("small")));
        }
    }
    if rng.chance(30) {
        line(&mut out, "BEGIN:VALARM");
        line(&mut out, "ACTION:DISPLAY");
        line(&mut out, &format!("DESCRIPTION:{}", escape(summary)));
        line(
            &mut out,
            &format!(
                "TRIGGER:-PT{}M",
                [5, 10, 15, 30][usize::try_from(rng.below(4)).expect("small")]
            ),
        );
        line(&mut out, "END:VALARM");
    }
    line(&mut out, "END:VEVENT");
    if let Some(original) = override_at {
        let moved = original + Duration::hours(1);
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{uid}"));
        line(
            &mut out,
            &format!("DTSTAMP:{}", stamp.format("%Y%m%dT%H%M%SZ")),
        );
        time_line(&mut out, "RECURRENCE-ID", style, original);
        time_line(&mut out, "DTSTART", style, moved);
        time_line(&mut out, "DTEND", style, moved + Duration::minutes(minutes));
        line(&mut out, &format!("SUMMARY:{} (moved)", escape(summary)));
        line(&mut out, "SEQUENCE:1");
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    (uid, out)
}
