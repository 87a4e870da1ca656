//! Command headers: the two serializations of the whole command header ([`json`], [`binary`])
//! and the typed custom headers of each request/response, converted from and to `extFields`.
//!
//! Typed headers follow Java's rules: unknown keys are ignored, a missing required key is
//! [`crate::ProtocolError::MissingField`] naming it, numbers parse like `Integer.parseInt`, booleans like
//! `Boolean.parseBoolean`, and absent optional fields are not written.

pub mod binary;
pub mod json;

mod admin;
mod client;
mod namesrv;
mod offset;
mod pull;
mod query;
mod send;
mod transaction;

pub use admin::*;
pub use client::*;
pub use namesrv::*;
pub use offset::*;
pub use pull::*;
pub use query::*;
pub use send::*;
pub use transaction::*;

use crate::error::Result;
use crate::ext_fields::ExtFields;

/// A typed custom header.
pub trait CommandHeader: Sized {
    /// The keys this header reads and writes.
    const FIELDS: &'static [FieldSpec];

    /// Reads the header from ext fields.
    fn from_ext(ext: &ExtFields) -> Result<Self>;

    /// Writes the header's non-absent fields into `ext`.
    fn to_ext(&self, ext: &mut ExtFields);

    /// The header as a fresh map.
    fn to_ext_fields(&self) -> ExtFields {
        let mut ext = ExtFields::new();
        self.to_ext(&mut ext);
        ext
    }
}

/// The Java type of a header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Str,
    Int,
    Long,
    Bool,
}

/// One field of a typed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The `extFields` key.
    pub key: &'static str,
    pub kind: FieldKind,
    /// Whether a missing key is an error.
    pub required: bool,
}

/// A type a header field can have.
pub trait HeaderField: Sized {
    const KIND: FieldKind;
    const REQUIRED: bool = true;
    fn read(ext: &ExtFields, key: &str) -> Result<Self>;
    fn write(&self, ext: &mut ExtFields, key: &str);
}

impl HeaderField for String {
    const KIND: FieldKind = FieldKind::Str;
    fn read(ext: &ExtFields, key: &str) -> Result<Self> {
        ext.get_string(key)
    }
    fn write(&self, ext: &mut ExtFields, key: &str) {
        ext.insert(key, self.as_str());
    }
}

impl HeaderField for i32 {
    const KIND: FieldKind = FieldKind::Int;
    fn read(ext: &ExtFields, key: &str) -> Result<Self> {
        ext.get_i32(key)
    }
    fn write(&self, ext: &mut ExtFields, key: &str) {
        ext.insert_display(key, self);
    }
}

impl HeaderField for i64 {
    const KIND: FieldKind = FieldKind::Long;
    fn read(ext: &ExtFields, key: &str) -> Result<Self> {
        ext.get_i64(key)
    }
    fn write(&self, ext: &mut ExtFields, key: &str) {
        ext.insert_display(key, self);
    }
}

impl HeaderField for bool {
    const KIND: FieldKind = FieldKind::Bool;
    fn read(ext: &ExtFields, key: &str) -> Result<Self> {
        ext.get_bool(key)
    }
    fn write(&self, ext: &mut ExtFields, key: &str) {
        ext.insert_display(key, self);
    }
}

impl<T: HeaderField> HeaderField for Option<T> {
    const KIND: FieldKind = T::KIND;
    const REQUIRED: bool = false;
    fn read(ext: &ExtFields, key: &str) -> Result<Self> {
        if ext.contains_key(key) {
            T::read(ext, key).map(Some)
        } else {
            Ok(None)
        }
    }
    fn write(&self, ext: &mut ExtFields, key: &str) {
        if let Some(v) = self {
            v.write(ext, key);
        }
    }
}

/// Declares a typed header: a struct whose fields map to `extFields` keys.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::header::CommandHeader for $name {
            const FIELDS: &'static [$crate::header::FieldSpec] = &[$(
                $crate::header::FieldSpec {
                    key: $key,
                    kind: <$ty as $crate::header::HeaderField>::KIND,
                    required: <$ty as $crate::header::HeaderField>::REQUIRED,
                },
            )*];

            #[allow(unused_variables)]
            fn from_ext(ext: &$crate::ext_fields::ExtFields) -> $crate::error::Result<Self> {
                Ok(Self {
                    $( $field: <$ty as $crate::header::HeaderField>::read(ext, $key)?, )*
                })
            }

            #[allow(unused_variables)]
            fn to_ext(&self, ext: &mut $crate::ext_fields::ExtFields) {
                $( $crate::header::HeaderField::write(&self.$field, ext, $key); )*
            }
        }
    };
}
pub(crate) use command_header;
