//! FHIR date, dateTime and instant values as ranges of microseconds since the epoch (UTC).
//!
//! A value covers the whole span its precision implies (`2013` is the entire year), which is
//! what lets search prefixes such as `lt`, `sa` or `ap` compare ranges instead of points.
//! Values without a time zone are taken as UTC: the server's stated convention.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Inclusive range `[low, high]` in microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub low: i64,
    pub high: i64,
}

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` and `YYYY-MM-DDThh:mm[:ss[.f+]][Z|±hh:mm]`.
pub fn parse_range(value: &str) -> Option<DateRange> {
    let (date_part, time_part) = match value.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (value, None),
    };
    let mut fields = date_part.split('-');
    let year: i32 = digits(fields.next()?, 4)?;
    let month = optional_digits(fields.next())?;
    let day = optional_digits(fields.next())?;
    if fields.next().is_some() {
        return None;
    }
    match (month, day, time_part) {
        (None, None, None) => {
            let start = Date::from_calendar_date(year, Month::January, 1).ok()?;
            let end = Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?;
            Some(span(start, end))
        }
        (Some(m), None, None) => {
            let month = Month::try_from(m).ok()?;
            let start = Date::from_calendar_date(year, month, 1).ok()?;
            let end = if month == Month::December {
                Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?
            } else {
                Date::from_calendar_date(year, month.next(), 1).ok()?
            };
            Some(span(start, end))
        }
        (Some(m), Some(d), None) => {
            let start = Date::from_calendar_date(year, Month::try_from(m).ok()?, d).ok()?;
            Some(span(start, start.next_day()?))
        }
        (Some(m), Some(d), Some(t)) => {
            let date = Date::from_calendar_date(year, Month::try_from(m).ok()?, d).ok()?;
            parse_time_range(date, t)
        }
        _ => None,
    }
}

fn span(start: Date, end_exclusive: Date) -> DateRange {
    DateRange {
        low: micros(start.midnight().assume_utc()),
        high: micros(end_exclusive.midnight().assume_utc()) - 1,
    }
}

fn parse_time_range(date: Date, t: &str) -> Option<DateRange> {
    let (clock, offset) = split_offset(t)?;
    let mut parts = clock.split(':');
    let hour: u8 = digits(parts.next()?, 2)?;
    let minute: u8 = digits(parts.next()?, 2)?;
    let seconds = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (second, fraction, precision): (u8, u32, Duration) = match seconds {
        None => (0, 0, Duration::minutes(1)),
        Some(s) => match s.split_once('.') {
            None => (digits(s, 2)?, 0, Duration::seconds(1)),
            Some((whole, frac)) => {
                if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let used = &frac[..frac.len().min(6)];
                let micros: u32 = format!("{used:0<6}").parse().ok()?;
                let unit = Duration::microseconds(10_i64.pow(6 - used.len() as u32));
                (digits(whole, 2)?, micros, unit)
            }
        },
    };
    let time = Time::from_hms_micro(hour, minute, second, fraction).ok()?;
    let start = PrimitiveDateTime::new(date, time).assume_offset(offset);
    let low = micros(start);
    Some(DateRange {
        low,
        high: low + precision.whole_microseconds() as i64 - 1,
    })
}

fn split_offset(t: &str) -> Option<(&str, UtcOffset)> {
    if let Some(clock) = t.strip_suffix('Z') {
        return Some((clock, UtcOffset::UTC));
    }
    if let Some(pos) = t.rfind(['+', '-']) {
        let (clock, tz) = t.split_at(pos);
        let sign: i8 = if tz.starts_with('-') { -1 } else { 1 };
        let (h, m) = tz[1..].split_once(':')?;
        let offset =
            UtcOffset::from_hms(sign * digits::<i8>(h, 2)?, sign * digits::<i8>(m, 2)?, 0).ok()?;
        return Some((clock, offset));
    }
    Some((t, UtcOffset::UTC))
}

/// `Some(None)` when the part is absent, `None` when it is present but malformed.
fn optional_digits(part: Option<&str>) -> Option<Option<u8>> {
    match part {
        None => Some(None),
        Some(p) => digits(p, 2).map(Some),
    }
}

fn digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// Formats microseconds since the epoch as a FHIR `instant` (UTC, millisecond precision).
pub fn format_instant(micros_since_epoch: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros_since_epoch) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
        micros(t)
    }

    #[test]
    fn a_year_covers_the_whole_year() {
        let r = parse_range("2013").unwrap();
        assert_eq!(r.low, at("2013-01-01T00:00:00Z"));
        assert_eq!(r.high, at("2014-01-01T00:00:00Z") - 1);
    }

    #[test]
    fn months_and_days_cover_their_span() {
        let r = parse_range("2012-02").unwrap();
        assert_eq!(r.high, at("2012-03-01T00:00:00Z") - 1);
        let r = parse_range("2012-12").unwrap();
        assert_eq!(r.high, at("2013-01-01T00:00:00Z") - 1);
        let r = parse_range("1974-12-25").unwrap();
        assert_eq!(r.low, at("1974-12-25T00:00:00Z"));
        assert_eq!(r.high, at("1974-12-26T00:00:00Z") - 1);
    }

    #[test]
    fn times_respect_offset_and_precision() {
        let r = parse_range("2015-02-07T13:28:17.239+02:00").unwrap();
        assert_eq!(r.low, at("2015-02-07T11:28:17.239Z"));
        assert_eq!(r.high, r.low + 999);
        let r = parse_range("2015-02-07T13:28:17Z").unwrap();
        assert_eq!(r.high, r.low + 999_999);
        let r = parse_range("2015-02-07T13:28").unwrap();
        assert_eq!(r.high - r.low, 60_000_000 - 1);
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for bad in [
            "",
            "13",
            "2013-13",
            "2013-02-30",
            "2013-1-01",
            "2013-01-01T25:00:00Z",
            "2013-01-01T10:00:00+2",
            "2013-01-01T10:00:00.Z",
            "abcd",
            "2013-01-01-01",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn instants_format_in_utc_with_milliseconds() {
        assert_eq!(
            format_instant(at("2015-02-07T11:28:17.239Z")),
            "2015-02-07T11:28:17.239Z"
        );
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
    }
}
