//! The string names of the enums the Python API takes (mode, interpolation, crop, dtype,
//! layout, ...): one table per enum, parsed here (`FromStr`) so that the bindings hold no
//! parse tables, and listed for Python (`pixfeed._core.NAMES`).

use crate::{Error, Result};

/// How an error message lists the accepted names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `expected one of 'a', 'b', got "x"`
    OneOf,
    /// `expected one of a, b, got "x"`
    OneOfBare,
    /// `expected 'a', 'b' or 'c', got "x"`
    Or,
}

/// An enum with a fixed set of names.
pub trait Named: Copy + PartialEq + 'static {
    /// The argument an unknown name is reported against.
    const ARG: &'static str;
    /// Every accepted name with its value, in the order error messages list them.
    const TABLE: &'static [(&'static str, Self)];
    const LISTING: Listing = Listing::OneOf;

    /// The accepted names, in order.
    fn names() -> Vec<&'static str> {
        Self::TABLE.iter().map(|(n, _)| *n).collect()
    }

    /// The value named `name`, or an `InvalidArgument` about `arg` listing the names.
    fn parse_as(name: &str, arg: &'static str) -> Result<Self> {
        if let Some((_, v)) = Self::TABLE.iter().find(|(n, _)| *n == name) {
            return Ok(*v);
        }
        let quoted: Vec<String> = Self::TABLE.iter().map(|(n, _)| format!("'{n}'")).collect();
        let listed = match Self::LISTING {
            Listing::OneOf => format!("one of {}", quoted.join(", ")),
            Listing::OneOfBare => format!("one of {}", Self::names().join(", ")),
            Listing::Or => match quoted.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => String::new(),
            },
        };
        Err(Error::invalid(
            arg,
            format!("expected {listed}, got {name:?}"),
        ))
    }

    /// This value's name (the first one the table gives it).
    fn name(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("?", |(n, _)| n)
    }
}

/// `impl Named` and `FromStr` (reporting against `ARG`) for an enum.
macro_rules! named {
    ($ty:ty, $arg:literal, $listing:ident, [$(($name:literal, $val:expr)),+ $(,)?]) => {
        impl $crate::names::Named for $ty {
            const ARG: &'static str = $arg;
            const TABLE: &'static [(&'static str, Self)] = &[$(($name, $val)),+];
            const LISTING: $crate::names::Listing = $crate::names::Listing::$listing;
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                <$ty as $crate::names::Named>::parse_as(s, $arg)
            }
        }
    };
}
pub(crate) use named;

/// Every named enum's names, keyed as Python exports them (`pixfeed._core.NAMES`).
pub fn all() -> Vec<(&'static str, Vec<&'static str>)> {
    use crate::codecs::{Format, Layout, Mode};
    use crate::kernels::luminance::Weights;
    use crate::kernels::normalize::TensorLayout;
    use crate::kernels::resize::Interpolation;
    use crate::pipeline::{CropName, OutDtype, OutLayout};
    vec![
        ("mode", Mode::names()),
        ("interpolation", Interpolation::names()),
        ("crop", CropName::names()),
        ("dtype", OutDtype::names()),
        ("layout", OutLayout::names()),
        ("format", Format::names()),
        ("color", Layout::names()),
        ("weights", Weights::names()),
        ("tensor_layout", TensorLayout::names()),
        ("yolo_layout", crate::detect::yolo::YoloLayout::names()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::{Format, Mode};
    use crate::kernels::resize::Interpolation;

    fn message<T: Named + std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn names_round_trip() {
        for (name, v) in Mode::TABLE {
            assert_eq!(name.parse::<Mode>().unwrap(), *v);
            assert_eq!(v.name(), *name);
        }
        assert_eq!(
            "lanczos".parse::<Interpolation>().unwrap(),
            Interpolation::Lanczos
        );
    }

    #[test]
    fn messages_list_the_names() {
        assert_eq!(
            message("x".parse::<Mode>()),
            "mode: expected one of 'RGB', 'BGR', 'RGBA', 'L', 'unchanged', got \"x\""
        );
        assert_eq!(
            message("gif".parse::<Format>()),
            "format: expected 'jpeg', 'png', 'bmp' or 'webp', got \"gif\""
        );
        assert_eq!(
            message("cubic".parse::<Interpolation>()),
            "interpolation: expected one of nearest, bilinear, bicubic, lanczos, area, got \"cubic\""
        );
    }
}
