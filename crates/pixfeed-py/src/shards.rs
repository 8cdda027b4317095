//! Tar shards: `Member` (a file's byte range, accepted wherever a path is) and `tar_index`
//! (the member index of many shards, built on the pool with the GIL released); and
//! `shard_stream`, one shard reader's sample order for `pixfeed._sampler`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use numpy::{PyArray1, PyReadonlyArray1};
use pixfeed_core::Source;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::entry;
use crate::errors::{to_pyerr, Subject};

/// One member of a tar shard as an image source: `size` bytes at `offset` of the file at
/// `path` (`name` is the member's name, shown in errors as ``path:name @ offset N``). Read
/// with one positioned read of exactly that range, never mapped.
#[pyclass(frozen, eq, hash, module = "pixfeed._core")]
#[derive(PartialEq, Eq, Hash)]
pub struct Member {
    path: PathBuf,
    name: OsString,
    offset: u64,
    size: u64,
}

impl Member {
    pub fn as_source(&self) -> Source<'_> {
        Source::Member {
            path: &self.path,
            offset: self.offset,
            size: self.size,
        }
    }
}

#[pymethods]
impl Member {
    #[new]
    fn new(path: PathBuf, name: OsString, offset: u64, size: u64) -> Self {
        Member {
            path,
            name,
            offset,
            size,
        }
    }
    #[getter]
    fn path<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.path.as_path().source(py)
    }
    #[getter]
    fn name<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        Path::new(&self.name).source(py)
    }
    #[getter]
    fn offset(&self) -> u64 {
        self.offset
    }
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }
    fn __str__(&self) -> String {
        self.shown()
    }
    fn __repr__(&self) -> String {
        format!(
            "Member({:?}, {:?}, offset={}, size={})",
            self.path.as_path().shown(),
            Path::new(&self.name).shown(),
            self.offset,
            self.size
        )
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let m = slf.get();
        let args = (
            m.path.as_path().source(py),
            Path::new(&m.name).source(py),
            m.offset,
            m.size,
        );
        PyTuple::new(
            py,
            [
                slf.get_type().into_any(),
                args.into_pyobject(py)?.into_any(),
            ],
        )
    }
}

/// Errors about a member name the shard, the member and the data's offset.
impl Subject for Member {
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        PyString::new(py, &self.shown()).into_any()
    }
    fn filename<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.path.as_path().filename(py)
    }
    fn shown(&self) -> String {
        format!(
            "{}:{} @ offset {}",
            self.path.as_path().shown(),
            Path::new(&self.name).shown(),
            self.offset
        )
    }
}

/// The member index of every shard (in parallel on the pool, GIL released): per shard,
/// `(names: list[bytes], offsets: uint64 array, sizes: uint64 array, file_size, mtime_ns,
/// sparse: bool array)` (sparse: a GNU sparse file, see `pixfeed_core::tar`), or the
/// exception (naming the shard and the byte offset) when it cannot be indexed.
#[pyfunction]
#[pyo3(signature = (paths, threads=None))]
pub fn tar_index<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let results = entry::native(py, "tar_index", || {
        pixfeed_core::tar::index_many(&paths, threads)
    })?;
    let out = PyList::empty(py);
    for (path, r) in paths.iter().zip(results) {
        match r {
            Ok(idx) => {
                let names = PyList::empty(py);
                for m in &idx.members {
                    names.append(PyBytes::new(py, &m.name))?;
                }
                let offsets: Vec<u64> = idx.members.iter().map(|m| m.offset).collect();
                let sizes: Vec<u64> = idx.members.iter().map(|m| m.size).collect();
                let sparse: Vec<bool> = idx.members.iter().map(|m| m.sparse).collect();
                out.append((
                    names,
                    PyArray1::from_vec(py, offsets),
                    PyArray1::from_vec(py, sizes),
                    idx.file_size,
                    idx.mtime_ns,
                    PyArray1::from_vec(py, sparse),
                ))?;
            }
            Err(e) => out.append(to_pyerr(py, path.as_path(), e).into_value(py))?,
        }
    }
    Ok(out)
}

fn contiguous<'a, T: numpy::Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    name: &str,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be C-contiguous")))
}

/// One shard reader's sample order then its buffer's tail (`pixfeed_core::sampler`), GIL
/// released.
#[pyfunction]
pub fn shard_stream<'py>(
    py: Python<'py>,
    shards: Vec<(i64, i64)>,
    open: usize,
    pick: PyReadonlyArray1<'py, f64>,
    slot: PyReadonlyArray1<'py, i64>,
    buffer: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (pick, slot) = (contiguous(&pick, "pick")?, contiguous(&slot, "slot")?);
    let out = entry::native(py, "shard_stream", || {
        pixfeed_core::sampler::shard_stream(&shards, open, pick, slot, buffer)
    })?;
    Ok(PyArray1::from_vec(py, out))
}
