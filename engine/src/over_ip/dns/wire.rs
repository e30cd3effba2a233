//! DNS messages (RFC 1035 section 4): a checked view over one message.
//!
//! Nothing is copied: [`Message::parse`] checks the header, and the
//! question and resource-record iterators check every name and length as
//! they walk. Names are rendered on demand with compression pointers
//! followed a bounded number of times.

use crate::bytes::{be16, be32, Error};

pub const HEADER_LEN: usize = 12;
/// Compression pointers followed in one name before it is declared a loop.
const MAX_POINTERS: usize = 32;

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub qr: bool,
    pub opcode: u8,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    /// The three bits Zeek logs as `Z` (the reserved bit, AD and CD).
    pub z: u8,
    pub rcode: u8,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    /// Records in the answer, authority and additional sections.
    pub fn record_count(&self) -> u32 {
        u32::from(self.ancount) + u32::from(self.nscount) + u32::from(self.arcount)
    }

    pub fn parse(b: &[u8]) -> Result<Header, Error> {
        let w = |at| be16(b, at).ok_or(Error::Truncated);
        let flags = w(2)?;
        Ok(Header {
            id: w(0)?,
            qr: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0xf) as u8,
            aa: flags & 0x0400 != 0,
            tc: flags & 0x0200 != 0,
            rd: flags & 0x0100 != 0,
            ra: flags & 0x0080 != 0,
            z: ((flags >> 4) & 0x7) as u8,
            rcode: (flags & 0xf) as u8,
            qdcount: w(4)?,
            ancount: w(6)?,
            nscount: w(8)?,
            arcount: w(10)?,
        })
    }
}

/// A name inside a message, rendered with [`Name::write`].
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    msg: &'a [u8],
    at: usize,
}

impl<'a> Name<'a> {
    /// Checks the name at `at` and returns it with the offset just after
    /// its in-place part.
    pub fn parse(msg: &'a [u8], at: usize) -> Result<(Name<'a>, usize), Error> {
        let name = Name { msg, at };
        let mut end = None;
        name.walk(|_| {}, &mut end)?;
        Ok((name, end.ok_or(Error::Truncated)?))
    }

    /// Appends the labels joined by dots (the root is the empty string).
    pub fn write(&self, out: &mut String) {
        let mut first = true;
        let mut end = None;
        let _ = self.walk(
            |label| {
                if !first {
                    out.push('.');
                }
                first = false;
                crate::text::push_bytes(out, label);
            },
            &mut end,
        );
    }

    pub fn to_string_lossy(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    pub fn is_root(&self) -> bool {
        self.msg.get(self.at) == Some(&0)
    }

    fn walk(&self, mut label: impl FnMut(&[u8]), end: &mut Option<usize>) -> Result<(), Error> {
        let mut at = self.at;
        let mut jumps = 0;
        let mut total = 0usize;
        loop {
            let len = *self.msg.get(at).ok_or(Error::Truncated)?;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    end.get_or_insert(at + 1);
                    return Ok(());
                }
                0x00 => {
                    let l = self
                        .msg
                        .get(at + 1..at + 1 + usize::from(len))
                        .ok_or(Error::Truncated)?;
                    total += l.len() + 1;
                    if total > 255 {
                        return Err(Error::malformed("DNS name over 255 bytes", at));
                    }
                    label(l);
                    at += 1 + l.len();
                }
                0xc0 => {
                    let ptr = be16(self.msg, at).ok_or(Error::Truncated)? & 0x3fff;
                    end.get_or_insert(at + 2);
                    jumps += 1;
                    if jumps > MAX_POINTERS {
                        return Err(Error::malformed("DNS name pointer loop", at));
                    }
                    at = usize::from(ptr);
                }
                _ => return Err(Error::malformed("DNS label type", at)),
            }
        }
    }
}

/// An entry of the question section.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

/// A resource record.
#[derive(Clone, Copy, Debug)]
pub struct Rr<'a> {
    pub name: Name<'a>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: &'a [u8],
    /// Where `rdata` starts in the message, for names inside it.
    pub rdata_at: usize,
    msg: &'a [u8],
}

