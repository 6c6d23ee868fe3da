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

    /// The entries as a slice, when they are contiguous (stride 1).
    #[inline]
    pub fn as_slice(&self) -> Option<&'a [T]> {
        // SAFETY: stride 1: entries 0..len are valid, consecutive, and unmodified for 'a.
        (self.stride == 1 || self.len <= 1)
            .then(|| unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
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

    /// The entries as a mutable slice, when they are contiguous (stride 1).
    #[inline]
    pub fn as_mut_slice(&mut self) -> Option<&mut [T]> {
        // SAFETY: stride 1: entries 0..len are valid, consecutive and exclusively borrowed
        // (for as long as `self` is borrowed here).
        (self.stride == 1 || self.len <= 1)
            .then(|| unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) })
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

/// Where the entries of a block of lanes lie: entry `a` of lane `l` is
/// `l·lane_stride + a·coord_stride` elements from the first (either stride may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    /// The number of lanes.
    pub lanes: usize,
    /// The entries of each lane.
    pub len: usize,
    /// From one lane to the next.
    pub lane_stride: isize,
    /// From one entry of a lane to the next.
    pub coord_stride: isize,
}

impl BlockShape {
    /// Whether every entry lies inside a slice of `data_len` elements from the start, for
    /// non-negative strides.
    fn fits(&self, data_len: usize) -> bool {
        if self.lanes == 0 || self.len == 0 {
            return true;
        }
        if self.lane_stride < 0 || self.coord_stride < 0 {
            return false;
        }
        let last = (self.lanes - 1) as u128 * self.lane_stride as u128
            + (self.len - 1) as u128 * self.coord_stride as u128;
        last < data_len as u128
    }
}

/// A read-only block of lanes (several columns of H, several rows of W), see [`BlockShape`].
#[derive(Debug, Clone, Copy)]
pub struct LaneBlock<'a, T> {
    ptr: *const T,
    shape: BlockShape,
    _life: PhantomData<&'a [T]>,
}

// SAFETY: a shared borrow of `T`s, like `&[T]`.
unsafe impl<T: Sync> Send for LaneBlock<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for LaneBlock<'_, T> {}

impl<'a, T: Copy> LaneBlock<'a, T> {
    /// A block inside `data`, from its first element.
    ///
    /// # Panics
    /// If an entry lies outside `data` or a stride is negative.
    pub fn from_slice(data: &'a [T], shape: BlockShape) -> Self {
        assert!(
            shape.fits(data.len()),
            "LaneBlock::from_slice: {shape:?} exceeds {} elements",
            data.len()
        );
        Self {
            ptr: data.as_ptr(),
            shape,
            _life: PhantomData,
        }
    }
    /// A block from a pointer to entry 0 of lane 0.
    ///
    /// # Safety
    /// Every entry of the shape must be an initialised `T`, valid and unmodified for `'a`.
    pub unsafe fn from_raw_parts(ptr: *const T, shape: BlockShape) -> Self {
        Self {
            ptr,
            shape,
            _life: PhantomData,
        }
    }
    /// Its shape.
    pub fn shape(&self) -> BlockShape {
        self.shape
    }
    /// The pointer to entry 0 of lane 0 (every entry of the shape is readable through it).
    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }
    /// Lane `l`.
    ///
    /// # Panics
    /// If `l ≥ lanes`.
    pub fn lane(&self, l: usize) -> Lane<'a, T> {
        assert!(
            l < self.shape.lanes,
            "LaneBlock::lane: {l} of {}",
            self.shape.lanes
        );
        // SAFETY: lane l's entries are entries of the block, valid for 'a.
        unsafe {
            Lane::from_raw_parts(
                self.ptr.offset(l as isize * self.shape.lane_stride),
                self.shape.len,
                self.shape.coord_stride,
            )
        }
    }
    /// Entry `a` of every lane, as a slice, when the lanes are adjacent (`lane_stride` 1).
    ///
    /// # Panics
    /// If `a ≥ len`.
    #[inline]
    pub fn coordinate(&self, a: usize) -> Option<&'a [T]> {
        assert!(
            a < self.shape.len,
            "LaneBlock::coordinate: {a} of {}",
            self.shape.len
        );
        // SAFETY: lane_stride 1: entries a of lanes 0..lanes are consecutive and valid.
        (self.shape.lane_stride == 1).then(|| unsafe {
            core::slice::from_raw_parts(
                self.ptr.offset(a as isize * self.shape.coord_stride),
                self.shape.lanes,
            )
        })
    }
}

