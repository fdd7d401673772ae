//! Jute, ZooKeeper's binary serialization: big-endian primitives, length-prefixed buffers and strings
//! (length -1 means null, which differs from empty), count-prefixed vectors, and the [`Record`] trait that
//! every protocol record implements.

use bytes::{Buf, BufMut, BytesMut};

/// Why a byte sequence could not be decoded as the expected record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before the record did.
    #[error("unexpected end of input: needed {needed} more bytes, {remaining} left")]
    UnexpectedEof {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count was negative (other than -1, which means null).
    #[error("invalid length {0}")]
    InvalidLength(i32),
    /// A field holds a value the protocol does not define (e.g. an unknown op code inside a multi).
    #[error("invalid value {value} for {field}")]
    InvalidValue {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: i64,
    },
}

/// Reads jute fields from a byte slice, never panicking on short or hostile input.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The bytes not read yet, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    fn need(&self, needed: usize) -> Result<(), DecodeError> {
        if self.buf.len() < needed {
            return Err(DecodeError::UnexpectedEof {
                needed,
                remaining: self.buf.len(),
            });
        }
        Ok(())
    }

    /// A 4-byte big-endian int.
    pub fn int(&mut self) -> Result<i32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    /// An 8-byte big-endian long.
    pub fn long(&mut self) -> Result<i64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }

    /// A one-byte boolean (any non-zero byte is true, as Java's `readBoolean`).
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_u8() != 0)
    }

    /// A length-prefixed buffer; `None` for length -1.
    pub fn opt_buffer(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        let len = self.int()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| DecodeError::InvalidLength(len))?;
        self.need(len)?;
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(Some(head.to_vec()))
    }

    /// A length-prefixed buffer; null reads as empty.
    pub fn buffer(&mut self) -> Result<Vec<u8>, DecodeError> {
        Ok(self.opt_buffer()?.unwrap_or_default())
    }

    /// A length-prefixed UTF-8 string; `None` for length -1. Invalid UTF-8 is replaced, as Java does.
    pub fn opt_string(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(self.opt_buffer()?.map(|b| match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }))
    }

    /// A length-prefixed UTF-8 string; null reads as empty.
    pub fn string(&mut self) -> Result<String, DecodeError> {
        Ok(self.opt_string()?.unwrap_or_default())
    }

    /// A vector count: `None` for -1, an error for other negatives or a count the input cannot hold.
    pub fn count(&mut self) -> Result<Option<usize>, DecodeError> {
        let n = self.int()?;
        if n == -1 {
            return Ok(None);
        }
        let n = usize::try_from(n).map_err(|_| DecodeError::InvalidLength(n))?;
        // Every element takes at least one byte: refuse counts the input cannot hold before allocating.
        self.need(n)?;
        Ok(Some(n))
    }

    /// A vector of records; null reads as empty.
    pub fn vec<T: Record>(&mut self) -> Result<Vec<T>, DecodeError> {
        let n = self.count()?.unwrap_or(0);
        (0..n).map(|_| T::read(self)).collect()
    }

    /// A vector of strings; null reads as empty.
    pub fn strings(&mut self) -> Result<Vec<String>, DecodeError> {
        let n = self.count()?.unwrap_or(0);
        (0..n).map(|_| self.string()).collect()
    }
}

