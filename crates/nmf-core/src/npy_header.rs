//! A guard for the header of `.npy` files, shared by the reader of saved models (`.npz`) and
//! the `nmf` command's `.npy` reader.
//!
//! A `.npy` header is a Python literal, parsed by `py_literal` (inside npyz too), whose time
//! grows exponentially with the nesting of brackets: 20 nested `[` took 6 s and 30 would take
//! hours, in a file of 150 bytes. A plain array's header nests 2 deep (the dict and the shape
//! tuple), so a reader refuses headers nested deeper than [`MAX_NESTING`] before parsing them.

/// The deepest nesting of brackets (`[`, `(`, `{`) a header may have.
pub const MAX_NESTING: usize = 8;

/// The deepest nesting of brackets in a header's text, outside quoted strings (with Python's
/// backslash escapes inside them).
///
/// ```
/// use nmf_core::npy_header::nesting;
/// assert_eq!(nesting(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"), 2);
/// assert_eq!(nesting(br"{'a\'[[[': ((((1,),),),)}"), 5);
/// assert_eq!(nesting(b"[[[[[[[[[["), 10);
/// ```
pub fn nesting(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for &c in text {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'[' | b'(' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b']' | b')' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    deepest
}
