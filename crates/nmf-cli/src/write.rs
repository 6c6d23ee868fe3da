//! Outputs written all-or-nothing: each file goes to a temporary name in the output directory,
//! and only when every one is complete are they renamed to their final names. A failure (or
//! Ctrl-C) before then removes the temporary files, so no partial W or H is ever left.

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::CliError;

/// A set of output files being written to temporary names in one directory.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    files: Vec<(NamedTempFile, PathBuf)>,
}

impl Staged {
    /// Creates the output directory (and its parents) if needed.
    ///
    /// # Errors
    /// If the directory cannot be created.
    pub fn new(dir: &Path) -> Result<Self, CliError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::io("create the output directory", dir, &e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` to a temporary file that [`commit`](Self::commit) renames to `name`.
    ///
    /// # Errors
    /// If the temporary file cannot be created or written (the disk is full, …).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), CliError> {
        let target = self.dir.join(name);
        let fail = |e: std::io::Error| CliError::io("write", &target, &e);
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Temporary files are private (0600); the outputs get the usual mode of a new file
        // (0666 less the umask), as if written directly.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder.tempfile_in(&self.dir).map_err(fail)?;
        tmp.write_all(bytes).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        self.files.push((tmp, target));
        Ok(())
    }

    /// Renames every temporary file to its final name, returning the final paths in the order
    /// they were added.
    ///
    /// # Errors
    /// If a rename fails (the files not yet renamed are removed).
    pub fn commit(self) -> Result<Vec<PathBuf>, CliError> {
        let mut done = Vec::with_capacity(self.files.len());
        for (tmp, target) in self.files {
            tmp.persist(&target)
                .map_err(|e| CliError::io("write", &target, &e.error))?;
            done.push(target);
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn nothing_is_visible_until_commit_and_drop_cleans_up() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("a/b");
        let mut s = Staged::new(&out).unwrap();
        s.add("W.npy", b"w").unwrap();
        s.add("H.npy", b"h").unwrap();
        assert!(!out.join("W.npy").exists());
        drop(s);
        assert!(names(&out).is_empty());

        let mut s = Staged::new(&out).unwrap();
        s.add("W.npy", b"w").unwrap();
        s.add("H.npy", b"h").unwrap();
        let paths = s.commit().unwrap();
        assert_eq!(paths, vec![out.join("W.npy"), out.join("H.npy")]);
        assert_eq!(names(&out), vec!["H.npy", "W.npy"]);
        assert_eq!(std::fs::read(out.join("H.npy")).unwrap(), b"h");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(out.join("plain"), b"p").unwrap();
            let mode = |f: &str| std::fs::metadata(out.join(f)).unwrap().permissions().mode();
            assert_eq!(
                mode("W.npy"),
                mode("plain"),
                "outputs have the mode of a new file"
            );
        }
    }

    #[test]
    fn an_output_path_that_is_a_file_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let f = root.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        let e = Staged::new(&f).unwrap_err();
        assert!(e.message.starts_with("cannot create the output directory"));
    }
}
