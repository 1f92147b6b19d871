//! `counters!` defines a plain struct of `u64` counters with `merge` (add), `minus`
//! (difference, for interval deltas) and `fields` (name/value pairs for JSON, NDJSON and
//! Prometheus), so every counter set is merged and exported the same way.

#[macro_export]
macro_rules! counters {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name { $($(#[$fm])* pub $f: u64,)* }

        impl $name {
            /// Adds `o` counter by counter.
            pub fn merge(&mut self, o: &Self) {
                $(self.$f = self.$f.wrapping_add(o.$f);)*
            }
            /// `self - o` counter by counter.
            pub fn minus(&self, o: &Self) -> Self {
                Self { $($f: self.$f.wrapping_sub(o.$f),)* }
            }
            /// (name, value) of every counter, in declaration order.
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($f), self.$f),)*]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::counters! {
        pub struct Demo {
            pub a,
            pub b,
        }
    }

    #[test]
    fn merge_minus_fields() {
        let mut x = Demo { a: 1, b: 2 };
        x.merge(&Demo { a: 10, b: 20 });
        assert_eq!(x, Demo { a: 11, b: 22 });
        assert_eq!(x.minus(&Demo { a: 1, b: 2 }), Demo { a: 10, b: 20 });
        assert_eq!(x.fields(), vec![("a", 11), ("b", 22)]);
    }
}
