//! Which header each field of a type names: worked out once per read from
//! a table worked out once per type (and thread).
//!
//! A key names a field when the two are equal ignoring ASCII case and
//! underscores, the key read up to its `(` suffix ([`names_bytes`]). Most
//! names have neither underscores nor a suffix; for them that is plain
//! equality ignoring case, so the type's table groups those fields by first
//! byte and length, and a key is compared only with the fields that can be
//! equal to it: a header the type does not declare costs one table read.

use std::cell::RefCell;

use crate::protocol::Frame;

/// Most headers and fields [`Matches`] works out at once; a frame or type
/// with more is matched header by header.
pub(super) const MATCHED: usize = 64;

/// Buckets of [`FieldTable::plain`].
const BUCKETS: usize = 32;

/// Types whose tables a thread keeps (two slots a type may take, by the
/// address of its field list; a collision only costs building a table
/// again). A power of two: slots are the top bits of a hash.
const CACHED_TYPES: usize = 32;

/// Whether a frame key (lowercase, maybe with a `(…)` suffix) names
/// `field`, ignoring ASCII case and underscores on both sides.
pub(super) fn names_bytes(key: &[u8], field: &str) -> bool {
    let field = field.as_bytes();
    let (mut in_key, mut in_field) = (0, 0);
    loop {
        while key.get(in_key) == Some(&b'_') {
            in_key += 1;
        }
        while field.get(in_field) == Some(&b'_') {
            in_field += 1;
        }
        // The key ends at its `(` suffix.
        let next = key.get(in_key).filter(|&&byte| byte != b'(');
        match (next, field.get(in_field)) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {
                in_key += 1;
                in_field += 1;
            }
            _ => return false,
        }
    }
}

/// Longest key [`FieldTable::find`] normalises on the stack; a longer key
/// that is not already normal is compared field by field.
const KEY_MAX: usize = 64;

/// The bucket of a normalised name: its first byte and its length.
fn bucket(name: &[u8]) -> usize {
    let first = name.first().map_or(0, |&byte| usize::from(byte & 0x1f));
    (first + name.len() * 7) % BUCKETS
}

/// Whether `a` and `b` are the same bytes: a slice comparison without
/// the call to `memcmp`, which costs more than comparing a name this short.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word(bytes: &[u8], at: usize) -> u64 {
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    }
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if len < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    // Whole words, the last one overlapping the one before.
    let mut at = 0;
    while at + 8 < len {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, len - 8) == word(b, len - 8)
}

/// Bytes of normal forms a [`FieldTable`] holds (a type of 63 fields
/// averages 16 bytes a name); a type whose names take more compares every
/// key with every field.
const NAMES_MAX: usize = 1024;

/// A type's fields, normalised and grouped for matching.
///
/// A parsed frame's keys are lowercase already and nearly never hold an
/// underscore or a `(`: such a key is its own normal form, so it is looked
/// up as it is, compared with one or two normalised names of its bucket.
/// Only a key that is not found is checked for underscores, a suffix or
/// capitals, and looked up again normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldTable {
    /// Per [`bucket`], a bit per field (fewer than [`MATCHED`]: 64).
    buckets: [u64; BUCKETS],
    /// The fields' normal forms (ASCII lowercase, no underscores), one
    /// after another.
    names: [u8; NAMES_MAX],
    /// Where each field's normal form ends in `names` (it starts where the
    /// one before ends); a field that names no key has an empty range.
    ends: [u16; MATCHED],
    /// A bit per field that names keys (one holding `(` names none).
    live: u64,
    /// Whether every key is compared with every field ([`names_bytes`]):
    /// when two fields share a normal form (a key then names both, and the
    /// first from the search's start wins), or the names do not fit.
    exhaustive: bool,
}

impl FieldTable {
    /// The table of `fields` (fewer than [`MATCHED`]).
    pub(super) fn new(fields: &[&str]) -> Self {
        let mut table = Self {
            buckets: [0; BUCKETS],
            names: [0; NAMES_MAX],
            ends: [0; MATCHED],
            live: 0,
            exhaustive: false,
        };
        table.rebuild(fields);
        table
    }

