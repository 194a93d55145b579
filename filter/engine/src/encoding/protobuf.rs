//! Reading a serialized `google.protobuf.Struct`: Istio's peer metadata as
//! one `upstream_peer` / `downstream_peer` property read hands it over.
//!
//! Istio keeps peer metadata in filter state as a CelState of type Protobuf
//! holding a `google.protobuf.Struct` (istio/proxy `peerInfoPrototype`).
//! Envoy's `Context::getProperty` (envoy `source/extensions/common/wasm/context.cc`)
//! calls `findValue(name, arena, last)` with `last` set when the path ends
//! at the top-level name, and `CelState::exprValue` (envoy
//! `source/extensions/filters/common/expr/cel_state.cc`) then returns the
//! serialized message as bytes; a longer path (`upstream_peer.workload`)
//! deserializes the whole message for every field read. So one read of the
//! whole value is both the fewest host calls and the least work for Envoy.

/// A Struct field: its key, and its `string_value` (`None` for another kind).
pub type Field<'a> = (&'a [u8], Option<&'a [u8]>);

/// The top-level fields of a serialized `google.protobuf.Struct` (`fields`
/// = 1, map entries of `key` = 1 and `value` = 2): each key with its
/// `string_value` (`google.protobuf.Value` field 3), or `None` when the
/// value is of another kind (number, bool, struct, list, null).
///
/// `None` when the bytes are not a well-formed Struct (an older proxy's
/// FlatBuffers peer metadata, for example): the caller then reads fields
/// one by one.
pub fn struct_fields(bytes: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut r = Reader { bytes, at: 0 };
    while !r.done() {
        let (field, wire) = r.tag()?;
        if field == 1 && wire == LEN {
            out.push(entry(r.len_delimited()?)?);
        } else {
            r.skip(wire)?;
        }
    }
    Some(out)
}

/// One map entry: its key and, when the value is a string, the string.
fn entry(bytes: &[u8]) -> Option<Field<'_>> {
    let mut r = Reader { bytes, at: 0 };
    let (mut key, mut value): (&[u8], Option<&[u8]>) = (&[], None);
    while !r.done() {
        match r.tag()? {
            (1, LEN) => key = r.len_delimited()?,
            (2, LEN) => value = string_value(r.len_delimited()?)?,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some((key, value))
}

/// A `google.protobuf.Value`'s `string_value`; `Some(None)` for another kind.
fn string_value(bytes: &[u8]) -> Option<Option<&[u8]>> {
    let mut r = Reader { bytes, at: 0 };
    let mut out = None;
    while !r.done() {
        match r.tag()? {
            (3, LEN) => out = Some(r.len_delimited()?),
            (_, wire) => {
                r.skip(wire)?;
                out = None;
            }
        }
    }
    Some(out)
}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A field number (at least 1) and a wire type this reader can skip.
    fn tag(&mut self) -> Option<(u64, u8)> {
        let tag = self.varint()?;
        let (field, wire) = (tag >> 3, (tag & 7) as u8);
        (field > 0 && matches!(wire, VARINT | I64 | LEN | I32)).then_some((field, wire))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn len_delimited(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }

    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            VARINT => self.varint().map(drop),
            I64 => self.take(8).map(drop),
            LEN => self.len_delimited().map(drop),
            I32 => self.take(4).map(drop),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
