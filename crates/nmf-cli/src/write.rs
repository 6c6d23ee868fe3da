//! Outputs written all-or-nothing as a set: the output directory is replaced as a whole, in
//! one step.
//!
//! # The scheme
//!
//! For `--out PARENT/NAME`:
//!
//! 1. **Staging.** Every output is written into a fresh directory `PARENT/.NAME.nmf-XXXXXXXX`
//!    (random suffix) beside the output directory, on the same file system. Its first file is
//!    the manifest [`MANIFEST`] (`.nmf-output.json`), which the run holds an exclusive
//!    `flock` on for as long as it lives: this is how other runs know the directory is not
//!    left over. Each file is written in chunks, checking for Ctrl-C, SIGTERM and SIGHUP
//!    between them, and synced to disk.
//! 2. **Manifest.** When every file is written, the manifest records which command wrote the
//!    set and, for each file, its name, size in bytes and CRC-32 (a reader can check them).
//! 3. **Swap.** Holding an exclusive `flock` on `PARENT` (which serialises nmf runs into the
//!    same parent), the run checks what `NAME` holds, then
//!    - if `NAME` does not exist, renames the staging directory to `NAME`
//!      (`renameat2(RENAME_NOREPLACE)` on Linux);
//!    - if `NAME` is empty or holds only an earlier nmf output set, exchanges the two
//!      directories atomically (`renameat2(RENAME_EXCHANGE)` on Linux: a reader sees the old
//!      set or the new one, never a mix), then checks that the old directory, now at the
//!      staging name, holds nothing but that set (else swaps back and fails), and removes
//!      the old set file by file (the names its manifest lists) and its directory.
//!
//!    Where `RENAME_EXCHANGE` is not available (another system, a file system without it),
//!    the exchange is three renames under the same lock, and for a moment `NAME` is absent.
//! 4. **Failure or interruption** before the swap removes the staging directory: the
//!    previous outputs are untouched. A run killed outright (SIGKILL, a second Ctrl-C) leaves
//!    its staging directory; the next run into the same `--out` removes every such directory
//!    whose manifest is not locked by a live run (only files with nmf's output names, then
//!    the directory if it is empty).
//!
//! # What is never touched
//!
//! nmf replaces a directory only if it is new, empty, or holds an nmf output set and
//! nothing else: its manifest lists every other entry, and lists only nmf's output names
//! ([`OUTPUT_NAMES`]); for directories written before manifests existed, every entry must
//! have one of those names and `summary.json` must name the command. The temporary files
//! `.W.npy.XXXXXX.tmp` that earlier versions of nmf left inside an output directory when
//! killed go with the old set. A directory with any other file (for instance `--out .` in a
//! project) is refused with an error naming that file (exit code 2), as is an output
//! directory that contains the current directory. `nmf transform` refuses to replace the
//! outputs of `nmf fit` or `nmf demo` unless given `--force`.
//!
//! Outputs of another format from an earlier run (a `model.npz` when the new run writes
//! only `model.json`) go with the old set. Two runs into one `--out` at once each swap in a
//! complete set: the directory ends with the set of the one that swapped last. A symbolic
//! link given as `--out` is followed: the directory it points to is replaced, and the link
//! kept. The new directory takes the permissions of the one it replaces. An `--out` that is
//! a mount point cannot be exchanged: that is an error, and nothing is replaced.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::{CliError, interrupt};

/// The manifest of an output set, inside the output directory.
pub const MANIFEST: &str = ".nmf-output.json";

/// Every name an output of nmf can have. Staging directories left by a killed run are
/// cleaned of these names only.
pub const OUTPUT_NAMES: &[&str] = &[
    "W.npy",
    "H.npy",
    "W.csv",
    "H.csv",
    "model.json",
    "model.npz",
    "summary.json",
    "basis.png",
    "reconstructions.png",
    "loss.svg",
    "topics.json",
    "rank.json",
    "rank.svg",
];

/// The size of the chunks in which a file is written (a signal is seen between chunks).
const CHUNK: usize = 4 << 20;

/// The command that writes an output set, as the manifest records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `nmf fit`.
    Fit,
    /// `nmf transform`.
    Transform,
    /// `nmf demo`.
    Demo,
    /// `nmf rank`.
    Rank,
}

