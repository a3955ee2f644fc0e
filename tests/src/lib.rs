//! Conformance transcripts.
