//! Python string literals: their value, and a map from every byte of the value
//! back to the source, so a finding inside SQL points at the exact characters
//! of the Python string (escapes, implicit concatenation and triple quotes
//! included).

use crate::position::TextRange;

/// A run of value bytes `[value_start, value_start + len)` that comes from
/// source bytes starting at `source_start`. An escape sequence is one run
/// whose value bytes all map to the escape's first source byte.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    value_start: usize,
    source_start: usize,
    len: usize,
    /// Whether value bytes map 1:1 onto source bytes (plain text) or all to
    /// `source_start` (an escape).
    literal: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringLiteral {
    pub value: String,
    /// The whole literal in the source, quotes and prefixes included.
    pub range: TextRange,
    pub is_bytes: bool,
    segments: Vec<Segment>,
}

impl StringLiteral {
    /// Moves every source position by `delta` bytes.
    pub fn shift(&mut self, delta: isize) {
        self.range = self.range.shifted(delta);
        for segment in &mut self.segments {
            segment.source_start = segment.source_start.saturating_add_signed(delta);
        }
    }

    /// The source offset of a byte offset into `value`.
    pub fn source_offset(&self, value_offset: usize) -> usize {
        let found = self
            .segments
            .iter()
            .rev()
            .find(|s| s.value_start <= value_offset);
        match found {
            None => self.range.start,
            Some(s) if s.literal => s.source_start + (value_offset - s.value_start).min(s.len),
            Some(s) if value_offset >= s.value_start + s.len => s.source_start + 1,
            Some(s) => s.source_start,
        }
    }

    /// The source range of a byte range of `value`.
    pub fn source_range(&self, value_range: TextRange) -> TextRange {
        let start = self.source_offset(value_range.start);
        let end = if value_range.is_empty() {
            start
        } else {
            // The end of the last character, found from its start.
            let last_start = crate::position::floor_char_boundary(&self.value, value_range.end - 1);
            let last = self.source_offset(last_start);
            let rest = &self.value[last_start..];
            last + rest.chars().next().map_or(1, char::len_utf8)
        };
        TextRange::new(start, end.max(start).min(self.range.end))
    }

    /// Joins implicitly concatenated literals into one value.
    pub fn concat(parts: Vec<StringLiteral>) -> Option<StringLiteral> {
        let mut iter = parts.into_iter();
        let mut first = iter.next()?;
        for part in iter {
            let shift = first.value.len();
            first.value.push_str(&part.value);
            first.range = first.range.cover(part.range);
            first.is_bytes |= part.is_bytes;
            first
                .segments
                .extend(part.segments.into_iter().map(|mut s| {
                    s.value_start += shift;
                    s
                }));
        }
        Some(first)
    }
}

/// Decodes one literal whose source text is `text` starting at `offset`.
/// Returns `None` for an f-string with interpolations (its value is not
/// known without running it).
pub fn parse_literal(text: &str, offset: usize) -> Option<StringLiteral> {
    let prefix_len = text.find(['\'', '"']).filter(|&n| n <= 3)?;
    let prefix = text[..prefix_len].to_ascii_lowercase();
    let is_raw = prefix.contains('r');
    let is_bytes = prefix.contains('b');
    let is_format = prefix.contains('f') || prefix.contains('t');
    let rest = &text[prefix_len..];
    let quote = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        &rest[..3]
    } else {
        &rest[..1]
    };
    let body_start = prefix_len + quote.len();
    let body_end = if text.len() >= body_start + quote.len() && text.ends_with(quote) {
        text.len() - quote.len()
    } else {
        // Unterminated (a half-typed file): take what is there.
        text.len()
    };
    let body = &text[body_start..body_end.max(body_start)];
    if is_format && body.replace("{{", "").replace("}}", "").contains('{') {
        return None;
    }
    let mut lit = StringLiteral {
        value: String::with_capacity(body.len()),
        range: TextRange::new(offset, offset + text.len()),
        is_bytes,
        segments: Vec::new(),
    };
    let base = offset + body_start;
    let mut run_start = 0usize;
    let push_run = |lit: &mut StringLiteral, from: usize, to: usize| {
        if to > from {
            lit.segments.push(Segment {
                value_start: lit.value.len(),
                source_start: base + from,
                len: to - from,
                literal: true,
            });
            lit.value.push_str(&body[from..to]);
        }
    };
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if is_format && (bytes[i..].starts_with(b"{{") || bytes[i..].starts_with(b"}}")) {
            push_run(&mut lit, run_start, i + 1);
            i += 2;
            run_start = i;
            continue;
        }
        if bytes[i] != b'\\' || is_raw {
            i += 1;
            continue;
        }
        push_run(&mut lit, run_start, i);
        let (decoded, used) = decode_escape(&body[i..]);
        if let Some(decoded) = decoded {
            lit.segments.push(Segment {
                value_start: lit.value.len(),
                source_start: base + i,
                len: decoded.len_utf8(),
                literal: false,
            });
            lit.value.push(decoded);
        } else if used == 2 && matches!(body[i + 1..].chars().next(), Some('\n' | '\r')) {
            // A backslash-newline continues the line: no value at all.
        } else {
            // Unknown escapes stay as written, like Python.
            push_run(&mut lit, i, i + used);
        }
        i += used;
        run_start = i;
    }
    push_run(&mut lit, run_start, bytes.len());
    Some(lit)
}

