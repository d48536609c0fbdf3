//! A ZIP archive written front to back, for the XLSX export: each entry is deflated as its
//! bytes arrive, and its CRC-32 and sizes follow it in a data descriptor (general purpose flag
//! bit 3), so nothing is ever seeked back to, and an entry of any length costs the memory of the
//! deflate window. The caller drains the archive's output with [`ZipStream::take`] whenever it
//! wants to send bytes.
//!
//! Decisions:
//! - Only what an XLSX needs: deflate, ASCII entry names, no ZIP64. An archive or entry that
//!   would pass 4 GiB is an error rather than a corrupt file (a 10,000-learner export is a few
//!   megabytes).
//! - Entry times are the export's time in WIB, as MS-DOS date and time.
//! - Deflate at the default level: on 10,000 learner rows it writes 633 kB in about 120 ms,
//!   against 1.0 MB in about 100 ms at the fastest level; the smaller file is worth it on an
//!   office connection.
//! - Only the central directory (a few dozen bytes per entry) stays in memory until the end.

use std::io::{self, Write};

use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
/// Version 2.0: deflate and data descriptors.
const VERSION: u16 = 20;
/// Bit 3: CRC-32 and sizes are in the data descriptor after the data.
const FLAG_DESCRIPTOR: u16 = 0x0008;
const METHOD_DEFLATE: u16 = 8;

fn too_large() -> io::Error {
    io::Error::other("the export is larger than a ZIP archive without ZIP64 can hold (4 GiB)")
}

fn u32_of(n: u64) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| too_large())
}

/// MS-DOS (time, date) of an instant, in WIB. Years before 1980 become 1980.
pub fn dos_time(at: DateTime<Utc>) -> (u16, u16) {
    let t = at.with_timezone(&kernel::time::wib());
    let year = u16::try_from((t.year() - 1980).clamp(0, 127)).unwrap_or(0);
    // Each field is masked to its width, so the narrowing cannot lose bits.
    let date = (year << 9) | ((t.month() as u16 & 0x0f) << 5) | (t.day() as u16 & 0x1f);
    let time = ((t.hour() as u16 & 0x1f) << 11)
        | ((t.minute() as u16 & 0x3f) << 5)
        | (t.second() as u16 / 2);
    (time, date)
}

struct Entry {
    name: String,
    offset: u32,
    crc: u32,
    compressed: u32,
    uncompressed: u32,
}

struct Open {
    name: String,
    offset: u64,
    crc: flate2::Crc,
    uncompressed: u64,
    compressed: u64,
    deflate: DeflateEncoder<Vec<u8>>,
}

/// A ZIP archive being written; see the module documentation.
pub struct ZipStream {
    out: Vec<u8>,
    written: u64,
    entries: Vec<Entry>,
    open: Option<Open>,
    time: u16,
    date: u16,
}

impl ZipStream {
    /// An empty archive whose entries carry `at` as their time.
    pub fn new(at: DateTime<Utc>) -> Self {
        let (time, date) = dos_time(at);
        ZipStream {
            out: Vec::new(),
            written: 0,
            entries: Vec::new(),
            open: None,
            time,
            date,
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
    }

    /// Starts entry `name` (closing the one before, if any).
    ///
    /// # Errors
    /// When the archive passes 4 GiB.
    pub fn start(&mut self, name: &str) -> io::Result<()> {
        self.finish_entry()?;
        let offset = self.written;
        u32_of(offset)?;
        let name_len = u16::try_from(name.len()).map_err(|_| io::Error::other("entry name"))?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        h.extend_from_slice(&VERSION.to_le_bytes());
        h.extend_from_slice(&FLAG_DESCRIPTOR.to_le_bytes());
        h.extend_from_slice(&METHOD_DEFLATE.to_le_bytes());
        h.extend_from_slice(&self.time.to_le_bytes());
        h.extend_from_slice(&self.date.to_le_bytes());
        // CRC-32, compressed and uncompressed sizes: in the data descriptor.
        h.extend_from_slice(&[0; 12]);
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        self.emit(&h);
        self.open = Some(Open {
            name: name.to_owned(),
            offset,
            crc: flate2::Crc::new(),
            uncompressed: 0,
            compressed: 0,
            deflate: DeflateEncoder::new(Vec::new(), Compression::default()),
        });
        Ok(())
    }

    /// Moves what the deflater produced so far to the output.
    fn pump(&mut self) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let produced = std::mem::take(open.deflate.get_mut());
        open.compressed += produced.len() as u64;
        self.written += produced.len() as u64;
        self.out.extend_from_slice(&produced);
    }

