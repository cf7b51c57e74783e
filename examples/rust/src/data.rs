//! Data sets, class splits, NPY writers and the episode sampler.

use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::{c_path, check, ffi, rows, same_len, Episodes, Result};

/// n rows of `dim` floats with an i32 label each; freed on drop.
pub struct Dataset {
    ptr: NonNull<ffi::fden_dataset>,
}

unsafe impl Send for Dataset {}
unsafe impl Sync for Dataset {}

impl Dataset {
    fn adopt(p: *mut ffi::fden_dataset) -> Dataset {
        Dataset { ptr: NonNull::new(p).expect("libfden returned FDEN_OK and a NULL data set") }
    }

    /// A data set copied from `x` (`n * dim`) and `labels` (`n`).
    pub fn from_slices(x: &[f32], labels: &[i32], dim: usize) -> Result<Dataset> {
        let n = rows("x", x, dim)?;
        same_len("labels", labels.len(), n)?;
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_dataset_new(x.as_ptr(), labels.as_ptr(), n, dim, &mut p) })?;
        Ok(Dataset::adopt(p))
    }

    /// Load IDX images (gzip or plain) times `scale`, and optional IDX labels.
    pub fn load_idx(images: impl AsRef<Path>, labels: Option<&Path>, scale: f64) -> Result<Dataset> {
        let i = c_path(images.as_ref())?;
        let l = labels.map(c_path).transpose()?;
        let mut p = ptr::null_mut();
        check(unsafe {
            ffi::fden_dataset_load_idx(i.as_ptr(), l.as_ref().map_or(ptr::null(), |c| c.as_ptr()), scale, &mut p)
        })?;
        Ok(Dataset::adopt(p))
    }

    /// Load a 2-D float .npy and an optional integer-label .npy.
    pub fn load_npy(x: impl AsRef<Path>, labels: Option<&Path>) -> Result<Dataset> {
        let xc = c_path(x.as_ref())?;
        let l = labels.map(c_path).transpose()?;
        let mut p = ptr::null_mut();
        check(unsafe {
            ffi::fden_dataset_load_npy(xc.as_ptr(), l.as_ref().map_or(ptr::null(), |c| c.as_ptr()), &mut p)
        })?;
        Ok(Dataset::adopt(p))
    }

    pub fn len(&self) -> usize {
        unsafe { ffi::fden_dataset_size(self.ptr.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dim(&self) -> usize {
        unsafe { ffi::fden_dataset_dim(self.ptr.as_ptr()) }
    }

    /// The rows, borrowed (`len * dim`).
    pub fn data(&self) -> &[f32] {
        let n = self.len() * self.dim();
        let p = unsafe { ffi::fden_dataset_data(self.ptr.as_ptr()) };
        if n == 0 || p.is_null() {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(p, n) }
    }

    /// The labels, borrowed.
    pub fn labels(&self) -> &[i32] {
        let n = self.len();
        let p = unsafe { ffi::fden_dataset_labels(self.ptr.as_ptr()) };
        if n == 0 || p.is_null() {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(p, n) }
    }

    /// The rows whose label is in `classes`, as a new data set.
    pub fn select(&self, classes: &[i32]) -> Result<Dataset> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_dataset_select(self.ptr.as_ptr(), classes.as_ptr(), classes.len(), &mut p) })?;
        Ok(Dataset::adopt(p))
    }

    /// (rows with label < first_test, the rest).
    pub fn split(&self, first_test: i32) -> Result<(Dataset, Dataset)> {
        let (mut a, mut b) = (ptr::null_mut(), ptr::null_mut());
        check(unsafe { ffi::fden_dataset_split(self.ptr.as_ptr(), first_test, &mut a, &mut b) })?;
        Ok((Dataset::adopt(a), Dataset::adopt(b)))
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        unsafe { ffi::fden_dataset_free(self.ptr.as_ptr()) }
    }
}

/// Write `rows x cols` floats as a 2-D float32 .npy.
pub fn save_npy_f32(path: impl AsRef<Path>, x: &[f32], cols: usize) -> Result<()> {
    let n = rows("x", x, cols)?;
    let c = c_path(path.as_ref())?;
    check(unsafe { ffi::fden_npy_save_f32(c.as_ptr(), x.as_ptr(), n, cols) })
}