    /// Makes this the table of `fields` (fewer than [`MATCHED`]).
    fn rebuild(&mut self, fields: &[&str]) {
        // All of it, so that a rebuilt table equals a new one.
        self.buckets = [0; BUCKETS];
        self.names = [0; NAMES_MAX];
        self.ends = [0; MATCHED];
        self.live = 0;
        self.exhaustive = fields.len() >= MATCHED;
        let mut end = 0;
        for (position, field) in fields.iter().take(MATCHED).enumerate() {
            let start = end;
            // A field holding `(` names no key, which is read only up to
            // its own `(`.
            if !field.contains('(') {
                let normal = field.bytes().filter(|&byte| byte != b'_');
                for byte in normal.map(|byte| byte.to_ascii_lowercase()) {
                    match self.names.get_mut(end) {
                        Some(slot) => *slot = byte,
                        None => self.exhaustive = true,
                    }
                    end += 1;
                }
                end = end.min(NAMES_MAX);
                let name = &self.names[start..end];
                let bucket = bucket(name);
                let shared = self.candidates(bucket).any(|(_, other)| other == name);
                self.exhaustive |= shared;
                self.buckets[bucket] |= 1 << position;
                self.live |= 1 << position;
            }
            // Below `NAMES_MAX` (1024): it fits.
            self.ends[position] = u16::try_from(end).unwrap_or(u16::MAX);
        }
    }

    /// The fields of `bucket` with their normal forms.
    fn candidates(&self, bucket: usize) -> impl Iterator<Item = (usize, &[u8])> {
        let mut bits = self.buckets[bucket];
        std::iter::from_fn(move || {
            let position = (bits != 0).then(|| bits.trailing_zeros() as usize)?;
            bits &= bits - 1;
            Some((position, self.name(position)))
        })
    }

    /// The normal form of field `position` (empty for one that names no
    /// key, which is not in a bucket).
    fn name(&self, position: usize) -> &[u8] {
        let start = position
            .checked_sub(1)
            .map_or(0, |before| self.ends[before]);
        &self.names[usize::from(start)..usize::from(self.ends[position])]
    }

    /// The field whose normal form is `name`.
    fn lookup(&self, name: &[u8]) -> Option<usize> {
        self.candidates(bucket(name))
            .find(|&(_, candidate)| same_bytes(candidate, name))
            .map(|(position, _)| position)
    }

    /// The field `key` names, searching from field `start` round to just
    /// before it (which matters only when more than one field matches).
    pub(super) fn find(&self, fields: &[&str], key: &[u8], start: usize) -> Option<usize> {
        if self.exhaustive {
            return (start..fields.len())
                .chain(0..start)
                .find(|&position| names_bytes(key, fields[position]));
        }
        // Types declare fields in about the order servers write headers:
        // the field after the last one found is the likeliest.
        if self.live & (1 << start.min(63)) != 0 && same_bytes(self.name(start), key) {
            return Some(start);
        }
        if let Some(found) = self.lookup(key) {
            return Some(found);
        }
        let normal = |byte: &u8| *byte != b'_' && *byte != b'(' && !byte.is_ascii_uppercase();
        if key.iter().all(normal) {
            return None;
        }
        let mut normalised = [0; KEY_MAX];
        let mut len = 0;
        for &byte in key.iter().take_while(|&&byte| byte != b'(') {
            if byte != b'_' {
                *normalised.get_mut(len)? = byte.to_ascii_lowercase();
                len += 1;
            }
        }
        self.lookup(&normalised[..len])
    }
}

/// A table a thread keeps, with the field list it is for.
struct Cached {
    fields: &'static [&'static str],
    table: FieldTable,
}

thread_local! {
    /// Tables of the types this thread reads: one allocation, on the
    /// thread's first typed read; a slot another type takes is rebuilt in
    /// place, so reading allocates nothing after that.
    static TABLES: RefCell<Option<Box<[Option<Cached>]>>> =
        const { RefCell::new(None) };
}

