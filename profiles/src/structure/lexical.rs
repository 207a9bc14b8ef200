//! Hand-written matchers for the R4 primitive regexes.
//!
//! The crate uses the regex crate without its performance features, which leaves only the NFA
//! simulation: about a microsecond per dateTime and tens of nanoseconds per byte of base64.
//! Every write checks dozens of such values, so the regexes the spec actually uses are matched
//! by these functions instead; a test compares each against its compiled regex.
//!
//! Whitespace follows Java (which the spec's regexes are written for): ASCII only.

/// Java's `\s`.
pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// `[ \r\n\t\S]+` (string, markdown): any non-empty text without vertical tab or form feed.
pub(super) fn text(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(|c| c == 0x0B || c == 0x0C)
}

/// `\S*` (uri, url, canonical).
pub(super) fn no_whitespace(s: &str) -> bool {
    !s.bytes().any(is_space)
}

/// `[^\s]+(\s[^\s]+)*` (code): no leading, trailing or doubled whitespace.
pub(super) fn token(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            !is_space(first)
                && !is_space(last)
                && !b.windows(2).any(|w| is_space(w[0]) && is_space(w[1]))
        }
        _ => false,
    }
}

/// `[A-Za-z0-9\-\.]{1,64}` (id).
pub(super) fn id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

/// `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`
pub(super) fn oid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:oid:") else {
        return false;
    };
    let mut arcs = rest.split('.');
    if !matches!(arcs.next(), Some("0" | "1" | "2")) {
        return false;
    }
    let mut count = 0;
    for arc in arcs {
        count += 1;
        let b = arc.as_bytes();
        let ok =
            !b.is_empty() && b.iter().all(u8::is_ascii_digit) && (b[0] != b'0' || b.len() == 1);
        if !ok {
            return false;
        }
    }
    count > 0
}

/// `urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
pub(super) fn uuid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

/// `(\s*([0-9a-zA-Z\+/=]){4}\s*)+`: groups of four, whitespace only between groups.
pub(super) fn base64(s: &str) -> bool {
    let b = s.as_bytes();
    let is_alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=';
    let mut i = 0;
    let mut groups = 0;
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return groups > 0;
        }
        if i + 4 > b.len() || !b[i..i + 4].iter().all(|&c| is_alphabet(c)) {
            return false;
        }
        i += 4;
        groups += 1;
    }
}