impl<'a> Rr<'a> {
    /// A name inside the record data at `off`.
    pub fn name_at(&self, off: usize) -> Option<Name<'a>> {
        if off >= self.rdata.len() {
            return None;
        }
        Name::parse(self.msg, self.rdata_at + off)
            .ok()
            .map(|(n, _)| n)
    }
}

/// A checked DNS message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub header: Header,
    msg: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn parse(msg: &'a [u8]) -> Result<Message<'a>, Error> {
        let header = Header::parse(msg)?;
        if msg.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Message { header, msg })
    }

    pub fn len(&self) -> usize {
        self.msg.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msg.is_empty()
    }

    /// The questions, stopping at the first one that does not parse.
    pub fn questions(&self) -> Sections<'a> {
        Sections {
            msg: self.msg,
            at: HEADER_LEN,
            questions: self.header.qdcount,
            failed: false,
        }
    }

    /// The answer records (after the questions), stopping at the first one
    /// that does not parse.
    pub fn answers(&self) -> impl Iterator<Item = Result<Rr<'a>, Error>> + 'a {
        self.records().take(usize::from(self.header.ancount))
    }

    /// Every resource record of all three sections, in order.
    pub fn records(&self) -> impl Iterator<Item = Result<Rr<'a>, Error>> + 'a {
        let mut qs = self.questions();
        let failed = qs.by_ref().any(|q| q.is_err());
        RecordIter {
            msg: self.msg,
            at: qs.at,
            left: self.header.record_count(),
            failed,
        }
    }

    /// Whether the whole message (every section) parses and ends where the
    /// data ends: the strict test used to recognise DNS on any port.
    pub fn is_well_formed(&self) -> bool {
        let mut qs = self.questions();
        if qs.by_ref().any(|q| q.is_err()) {
            return false;
        }
        let mut rs = RecordIter {
            msg: self.msg,
            at: qs.at,
            left: self.header.record_count(),
            failed: false,
        };
        if rs.by_ref().any(|r| r.is_err()) {
            return false;
        }
        rs.at == self.msg.len()
    }
}

/// The question section walker.
pub struct Sections<'a> {
    msg: &'a [u8],
    at: usize,
    questions: u16,
    failed: bool,
}

impl<'a> Iterator for Sections<'a> {
    type Item = Result<Question<'a>, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.questions == 0 {
            return None;
        }
        self.questions -= 1;
        let r = (|| {
            let (name, end) = Name::parse(self.msg, self.at)?;
            let qtype = be16(self.msg, end).ok_or(Error::Truncated)?;
            let qclass = be16(self.msg, end + 2).ok_or(Error::Truncated)?;
            self.at = end + 4;
            Ok(Question {
                name,
                qtype,
                qclass,
            })
        })();
        self.failed = r.is_err();
        Some(r)
    }
}

struct RecordIter<'a> {
    msg: &'a [u8],
    at: usize,
    left: u32,
    failed: bool,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Rr<'a>, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        if self.failed {
            self.left = 0;
            return Some(Err(Error::Truncated));
        }
        self.left -= 1;
        let r = (|| {
            let (name, end) = Name::parse(self.msg, self.at)?;
            let g16 = |at| be16(self.msg, at).ok_or(Error::Truncated);
            let rtype = g16(end)?;
            let class = g16(end + 2)?;
            let ttl = be32(self.msg, end + 4).ok_or(Error::Truncated)?;
            let rdlen = usize::from(g16(end + 8)?);
            let rdata_at = end + 10;
            let rdata = self
                .msg
                .get(rdata_at..rdata_at + rdlen)
                .ok_or(Error::Truncated)?;
            self.at = rdata_at + rdlen;
            Ok(Rr {
                name,
                rtype,
                class,
                ttl,
                rdata,
                rdata_at,
                msg: self.msg,
            })
        })();
        if r.is_err() {
            self.failed = true;
            self.left = 0;
        }
        Some(r)
    }
}
