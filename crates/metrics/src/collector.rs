//! The collector: streams lines into per-day aggregates kept in its
//! [`CollectorState`].

use crate::aggregate::{DayAggregate, IdMaps};
use crate::day::Day;
use crate::locate::CountryDatabase;
use crate::parse::LineParser;
use crate::record::{AuthKind, Event, LogRecord};
use crate::report::{build_report, Report};
use crate::rules::{ClientClass, Rules};
use crate::state::{CollectorState, Input};
use crate::traits::{
    host_tld, location, path_owner, Channel, Location, RequestTraits, ADDRESS_LABEL,
};
use chrono::NaiveDate;
use memchr::memchr;
use rustc_hash::FxHashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The country label of addresses the database does not place.
const UNKNOWN_COUNTRY: &str = "(unknown)";
/// At most this many malformed lines are kept as examples.
const MALFORMED_SAMPLES: usize = 10;
/// Distinct user agents remembered; beyond this (a flood of random agents)
/// agents are classified on every line instead of growing the cache.
const CLIENT_CACHE_LIMIT: usize = 50_000;
/// `feed_reader` reports progress this often (in lines).
const PROGRESS_EVERY: u64 = 65_536;

/// A classified user agent, as label ids.
#[derive(Debug, Clone, Copy)]
struct ClientKey {
    product: u32,
    version: u32,
    platform: u32,
    class: ClientClass,
}

/// How far `feed_reader` got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedProgress {
    /// Bytes of complete lines consumed: the offset to resume from.
    pub bytes: u64,
    pub lines: u64,
}

pub struct Collector {
    rules: Rules,
    parser: LineParser,
    clients: FxHashMap<Box<str>, ClientKey>,
    countries: Option<Arc<CountryDatabase>>,
    /// Per address: its country label and whether that is home (`None`:
    /// the database does not place it).
    placed: FxHashMap<Box<str>, (u32, Option<bool>)>,
    home_country: String,
    /// The label of hosts that are bare addresses, the usual case.
    address_label: u32,
    state: CollectorState,
}

impl Collector {
    pub fn new(rules: Rules) -> Self {
        Self::resume(rules, CollectorState::default())
    }

    /// Continues from a saved state: new lines add to the saved days.
    pub fn resume(rules: Rules, mut state: CollectorState) -> Self {
        Self {
            home_country: rules.location.home_country(),
            rules,
            parser: LineParser::default(),
            clients: FxHashMap::default(),
            countries: None,
            placed: FxHashMap::default(),
            address_label: state.labels.id(ADDRESS_LABEL),
            state,
        }
    }

    /// Places client addresses with the operator's IP-to-country database:
    /// the country breakdown, and home or outside for addresses.
    pub fn set_country_database(&mut self, database: Arc<CountryDatabase>) {
        self.state.country_database = Some(database.description().to_owned());
        self.countries = Some(database);
    }

    pub fn state(&self) -> &CollectorState {
        &self.state
    }

    pub fn into_state(self) -> CollectorState {
        self.state
    }

    pub fn report(&self) -> Report {
        build_report(&self.state)
    }

    /// Records a value submitted from outside the log; a later value for
    /// the same day replaces the earlier one.
    pub fn add_input(&mut self, input: Input, date: NaiveDate, value: f64) {
        self.state
            .inputs
            .entry(input)
            .or_default()
            .insert(Day::from_date(date), value);
    }

    /// Records a value from outside the log unless the day has one: what
    /// is worked out afterwards never replaces a snapshot taken that day.
    pub fn add_input_if_missing(&mut self, input: Input, date: NaiveDate, value: f64) {
        self.state
            .inputs
            .entry(input)
            .or_default()
            .entry(Day::from_date(date))
            .or_insert(value);
    }

