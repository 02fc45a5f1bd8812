//! A guard in front of tower-lsp's reader: tower-lsp 0.20 stops serving at
//! the first message it cannot decode (its framed reader ends after an
//! error), so one malformed message from a client would kill the server.
//! Here every frame is checked — a `Content-Length` header and a JSON body —
//! and only valid ones are passed on; the others are logged and skipped.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Headers longer than this are garbage, not LSP.
const MAX_HEADER: usize = 8 * 1024;

/// Copies valid frames from `input` to `output` until `input` ends.
pub async fn forward_valid_frames(
    mut input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Complete frames already buffered.
        while let Some(frame) = next_frame(&mut buffer) {
            match frame {
                Frame::Valid(bytes) => {
                    if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                        return;
                    }
                }
                Frame::Skipped(reason) => {
                    eprintln!("alembic-lsp: skipped a malformed message: {reason}")
                }
            }
        }
        match input.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Frame {
    Valid(Vec<u8>),
    Skipped(String),
}

/// Takes the next complete frame off the front of `buffer`, if there is one.
fn next_frame(buffer: &mut Vec<u8>) -> Option<Frame> {
    let Some(end) = find(buffer, b"\r\n\r\n") else {
        if buffer.len() > MAX_HEADER {
            return Some(skip_to_next_header(buffer, 1, "a header without an end"));
        }
        return None;
    };
    let headers = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let length = headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    let Some(length) = length else {
        return Some(skip_to_next_header(
            buffer,
            end + 4,
            "no valid Content-Length",
        ));
    };
    let body_start = end + 4;
    if buffer.len() < body_start + length {
        return None;
    }
    let frame: Vec<u8> = buffer.drain(..body_start + length).collect();
    let body = &frame[body_start..];
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => Some(Frame::Valid(frame)),
        Ok(_) => Some(Frame::Skipped("the body is not a JSON object".into())),
        Err(e) => Some(Frame::Skipped(format!("the body is not JSON ({e})"))),
    }
}

/// Drops bytes up to the next `Content-Length` after `from`.
fn skip_to_next_header(buffer: &mut Vec<u8>, from: usize, reason: &str) -> Frame {
    let from = from.min(buffer.len());
    let next = find(&buffer[from..], b"Content-Length").map_or(buffer.len(), |i| from + i);
    buffer.drain(..next);
    Frame::Skipped(reason.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn valid_frames_pass_and_malformed_ones_are_skipped() {
        let mut buffer = Vec::new();
        buffer.extend(frame("{not json"));
        buffer.extend(b"Content-Length: abc\r\n\r\n{}");
        buffer.extend(frame(r#"{"jsonrpc":"2.0","method":"initialized"}"#));
        buffer.extend(b"Content-Length: 40\r\n\r\n{\"jsonrpc\"");
        assert!(matches!(next_frame(&mut buffer), Some(Frame::Skipped(_))));
        assert!(matches!(next_frame(&mut buffer), Some(Frame::Skipped(_))));
        assert_eq!(
            next_frame(&mut buffer),
            Some(Frame::Valid(frame(
                r#"{"jsonrpc":"2.0","method":"initialized"}"#
            )))
        );
        // An incomplete body waits for more bytes.
        assert_eq!(next_frame(&mut buffer), None);
    }
}
