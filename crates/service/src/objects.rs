//! The one path that writes a calendar object, for every door that does:
//! a client's PUT, COPY and import, the web calendar and share links. It
//! checks the data (RFC 4791 §5.3.2.1), the quota and the store's limits,
//! and answers in DAV terms that each door shows its own way. Also the
//! whole-calendar files of export and webcal.

use crate::auth::Principal;
use crate::state::AppState;
use almanac_dav::properties::{utc_text, Quota, MAX_DATE_TIME_UTC, MIN_DATE_TIME_UTC};
use almanac_dav::DavError;
use almanac_ical::{merge_calendars, parse_object, split_calendar, ObjectError, ParseLimits};
use almanac_store::{
    CalendarIndex, Collection, NewItem, Origin, PutOutcome, Store, StoreError, WriteCondition,
};
use serde::Serialize;

/// Who writes into whose calendars, and through which door.
pub struct Writer<'a> {
    pub state: &'a AppState,
    /// The owner of the calendars written to (a share link's owner for
    /// its visitors).
    pub owner: &'a Principal,
    pub origin: Origin,
}

impl Writer<'_> {
    /// The owner's quota: bytes used and still available.
    pub async fn quota(&self) -> Result<Quota, DavError> {
        let used = self
            .state
            .store
            .bytes_used(self.owner.id)
            .await
            .map_err(internal)?;
        let limit = self.state.config.limits.quota_bytes;
        Ok(Quota {
            used,
            available: (limit - used).max(0),
        })
    }

    /// Validates a calendar object resource (RFC 4791 §5.3.2.1) sent with
    /// `content_type`, and indexes it.
    pub fn check(
        &self,
        calendar: &Collection,
        content_type: Option<&str>,
        data: &[u8],
    ) -> Result<CalendarIndex, DavError> {
        if let Some(content_type) = content_type.filter(|t| !is_calendar_data(t)) {
            return Err(DavError::caldav(
                403,
                "supported-calendar-data",
                format!("Calendars hold text/calendar data, not {content_type}."),
            ));
        }
        let text = std::str::from_utf8(data).map_err(|_| {
            DavError::caldav(
                403,
                "valid-calendar-data",
                "The calendar data is not UTF-8 text.",
            )
        })?;
        let ctx = eval_context(self.state, calendar);
        let object = parse_object(text, &ParseLimits::default(), &ctx).map_err(|e| match e {
            ObjectError::InvalidData(m) => DavError::caldav(403, "valid-calendar-data", m),
            ObjectError::InvalidObject(m) => {
                DavError::caldav(403, "valid-calendar-object-resource", m)
            }
        })?;
        let span = object.span;
        // The span is widened by a second at each end; unbounded ends are MIN/MAX.
        if span.start != i64::MIN && span.start.saturating_add(1) < MIN_DATE_TIME_UTC {
            return Err(DavError::caldav(
                403,
                "min-date-time",
                format!(
                    "Dates before {} are not accepted.",
                    utc_text(MIN_DATE_TIME_UTC)
                ),
            ));
        }
        if span.start != i64::MIN && span.start > MAX_DATE_TIME_UTC {
            return Err(DavError::caldav(
                403,
                "max-date-time",
                format!(
                    "Dates after {} are not accepted.",
                    utc_text(MAX_DATE_TIME_UTC)
                ),
            ));
        }
        let component = object.kind.as_str();
        if !calendar.accepts(component) {
            return Err(DavError::caldav(
                403,
                "supported-calendar-component",
                format!("This calendar does not accept {component} components."),
            ));
        }
        Ok(CalendarIndex {
            alarm_at: crate::next_alarm::next_alarm(
                &object.calendar,
                &ctx,
                chrono::Utc::now().timestamp(),
            ),
            search_text: almanac_ical::search_text(&object.calendar),
            uid: object.uid,
            component: component.to_owned(),
            start: object.span.start,
            end: object.span.end,
        })
    }

    /// Stores `item` at `parent/name` when the quota has room for it and
    /// `condition` holds.
    pub async fn write(
        &self,
        parent: &Collection,
        name: &str,
        item: &NewItem<'_>,
        condition: &WriteCondition,
    ) -> Result<PutOutcome, DavError> {
        self.check_quota(parent, name, item.data.len()).await?;
        let max_items = self.state.config.limits.max_items_per_collection;
        self.state
            .store
            .put_item(parent.id, name, item, condition, max_items)
            .await
            .map_err(|e| match e {
                StoreError::PreconditionFailed => DavError::new(
                    412,
                    "The resource changed since you read it (ETag mismatch).",
                ),
                StoreError::UidConflict(other) => DavError::caldav(
                    403,
                    "no-uid-conflict",
                    format!("The calendar already holds this UID in {other}."),
                ),
                StoreError::Limit(message) => DavError::new(403, message),
                other => internal(other),
            })
    }

    /// Room in the quota for `size` bytes at `parent/name` (replacing what
    /// is there frees its bytes).
    async fn check_quota(
        &self,
        parent: &Collection,
        name: &str,
        size: usize,
    ) -> Result<(), DavError> {
        let needed = i64::try_from(size).unwrap_or(i64::MAX);
        let available = self.quota().await?.available;
        if needed <= available {
            return Ok(());
        }
        let replaced = self
            .state
            .store
            .item_meta(parent.id, name)
            .await
            .map_err(internal)?
            .map_or(0, |meta| meta.size);
        if needed - replaced > available {
            return Err(DavError::dav(
                507,
                "quota-not-exceeded",
                "Your storage quota is full.",
            ));
        }
        Ok(())
    }

    /// Imports every object of an .ics file sent as `content_type` into
    /// `calendar`, one resource per UID; an object whose UID is already
    /// there replaces it. Says what it stored and what it refused (with the
    /// reason).
    pub async fn import(
        &self,
        calendar: &Collection,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<ImportReport, DavError> {
        let text = std::str::from_utf8(body).map_err(|_| {
            DavError::caldav(403, "valid-calendar-data", "The file is not UTF-8 text.")
        })?;
        let limits = ParseLimits {
            max_bytes: self.state.config.limits.max_body_bytes,
            max_properties: 1_000_000,
            // Each object is checked strictly on its own below, so one with a
            // control character is reported without failing the others.
            allow_control_characters: true,
            ..ParseLimits::default()
        };
        let parsed = almanac_ical::parse(text, &limits)
            .map_err(|e| DavError::caldav(403, "valid-calendar-data", e.message))?;
        let (items, problems) = split_calendar(&parsed);
        let mut report = ImportReport {
            imported: Vec::new(),
            rejected: problems
                .into_iter()
                .map(|reason| Rejected { uid: None, reason })
                .collect(),
        };
        for item in items {
            let data = item.calendar.to_ics();
            let outcome = match self.check(calendar, content_type, data.as_bytes()) {
                Ok(index) => {
                    self.store_imported(calendar, &item.uid, data.as_bytes(), index)
                        .await
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => report.imported.push(item.uid),
                Err(e) if e.status >= 500 => return Err(e),
                Err(e) => report.rejected.push(Rejected {
                    uid: Some(item.uid),
                    reason: e.message,
                }),
            }
        }
        Ok(report)
    }

    async fn store_imported(
        &self,
        calendar: &Collection,
        uid: &str,
        data: &[u8],
        index: CalendarIndex,
    ) -> Result<(), DavError> {
        let name = resource_name(uid);
        let imported = |index| NewItem {
            content_type: "text/calendar; charset=utf-8",
            data,
            calendar: Some(index),
            origin: Origin::Import,
        };
        let result = self
            .write(
                calendar,
                &name,
                &imported(index.clone()),
                &WriteCondition::Always,
            )
            .await;
        match result {
            // The UID lives under another name (a client chose it): replace that one.
            Err(DavError {
                condition: Some((_, "no-uid-conflict")),
                ..
            }) => {
                let existing = self
                    .state
                    .store
                    .item_name_for_uid(calendar.id, uid)
                    .await
                    .map_err(internal)?
                    .ok_or_else(|| {
                        DavError::new(409, "The UID moved during the import; try again.")
                    })?;
                self.write(
                    calendar,
                    &existing,
                    &imported(index),
                    &WriteCondition::Always,
                )
                .await
                .map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }
}

#[derive(Serialize)]
pub struct ImportReport {
    pub imported: Vec<String>,
    pub rejected: Vec<Rejected>,
}

#[derive(Serialize)]
pub struct Rejected {
    pub uid: Option<String>,
    pub reason: String,
}

/// Whether a Content-Type names iCalendar data.
pub fn is_calendar_data(content_type: &str) -> bool {
    content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/calendar")
}

/// A resource name for a UID: the UID itself when it is a safe file name.
pub fn resource_name(uid: &str) -> String {
    let safe = !uid.is_empty()
        && uid.len() <= 200
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if safe {
        format!("{uid}.ics")
    } else {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(uid.as_bytes());
        format!("{}.ics", almanac_store::hex(&digest[..16]))
    }
}

/// A store failure in DAV terms: 507 for a full disk, 503 for a database
/// out of reach, else 500. The detail goes to the server log.
#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err(internal)`
pub fn internal(e: StoreError) -> DavError {
    tracing::error!(error = %e, "storage failure");
    if e.is_storage_full() {
        return DavError::new(
            507,
            "The server has no storage space left right now; nothing was changed. Try again later.",
        );
    }
    if e.is_unavailable() {
        return DavError::new(
            503,
            "The database cannot be reached right now; nothing was changed. Try again in a minute.",
        );
    }
    DavError::new(
        500,
        "The server could not complete the request (storage failure).",
    )
}

/// How times without a zone are read in this calendar: in its
/// calendar-timezone when it has one (RFC 4791 §5.2.2), else UTC.
pub fn eval_context(state: &AppState, calendar: &Collection) -> almanac_ical::EvalContext {
    almanac_ical::EvalContext {
        floating_tz: calendar.timezone.as_deref().and_then(zone_of),
        max_instances: state.config.limits.max_instances,
    }
}

/// The zone a calendar-timezone (a VCALENDAR with one VTIMEZONE) names.
pub fn zone_of(calendar_timezone: &str) -> Option<chrono_tz::Tz> {
    let calendar = almanac_ical::parse(calendar_timezone, &ParseLimits::default()).ok()?;
    let tzid = calendar
        .components
        .iter()
        .find(|c| c.name == "VTIMEZONE")?
        .property("TZID")?;
    almanac_ical::timezone::named_zone(&tzid.value)
}

/// A whole calendar as one .ics text, with its display name.
pub async fn calendar_file(
    store: &Store,
    collection: &Collection,
) -> Result<(String, String), StoreError> {
    shared_calendar_file(store, collection, None).await
}

/// The same for a share link's reader: private events reduced to their
/// times (`Some(false)`), or everything (`Some(true)`, free-busy links).
pub async fn shared_calendar_file(
    store: &Store,
    collection: &Collection,
    redact: Option<bool>,
) -> Result<(String, String), StoreError> {
    let items = store.items(collection.id).await?;
    let calendars: Vec<_> = items
        .iter()
        .filter_map(|item| std::str::from_utf8(&item.data).ok())
        .filter_map(|text| almanac_ical::parse(text, &ParseLimits::default()).ok())
        .map(|calendar| match redact {
            Some(busy_only) => almanac_ical::privacy::redact(&calendar, busy_only),
            None => calendar,
        })
        .collect();
    let name = collection
        .displayname
        .clone()
        .unwrap_or_else(|| collection.path.clone());
    let body = merge_calendars(&calendars, Some(&name));
    Ok((name, body))
}

/// A calendar's name made safe for a downloaded file's name.
pub fn sanitize_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
