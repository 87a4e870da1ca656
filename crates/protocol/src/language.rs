//! The sender's language (RocketMQ `LanguageCode`): a byte in the ROCKETMQ binary header, the
//! enum name in the JSON header.

macro_rules! languages {
    ($($variant:ident = $code:literal, $name:literal;)*) => {
        /// The language a command's sender is written in.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum LanguageCode {
            #[default]
            $($variant,)*
        }

        impl LanguageCode {
            /// Every known language, in code order.
            pub const ALL: &'static [LanguageCode] = &[$(LanguageCode::$variant,)*];

            /// The byte used in the binary header.
            pub fn code(self) -> u8 {
                match self { $(Self::$variant => $code,)* }
            }

            /// The Java enum name used in the JSON header.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// The language for a binary-header byte, `None` if unknown.
            pub fn from_code(code: u8) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)* _ => None }
            }

            /// The language for a JSON enum name, `None` if unknown.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

languages! {
    Java = 0, "JAVA";
    Cpp = 1, "CPP";
    Dotnet = 2, "DOTNET";
    Python = 3, "PYTHON";
    Delphi = 4, "DELPHI";
    Erlang = 5, "ERLANG";
    Ruby = 6, "RUBY";
    Other = 7, "OTHER";
    Http = 8, "HTTP";
    Go = 9, "GO";
    Php = 10, "PHP";
    Oms = 11, "OMS";
    Rust = 12, "RUST";
    NodeJs = 13, "NODE_JS";
}

/// What this side writes into the commands it creates. Responses must say JAVA: clients older
/// than 4.9.4 have no RUST constant and fastjson maps unknown enum names poorly (reference §7).
pub const DEFAULT_LANGUAGE: LanguageCode = LanguageCode::Java;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_agree() {
        for (i, l) in LanguageCode::ALL.iter().enumerate() {
            assert_eq!(usize::from(l.code()), i);
            assert_eq!(LanguageCode::from_code(l.code()), Some(*l));
            assert_eq!(LanguageCode::from_name(l.name()), Some(*l));
        }
        assert_eq!(LanguageCode::from_code(14), None);
        assert_eq!(LanguageCode::Go.code(), 9);
        assert_eq!(LanguageCode::Rust.name(), "RUST");
    }
}
