//! Turning a file's bytes into text the way Python would read it: a UTF-8 BOM
//! is dropped, a PEP 263 coding declaration is honoured, and anything Python
//! would refuse (invalid UTF-8, NUL bytes) is decoded lossily and reported, so
//! the rest of the file is still checked.

/// Why the text of a file is not exactly what Python would import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeProblem {
    /// Bytes that are not valid in the file's encoding, at this byte offset of the raw file.
    InvalidEncoding { encoding: String, byte: usize },
    /// A coding declaration naming an encoding we do not know.
    UnknownEncoding(String),
    /// NUL bytes, which Python refuses in source code.
    NulByte { byte: usize },
}

impl DecodeProblem {
    pub fn message(&self) -> String {
        match self {
            DecodeProblem::InvalidEncoding { encoding, byte } => format!(
                "the file is not valid {encoding} (first bad byte at offset {byte}); Python cannot import it"
            ),
            DecodeProblem::UnknownEncoding(name) => {
                format!("unknown encoding `{name}` in the coding declaration; Python cannot import the file")
            }
            DecodeProblem::NulByte { byte } => format!(
                "the file contains a NUL byte (offset {byte}); Python cannot import it"
            ),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DecodedText {
    pub text: String,
    pub problem: Option<DecodeProblem>,
}

pub fn decode(bytes: &[u8]) -> DecodedText {
    let (bytes, had_bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let declared = if had_bom {
        None
    } else {
        coding_declaration(bytes)
    };
    let (text, mut problem) = match declared.as_deref() {
        None => decode_utf8(bytes),
        Some(name) => decode_declared(bytes, name),
    };
    if problem.is_none() {
        if let Some(byte) = bytes.iter().position(|&b| b == 0) {
            problem = Some(DecodeProblem::NulByte { byte });
        }
    }
    DecodedText { text, problem }
}

fn decode_utf8(bytes: &[u8]) -> (String, Option<DecodeProblem>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(err) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(DecodeProblem::InvalidEncoding {
                encoding: "UTF-8".into(),
                byte: err.valid_up_to(),
            }),
        ),
    }
}

fn decode_declared(bytes: &[u8], name: &str) -> (String, Option<DecodeProblem>) {
    let normalized = name.to_ascii_lowercase().replace('_', "-");
    if normalized == "utf-8" || normalized == "utf8" || normalized.starts_with("utf-8-") {
        return decode_utf8(bytes);
    }
    // Python's latin-1 is ISO-8859-1 proper: every byte is the code point of
    // the same value (encoding_rs maps the label to windows-1252 instead).
    if matches!(
        normalized.as_str(),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1"
    ) {
        return (bytes.iter().map(|&b| b as char).collect(), None);
    }
    match encoding_rs::Encoding::for_label(normalized.as_bytes()) {
        Some(encoding) => {
            let (text, _, had_errors) = encoding.decode(bytes);
            let problem = had_errors.then(|| DecodeProblem::InvalidEncoding {
                encoding: name.to_owned(),
                byte: 0,
            });
            (text.into_owned(), problem)
        }
        None => {
            let (text, _) = decode_utf8(bytes);
            (text, Some(DecodeProblem::UnknownEncoding(name.to_owned())))
        }
    }
}

/// PEP 263: `coding[:=]\s*([-\w.]+)` in a comment on line 1 or 2 (line 2 only
/// when line 1 is a comment or blank).
fn coding_declaration(bytes: &[u8]) -> Option<String> {
    let mut lines = bytes.split(|&b| b == b'\n').take(2);
    let first = lines.next()?;
    if let Some(name) = coding_in_line(first) {
        return Some(name);
    }
    let first_trim = trim_ascii(first);
    if !first_trim.is_empty() && first_trim[0] != b'#' {
        return None;
    }
    lines.next().and_then(coding_in_line)
}

fn coding_in_line(line: &[u8]) -> Option<String> {
    let line = trim_ascii(line);
    if line.first() != Some(&b'#') {
        return None;
    }
    let text = String::from_utf8_lossy(line);
    let at = text.find("coding")?;
    let rest = &text[at + "coding".len()..];
    let rest = rest.strip_prefix([':', '='])?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

fn trim_ascii(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &line[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped() {
        let d = decode(b"\xEF\xBB\xBFrevision = 'a'\n");
        assert_eq!(d.text, "revision = 'a'\n");
        assert!(d.problem.is_none());
    }

    #[test]
    fn latin1_declaration_is_honoured() {
        let d = decode(b"# -*- coding: latin-1 -*-\n\"\"\"caf\xe9\"\"\"\n");
        assert!(d.text.contains("café"));
        assert!(d.problem.is_none());
    }

    #[test]
    fn invalid_utf8_is_reported_not_rejected() {
        let d = decode(b"revision = 'a'\n# \xff\xfe\n");
        assert!(d.text.starts_with("revision = 'a'"));
        assert!(matches!(
            d.problem,
            Some(DecodeProblem::InvalidEncoding { byte: 17, .. })
        ));
    }

    #[test]
    fn nul_bytes_are_reported() {
        let d = decode(b"revision = 'a'\0\n");
        assert_eq!(d.problem, Some(DecodeProblem::NulByte { byte: 14 }));
    }

    #[test]
    fn coding_on_second_line_only_after_a_comment() {
        assert_eq!(
            coding_declaration(b"#!/usr/bin/env python\n# coding=cp1252\n"),
            Some("cp1252".into())
        );
        assert_eq!(coding_declaration(b"x = 1\n# coding=cp1252\n"), None);
    }
}