    /// Feeds complete lines from `reader`. An unterminated last line is left
    /// unread (it may still be being written): the returned `bytes` is the
    /// offset just after the last complete line. `progress` is called now
    /// and then with the running totals.
    pub fn feed_reader(
        &mut self,
        mut reader: impl BufRead,
        mut progress: impl FnMut(FeedProgress),
    ) -> std::io::Result<FeedProgress> {
        let mut done = FeedProgress::default();
        // A line split across two buffer fills is put together here.
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let buffer = reader.fill_buf()?;
            if buffer.is_empty() {
                break;
            }
            let filled = buffer.len();
            let mut start = 0;
            if !carry.is_empty() {
                let Some(end) = memchr(b'\n', buffer) else {
                    carry.extend_from_slice(buffer);
                    reader.consume(filled);
                    continue;
                };
                carry.extend_from_slice(&buffer[..=end]);
                self.feed_bytes(&carry, &mut done, &mut progress);
                carry.clear();
                start = end + 1;
            }
            // The complete lines of the buffer, checked as UTF-8 at once.
            if let Some(last) = memchr::memrchr(b'\n', &buffer[start..]) {
                let span = &buffer[start..=start + last];
                if let Ok(text) = std::str::from_utf8(span) {
                    let mut from = 0;
                    for end in memchr::memchr_iter(b'\n', span) {
                        self.feed_checked(&text[from..=end], &mut done, &mut progress);
                        from = end + 1;
                    }
                } else {
                    for line in span.split_inclusive(|b| *b == b'\n') {
                        self.feed_bytes(line, &mut done, &mut progress);
                    }
                }
                start += last + 1;
            }
            carry.extend_from_slice(&buffer[start..]);
            reader.consume(filled);
        }
        progress(done);
        Ok(done)
    }

    /// Feeds `file` from `from` to its end like [`Self::feed_reader`], in
    /// `parts` byte ranges split at line ends, read on as many threads and
    /// merged in order: each line is counted once, as if read in one go.
    /// Small files are read on this thread alone.
    pub fn feed_file(
        &mut self,
        file: &File,
        from: u64,
        parts: usize,
        mut progress: impl FnMut(FeedProgress) + Send,
    ) -> std::io::Result<FeedProgress> {
        let end = file.metadata()?.len();
        let parts = if end.saturating_sub(from) < PARALLEL_MIN_BYTES {
            1
        } else {
            parts.max(1)
        };
        let mut starts = vec![from];
        for i in 1..parts as u64 {
            let at = from + (end - from) * i / parts as u64;
            let next = line_start_after(file, at.max(*starts.last().unwrap_or(&from)), end)?;
            if next < end && next > *starts.last().unwrap_or(&from) {
                starts.push(next);
            }
        }
        let mut bounds: Vec<(u64, u64)> = starts.windows(2).map(|w| (w[0], w[1])).collect();
        bounds.push((*starts.last().unwrap_or(&from), end));
        let (first, later) = bounds.split_first().expect("one part at least");
        let helpers: Vec<Self> = later
            .iter()
            .map(|_| {
                let mut helper = Self::new(self.rules.clone());
                helper.countries.clone_from(&self.countries);
                helper.state.retention.keep_unplaced();
                helper
            })
            .collect();
        let share = u64::try_from(bounds.len()).unwrap_or(1);
        let (mine, theirs) = std::thread::scope(|scope| {
            let handles: Vec<_> = helpers
                .into_iter()
                .zip(later)
                .map(|(mut helper, &(start, stop))| {
                    scope.spawn(move || {
                        let done = helper.feed_reader(range_reader(file, start, stop), |_| {})?;
                        Ok::<_, std::io::Error>((helper, done))
                    })
                })
                .collect();
            // This thread's progress stands for every part (they go at the
            // same pace).
            let mine = self.feed_reader(range_reader(file, first.0, first.1), |p| {
                progress(FeedProgress {
                    bytes: p.bytes * share,
                    lines: p.lines * share,
                });
            });
            let theirs: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().expect("a collector thread does not panic"))
                .collect();
            (mine, theirs)
        });
        let mut done = mine?;
        for part in theirs {
            let (helper, fed) = part?;
            self.absorb(helper.state);
            done.bytes += fed.bytes;
            done.lines += fed.lines;
        }
        progress(done);
        Ok(done)
    }

    /// Takes in what a collector of a later part of the log gathered.
    fn absorb(&mut self, other: CollectorState) {
        let state = &mut self.state;
        let user = state.users.absorb(&other.users);
        let label = state.labels.absorb(&other.labels);
        let ids = IdMaps {
            user: &user,
            label: &label,
        };
        for (day, aggregate) in &other.days {
            state.days.entry(*day).or_default().merge(aggregate, &ids);
        }
        state.retention.merge(other.retention, &user);
        state.lines += other.lines;
        state.malformed += other.malformed;
        let room = MALFORMED_SAMPLES.saturating_sub(state.malformed_samples.len());
        state
            .malformed_samples
            .extend(other.malformed_samples.into_iter().take(room));
    }

    fn feed_bytes(
        &mut self,
        line: &[u8],
        done: &mut FeedProgress,
        progress: &mut impl FnMut(FeedProgress),
    ) {
        if let Ok(text) = std::str::from_utf8(line) {
            self.feed_checked(text, done, progress);
        } else {
            self.feed_line(&String::from_utf8_lossy(line));
            Self::count_fed(line.len(), done, progress);
        }
    }

    fn feed_checked(
        &mut self,
        line: &str,
        done: &mut FeedProgress,
        progress: &mut impl FnMut(FeedProgress),
    ) {
        self.feed_line(line);
        Self::count_fed(line.len(), done, progress);
    }

    fn count_fed(len: usize, done: &mut FeedProgress, progress: &mut impl FnMut(FeedProgress)) {
        done.bytes += len as u64;
        done.lines += 1;
        if done.lines.is_multiple_of(PROGRESS_EVERY) {
            progress(*done);
        }
    }

    /// Feeds one line (a trailing line break is ignored). Malformed lines
    /// are counted, never fatal.
    pub fn feed_line(&mut self, line: &str) {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.state.lines += 1;
        let parsed = self.parser.parse(line);
        let Ok(record) = parsed else {
            self.state.malformed += 1;
            if self.state.malformed_samples.len() < MALFORMED_SAMPLES {
                let end = line.char_indices().nth(300).map_or(line.len(), |(i, _)| i);
                self.state.malformed_samples.push(line[..end].to_owned());
            }
            return;
        };
        self.tally(&record);
    }

    fn client_key(&mut self, agent: &str) -> ClientKey {
        if let Some(&key) = self.clients.get(agent) {
            return key;
        }
        let info = self.rules.classify(agent);
        let labels = &mut self.state.labels;
        let key = ClientKey {
            product: labels.id(&info.product),
            version: labels.id(format!("{} {}", info.product, info.version).trim_end()),
            platform: labels.id(&info.platform),
            class: info.class,
        };
        if self.clients.len() < CLIENT_CACHE_LIMIT {
            self.clients.insert(agent.into(), key);
        }
        key
    }

    /// The country label of `host` and whether it is home; `None` without
    /// a database.
    fn place(&mut self, host: &str) -> Option<(u32, Option<bool>)> {
        let database = self.countries.as_ref()?;
        if let Some(&placed) = self.placed.get(host) {
            return Some(placed);
        }
        let code = database.country(host);
        let home = code.as_ref().map(|c| *c == self.home_country);
        let label = self
            .state
            .labels
            .id(code.as_deref().unwrap_or(UNKNOWN_COUNTRY));
        if self.placed.len() < CLIENT_CACHE_LIMIT {
            self.placed.insert(host.into(), (label, home));
        }
        Some((label, home))
    }

    fn tally(&mut self, record: &LogRecord<'_>) {
        let client = self.client_key(record.user_agent);
        let placed = self.place(record.host);
        let traits = RequestTraits::of(record, client.class);
        let state = &mut self.state;
        let account = record.account().map(|name| state.users.id(name));
        let request = Request {
            record,
            client,
            traits,
            account,
            owner: traits
                .share
                .then(|| record.share_owner().or_else(|| path_owner(record.path)))
                .flatten()
                .map(|name| state.users.id(name)),
            subscriber: plain_subscription_owner(record, client.class)
                .map(|name| state.users.id(name)),
            human: account.is_some()
                && (traits.login || client.class == ClientClass::Web || traits.change.is_some()),
            tld: match host_tld(record.host) {
                None => self.address_label,
                Some(tld) => state.labels.id(&tld),
            },
        };
        if record.events.contains(Event::Signup) {
            if let Some(name) = record.user {
                let id = state.users.id(name);
                state.retention.signed_up(id, record.day);
            }
        }
        if let (Some(id), true) = (account, request.human) {
            state.retention.human_activity(id, record.day);
        }
        if !state.days.contains_key(&record.day) {
            let fresh = state
                .days
                .range(..record.day)
                .next_back()
                .map_or_else(DayAggregate::default, |(_, previous)| {
                    DayAggregate::sized_like(previous)
                });
            state.days.insert(record.day, fresh);
        }
        let day = state
            .days
            .get_mut(&record.day)
            .expect("the day was just made");
        count_request(day, &request);
        if let Some((country, _)) = placed {
            day.by_country.add(country);
        }
        if client.class != ClientClass::Bot {
            let located = match placed {
                Some((_, Some(true))) => Location::Home,
                Some((_, Some(false))) => Location::Outside,
                _ => location(record.host, &self.rules.location),
            };
            count_people(day, &request, located);
        }
    }
}

