//! [`ParserConfig`]: the parser's bounds and role, validated once.

/// Which side of the connection the parser reads for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads what Asterisk sends: a banner, then `Response:`/`Event:` frames,
    /// including legacy `Response: Follows` Command output.
    Client,
    /// Reads what a client sends: `Action:` frames (used by simulated servers).
    Server,
}

/// Default largest frame: 64 KiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 64 * 1024;
/// Hard ceiling on [`ParserConfig::max_frame_size`]: 4 MiB.
pub const MAX_FRAME_SIZE_CEILING: usize = 4 * 1024 * 1024;
/// Floor on [`ParserConfig::max_frame_size`]: 1 KiB, one Asterisk line.
pub const MIN_FRAME_SIZE: usize = 1024;
/// Default resynchronisation budget: 1 MiB without a frame boundary.
pub const DEFAULT_MAX_RESYNC_BYTES: usize = 1024 * 1024;

/// Settings of a [`Parser`](super::Parser). Built with chained setters and
/// checked by [`Parser::new`](super::Parser::new).
///
/// ```
/// use apn_ami_core::protocol::{Parser, ParserConfig, ConfigError};
///
/// let config = ParserConfig::default().max_frame_size(16 * 1024);
/// assert!(Parser::new(config).is_ok());
/// let too_big = ParserConfig::default().max_frame_size(1 << 30);
/// assert!(matches!(Parser::new(too_big), Err(ConfigError::MaxFrameSize { .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserConfig {
    pub(crate) role: Role,
    pub(crate) expect_banner: bool,
    pub(crate) max_frame_size: usize,
    pub(crate) max_resync_bytes: usize,
}

impl Default for ParserConfig {
    /// Client role, banner expected, 64 KiB frames, 1 MiB resync budget.
    fn default() -> Self {
        Self {
            role: Role::Client,
            expect_banner: true,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_resync_bytes: DEFAULT_MAX_RESYNC_BYTES,
        }
    }
}

impl ParserConfig {
    /// A server-side parser: no banner, `Action:` frames.
    #[must_use]
    pub fn server() -> Self {
        Self {
            role: Role::Server,
            expect_banner: false,
            ..Self::default()
        }
    }

    /// Whether the stream starts with the `Asterisk Call Manager/x.y.z` line.
    #[must_use]
    pub const fn expect_banner(mut self, expect: bool) -> Self {
        self.expect_banner = expect;
        self
    }

    /// Largest frame kept, terminator included; a larger one is discarded and
    /// counted. Between [`MIN_FRAME_SIZE`] and [`MAX_FRAME_SIZE_CEILING`].
    #[must_use]
    pub const fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// How many bytes may be skipped looking for a frame boundary before the
    /// stream is declared unrecoverable ([`ProtocolError::Desynchronized`](super::ProtocolError::Desynchronized)).
    /// At least [`ParserConfig::max_frame_size`].
    #[must_use]
    pub const fn max_resync_bytes(mut self, bytes: usize) -> Self {
        self.max_resync_bytes = bytes;
        self
    }

    /// The role this parser reads for.
    #[must_use]
    pub const fn role(&self) -> Role {
        self.role
    }

    /// Largest read buffer the parser ever holds: two frames' worth, so a
    /// frame that is nearly complete always leaves room for the next read.
    #[must_use]
    pub const fn buffer_limit(&self) -> usize {
        self.max_frame_size * 2
    }

    pub(crate) fn validate(self) -> Result<Self, ConfigError> {
        if self.max_frame_size < MIN_FRAME_SIZE || self.max_frame_size > MAX_FRAME_SIZE_CEILING {
            return Err(ConfigError::MaxFrameSize {
                requested: self.max_frame_size,
            });
        }
        if self.max_resync_bytes < self.max_frame_size {
            return Err(ConfigError::ResyncBelowFrameSize {
                resync: self.max_resync_bytes,
                frame: self.max_frame_size,
            });
        }
        Ok(self)
    }
}

/// A parser setting outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `max_frame_size` is not within [`MIN_FRAME_SIZE`]..=[`MAX_FRAME_SIZE_CEILING`].
    #[error(
        "max_frame_size {requested} is outside {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE_CEILING} bytes"
    )]
    MaxFrameSize {
        /// The value asked for.
        requested: usize,
    },
    /// `max_resync_bytes` is smaller than one frame.
    #[error("max_resync_bytes {resync} is smaller than max_frame_size {frame}")]
    ResyncBelowFrameSize {
        /// The resync budget asked for.
        resync: usize,
        /// The frame size in force.
        frame: usize,
    },
}
