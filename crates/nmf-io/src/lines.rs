//! The lines of a text file read forward from any byte offset, each with its offset and its
//! number, through a buffer of its own (a line is looked at before it is taken, so a reader
//! can stop in front of the first line that is not its own).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// The longest line read (a Matrix Market entry line is a few tens of bytes; this bounds the
/// memory a file without line ends can take).
pub(crate) const MAX_LINE: usize = 16 << 20;

const CHUNK: usize = 1 << 20;

/// A text file read line by line from a position.
#[derive(Debug)]
pub(crate) struct Lines {
    file: File,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// The file offset of `buf[start]`.
    offset: u64,
    /// The 1-based number of the line that starts at `buf[start]`.
    line: u64,
    eof: bool,
    /// The length of the line looked at, with its line end (what [`advance`](Self::advance) takes).
    peeked: Option<usize>,
}

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// The system's error.
    Io(std::io::Error),
    /// A line longer than [`MAX_LINE`] (its number).
    TooLong(u64),
}

impl Lines {
    /// Reads `file` from its start (line 1).
    pub(crate) fn new(file: File) -> Self {
        Self {
            file,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            offset: 0,
            line: 1,
            eof: false,
            peeked: None,
        }
    }

    /// Moves to `offset`, where line number `line` starts.
    pub(crate) fn seek(&mut self, offset: u64, line: u64) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.start = 0;
        self.end = 0;
        self.offset = offset;
        self.line = line;
        self.eof = false;
        self.peeked = None;
        Ok(())
    }

    /// The file's length now.
    pub(crate) fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// `(offset, number)` of the next line.
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.offset, self.line)
    }

    /// The next line, without its line end (`\n` or `\r\n`), or `None` at the end of the
    /// file; it stays the next line until [`advance`](Self::advance).
    pub(crate) fn peek(&mut self) -> Result<Option<&[u8]>, LineError> {
        loop {
            if let Some(n) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                self.peeked = Some(n + 1);
                let l = &self.buf[self.start..self.start + n];
                return Ok(Some(l.strip_suffix(b"\r").unwrap_or(l)));
            }
            if self.eof {
                if self.start == self.end {
                    self.peeked = None;
                    return Ok(None);
                }
                self.peeked = Some(self.end - self.start);
                let l = &self.buf[self.start..self.end];
                return Ok(Some(l.strip_suffix(b"\r").unwrap_or(l)));
            }
            // Room for more: the unread bytes move to the front, the buffer grows when a line
            // fills it.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_LINE {
                    return Err(LineError::TooLong(self.line));
                }
                self.buf.resize((self.buf.len() * 2).min(MAX_LINE), 0);
            }
            let n = loop {
                match self.file.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(LineError::Io(e)),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
    }

    /// Takes the line last looked at.
    ///
    /// # Panics
    /// If no line was looked at since the last move.
    pub(crate) fn advance(&mut self) {
        let n = self.peeked.take().expect("advance after peek");
        self.start += n;
        self.offset += n as u64;
        self.line += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_offsets_and_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, b"ab\r\n\ncd\nlast").unwrap();
        let mut l = Lines::new(File::open(&p).unwrap());
        let mut got = vec![];
        while let Some(line) = l.peek().unwrap() {
            let line = line.to_vec();
            got.push((l.position(), line));
            l.advance();
        }
        assert_eq!(
            got,
            vec![
                ((0, 1), b"ab".to_vec()),
                ((4, 2), b"".to_vec()),
                ((5, 3), b"cd".to_vec()),
                ((8, 4), b"last".to_vec()),
            ]
        );
        // From a remembered place.
        l.seek(5, 3).unwrap();
        assert_eq!(l.peek().unwrap().unwrap(), b"cd");
        // Looking twice does not move.
        assert_eq!(l.peek().unwrap().unwrap(), b"cd");
        assert_eq!(l.position(), (5, 3));
    }
}