/// A parsed line with what the collector worked out about it.
struct Request<'r, 'a> {
    record: &'r LogRecord<'a>,
    client: ClientKey,
    traits: RequestTraits,
    account: Option<u32>,
    /// The owner of a visited share link.
    owner: Option<u32>,
    /// In a plain proxy log, the owner of a calendar an interop client
    /// fetched without a user name (a webcal subscription).
    subscriber: Option<u32>,
    human: bool,
    tld: u32,
}

fn count_request(day: &mut DayAggregate, request: &Request<'_, '_>) {
    let Request {
        record,
        client,
        traits,
        ..
    } = request;
    day.hits += 1;
    // A refused request (4xx: a 401 challenge, a 404) is no visit.
    if !(400..500).contains(&record.status) {
        day.visitors
            .insert(visitor_key(record.host, record.user_agent));
    }
    day.bytes_out += record.bytes_out;
    day.bytes_in += record.bytes_in.unwrap_or(0);
    day.anonymous_hits += u64::from(request.account.is_none());
    day.by_client.add(client.product);
    day.by_version.add(client.version);
    day.by_platform.add(client.platform);
    day.by_tld.add(request.tld);
    if traits.write {
        day.writes += 1;
    } else {
        day.reads += 1;
    }
    if traits.share {
        day.hits_share += 1;
    } else {
        match client.class {
            ClientClass::Web => day.hits_web += 1,
            ClientClass::Native | ClientClass::Interop => day.hits_sync += 1,
            ClientClass::Bot => {}
        }
    }
    let events = record.events;
    day.signups += u64::from(events.contains(Event::Signup));
    day.signups_verified += u64::from(events.contains(Event::SignupVerified));
    day.logins += u64::from(traits.login);
    day.support_requests += u64::from(events.contains(Event::SupportRequest));
    if let Some(change) = traits.change {
        if change.task {
            day.changes_tasks += 1;
        } else {
            day.changes_events += 1;
        }
        match change.channel {
            Channel::Sync => day.changes_sync += 1,
            Channel::Web => day.changes_web += 1,
            Channel::Share => day.changes_share += 1,
        }
    }
}

