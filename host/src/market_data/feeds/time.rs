//! Timestamp normalisation for files: epoch values in s/ms/µs/ns and UTC date-times.

/// An epoch timestamp in ms, µs (16 digits, newer data.binance.vision files) or ns
/// (19 digits), as ms. Values below 1e14 are taken as ms already.
pub(crate) fn epoch_to_ms(raw: i64) -> i64 {
    match raw.unsigned_abs() {
        0..100_000_000_000_000 => raw,
        100_000_000_000_000..100_000_000_000_000_000 => raw.div_euclid(1_000),
        _ => raw.div_euclid(1_000_000),
    }
}

/// `2023-03-01 00:00:00+00:00`, `2023-03-01T00:00:00Z` or `2023-03-01 00:00:00` (UTC),
/// optionally with fractional seconds, as ms since the Unix epoch.
pub(crate) fn parse_utc_datetime_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00")).unwrap_or(text);
    if let Some(ms) = fixed_datetime_ms(text.as_bytes()) {
        return Some(ms);
    }
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut date_parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date_parts.next()??, date_parts.next()??, date_parts.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut time_parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (time_parts.next()??, time_parts.next()??, time_parts.next()??);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second)
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let digit = |i: usize| frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
    let millis = digit(0) * 100 + digit(1) * 10 + digit(2);
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(seconds * 1_000 + millis)
}

/// The usual shape, `YYYY-MM-DD HH:MM:SS` (or `T`) and nothing else, read byte by byte;
/// `None` leaves any other text to the general parser.
#[inline]
pub(crate) fn fixed_datetime_ms(b: &[u8]) -> Option<i64> {
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    valid.then(|| (days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000)
}

/// Days in `month` (1-12) of `year`, proleptic Gregorian.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_past_the_end_of_their_month_are_refused() {
        assert_eq!(parse_utc_datetime_ms("2024-02-29 00:00:00"), Some(1_709_164_800_000));
        assert_eq!(parse_utc_datetime_ms("2000-02-29 00:00:00").map(|ms| ms / 86_400_000), Some(11_016));
        for bad in [
            "2023-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2023-02-30 00:00:00",
            "2023-04-31 12:00:00",
            "2023-04-31T12:00:00.5Z",
        ] {
            assert_eq!(parse_utc_datetime_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn normalises_epoch_units() {
        let cases = [
            (1_637_971_200_000, 1_637_971_200_000),
            (1_637_971_259_999_999, 1_637_971_259_999),
            (1_723_161_253_937_085_768, 1_723_161_253_937),
            (0, 0),
        ];
        for (raw, want) in cases {
            assert_eq!(epoch_to_ms(raw), want, "{raw}");
        }
    }

    #[test]
    fn parses_utc_datetimes() {
        let cases = [
            ("2023-03-01 00:00:00+00:00", Some(1_677_628_800_000)),
            ("2023-03-21 23:59:00+00:00", Some(1_679_443_140_000)),
            ("2024-08-09T00:00:00Z", Some(1_723_161_600_000)),
            ("2024-02-29 12:00:00.5", Some(1_709_208_000_500)),
            ("1970-01-01 00:00:00", Some(0)),
            ("2023-03-01 00:00:00+02:00", None),
            ("2023-13-01 00:00:00", None),
            ("yesterday", None),
            ("2023-03-01 24:00:00", None),
            ("2023-03-01 0a:00:00", None),
            ("2023-03-01_00:00:00", None),
            ("2024-12-31T23:59:59", Some(1_735_689_599_000)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_utc_datetime_ms(text), want, "{text}");
        }
    }
}