impl Command {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Command::Fit => "fit",
            Command::Transform => "transform",
            Command::Demo => "demo",
            Command::Rank => "rank",
        }
    }
}

/// The output directory, resolved: `path` is `parent/name` with the parent canonical (so a
/// symbolic link given as `--out` is followed, and the swap replaces what it points to).
#[derive(Debug, Clone)]
struct Target {
    /// As given, for messages.
    shown: PathBuf,
    parent: PathBuf,
    name: OsString,
    path: PathBuf,
}

impl Target {
    /// The prefix of the staging directories of this target: `.NAME.nmf-`.
    fn staging_prefix(&self) -> OsString {
        let mut p = OsString::from(".");
        p.push(&self.name);
        p.push(".nmf-");
        p
    }
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// Resolves `--out`; with `create`, creates its parent directories.
fn resolve(out: &Path, create: bool) -> Result<Option<Target>, CliError> {
    let fail = |e: std::io::Error| CliError::io("create the output directory", out, &e);
    let real = match std::fs::symlink_metadata(out) {
        Ok(_) => {
            let real = std::fs::canonicalize(out).map_err(fail)?;
            if !real.is_dir() {
                return Err(CliError::data(format!(
                    "cannot create the output directory '{}': it is a file, not a directory",
                    show(out)
                )));
            }
            real
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let Some(name) = out.file_name() else {
                return Err(CliError::usage(format!(
                    "--out '{}' does not name a directory",
                    show(out)
                )));
            };
            let parent = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if create {
                std::fs::create_dir_all(parent).map_err(fail)?;
            }
            match std::fs::canonicalize(parent) {
                Ok(p) => p.join(name),
                Err(_) if !create => return Ok(None),
                Err(e) => return Err(fail(e)),
            }
        }
        Err(e) => return Err(fail(e)),
    };
    let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
        return Err(CliError::usage(format!(
            "--out '{}' is the root directory; nmf replaces its output directory as a whole: \
             give it a directory of its own, such as --out nmf-out",
            show(out)
        )));
    };
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize)
        && cwd.starts_with(&real)
    {
        return Err(CliError::usage(format!(
            "--out '{}' is the current directory or contains it; nmf replaces its output \
             directory as a whole: give it a directory of its own, such as --out nmf-out",
            show(out)
        )));
    }
    Ok(Some(Target {
        shown: out.to_path_buf(),
        parent: parent.to_path_buf(),
        name: name.to_os_string(),
        path: real.clone(),
    }))
}

/// What an output directory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Existing {
    /// Nothing there.
    Absent,
    /// An empty directory.
    Empty,
    /// An nmf output set and nothing else.
    Set {
        /// The command that wrote it, if known.
        command: Option<String>,
        /// Its files (without the manifest).
        files: Vec<OsString>,
    },
}

/// A name for messages: lossy, control characters escaped.
fn quoted(name: &OsStr) -> String {
    name.to_string_lossy().escape_debug().to_string()
}

fn foreign(dir: &Path, name: &OsStr, why: &str) -> CliError {
    CliError::usage(format!(
        "--out '{}' holds '{}'{why}, which nmf did not write; nmf replaces its output directory \
         as a whole and never touches other files: choose another --out (a new or empty \
         directory, or one written by nmf)",
        show(dir),
        quoted(name)
    ))
}

/// Whether `name` is one of [`OUTPUT_NAMES`].
fn is_output_name(name: &OsStr) -> bool {
    name.to_str().is_some_and(|n| OUTPUT_NAMES.contains(&n))
}

/// Whether `name` is a temporary file of an earlier nmf, which wrote each output as
/// `.NAME.XXXXXX.tmp` inside the output directory and left it behind when killed.
fn is_old_temporary(name: &OsStr) -> bool {
    let Some(rest) = name
        .to_str()
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".tmp"))
    else {
        return false;
    };
    OUTPUT_NAMES.iter().any(|o| {
        rest.strip_prefix(o)
            .is_some_and(|r| r.len() > 1 && r.starts_with('.'))
    })
}

