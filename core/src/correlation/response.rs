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
    /// (legacy Command) or `Goodbye` (Logoff), compared ignoring case.
    #[must_use]
    pub fn is_success(&self) -> bool {
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

    /// A Command's output lines in either format: the legacy body split at
    /// `\n` (without a final empty line), or the `Output:` headers.
    #[must_use]
    pub fn output_lines(&self) -> OutputLines<'_> {
        let body = self
            .frame
            .follows_body()
            .map(|body| body.strip_suffix(b"\n").unwrap_or(body));
        OutputLines {
            frame: &self.frame,
            body: body.filter(|body| !body.is_empty()),
            legacy: body.is_some(),
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
    /// What is left of a legacy body.
    body: Option<&'a [u8]>,
    legacy: bool,
    next_header: usize,
}

impl<'a> Iterator for OutputLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.legacy {
            let body = self.body?;
            let (line, rest) = match memchr::memchr(b'\n', body) {
                Some(at) => (&body[..at], Some(&body[at + 1..])),
                None => (body, None),
            };
            self.body = rest;
            return Some(line);
        }
        while let Some((key, value)) = self.frame.header(self.next_header) {
            self.next_header += 1;
            if key == "output" {
                return Some(value.as_bytes());
            }
        }
        None
    }
}