/// A cursor over ASCII digits and punctuation for the date and time grammars.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i == self.b.len()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Two digits whose value is in `range`.
    fn two(&mut self, range: std::ops::RangeInclusive<u8>) -> bool {
        match self.b.get(self.i..self.i + 2) {
            Some(&[a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => {
                self.i += 2;
                range.contains(&((a - b'0') * 10 + (b - b'0')))
            }
            _ => false,
        }
    }

    /// `([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)`: four digits, not 0000.
    fn year(&mut self) -> bool {
        match self.b.get(self.i..self.i + 4) {
            Some(d) if d.iter().all(u8::is_ascii_digit) && d != b"0000" => {
                self.i += 4;
                true
            }
            _ => false,
        }
    }

    /// `([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?`
    fn time(&mut self) -> bool {
        if !(self.two(0..=23) && self.eat(b':') && self.two(0..=59) && self.eat(b':')) {
            return false;
        }
        if !self.two(0..=60) {
            return false;
        }
        if self.eat(b'.') {
            let start = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            if self.i == start {
                return false;
            }
        }
        true
    }

    /// `(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))`
    fn zone(&mut self) -> bool {
        if self.eat(b'Z') {
            return true;
        }
        if !(self.eat(b'+') || self.eat(b'-')) {
            return false;
        }
        let hour_at = self.i;
        if !(self.two(0..=14) && self.eat(b':') && self.two(0..=59)) {
            return false;
        }
        &self.b[hour_at..hour_at + 2] != b"14" || &self.b[hour_at + 3..hour_at + 5] == b"00"
    }

    /// `-(0[1-9]|1[0-2])` or `-(0[1-9]|[1-2][0-9]|3[0-1])`
    fn dash_two(&mut self, range: std::ops::RangeInclusive<u8>) -> bool {
        self.eat(b'-') && self.two(range)
    }
}

/// date: `YYYY(-MM(-DD)?)?`
pub(super) fn date(s: &str) -> bool {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    if !c.year() {
        return false;
    }
    if c.done() {
        return true;
    }
    if !c.dash_two(1..=12) {
        return false;
    }
    if c.done() {
        return true;
    }
    c.dash_two(1..=31) && c.done()
}

/// dateTime: `YYYY(-MM(-DD(Thh:mm:ss(.f+)?zone)?)?)?`
pub(super) fn date_time(s: &str) -> bool {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    if !c.year() {
        return false;
    }
    if c.done() {
        return true;
    }
    if !c.dash_two(1..=12) {
        return false;
    }
    if c.done() {
        return true;
    }
    if !c.dash_two(1..=31) {
        return false;
    }
    if c.done() {
        return true;
    }
    c.eat(b'T') && c.time() && c.zone() && c.done()
}

/// instant: `YYYY-MM-DDThh:mm:ss(.f+)?zone`
pub(super) fn instant(s: &str) -> bool {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    c.year()
        && c.dash_two(1..=12)
        && c.dash_two(1..=31)
        && c.eat(b'T')
        && c.time()
        && c.zone()
        && c.done()
}

/// time: `hh:mm:ss(.f+)?`
pub(super) fn time(s: &str) -> bool {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    c.time() && c.done()
}

fn is_leap(year: u32) -> bool {
    // Spelled out rather than with `is_multiple_of`, which is newer than the workspace's MSRV.
    let divisible = |d: u32| year / d * d == year;
    divisible(4) && (!divisible(100) || divisible(400))
}

/// The regexes accept 31 days in every month; dates must also exist. Expects a value that
/// already matched a date, dateTime or instant pattern.
pub(super) fn day_exists(s: &str) -> bool {
    if s.len() < 10 {
        return true;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|d| d.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return true;
    };
    let days = match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

fn is_xml_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Narrative.div: the root must be a `div` in the XHTML namespace. Returns the problem, if any.
pub(super) fn div_problem(s: &str) -> Option<&'static str> {
    const NOT_DIV: &str = "the narrative must be an XHTML fragment whose root element is <div>";
    const NO_NS: &str = "the narrative <div> must declare the XHTML namespace (xmlns=\"http://www.w3.org/1999/xhtml\")";
    const MALFORMED: &str = "the narrative <div> start tag is malformed";
    let b = s.as_bytes();
    let after_name = b.get(4).copied();
    if !s.starts_with("<div")
        || !after_name.is_some_and(|c| is_xml_space(c) || c == b'>' || c == b'/')
    {
        return Some(NOT_DIV);
    }
    // Walk the attributes of the start tag; quoted values may contain '>'.
    let mut i = 4;
    loop {
        while b.get(i).is_some_and(|&c| is_xml_space(c)) {
            i += 1;
        }
        match b.get(i) {
            None => return Some(MALFORMED),
            Some(b'>' | b'/') => return Some(NO_NS),
            _ => {}
        }
        let name_start = i;
        while b
            .get(i)
            .is_some_and(|&c| !is_xml_space(c) && c != b'=' && c != b'>' && c != b'/')
        {
            i += 1;
        }
        let name = &s[name_start..i];
        while b.get(i).is_some_and(|&c| is_xml_space(c)) {
            i += 1;
        }
        if !matches!(b.get(i), Some(b'=')) {
            return Some(MALFORMED);
        }
        i += 1;
        while b.get(i).is_some_and(|&c| is_xml_space(c)) {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Some(MALFORMED),
        };
        let value_start = i + 1;
        let Some(len) = b[value_start..].iter().position(|&c| c == quote) else {
            return Some(MALFORMED);
        };
        if name == "xmlns" {
            return (&s[value_start..value_start + len] != XHTML_NS).then_some(NO_NS);
        }
        i = value_start + len + 1;
    }
}