/// Decodes the escape at the start of `s` (which begins with a backslash).
/// Returns the character (None for a line continuation or an unknown escape)
/// and the number of source bytes it takes.
fn decode_escape(s: &str) -> (Option<char>, usize) {
    let mut chars = s[1..].chars();
    let Some(c) = chars.next() else {
        return (None, 1);
    };
    let simple = match c {
        '\\' => Some('\\'),
        '\'' => Some('\''),
        '"' => Some('"'),
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'v' => Some('\x0b'),
        '0'..='7' => {
            let digits: String = s[1..]
                .chars()
                .take(3)
                .take_while(|d| d.is_digit(8))
                .collect();
            let value = u32::from_str_radix(&digits, 8)
                .ok()
                .and_then(char::from_u32);
            return (value, 1 + digits.len());
        }
        'x' | 'u' | 'U' => {
            let n = match c {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let digits: String = s[2..].chars().take(n).collect();
            if digits.len() == n && digits.chars().all(|d| d.is_ascii_hexdigit()) {
                let value = u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32);
                return (value, 2 + n);
            }
            return (None, 2);
        }
        'N' => {
            if let Some(end) = s.find('}') {
                return (Some('\u{FFFD}'), end + 1);
            }
            return (None, 2);
        }
        _ => None,
    };
    (simple, 1 + c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> StringLiteral {
        parse_literal(text, 100).unwrap()
    }

    #[test]
    fn plain_and_prefixed() {
        assert_eq!(lit("'abc'").value, "abc");
        assert_eq!(lit("u\"abc\"").value, "abc");
        assert_eq!(lit("r'a\\nb'").value, "a\\nb");
        assert_eq!(lit("'''a\nb'''").value, "a\nb");
        assert!(lit("b'x'").is_bytes);
    }

    #[test]
    fn escapes_are_decoded_and_mapped() {
        let l = lit("'a\\tb\\x41c'");
        assert_eq!(l.value, "a\tbAc");
        // 'b' is value byte 2, at source offset 100 + 1 (quote) + 3.
        assert_eq!(l.source_offset(2), 104);
        assert_eq!(l.source_offset(4), 109);
        assert_eq!(
            l.source_range(TextRange::new(0, 5)),
            TextRange::new(101, 110)
        );
    }

    #[test]
    fn fstrings_with_interpolation_are_unknown() {
        assert!(parse_literal("f'{x}'", 0).is_none());
        assert_eq!(lit("f'a{{b}}'").value, "a{b}");
    }

    #[test]
    fn concatenation_keeps_offsets() {
        let a = parse_literal("'DROP '", 10).unwrap();
        let b = parse_literal("\"TABLE t\"", 20).unwrap();
        let l = StringLiteral::concat(vec![a, b]).unwrap();
        assert_eq!(l.value, "DROP TABLE t");
        assert_eq!(l.source_offset(5), 21);
        assert_eq!(
            l.source_range(TextRange::new(0, 12)),
            TextRange::new(11, 28)
        );
    }

    #[test]
    fn ranges_ending_inside_a_character_are_widened_to_it() {
        // Found by the fuzzer: a docstring header id of multi-byte characters.
        let l = lit("'Revision ID: \u{fffd}\u{fffd}'");
        let l2 = parse_literal("'ID: éé'", 0).unwrap();
        assert_eq!(l2.source_range(TextRange::new(4, 7)), TextRange::new(5, 9));
        assert!(l.source_range(TextRange::new(13, 16)).end <= l.range.end);
    }

    #[test]
    fn fstring_with_multibyte_text_is_read() {
        // Found by the fuzzer: byte-wise scanning must not slice inside a character.
        assert_eq!(lit("f'\u{fffd}{{x}}'").value, "\u{fffd}{x}");
    }

    #[test]
    fn unterminated_literal_is_read() {
        assert_eq!(parse_literal("'abc", 0).unwrap().value, "abc");
    }
}