/// The files and command of a manifest; `None` if it is not one nmf writes (only nmf's
/// output names are accepted, so that no manifest can make nmf remove another file).
fn parse_manifest(text: &str) -> Option<(Option<String>, Vec<OsString>)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("written_by")?.as_str()? != "nmf" {
        return None;
    }
    let command = v.get("command").and_then(|c| c.as_str()).map(String::from);
    let files = v
        .get("files")?
        .as_array()?
        .iter()
        .map(|f| f.get("name").and_then(|n| n.as_str()).map(OsString::from))
        .collect::<Option<Vec<_>>>()?;
    if !files.iter().all(|f| is_output_name(f)) {
        return None;
    }
    Some((command, files))
}

/// Looks at what `path` holds; `shown` names it in messages.
fn inspect(path: &Path, shown: &Path) -> Result<Existing, CliError> {
    let fail = |e: std::io::Error| CliError::io("read the output directory", shown, &e);
    let rd = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(fail(e)),
    };
    let mut entries = Vec::new();
    let mut manifest = None;
    for e in rd {
        let e = e.map_err(fail)?;
        let name = e.file_name();
        let is_file = e.file_type().map_err(fail)?.is_file();
        if name == MANIFEST {
            let text = if is_file {
                std::fs::read_to_string(e.path()).ok()
            } else {
                None
            };
            match text.as_deref().and_then(parse_manifest) {
                Some(m) => manifest = Some(m),
                None => return Err(foreign(shown, &name, " (not an nmf manifest)")),
            }
        } else {
            entries.push((name, is_file));
        }
    }
    // Temporary files of an earlier nmf go with the set they were left beside.
    let (leftovers, entries): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(n, is_file)| *is_file && is_old_temporary(n));
    if manifest.is_none() && entries.is_empty() && leftovers.is_empty() {
        return Ok(Existing::Empty);
    }
    let (command, mut files) = match manifest {
        Some(m) => m,
        None if entries.is_empty() => (None, Vec::new()),
        // Written before manifests: nmf's names only, and a summary that names the command.
        None => {
            let command = std::fs::read(path.join("summary.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("command")?.as_str().map(String::from))
                .filter(|c| ["fit", "transform", "demo"].contains(&c.as_str()));
            if let Some((odd, _)) = entries.iter().find(|(n, _)| !is_output_name(n)) {
                return Err(foreign(shown, odd, ""));
            }
            if command.is_none() {
                return Err(foreign(shown, &entries[0].0, ""));
            }
            let files = entries.iter().map(|(n, _)| n.clone()).collect();
            (command, files)
        }
    };
    for (name, is_file) in &entries {
        if !files.contains(name) {
            return Err(foreign(shown, name, ""));
        }
        if !is_file {
            return Err(foreign(shown, name, " (not a regular file)"));
        }
    }
    files.extend(leftovers.into_iter().map(|(n, _)| n));
    Ok(Existing::Set { command, files })
}

/// Whether `command` may replace what `existing` is: `nmf transform` replaces the outputs of
/// `nmf fit` or `nmf demo` only with `force`.
fn may_replace(
    existing: &Existing,
    shown: &Path,
    command: Command,
    force: bool,
) -> Result<(), CliError> {
    if let Existing::Set {
        command: Some(old), ..
    } = existing
        && command == Command::Transform
        && !force
        && (old == "fit" || old == "demo")
    {
        return Err(CliError::usage(format!(
            "--out '{}' holds the outputs of `nmf {old}` (its W, H, model and summary); `nmf \
             transform` would replace them all: choose another --out, or add --force to \
             replace them",
            show(shown)
        )));
    }
    Ok(())
}

/// Checks, before any work, that `command` may write its outputs into `out` (the same check
/// as at the end, which is the one that counts).
///
/// # Errors
/// If `out` cannot be used: see the [module documentation](self).
pub fn check_out(out: &Path, command: Command, force: bool) -> Result<(), CliError> {
    if let Some(t) = resolve(out, false)? {
        may_replace(&inspect(&t.path, &t.shown)?, &t.shown, command, force)?;
    }
    Ok(())
}

/// An exclusive `flock` on a directory, released when dropped; `None` where it cannot be
/// taken (the directory is not readable, the file system has no locks).
fn lock_dir(dir: &Path) -> Option<File> {
    let f = File::open(dir).ok()?;
    f.lock().ok()?;
    Some(f)
}

/// Removes `names` and the manifest from `dir`, then `dir` if it is empty.
fn remove_set<'a>(dir: &Path, names: impl IntoIterator<Item = &'a OsStr>) {
    for n in names {
        let _ = std::fs::remove_file(dir.join(n));
    }
    let _ = std::fs::remove_file(dir.join(MANIFEST));
    let _ = std::fs::remove_dir(dir);
}

