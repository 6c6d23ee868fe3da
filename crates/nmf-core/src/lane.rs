//! Strided views of one vector of a matrix (a column of H or a row of W): what a backend
//! hands to the coordinate-descent kernels of [`crate::kernels`] through
//! [`MatrixBackend::for_each_lane`](crate::MatrixBackend::for_each_lane), whatever its storage
//! order, without copying.

use core::marker::PhantomData;

/// Which independent vectors ("lanes") of a matrix a traversal visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lanes {
    /// The columns (of a k×n H: one lane per column j, of length k).
    Columns,
    /// The rows (of an m×k W: one lane per row i, of length k).
    Rows,
}

/// A read-only strided vector: entry `i` is at `i·stride` elements from its start.
///
/// ```
/// use nmf_core::lane::Lane;
/// let data = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let col = Lane::from_slice(&data[1..], 2, 3); // column 1 of a row-major 2×3 matrix
/// assert_eq!((col.get(0), col.get(1)), (2.0, 5.0));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Lane<'a, T> {
    ptr: *const T,
    len: usize,
    stride: isize,
    _life: PhantomData<&'a [T]>,
}

// SAFETY: a Lane is a shared borrow of `T`s, like `&[T]`.
unsafe impl<T: Sync> Send for Lane<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Lane<'_, T> {}

impl<'a, T: Copy> Lane<'a, T> {
    /// The `len` entries `data[0], data[stride], …`.
    ///
    /// # Panics
    /// If they do not all lie in `data`.
    pub fn from_slice(data: &'a [T], len: usize, stride: usize) -> Self {
        assert!(
            len == 0
                || (len - 1)
                    .checked_mul(stride)
                    .is_some_and(|l| l < data.len()),
            "Lane::from_slice: {len} entries of stride {stride} exceed a slice of {}",
            data.len()
        );
        Self {
            ptr: data.as_ptr(),
            len,
            stride: stride as isize,
            _life: PhantomData,
        }
    }

    /// A lane from a pointer and a stride in elements (negative strides allowed).
    ///
    /// # Safety
    /// For every `i < len`, `ptr.offset(i·stride)` must point to an initialised `T` that
    /// stays valid and unmodified for `'a`.
    pub unsafe fn from_raw_parts(ptr: *const T, len: usize, stride: isize) -> Self {
        Self {
            ptr,
            len,
            stride,
            _life: PhantomData,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entry `i`.
    ///
    /// # Panics
    /// If `i ≥ len`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> T {
        assert!(i < self.len, "Lane::get: index {i} of {}", self.len);
        // SAFETY: i < len, and the constructors guarantee entries 0..len are valid.
        unsafe { *self.ptr.offset(i as isize * self.stride) }
    }
}

/// A mutable strided vector: entry `i` is at `i·stride` elements from its start.
///
/// ```
/// use nmf_core::lane::LaneMut;
/// let mut data = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut col = LaneMut::from_slice(&mut data[2..], 2, 3); // column 2 of a row-major 2×3
/// col.set(1, 9.0);
/// assert_eq!(data[5], 9.0);
/// ```
#[derive(Debug)]
pub struct LaneMut<'a, T> {
    ptr: *mut T,
    len: usize,
    stride: isize,
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: a LaneMut is an exclusive borrow of `T`s, like `&mut [T]`.
unsafe impl<T: Send> Send for LaneMut<'_, T> {}
// SAFETY: shared access only reads, like `&&mut [T]`.
unsafe impl<T: Sync> Sync for LaneMut<'_, T> {}

impl<'a, T: Copy> LaneMut<'a, T> {
    /// The `len` entries `data[0], data[stride], …`.
    ///
    /// # Panics
    /// If they do not all lie in `data`.
    pub fn from_slice(data: &'a mut [T], len: usize, stride: usize) -> Self {
        assert!(
            len == 0
                || (len - 1)
                    .checked_mul(stride)
                    .is_some_and(|l| l < data.len()),
            "LaneMut::from_slice: {len} entries of stride {stride} exceed a slice of {}",
            data.len()
        );
        Self {
            ptr: data.as_mut_ptr(),
            len,
            stride: stride as isize,
            _life: PhantomData,
        }
    }

    /// A lane from a pointer and a stride in elements (negative strides allowed).
    ///
    /// # Safety
    /// For every `i < len`, `ptr.offset(i·stride)` must point to an initialised `T`, distinct
    /// for distinct `i`, that nothing else reads or writes during `'a`.
    pub unsafe fn from_raw_parts(ptr: *mut T, len: usize, stride: isize) -> Self {
        Self {
            ptr,
            len,
            stride,
            _life: PhantomData,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entry `i`.
    ///
    /// # Panics
    /// If `i ≥ len`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> T {
        assert!(i < self.len, "LaneMut::get: index {i} of {}", self.len);
        // SAFETY: i < len, and the constructors guarantee entries 0..len are valid.
        unsafe { *self.ptr.offset(i as isize * self.stride) }
    }

    /// Sets entry `i` to `x`.
    ///
    /// # Panics
    /// If `i ≥ len`.
    #[inline(always)]
    pub fn set(&mut self, i: usize, x: T) {
        assert!(i < self.len, "LaneMut::set: index {i} of {}", self.len);
        // SAFETY: i < len, entries 0..len are valid and exclusively borrowed.
        unsafe { *self.ptr.offset(i as isize * self.stride) = x }
    }
}