fn count_people(day: &mut DayAggregate, request: &Request<'_, '_>, location: Location) {
    let person = || match request.account {
        Some(id) => u64::from(id) | 1 << 63,
        None => visitor_key(request.record.host, request.record.user_agent),
    };
    if request.traits.share {
        day.casual.insert(person());
        if let Some(owner) = request.owner {
            day.share_owners.insert(owner);
        }
    }
    match location {
        Location::Unknown => {}
        Location::Home => {
            day.located.insert(person());
        }
        Location::Outside => {
            let key = person();
            day.located.insert(key);
            day.outside.insert(key);
        }
    }
    if let Some(owner) = request.subscriber {
        day.interop.insert(owner);
    }
    let Some(id) = request.account else {
        return;
    };
    day.accounts.insert(id);
    if request.human {
        day.human_active.insert(id);
    }
    let client = request.client;
    match client.class {
        ClientClass::Native => {
            day.native.insert(id);
            day.native_by_platform
                .entry(client.platform)
                .or_default()
                .insert(id);
            day.native_by_version
                .entry(client.version)
                .or_default()
                .insert(id);
        }
        ClientClass::Web => {
            day.web.insert(id);
        }
        ClientClass::Interop => {
            day.interop.insert(id);
        }
        ClientClass::Bot => {}
    }
}

/// A plain proxy log does not know who fetched `/ics/{owner}/…`: a
/// successful fetch there by a subscription client is its owner's
/// subscription (the server's own log names the user).
fn plain_subscription_owner<'a>(record: &LogRecord<'a>, class: ClientClass) -> Option<&'a str> {
    let plain = record.auth == AuthKind::Unspecified && record.user.is_none();
    let fetched = matches!(record.status, 200..=299 | 304);
    (plain && fetched && class == ClientClass::Interop && record.path.starts_with("/ics/"))
        .then(|| path_owner(record.path))
        .flatten()
}

/// Below this a file is read on one thread: threads would cost more.
const PARALLEL_MIN_BYTES: u64 = 4 << 20;

/// The bytes `start..stop` of `file`, buffered, read at their positions
/// (threads share the file without sharing a cursor).
fn range_reader(file: &File, start: u64, stop: u64) -> BufReader<RangeReader<'_>> {
    BufReader::with_capacity(
        1 << 20,
        RangeReader {
            file,
            at: start,
            stop,
        },
    )
}

struct RangeReader<'f> {
    file: &'f File,
    at: u64,
    stop: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = usize::try_from(self.stop - self.at).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Where the first line that starts after `at` begins (`end` if none).
fn line_start_after(file: &File, at: u64, end: u64) -> std::io::Result<u64> {
    let mut buffer = vec![0; 64 * 1024];
    let mut pos = at;
    while pos < end {
        let n = file.read_at(&mut buffer, pos)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr(b'\n', &buffer[..n]) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
    Ok(end)
}

/// An anonymous visitor: address and user agent (GoAccess's notion of a
/// unique visitor, without the date, which the per-day sets add).
fn visitor_key(host: &str, agent: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    host.hash(&mut hasher);
    agent.hash(&mut hasher);
    hasher.finish() & !(1 << 63)
}