/// Removes the staging directories of `t` left by runs that are no longer alive (their
/// manifest is not locked). Called with the parent directory locked, under which every run
/// creates its staging directory and locks its manifest.
fn clean_stale(t: &Target) {
    let prefix = t.staging_prefix();
    let Ok(rd) = std::fs::read_dir(&t.parent) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        if !name
            .as_encoded_bytes()
            .starts_with(prefix.as_encoded_bytes())
            || !e.file_type().is_ok_and(|f| f.is_dir())
        {
            continue;
        }
        let dir = e.path();
        // Held until the end of this iteration: the manifest's lock proves the run is gone.
        let _held = match File::open(dir.join(MANIFEST)) {
            Ok(f) => match f.try_lock() {
                Ok(()) => Some(f),
                Err(_) => continue,
            },
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(_) => continue,
        };
        let Ok(inner) = std::fs::read_dir(&dir) else {
            continue;
        };
        let ours: Vec<OsString> = inner
            .flatten()
            .filter(|f| f.file_type().is_ok_and(|t| t.is_file()))
            .map(|f| f.file_name())
            .filter(|n| is_output_name(n))
            .collect();
        remove_set(&dir, ours.iter().map(OsString::as_os_str));
    }
}

/// Renames `from` to `to`, failing if `to` exists.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP => {}
            Err(e) => return Err(e.into()),
        }
    }
    // (The parent is locked: only a program other than nmf can race with this check.)
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

/// Exchanges the directories `a` and `b`: atomically on Linux, else by three renames.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut aside = a.as_os_str().to_os_string();
    aside.push("-old");
    let aside = PathBuf::from(aside);
    std::fs::rename(b, &aside)?;
    if let Err(e) = std::fs::rename(a, b) {
        let _ = std::fs::rename(&aside, b);
        return Err(e);
    }
    std::fs::rename(&aside, a)
}

/// One staged file.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    bytes: u64,
    crc32: u32,
}

/// A set of output files being written into a staging directory beside the output
/// directory, then swapped into place by [`commit`](Self::commit) (see the [module
/// documentation](self)). Dropped without a commit, it removes the staging directory.
#[derive(Debug)]
pub struct Staged {
    target: Target,
    command: Command,
    force: bool,
    /// The staging directory.
    dir: PathBuf,
    /// The manifest, locked for as long as the run lives.
    manifest: File,
    files: Vec<Entry>,
    committed: bool,
}