/// A mutable block of lanes, see [`BlockShape`].
#[derive(Debug)]
pub struct LaneBlockMut<'a, T> {
    ptr: *mut T,
    shape: BlockShape,
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: an exclusive borrow of `T`s, like `&mut [T]`.
unsafe impl<T: Send> Send for LaneBlockMut<'_, T> {}
// SAFETY: shared access only reads.
unsafe impl<T: Sync> Sync for LaneBlockMut<'_, T> {}

impl<'a, T: Copy> LaneBlockMut<'a, T> {
    /// A block inside `data`, from its first element.
    ///
    /// # Panics
    /// If an entry lies outside `data`, a stride is negative, or two entries coincide (a
    /// stride of 0 with more than one lane or entry).
    pub fn from_slice(data: &'a mut [T], shape: BlockShape) -> Self {
        assert!(
            shape.fits(data.len()),
            "LaneBlockMut::from_slice: {shape:?} exceeds {} elements",
            data.len()
        );
        assert!(
            (shape.lanes <= 1 || shape.lane_stride != 0)
                && (shape.len <= 1 || shape.coord_stride != 0),
            "LaneBlockMut::from_slice: entries coincide in {shape:?}"
        );
        Self {
            ptr: data.as_mut_ptr(),
            shape,
            _life: PhantomData,
        }
    }
    /// A block from a pointer to entry 0 of lane 0.
    ///
    /// # Safety
    /// Every entry of the shape must be an initialised `T`, distinct entries at distinct
    /// places, that nothing else reads or writes during `'a`.
    pub unsafe fn from_raw_parts(ptr: *mut T, shape: BlockShape) -> Self {
        Self {
            ptr,
            shape,
            _life: PhantomData,
        }
    }
    /// Its shape.
    pub fn shape(&self) -> BlockShape {
        self.shape
    }
    /// The pointer to entry 0 of lane 0 (every entry of the shape is readable and writable
    /// through it while `self` is borrowed mutably, and no other).
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }
    /// Lane `l`, borrowed from the block.
    ///
    /// # Panics
    /// If `l ≥ lanes`.
    pub fn lane(&mut self, l: usize) -> LaneMut<'_, T> {
        assert!(
            l < self.shape.lanes,
            "LaneBlockMut::lane: {l} of {}",
            self.shape.lanes
        );
        // SAFETY: lane l's entries are distinct entries of the block, exclusively borrowed
        // through `&mut self`.
        unsafe {
            LaneMut::from_raw_parts(
                self.ptr.offset(l as isize * self.shape.lane_stride),
                self.shape.len,
                self.shape.coord_stride,
            )
        }
    }
    /// Entry `a` of every lane, as a slice, when the lanes are adjacent (`lane_stride` 1).
    ///
    /// # Panics
    /// If `a ≥ len`.
    #[inline]
    pub fn coordinate(&self, a: usize) -> Option<&[T]> {
        assert!(
            a < self.shape.len,
            "LaneBlockMut::coordinate: {a} of {}",
            self.shape.len
        );
        // SAFETY: lane_stride 1: entries a of lanes 0..lanes are consecutive and valid; no
        // `&mut` to them exists while `self` is borrowed.
        (self.shape.lane_stride == 1).then(|| unsafe {
            core::slice::from_raw_parts(
                self.ptr.offset(a as isize * self.shape.coord_stride),
                self.shape.lanes,
            )
        })
    }
    /// Entry `a` of every lane, as a mutable slice, when the lanes are adjacent
    /// (`lane_stride` 1).
    ///
    /// # Panics
    /// If `a ≥ len`.
    #[inline]
    pub fn coordinate_mut(&mut self, a: usize) -> Option<&mut [T]> {
        assert!(
            a < self.shape.len,
            "LaneBlockMut::coordinate_mut: {a} of {}",
            self.shape.len
        );
        // SAFETY: lane_stride 1: entries a of lanes 0..lanes are consecutive, valid and
        // exclusively borrowed through `&mut self`.
        (self.shape.lane_stride == 1).then(|| unsafe {
            core::slice::from_raw_parts_mut(
                self.ptr.offset(a as isize * self.shape.coord_stride),
                self.shape.lanes,
            )
        })
    }
}