/// Write labels as a 1-D int32 .npy.
pub fn save_npy_i32(path: impl AsRef<Path>, v: &[i32]) -> Result<()> {
    let c = c_path(path.as_ref())?;
    check(unsafe { ffi::fden_npy_save_i32(c.as_ptr(), v.as_ptr(), v.len()) })
}

/// Seeded C-way K-shot Q-query episodes from a borrowed [`Dataset`].
pub struct Sampler<'d> {
    ptr: NonNull<ffi::fden_sampler>,
    dim: usize,
    ways: usize,
    shots: usize,
    queries: usize,
    _ds: PhantomData<&'d Dataset>,
}

unsafe impl Send for Sampler<'_> {}

/// Episodes drawn by a [`Sampler`], owned.
#[derive(Debug, Clone)]
pub struct Batch {
    pub z: Vec<f32>,
    pub labels: Vec<i32>,
    /// Original class ids, `n_episodes * ways`.
    pub classes: Vec<i32>,
    pub ways: usize,
    pub shots: usize,
    pub queries: usize,
}

impl Batch {
    /// A view for [`crate::Model::train_step`], with the classes.
    pub fn episodes(&self) -> Episodes<'_> {
        Episodes::new(&self.z, &self.labels, self.ways, self.shots, self.queries).with_classes(&self.classes)
    }
}

impl<'d> Sampler<'d> {
    pub fn new(ds: &'d Dataset, ways: usize, shots: usize, queries: usize, seed: u64) -> Result<Sampler<'d>> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_sampler_new(ds.ptr.as_ptr(), ways, shots, queries, seed, &mut p) })?;
        Ok(Sampler::adopt(p, ds, ways, shots, queries))
    }

    /// The handle of a successful fden_sampler_new*() call.
    fn adopt(p: *mut ffi::fden_sampler, ds: &'d Dataset, ways: usize, shots: usize, queries: usize) -> Sampler<'d> {
        Sampler {
            ptr: NonNull::new(p).expect("libfden returned FDEN_OK and a NULL sampler"),
            dim: ds.dim(),
            ways,
            shots,
            queries,
            _ds: PhantomData,
        }
    }

    /// A sampler that never draws the classes in `exclude`
    /// (fden_sampler_new_except): its draws are those of [`Sampler::new`]
    /// on `ds.select(the other classes)` with the same seed, without the
    /// copy; [`Sampler::reset`] keeps the exclusion.
    pub fn new_except(
        ds: &'d Dataset,
        ways: usize,
        shots: usize,
        queries: usize,
        seed: u64,
        exclude: &[i32],
    ) -> Result<Sampler<'d>> {
        let mut p = ptr::null_mut();
        check(unsafe {
            ffi::fden_sampler_new_except(ds.ptr.as_ptr(), ways, shots, queries, seed, exclude.as_ptr(), exclude.len(), &mut p)
        })?;
        Ok(Sampler::adopt(p, ds, ways, shots, queries))
    }

    /// Draw `n_episodes` episodes.
    pub fn next_batch(&mut self, n_episodes: usize) -> Result<Batch> {
        let rows = n_episodes * self.ways * (self.shots + self.queries);
        let mut b = Batch {
            z: vec![0f32; rows * self.dim],
            labels: vec![0i32; rows],
            classes: vec![0i32; n_episodes * self.ways],
            ways: self.ways,
            shots: self.shots,
            queries: self.queries,
        };
        check(unsafe {
            ffi::fden_sampler_next(self.ptr.as_ptr(), n_episodes, b.z.as_mut_ptr(), b.labels.as_mut_ptr(), b.classes.as_mut_ptr())
        })?;
        Ok(b)
    }

    /// Back to the state of a fresh sampler seeded with `seed`.
    pub fn reset(&mut self, seed: u64) -> Result<()> {
        check(unsafe { ffi::fden_sampler_reset(self.ptr.as_ptr(), seed) })
    }
}

impl Drop for Sampler<'_> {
    fn drop(&mut self) {
        unsafe { ffi::fden_sampler_free(self.ptr.as_ptr()) }
    }
}
