//! Positions have one home: byte offsets inside, and conversions to the
//! line/column systems the outside world speaks — UTF-16 code units for LSP,
//! Unicode code points (1-based) for the CLI and JSON.
//!
//! Line breaks are `\n`, `\r\n` and a lone `\r`, as in Python and in LSP.

/// A half-open byte range `[start, end)` into a file's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        TextRange { start, end }
    }

    /// The same range moved by `delta` bytes (a text edit before it).
    pub fn shifted(self, delta: isize) -> Self {
        TextRange {
            start: self.start.saturating_add_signed(delta),
            end: self.end.saturating_add_signed(delta),
        }
    }

    pub fn empty(at: usize) -> Self {
        TextRange { start: at, end: at }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }

    pub fn cover(self, other: TextRange) -> TextRange {
        TextRange::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A zero-based line and a zero-based column, in the unit of the caller's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// Start offsets of every line of a text.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => line_starts.push(i + 1),
                b'\r' => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    line_starts.push(i + 1);
                }
                _ => {}
            }
            i += 1;
        }
        LineIndex {
            line_starts,
            len: text.len(),
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The zero-based line holding `offset` (clamped to the text).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.len)
    }

    /// The byte range of a line, without its line break.
    pub fn line_range(&self, text: &str, line: usize) -> TextRange {
        let start = self.line_start(line);
        let mut end = self.line_start(line + 1);
        let bytes = text.as_bytes();
        while end > start && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        TextRange::new(start, end)
    }

    /// Byte offset → zero-based line and column in Unicode code points.
    pub fn to_code_points(&self, text: &str, offset: usize) -> LineCol {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let col = text[start..offset].chars().count();
        LineCol {
            line: line as u32,
            col: col as u32,
        }
    }

    /// Byte offset → zero-based line and column in UTF-16 code units (LSP).
    pub fn to_utf16(&self, text: &str, offset: usize) -> LineCol {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let col: usize = text[start..offset].chars().map(char::len_utf16).sum();
        LineCol {
            line: line as u32,
            col: col as u32,
        }
    }

    /// Zero-based line and UTF-16 column → byte offset. Out-of-range lines and
    /// columns are clamped to the end of the text / the end of the line, and a
    /// column inside a surrogate pair lands before that character.
    pub fn from_utf16(&self, text: &str, pos: LineCol) -> usize {
        let line = pos.line as usize;
        if line >= self.line_starts.len() {
            return self.len;
        }
        let range = self.line_range(text, line);
        let mut units = 0usize;
        for (i, ch) in text[range.start..range.end].char_indices() {
            let next = units + ch.len_utf16();
            if next > pos.col as usize {
                return range.start + i;
            }
            units = next;
        }
        range.end
    }
}

/// The largest char boundary not after `offset` (clamped to the text).
pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_of_every_kind() {
        let text = "a\nb\r\nc\rd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 4);
        assert_eq!(idx.line_of(0), 0);
        assert_eq!(idx.line_of(2), 1);
        assert_eq!(idx.line_of(5), 2);
        assert_eq!(idx.line_of(7), 3);
        assert_eq!(idx.line_range(text, 1), TextRange::new(2, 3));
    }

    #[test]
    fn utf16_and_code_points_differ_on_astral_characters() {
        let text = "x = '😀é' # op\n";
        let idx = LineIndex::new(text);
        let hash = text.find('#').unwrap();
        assert_eq!(idx.to_code_points(text, hash), LineCol { line: 0, col: 9 });
        assert_eq!(idx.to_utf16(text, hash), LineCol { line: 0, col: 10 });
        assert_eq!(idx.from_utf16(text, LineCol { line: 0, col: 10 }), hash);
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let text = "ab\n😀\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.from_utf16(text, LineCol { line: 0, col: 99 }), 2);
        assert_eq!(
            idx.from_utf16(text, LineCol { line: 99, col: 0 }),
            text.len()
        );
        // Inside the surrogate pair: before the character.
        assert_eq!(idx.from_utf16(text, LineCol { line: 1, col: 1 }), 3);
        assert_eq!(idx.to_utf16(text, 4), LineCol { line: 1, col: 0 });
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Every char boundary survives byte → UTF-16 → byte, and the
            /// code-point column counts the chars before it on its line.
            #[test]
            fn conversions_round_trip(text in "(\\PC|\r|\n|\r\n|😀|é){0,64}") {
                let idx = LineIndex::new(&text);
                for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
                    let utf16 = idx.to_utf16(&text, offset);
                    let back = idx.from_utf16(&text, utf16);
                    // A line break's second byte (\n of \r\n) maps to the line end.
                    let line = idx.line_range(&text, idx.line_of(offset));
                    if offset <= line.end {
                        prop_assert_eq!(back, offset);
                    }
                    let cp = idx.to_code_points(&text, offset);
                    prop_assert_eq!(cp.line, utf16.line);
                    let start = idx.line_start(cp.line as usize);
                    prop_assert_eq!(cp.col as usize, text[start..offset.max(start)].chars().count());
                }
            }

            /// Any position a client sends maps to a char boundary in the text.
            #[test]
            fn any_position_is_clamped(text in "\\PC{0,32}", line in 0u32..8, col in 0u32..80) {
                let idx = LineIndex::new(&text);
                let offset = idx.from_utf16(&text, LineCol { line, col });
                prop_assert!(offset <= text.len());
                prop_assert!(text.is_char_boundary(offset));
            }
        }
    }
}