/// Appends jute fields to a growable buffer.
#[derive(Debug)]
pub struct Writer {
    buf: BytesMut,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

/// Room a writer starts with: most records (a stat, a reply header, a request) fit without the
/// buffer growing.
const INITIAL_CAPACITY: usize = 128;

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::with_capacity(INITIAL_CAPACITY)
    }

    /// An empty writer with room for `capacity` bytes before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: BytesMut::with_capacity(capacity),
        }
    }

    /// A writer that reserves room for a 4-byte frame length, filled in by [`Writer::into_frame`].
    pub fn framed() -> Self {
        Self::framed_with_capacity(INITIAL_CAPACITY)
    }

    /// [`Writer::framed`] with room for `capacity` payload bytes before it grows.
    pub fn framed_with_capacity(capacity: usize) -> Self {
        let mut w = Self::with_capacity(4 + capacity);
        w.int(0);
        w
    }

    /// The bytes written.
    pub fn into_bytes(self) -> BytesMut {
        self.buf
    }

    /// Bytes written and not yet drained.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is written (or all was drained).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Sends the bytes written so far to `out` and empties the writer, keeping its room: a long
    /// encoding (a snapshot) goes on in pieces instead of being held whole.
    pub fn drain_to(&mut self, out: &mut (impl std::io::Write + ?Sized)) -> std::io::Result<()> {
        out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// The bytes written as a frame: the length prefix reserved by [`Writer::framed`] is set to the
    /// payload's length.
    pub fn into_frame(mut self) -> BytesMut {
        let len = (self.buf.len() - 4) as i32;
        self.buf[..4].copy_from_slice(&len.to_be_bytes());
        self.buf
    }

    /// A 4-byte big-endian int.
    pub fn int(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    /// An 8-byte big-endian long.
    pub fn long(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    /// A one-byte boolean.
    pub fn bool(&mut self, v: bool) {
        self.buf.put_u8(u8::from(v));
    }

    /// A buffer, or length -1 for `None`.
    pub fn opt_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            Some(b) => self.buffer(b),
            None => self.int(-1),
        }
    }

    /// A length-prefixed buffer.
    pub fn buffer(&mut self, v: &[u8]) {
        self.int(v.len() as i32);
        self.buf.put_slice(v);
    }

    /// A length-prefixed UTF-8 string.
    pub fn string(&mut self, v: &str) {
        self.buffer(v.as_bytes());
    }

    /// A string, or length -1 for `None`.
    pub fn opt_string(&mut self, v: Option<&str>) {
        self.opt_buffer(v.map(str::as_bytes));
    }

    /// A vector of records.
    pub fn vec<T: Record>(&mut self, v: &[T]) {
        self.int(v.len() as i32);
        for item in v {
            item.write(self);
        }
    }

    /// A vector of strings.
    pub fn strings(&mut self, v: &[String]) {
        self.int(v.len() as i32);
        for s in v {
            self.string(s);
        }
    }

    /// Raw bytes, without a length prefix.
    pub fn raw(&mut self, v: &[u8]) {
        self.buf.put_slice(v);
    }
}

/// A jute record: a fixed sequence of fields.
pub trait Record: Sized {
    /// Appends the record's fields.
    fn write(&self, w: &mut Writer);

    /// Reads the record's fields.
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// The record alone, as bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_bytes().into()
    }

    /// Decodes a record from the start of `buf`; trailing bytes are ignored, as Apache's server does.
    fn from_bytes(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(buf))
    }
}

/// How one field of a record is encoded: the link between a Rust field type and its jute encoding, used by
/// the `record!` macro.
pub trait Field: Sized {
    /// Appends the field.
    fn write_field(&self, w: &mut Writer);
    /// Reads the field.
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

impl Field for i32 {
    fn write_field(&self, w: &mut Writer) {
        w.int(*self);
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.int()
    }
}

impl Field for i64 {
    fn write_field(&self, w: &mut Writer) {
        w.long(*self);
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.long()
    }
}

impl Field for bool {
    fn write_field(&self, w: &mut Writer) {
        w.bool(*self);
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bool()
    }
}

/// A non-null string field (null decodes as empty).
impl Field for String {
    fn write_field(&self, w: &mut Writer) {
        w.string(self);
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.string()
    }
}

/// A nullable string field.
impl Field for Option<String> {
    fn write_field(&self, w: &mut Writer) {
        w.opt_string(self.as_deref());
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.opt_string()
    }
}

/// A nullable buffer field (null and empty differ, e.g. znode data).
impl Field for Option<Vec<u8>> {
    fn write_field(&self, w: &mut Writer) {
        w.opt_buffer(self.as_deref());
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.opt_buffer()
    }
}

impl<T: Record> Field for Vec<T> {
    fn write_field(&self, w: &mut Writer) {
        w.vec(self);
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.vec()
    }
}

/// A vector of strings, wrapped so it is not mistaken for a vector of records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Strings(pub Vec<String>);

impl Field for Strings {
    fn write_field(&self, w: &mut Writer) {
        w.strings(&self.0);
    }
    fn read_field(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.strings().map(Strings)
    }
}

/// Declares a struct whose fields are encoded in order, each by its [`Field`] implementation, and its
/// [`Record`] implementation.
macro_rules! record {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name { $( $(#[$fm])* pub $field: $ty ),* }

        impl $crate::jute::Record for $name {
            fn write(&self, _w: &mut $crate::jute::Writer) {
                $( $crate::jute::Field::write_field(&self.$field, _w); )*
            }
            fn read(_r: &mut $crate::jute::Reader<'_>) -> Result<Self, $crate::jute::DecodeError> {
                Ok(Self { $( $field: $crate::jute::Field::read_field(_r)?, )* })
            }
        }
    };
}
pub(crate) use record;

/// Nested records written inline (used by `record!` for fields that are themselves records).
macro_rules! inline_field {
    ($($ty:ty),*) => {
        $( impl $crate::jute::Field for $ty {
            fn write_field(&self, w: &mut $crate::jute::Writer) { $crate::jute::Record::write(self, w) }
            fn read_field(r: &mut $crate::jute::Reader<'_>) -> Result<Self, $crate::jute::DecodeError> {
                <$ty as $crate::jute::Record>::read(r)
            }
        } )*
    };
}
pub(crate) use inline_field;
