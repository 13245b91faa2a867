//! A log read in parallel parts gives exactly the report of reading it in
//! one go: ids merged, people counted once, retention across the parts.

use almanac_metrics::{Collector, Rules};
use chrono::{Days, NaiveDate};
use std::fs::File;
use std::io::{BufReader, Write};

const AGENTS: [&str; 4] = [
    "DAVx5/4.4 (Android 14)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Google-Calendar-Importer",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];

/// About 11 MB over 80 days: sign-ups early, the same people active later
/// (their retention needs both parts), share visits, plain and broken lines.
fn write_log(file: &mut File) {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut n: u64 = 0;
    for day in 0..80u64 {
        let date = (start + Days::new(day)).format("%d/%b/%Y");
        for i in 0..800u64 {
            n += 1;
            let user = format!("user{}", (n * 7919) % 500);
            let agent = AGENTS[usize::try_from(n % 4).unwrap()];
            let time = format!(
                "{date}:{:02}:{:02}:{:02} +0000",
                i / 36 % 24,
                i % 60,
                n % 60
            );
            let line = match n % 9 {
                0 if day < 7 => format!("10.0.{}.{} - {user} [{time}] \"POST /signup HTTP/1.1\" 303 - \"-\" \"{agent}\" auth=none ev=signup", n % 200, n % 250),
                1 => format!("10.1.{}.{} - - [{time}] \"GET /s/- HTTP/1.1\" 200 900 \"-\" \"{agent}\" auth=ticket owner={user} ev=share_visit", n % 100, n % 97),
                2 => format!("10.2.0.{} - {user} [{time}] \"PUT /dav/calendars/{user}/calendar/{n}.ics HTTP/1.1\" 201 - \"-\" \"{agent}\" auth=password in=500 item=event ev=sync_write", n % 250),
                3 => format!("10.3.0.{} - {user} [{time}] \"GET /calendar HTTP/1.1\" 200 5000 \"-\" \"{agent}\" auth=session", n % 250),
                4 if n % 1000 == 4 => "a broken line".to_owned(),
                5 => format!("host{}.example.de - - [{time}] \"GET /ics/{user}/work.ics HTTP/1.1\" 200 3000 \"-\" \"{agent}\"", n % 50),
                _ => format!("10.4.0.{} - {user} [{time}] \"REPORT /dav/calendars/{user}/calendar/ HTTP/1.1\" 207 1200 \"-\" \"{agent}\" auth=password in=300", n % 250),
            };
            writeln!(file, "{line}").unwrap();
        }
    }
    // A last line still being written.
    write!(
        file,
        "10.9.9.9 - - [20/Mar/2024:00:00:00 +0000] \"GET /half"
    )
    .unwrap();
}

#[test]
fn parallel_parts_give_the_report_of_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    write_log(&mut File::create(&path).unwrap());
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 8 << 20, "big enough to be split ({size} bytes)");

    let mut one = Collector::new(Rules::default());
    let whole = one
        .feed_reader(BufReader::new(File::open(&path).unwrap()), |_| {})
        .unwrap();
    let expected = one.report();
    assert!(expected.cohorts.cohorts[0].retained[0].is_some_and(|r| r > 0.0));
    for parts in [2, 3, 7] {
        let mut split = Collector::new(Rules::default());
        let fed = split
            .feed_file(&File::open(&path).unwrap(), 0, parts, |_| {})
            .unwrap();
        assert_eq!(
            fed, whole,
            "{parts} parts: the same lines, up to the unfinished one"
        );
        assert_eq!(split.report(), expected, "{parts} parts");
    }

    // Resuming a saved state and reading the rest in parallel also agrees.
    let half = whole.bytes / 2;
    let mut resumed = Collector::new(Rules::default());
    let file = File::open(&path).unwrap();
    let first = resumed.feed_file(&file, 0, 1, |_| {}).unwrap();
    assert_eq!(first, whole);
    let mut resumed = Collector::new(Rules::default());
    let head = std::fs::read(&path).unwrap();
    let cut = head[..usize::try_from(half).unwrap()]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    resumed.feed_reader(&head[..cut], |_| {}).unwrap();
    let state = serde_json::to_string(resumed.state()).unwrap();
    let mut later = Collector::resume(Rules::default(), serde_json::from_str(&state).unwrap());
    later
        .feed_file(&file, u64::try_from(cut).unwrap(), 2, |_| {})
        .unwrap();
    assert_eq!(
        later.report(),
        expected,
        "resumed, then the rest in two parts"
    );
}
