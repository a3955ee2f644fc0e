//! [`Response`]: an action's complete answer.

use crate::protocol::{Frame, Value};

/// The complete answer to one action: the response frame and, for a list,
/// every item in order and the event that completed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    frame: Frame,
    items: Vec<Frame>,
    complete: Option<Frame>,
}

impl Response {
    pub(crate) const fn new(frame: Frame, items: Vec<Frame>, complete: Option<Frame>) -> Self {
        Self {
            frame,
            items,
            complete,
        }
    }

    /// The response frame itself.
    #[must_use]
    pub const fn frame(&self) -> &Frame {
        &self.frame
    }

    /// Whether Asterisk accepted the action: `Response: Success`, `Follows`
    /// (legacy Command) or `Goodbye` (Logoff), compared ignoring case, or a
    /// [headerless answer](Frame::is_headerless) (the text itself is the
    /// answer).
    #[must_use]
    pub fn is_success(&self) -> bool {
        if self.frame.is_headerless() {
            return true;
        }
        let status = self.frame.first_value();
        ["success", "follows", "goodbye"]
            .iter()
            .any(|ok| status.eq_ignore_ascii_case(ok))
    }

    /// The `Message` header, if any.
    #[must_use]
    pub fn message(&self) -> Option<Value<'_>> {
        self.frame.get("message")
    }

    /// A list's items, in order (empty for other actions).
    #[must_use]
    pub fn items(&self) -> &[Frame] {
        &self.items
    }

    /// The event that completed a list (`EventList: Complete`).
    #[must_use]
    pub const fn complete_event(&self) -> Option<&Frame> {
        self.complete.as_ref()
    }

    /// A Command's output lines, in order, whatever shape the server wrote
    /// them in: `Output:` headers (Asterisk 14+); the legacy raw body up to
    /// `--END COMMAND--`, split at `\n` (without a final empty line); or the
    /// hybrid of the two, a first line as an `Output:` header (CRLF or bare
    /// `\n`) and the rest raw. Bytes are as received (a `\r` inside a line
    /// survives). A [headerless answer](Frame::is_headerless) (the old
    /// `Queues`) gives its CRLF lines, the empty line between entries kept.
    #[must_use]
    pub fn output_lines(&self) -> OutputLines<'_> {
        let mut body = self
            .frame
            .follows_body()
            .map(|body| body.strip_suffix(b"\n").unwrap_or(body));
        if !self.frame.is_headerless() && self.frame.get("output").is_none() {
            // The hybrid whose first line ended in a bare `\n`: the header
            // was read as the body's first line.
            body = body.map(|body| body.strip_prefix(b"Output: ").unwrap_or(body));
        }
        OutputLines {
            frame: &self.frame,
            body: body.filter(|body| !body.is_empty()),
            crlf: self.frame.is_headerless(),
            next_header: 0,
        }
    }

    /// Heap bytes held, for memory budgets.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        let frames = self.items.iter().chain(&self.complete).chain([&self.frame]);
        frames.map(Frame::heap_size).sum::<usize>() + self.items.capacity() * size_of::<Frame>()
    }
}

/// The lines of a Command's output; see [`Response::output_lines`].
#[derive(Debug, Clone)]
pub struct OutputLines<'a> {
    frame: &'a Frame,
    /// What is left of a legacy body, read after the `Output:` headers.
    body: Option<&'a [u8]>,
    /// Whether the body's lines end in CRLF (a headerless answer) rather
    /// than in `\n` (a legacy Command body, whose `\r`s are output).
    crlf: bool,
    next_header: usize,
}

impl<'a> Iterator for OutputLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while let Some((key, value)) = self.frame.header(self.next_header) {
            self.next_header += 1;
            if key == "output" {
                return Some(value.as_bytes());
            }
        }
        let body = self.body?;
        let (line, rest) = match memchr::memchr(b'\n', body) {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        self.body = rest;
        Some(if self.crlf {
            line.strip_suffix(b"\r").unwrap_or(line)
        } else {
            line
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Response;
    use crate::protocol::{Item, Parser, ParserConfig};

    fn response(wire: &[u8]) -> Response {
        let mut parser =
            Parser::new(ParserConfig::default().expect_banner(false)).expect("valid config");
        let mut frames = Vec::new();
        parser
            .feed(wire, |item| frames.extend(Item::into_frame(item)))
            .expect("valid AMI");
        assert_eq!(frames.len(), 1, "one frame in {wire:?}");
        Response::new(frames.remove(0), Vec::new(), None)
    }

    fn lines(wire: &[u8]) -> Vec<Vec<u8>> {
        response(wire).output_lines().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn every_command_shape_gives_the_same_lines() {
        let expected: Vec<Vec<u8>> = vec![
            b"Channel   Location   State".to_vec(),
            b"  0 active channels\r".to_vec(),
            b"".to_vec(),
            b"1 call processed".to_vec(),
        ];
        let shapes: [&[u8]; 5] = [
            // Asterisk 14+: one header per line.
            b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: Channel   Location   State\r\nOutput:   0 active channels\r\r\nOutput: \r\nOutput: 1 call processed\r\n\r\n",
            // Up to 13: the raw body up to the marker.
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nChannel   Location   State\n  0 active channels\r\n\n1 call processed\n--END COMMAND--\r\n\r\n",
            // ... with the marker glued to an output that ends without `\n`.
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nChannel   Location   State\n  0 active channels\r\n\n1 call processed--END COMMAND--\r\n\r\n",
            // The hybrid: a first `Output:` header, then the raw rest.
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nOutput: Channel   Location   State\r\n  0 active channels\r\n\n1 call processed\n--END COMMAND--\r\n\r\n",
            // The hybrid whose first line ends in a bare `\n`.
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nOutput: Channel   Location   State\n  0 active channels\r\n\n1 call processed\n--END COMMAND--\r\n\r\n",
        ];
        for wire in shapes {
            assert_eq!(lines(wire), expected, "{wire:?}");
        }
    }

    #[test]
    fn empty_output_is_no_line_in_the_legacy_shape_and_one_empty_line_in_the_modern() {
        assert!(
            lines(b"Response: Follows\r\nPrivilege: Command\r\n\n--END COMMAND--\r\n\r\n")
                .is_empty()
        );
        assert_eq!(
            lines(b"Response: Success\r\nMessage: Command output follows\r\nOutput: \r\n\r\n"),
            vec![Vec::new()]
        );
        assert!(lines(b"Response: Success\r\nPing: Pong\r\n\r\n").is_empty());
    }
}