impl Staged {
    /// Enters the writing phase (see [`interrupt`]), removes staging directories left by
    /// killed runs into the same `out`, and creates a fresh staging directory beside `out`
    /// (creating the parents of `out` if needed). `force` lets `nmf transform` replace the
    /// outputs of `nmf fit` or `nmf demo`.
    ///
    /// # Errors
    /// After a signal, or if the directory cannot be created.
    pub fn new(out: &Path, command: Command, force: bool) -> Result<Self, CliError> {
        interrupt::begin_writing()?;
        let target = resolve(out, true)?.ok_or_else(|| {
            CliError::data(format!(
                "cannot create the output directory '{}'",
                show(out)
            ))
        })?;
        let fail = |e: std::io::Error| CliError::io("create the output directory", out, &e);
        let lock = lock_dir(&target.parent);
        if lock.is_some() {
            clean_stale(&target);
        }
        let prefix = target.staging_prefix();
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).rand_bytes(8);
        // The mode of a new directory (0777 less the umask), not tempfile's private 0700.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777));
        let dir = builder.tempdir_in(&target.parent).map_err(fail)?.keep();
        let manifest = match File::create_new(dir.join(MANIFEST)) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                return Err(fail(e));
            }
        };
        // Where the file system has no locks, other runs cannot take it either, and then
        // leave this directory alone.
        let _ = manifest.try_lock();
        drop(lock);
        Ok(Self {
            target,
            command,
            force,
            dir,
            manifest,
            files: Vec::new(),
            committed: false,
        })
    }

    /// The output directory, as given.
    pub fn dir(&self) -> &Path {
        &self.target.shown
    }

    /// Writes `bytes` as the output `name` (one of [`OUTPUT_NAMES`]) into the staging
    /// directory, in chunks, stopping at a signal.
    ///
    /// # Errors
    /// After a signal, or if the file cannot be written (the disk is full, …).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), CliError> {
        debug_assert!(OUTPUT_NAMES.contains(&name), "{name} is not an output name");
        let shown = self.target.shown.join(name);
        let fail = |e: std::io::Error| CliError::io("write", &shown, &e);
        interrupt::check("while writing")?;
        let mut f = File::create_new(self.dir.join(name)).map_err(fail)?;
        self.files.push(Entry {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            crc32: 0,
        });
        let mut crc = flate2::Crc::new();
        for chunk in bytes.chunks(CHUNK) {
            interrupt::check("while writing")?;
            f.write_all(chunk).map_err(fail)?;
            crc.update(chunk);
        }
        f.sync_all().map_err(fail)?;
        if let Some(e) = self.files.last_mut() {
            e.crc32 = crc.sum();
        }
        Ok(())
    }

    /// The manifest's text.
    fn manifest_text(&self) -> String {
        let json = serde_json::json!({
            "written_by": "nmf",
            "version": env!("CARGO_PKG_VERSION"),
            "command": self.command.name(),
            "files": self.files.iter().map(|e| serde_json::json!({
                "name": e.name,
                "bytes": e.bytes,
                "crc32": e.crc32,
            })).collect::<Vec<_>>(),
        });
        let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    }

    /// Writes the manifest and swaps the staging directory into place, returning the final
    /// paths (under `out` as given) in the order the files were added.
    ///
    /// # Errors
    /// After a signal, if `out` may not be replaced (it holds other files, or the outputs of
    /// `nmf fit` for `nmf transform` without `--force`), or if a write or rename fails. The
    /// previous outputs are then untouched.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, CliError> {
        let fail = |e: std::io::Error| CliError::io("write", &self.target.shown, &e);
        interrupt::check("while writing")?;
        let text = self.manifest_text();
        self.manifest.set_len(0).map_err(fail)?;
        (&self.manifest).write_all(text.as_bytes()).map_err(fail)?;
        self.manifest.sync_all().map_err(fail)?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        let t = self.target.clone();
        let move_fail = |e: std::io::Error| CliError::io("move the outputs into", &t.shown, &e);
        let lock = lock_dir(&t.parent);
        interrupt::check("while writing")?;
        let mut tries = 0;
        let old = loop {
            let existing = inspect(&t.path, &t.shown)?;
            may_replace(&existing, &t.shown, self.command, self.force)?;
            let old_files = match existing {
                Existing::Absent => match rename_noreplace(&self.dir, &t.path) {
                    Ok(()) => break None,
                    // Created meanwhile by another program: look again.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists && tries < 3 => {
                        tries += 1;
                        continue;
                    }
                    Err(e) => return Err(move_fail(e)),
                },
                Existing::Empty => Vec::new(),
                Existing::Set { files, .. } => files,
            };
            if let Ok(m) = std::fs::metadata(&t.path) {
                let _ = std::fs::set_permissions(&self.dir, m.permissions());
            }
            exchange(&self.dir, &t.path).map_err(move_fail)?;
            // The old set is now at the staging name: it must hold only what was checked.
            let odd = std::fs::read_dir(&self.dir).ok().and_then(|rd| {
                rd.flatten()
                    .map(|e| e.file_name())
                    .find(|n| n != MANIFEST && !old_files.contains(n))
            });
            if let Some(odd) = odd {
                exchange(&self.dir, &t.path).map_err(move_fail)?;
                return Err(CliError::data(format!(
                    "'{}' changed while nmf was writing ('{}' appeared); it was left as it was",
                    show(&t.shown),
                    quoted(&odd)
                )));
            }
            break Some(old_files);
        };
        self.committed = true;
        interrupt::done();
        drop(lock);
        if let Some(old_files) = old {
            remove_set(&self.dir, old_files.iter().map(OsString::as_os_str));
        }
        if let Ok(d) = File::open(&t.parent) {
            let _ = d.sync_all();
        }
        Ok(self.files.iter().map(|e| t.shown.join(&e.name)).collect())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            remove_set(&self.dir, self.files.iter().map(|e| OsStr::new(&e.name)));
        }
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
        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("W.npy", b"w").unwrap();
        s.add("H.npy", b"h").unwrap();
        assert!(!out.exists());
        drop(s);
        assert!(names(&root.path().join("a")).is_empty());

        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("W.npy", b"w").unwrap();
        s.add("H.npy", b"h").unwrap();
        let paths = s.commit().unwrap();
        assert_eq!(paths, vec![out.join("W.npy"), out.join("H.npy")]);
        assert_eq!(names(&out), vec![MANIFEST, "H.npy", "W.npy"]);
        assert_eq!(names(&root.path().join("a")), vec!["b"]);
        assert_eq!(std::fs::read(out.join("H.npy")).unwrap(), b"h");
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(m["command"], "fit");
        let mut crc = flate2::Crc::new();
        crc.update(b"w");
        assert_eq!(m["files"][0]["name"], "W.npy");
        assert_eq!(m["files"][0]["bytes"], 1);
        assert_eq!(m["files"][0]["crc32"], crc.sum());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir(root.path().join("plain_dir")).unwrap();
            std::fs::write(root.path().join("plain"), b"p").unwrap();
            let mode = |f: &Path| std::fs::metadata(f).unwrap().permissions().mode();
            assert_eq!(
                mode(&out.join("W.npy")),
                mode(&root.path().join("plain")),
                "outputs have the mode of a new file"
            );
            assert_eq!(
                mode(&out),
                mode(&root.path().join("plain_dir")),
                "the output directory has the mode of a new directory"
            );
        }
    }

    #[test]
    fn a_new_set_replaces_the_old_one_whole() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("o");
        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("W.npy", b"w1").unwrap();
        s.add("model.npz", b"z").unwrap();
        s.commit().unwrap();
        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("W.npy", b"w2").unwrap();
        s.add("model.json", b"j").unwrap();
        s.commit().unwrap();
        // model.npz of the first run went with its set; no staging directory remains.
        assert_eq!(names(&out), vec![MANIFEST, "W.npy", "model.json"]);
        assert_eq!(std::fs::read(out.join("W.npy")).unwrap(), b"w2");
        assert_eq!(names(root.path()), vec!["o"]);
    }

    #[test]
    fn foreign_files_are_never_replaced() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("mine");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        let e = check_out(&out, Command::Fit, false).unwrap_err();
        assert_eq!(e.code, crate::error::EXIT_USAGE);
        assert!(
            e.message
                .contains("holds 'notes.txt', which nmf did not write")
        );
        let mut s = Staged::new(&out, Command::Fit, true).unwrap();
        s.add("W.npy", b"w").unwrap();
        assert!(s.commit().unwrap_err().message.contains("notes.txt"));
        assert_eq!(names(&out), vec!["notes.txt"]);
        assert_eq!(names(root.path()), vec!["mine"]);
        // A file beside a set: the same.
        let out = root.path().join("set");
        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("W.npy", b"w").unwrap();
        s.commit().unwrap();
        std::fs::write(out.join("H.csv"), b"mine").unwrap();
        assert!(
            check_out(&out, Command::Fit, false)
                .unwrap_err()
                .message
                .contains("holds 'H.csv'")
        );
    }

    #[test]
    fn transform_replaces_a_fit_only_with_force() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("o");
        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("W.npy", b"w").unwrap();
        s.commit().unwrap();
        let e = check_out(&out, Command::Transform, false).unwrap_err();
        assert!(e.message.contains("add --force"), "{}", e.message);
        check_out(&out, Command::Transform, true).unwrap();
        check_out(&out, Command::Fit, false).unwrap();
        let mut s = Staged::new(&out, Command::Transform, true).unwrap();
        s.add("H.npy", b"h").unwrap();
        s.commit().unwrap();
        assert_eq!(names(&out), vec![MANIFEST, "H.npy"]);
        check_out(&out, Command::Transform, false).unwrap();
    }

    #[test]
    fn sets_written_before_manifests_are_recognised() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("old");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("W.npy"), b"w").unwrap();
        std::fs::write(out.join("summary.json"), br#"{"command": "fit"}"#).unwrap();
        check_out(&out, Command::Fit, false).unwrap();
        assert!(check_out(&out, Command::Transform, false).is_err());
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        let e = check_out(&out, Command::Fit, false).unwrap_err();
        assert!(e.message.contains("holds 'notes.txt'"), "{}", e.message);
        std::fs::remove_file(out.join("notes.txt")).unwrap();
        std::fs::write(out.join("summary.json"), br#"{"mine": 1}"#).unwrap();
        assert!(check_out(&out, Command::Fit, false).is_err());
    }

    #[test]
    fn temporaries_of_an_earlier_nmf_go_with_their_set() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("o");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("W.npy"), b"w").unwrap();
        std::fs::write(out.join("summary.json"), br#"{"command": "fit"}"#).unwrap();
        std::fs::write(out.join(".W.npy.a1B2c3.tmp"), b"partial").unwrap();
        std::fs::write(out.join(".notes.txt.a1B2c3.tmp"), b"mine").unwrap();
        assert!(check_out(&out, Command::Fit, false).is_err());
        std::fs::remove_file(out.join(".notes.txt.a1B2c3.tmp")).unwrap();
        let mut s = Staged::new(&out, Command::Fit, false).unwrap();
        s.add("H.npy", b"h").unwrap();
        s.commit().unwrap();
        assert_eq!(names(&out), vec![MANIFEST, "H.npy"]);
        assert_eq!(names(root.path()), vec!["o"]);
        assert!(!is_old_temporary(OsStr::new(".W.npy.tmp")));
        assert!(!is_old_temporary(OsStr::new("W.npy.abc.tmp")));
    }

    #[test]
    fn a_manifest_names_only_outputs() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("o");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        let m = r#"{"written_by": "nmf", "command": "fit", "files": [{"name": "notes.txt"}]}"#;
        std::fs::write(out.join(MANIFEST), m).unwrap();
        let e = check_out(&out, Command::Fit, false).unwrap_err();
        assert!(
            e.message
                .contains("holds '.nmf-output.json' (not an nmf manifest)"),
            "{}",
            e.message
        );
        let m = r#"{"written_by": "nmf", "command": "fit", "files": [{"name": "W.npy"}]}"#;
        std::fs::write(out.join(MANIFEST), m).unwrap();
        std::fs::remove_file(out.join("notes.txt")).unwrap();
        std::fs::write(out.join("W.npy"), b"w").unwrap();
        check_out(&out, Command::Fit, false).unwrap();
    }

    #[test]
    fn staging_left_by_a_dead_run_is_removed_and_a_live_one_kept() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("o");
        let dead = root.path().join(".o.nmf-dead0000");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join(MANIFEST), b"").unwrap();
        std::fs::write(dead.join("W.npy"), b"partial").unwrap();
        let live = Staged::new(&out, Command::Fit, false).unwrap();
        let other = root.path().join(".other.nmf-dead0000");
        std::fs::create_dir(&other).unwrap();
        let s = Staged::new(&out, Command::Fit, false).unwrap();
        assert!(!dead.exists());
        assert!(live.dir.exists() && other.exists());
        drop((s, live));
        assert_eq!(names(root.path()), vec![".other.nmf-dead0000"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_as_out_keeps_pointing_to_the_new_set() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        // (A link to nothing is an error: nmf does not create where it points.)
        assert!(Staged::new(&link, Command::Fit, false).is_err());
        std::fs::create_dir(&real).unwrap();
        for content in [&b"w1"[..], b"w2"] {
            let mut s = Staged::new(&link, Command::Fit, false).unwrap();
            s.add("W.npy", content).unwrap();
            assert_eq!(s.commit().unwrap(), vec![link.join("W.npy")]);
            assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
            assert_eq!(std::fs::read(real.join("W.npy")).unwrap(), content);
        }
        assert_eq!(names(root.path()), vec!["link", "real"]);
    }

    #[test]
    fn an_output_path_that_is_a_file_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let f = root.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        let e = Staged::new(&f, Command::Fit, false).unwrap_err();
        assert!(e.message.starts_with("cannot create the output directory"));
        assert!(check_out(&f, Command::Fit, false).is_err());
    }
}