/// Runs `work` with the table of `fields` (a type's field list), built on
/// this thread's first read of the type.
fn with_table<R>(fields: &'static [&'static str], mut work: impl FnMut(&FieldTable) -> R) -> R {
    // Field lists are statics: the same list has the same address, and a
    // list at the same address and length is the same list.
    // Two slots a list may take (Fibonacci hashing of its address), so
    // that two types a thread reads in turn seldom take each other's.
    let hash = (fields.as_ptr().addr() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let first = usize::try_from(hash >> (64 - CACHED_TYPES.trailing_zeros())).unwrap_or(0);
    let slots = [first, first ^ 1];
    TABLES
        .try_with(|tables| {
            let mut tables = tables.borrow_mut();
            let tables = tables.get_or_insert_with(|| (0..CACHED_TYPES).map(|_| None).collect());
            let kept = |slot: &usize| {
                tables[*slot]
                    .as_ref()
                    .is_some_and(|cached| std::ptr::eq(cached.fields, fields))
            };
            // Kept in one of its slots; else a free one; else the first,
            // evicting the type there.
            let slot = slots
                .iter()
                .find(|slot| kept(slot))
                .or_else(|| slots.iter().find(|&&slot| tables[slot].is_none()))
                .map_or(first, |&slot| slot);
            let cached = match &mut tables[slot] {
                Some(cached) if std::ptr::eq(cached.fields, fields) => cached,
                Some(cached) => {
                    cached.fields = fields;
                    cached.table.rebuild(fields);
                    cached
                }
                entry @ None => entry.insert(Cached {
                    fields,
                    table: FieldTable::new(fields),
                }),
            };
            work(&cached.table)
        })
        // The thread's tables are gone (a read from another thread-local's
        // destructor): this read builds its own.
        .unwrap_or_else(|_| work(&FieldTable::new(fields)))
}

/// Which headers each field names, worked out once per read: each key is
/// looked up in the type's [`FieldTable`] from just after the last field
/// found (types declare fields in about the order servers write headers,
/// so the first candidate is usually the match). Without it every read of
/// a field would scan every header.
pub(super) struct Matches {
    /// Per header (up to [`MATCHED`]): 1 + the field it names, 0 for none.
    field_of: [u8; MATCHED],
    /// Per field: 1 + its first header, 0 for none.
    first_of: [u8; MATCHED],
    /// Whether the tables hold the answers (frame and type small enough).
    complete: bool,
}

impl Matches {
    pub(super) fn new(frame: &Frame, fields: &'static [&'static str]) -> Self {
        let mut matches = Self {
            field_of: [0; MATCHED],
            first_of: [0; MATCHED],
            complete: frame.len() < MATCHED && fields.len() < MATCHED,
        };
        if !matches.complete {
            return matches;
        }
        with_table(fields, |table| {
            let mut after = 0;
            for index in 0..frame.len() {
                let (key, _) = frame.raw_header(index);
                if let Some(found) = table.find(fields, key, after) {
                    after = found + 1;
                    // Both below `MATCHED` (64): they fit in a byte.
                    matches.field_of[index] = u8::try_from(found + 1).unwrap_or(0);
                    if matches.first_of[found] == 0 {
                        matches.first_of[found] = u8::try_from(index + 1).unwrap_or(0);
                    }
                }
            }
        });
        matches
    }

    /// The first header that names field `field` (at `position` among the
    /// type's fields), if any.
    #[inline]
    pub(super) fn first(&self, frame: &Frame, field: &str, position: usize) -> Option<usize> {
        if self.complete {
            return usize::from(self.first_of[position]).checked_sub(1);
        }
        Self::search(frame, field)
    }

    /// The first header that names `field`, compared one by one (a frame
    /// or type too large for the tables).
    #[cold]
    fn search(frame: &Frame, field: &str) -> Option<usize> {
        (0..frame.len()).find(|&index| names_bytes(frame.raw_header(index).0, field))
    }

    /// Whether header `index` names field `field` (at `position` among the
    /// type's fields).
    pub(super) fn names(&self, frame: &Frame, index: usize, field: &str, position: usize) -> bool {
        if self.complete {
            usize::from(self.field_of[index]) == position + 1
        } else {
            names_bytes(frame.raw_header(index).0, field)
        }
    }
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