    /// Closes the open entry with its data descriptor.
    fn finish_entry(&mut self) -> io::Result<()> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        let rest = open.deflate.finish()?;
        open.compressed += rest.len() as u64;
        self.written += rest.len() as u64;
        self.out.extend_from_slice(&rest);
        let entry = Entry {
            name: open.name,
            offset: u32_of(open.offset)?,
            crc: open.crc.sum(),
            compressed: u32_of(open.compressed)?,
            uncompressed: u32_of(open.uncompressed)?,
        };
        let mut d = Vec::with_capacity(16);
        d.extend_from_slice(&DATA_DESCRIPTOR.to_le_bytes());
        d.extend_from_slice(&entry.crc.to_le_bytes());
        d.extend_from_slice(&entry.compressed.to_le_bytes());
        d.extend_from_slice(&entry.uncompressed.to_le_bytes());
        self.emit(&d);
        self.entries.push(entry);
        Ok(())
    }

    /// Closes the last entry and writes the central directory. Nothing may be written after.
    ///
    /// # Errors
    /// When the archive passes 4 GiB.
    pub fn finish(&mut self) -> io::Result<()> {
        self.finish_entry()?;
        let start = self.written;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let name_len =
                u16::try_from(e.name.len()).map_err(|_| io::Error::other("entry name"))?;
            let mut c = Vec::with_capacity(46 + e.name.len());
            c.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
            // Made by: MS-DOS, version 2.0; needed: 2.0.
            c.extend_from_slice(&VERSION.to_le_bytes());
            c.extend_from_slice(&VERSION.to_le_bytes());
            c.extend_from_slice(&FLAG_DESCRIPTOR.to_le_bytes());
            c.extend_from_slice(&METHOD_DEFLATE.to_le_bytes());
            c.extend_from_slice(&self.time.to_le_bytes());
            c.extend_from_slice(&self.date.to_le_bytes());
            c.extend_from_slice(&e.crc.to_le_bytes());
            c.extend_from_slice(&e.compressed.to_le_bytes());
            c.extend_from_slice(&e.uncompressed.to_le_bytes());
            c.extend_from_slice(&name_len.to_le_bytes());
            // Extra field, comment, disk number, internal and external attributes.
            c.extend_from_slice(&[0; 12]);
            c.extend_from_slice(&e.offset.to_le_bytes());
            c.extend_from_slice(e.name.as_bytes());
            self.emit(&c);
        }
        let count = u16::try_from(entries.len()).map_err(|_| too_large())?;
        let size = u32_of(self.written - start)?;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&END_OF_CENTRAL_DIRECTORY.to_le_bytes());
        end.extend_from_slice(&[0; 4]);
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&size.to_le_bytes());
        end.extend_from_slice(&u32_of(start)?.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.emit(&end);
        Ok(())
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

impl Write for ZipStream {
    /// Writes into the open entry.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| io::Error::other("no ZIP entry is open"))?;
        open.deflate.write_all(buf)?;
        open.crc.update(buf);
        open.uncompressed += buf.len() as u64;
        self.pump();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;

    use chrono::TimeZone;

    use super::*;

    fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_le_bytes([b[i], b[i + 1]])
    }

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    /// Reads an archive the way a reader does, from the central directory at the end.
    fn read_back(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
        let end = zip.len() - 22;
        assert_eq!(u32_at(zip, end), END_OF_CENTRAL_DIRECTORY);
        let count = u16_at(zip, end + 10) as usize;
        let mut at = u32_at(zip, end + 16) as usize;
        let mut out = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(zip, at), CENTRAL_HEADER);
            let crc = u32_at(zip, at + 16);
            let compressed = u32_at(zip, at + 20) as usize;
            let size = u32_at(zip, at + 24) as usize;
            let name_len = u16_at(zip, at + 28) as usize;
            let offset = u32_at(zip, at + 42) as usize;
            let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
            assert_eq!(u32_at(zip, offset), LOCAL_HEADER);
            let data_at = offset + 30 + u16_at(zip, offset + 26) as usize;
            let mut data = Vec::new();
            flate2::read::DeflateDecoder::new(&zip[data_at..data_at + compressed])
                .read_to_end(&mut data)
                .unwrap();
            assert_eq!(data.len(), size, "{name}");
            let mut check = flate2::Crc::new();
            check.update(&data);
            assert_eq!(check.sum(), crc, "{name}");
            // The data descriptor repeats CRC and sizes.
            let d = data_at + compressed;
            assert_eq!(u32_at(zip, d), DATA_DESCRIPTOR);
            assert_eq!(u32_at(zip, d + 4), crc);
            assert_eq!(u32_at(zip, d + 8) as usize, compressed);
            assert_eq!(u32_at(zip, d + 12) as usize, size);
            out.push((name, data));
            at += 46 + name_len;
        }
        out
    }

    #[test]
    fn entries_written_piecewise_read_back_whole() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 3, 4, 6).single().unwrap();
        let mut z = ZipStream::new(at);
        let mut bytes = Vec::new();
        z.start("a.xml").unwrap();
        for i in 0..5000 {
            write!(z, "<row r=\"{i}\"/>").unwrap();
            // Drained as it goes, like the HTTP body.
            bytes.extend(z.take());
        }
        z.start("empty.xml").unwrap();
        z.start("dir/b.txt").unwrap();
        z.write_all("Ani, Budi & Çitra".as_bytes()).unwrap();
        z.finish().unwrap();
        bytes.extend(z.take());

        let entries = read_back(&bytes);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a.xml", "empty.xml", "dir/b.txt"]);
        let a = String::from_utf8(entries[0].1.clone()).unwrap();
        assert!(a.starts_with("<row r=\"0\"/><row r=\"1\"/>"));
        assert!(a.ends_with("<row r=\"4999\"/>"));
        assert!(entries[1].1.is_empty());
        assert_eq!(entries[2].1, "Ani, Budi & Çitra".as_bytes());
        // Repetitive XML compresses well.
        assert!(bytes.len() < a.len() / 4, "{} of {}", bytes.len(), a.len());
    }

    #[test]
    fn dos_time_is_wib() {
        // 1 March 2026 03:04:06 UTC is 10:04:06 WIB: date (46 << 9) | (3 << 5) | 1,
        // time (10 << 11) | (4 << 5) | 3.
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 3, 4, 6).single().unwrap();
        assert_eq!(
            dos_time(at),
            ((10 << 11) | (4 << 5) | 3, (46 << 9) | (3 << 5) | 1)
        );
    }

    #[test]
    fn writing_without_an_entry_is_an_error() {
        let mut z = ZipStream::new(Utc::now());
        assert!(z.write_all(b"x").is_err());
    }
}
