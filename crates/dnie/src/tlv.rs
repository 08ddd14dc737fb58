//! BER-TLV reading (ISO/IEC 7816-4 §5.2, also enough DER for PKCS#15 directory files).
//!
//! Hand-written on purpose: the crate we evaluated (`iso7816-tlv` 0.4) parses constructed
//! objects recursively without a depth bound (a hostile card could overflow the stack
//! with nested tags), lets a child run past its parent's length, and copies every value.
//! This reader is a zero-copy, non-recursive iterator over one level; callers descend
//! explicitly with [`Tlv::children`]. It never panics (property-tested).

/// One BER-TLV object borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Tag bytes as a big-endian number (1–3 bytes, e.g. `0x6F`, `0x5F37`).
    pub tag: u32,
    /// The value field.
    pub value: &'a [u8],
    /// The whole encoding (tag, length and value).
    pub raw: &'a [u8],
}

/// Why a TLV could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlvError {
    /// Input ended inside a tag, length or value.
    Truncated,
    /// Tag longer than 3 bytes.
    TagTooLong,
    /// Length form not supported (indefinite, or more than 4 length bytes).
    BadLength,
}

impl<'a> Tlv<'a> {
    /// True if the tag has the constructed bit (bit 6 of the first byte).
    pub fn is_constructed(&self) -> bool {
        self.raw.first().is_some_and(|b| b & 0x20 != 0)
    }

    /// Iterates over the objects inside this one's value.
    pub fn children(&self) -> TlvIter<'a> {
        TlvIter::new(self.value)
    }

    /// First child with `tag`.
    pub fn child(&self, tag: u32) -> Option<Tlv<'a>> {
        find(self.value, tag)
    }
}

/// Reads one object from the start of `input`; returns it and the rest.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let mut pos = 0usize;
    let first = *input.first().ok_or(TlvError::Truncated)?;
    pos += 1;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        // Subsequent tag bytes while bit 8 is set; at most 3 tag bytes in all.
        loop {
            let b = *input.get(pos).ok_or(TlvError::Truncated)?;
            pos += 1;
            if pos > 3 {
                return Err(TlvError::TagTooLong);
            }
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l0 = *input.get(pos).ok_or(TlvError::Truncated)?;
    pos += 1;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 4 {
            return Err(TlvError::BadLength);
        }
        let bytes = input.get(pos..pos + n).ok_or(TlvError::Truncated)?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let end = pos.checked_add(len).ok_or(TlvError::BadLength)?;
    let value = input.get(pos..end).ok_or(TlvError::Truncated)?;
    let raw = input.get(..end).ok_or(TlvError::Truncated)?;
    let rest = input.get(end..).ok_or(TlvError::Truncated)?;
    Ok((Tlv { tag, value, raw }, rest))
}

/// Iterator over consecutive objects. `00`/`FF` filler bytes between or after objects are
/// skipped (ISO/IEC 7816-4 §5.2.2; DNIe EFs are zero-padded). After an error it yields
/// that error once and stops.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over the objects of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        TlvIter {
            rest: input,
            done: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let skip = self
            .rest
            .iter()
            .take_while(|b| **b == 0x00 || **b == 0xFF)
            .count();
        self.rest = self.rest.get(skip..).unwrap_or(&[]);
        if self.rest.is_empty() {
            self.done = true;
            return None;
        }
        match parse_one(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// First top-level object of `input` with `tag` (stops at the first malformed object).
pub fn find(input: &[u8], tag: u32) -> Option<Tlv<'_>> {
    TlvIter::new(input)
        .map_while(Result::ok)
        .find(|t| t.tag == tag)
}

/// Encodes a BER length (helper for building APDU data objects).
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
}

/// Encodes a one- or two-byte-tag TLV.
pub fn encode(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 5);
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    encode_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_fci_like_structure() {
        // 6F 19 84 0B "Master.File" 85 0A 38 3F 00 00 00 ...
        let mut fci = vec![0x6F, 0x19, 0x84, 0x0B];
        fci.extend_from_slice(b"Master.File");
        fci.extend_from_slice(&[0x85, 0x0A, 0x38, 0x3F, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0]);
        let (t, rest) = parse_one(&fci).unwrap();
        assert!(rest.is_empty());
        assert_eq!(t.tag, 0x6F);
        assert!(t.is_constructed());
        assert_eq!(t.child(0x84).unwrap().value, b"Master.File");
        assert_eq!(t.child(0x85).unwrap().value.len(), 10);
    }

    #[test]
    fn multibyte_tags_and_lengths() {
        let mut cvc = vec![0x7F, 0x21, 0x81, 0x87, 0x5F, 0x37, 0x81, 0x80];
        cvc.extend_from_slice(&[0xAA; 128]);
        cvc.extend_from_slice(&[0x42, 0x01, 0x07]);
        let (t, _) = parse_one(&cvc).unwrap();
        assert_eq!(t.tag, 0x7F21);
        let kids: Vec<_> = t.children().collect::<Result<_, _>>().unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].tag, 0x5F37);
        assert_eq!(kids[0].value.len(), 128);
        assert_eq!(kids[1].tag, 0x42);
        let long: Vec<u8> = [0x04, 0x82, 0x01, 0x00]
            .iter()
            .copied()
            .chain([1u8; 256])
            .collect();
        let (t, _) = parse_one(&long).unwrap();
        assert_eq!(t.value.len(), 256);
    }

    #[test]
    fn padding_is_skipped_and_errors_stop() {
        let data = [0x00, 0x80, 0x01, 0x05, 0x00, 0x00, 0xFF];
        let v: Vec<_> = TlvIter::new(&data).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].unwrap().value, [5]);
        let bad = [0x80, 0x05, 0x01];
        let v: Vec<_> = TlvIter::new(&bad).collect();
        assert_eq!(v, vec![Err(TlvError::Truncated)]);
        assert_eq!(parse_one(&[0x30, 0x80]).unwrap_err(), TlvError::BadLength);
        assert_eq!(
            parse_one(&[0x5F, 0x81, 0x82, 0x01, 0x00]).unwrap_err(),
            TlvError::TagTooLong
        );
        assert_eq!(
            parse_one(&[0x30, 0x85, 1, 1, 1, 1, 1]).unwrap_err(),
            TlvError::BadLength
        );
    }

    #[test]
    fn encodes() {
        assert_eq!(encode(0x87, &[1, 2]), [0x87, 2, 1, 2]);
        assert_eq!(encode(0x7F21, &[0; 0x90])[..4], [0x7F, 0x21, 0x81, 0x90]);
        assert_eq!(encode(0x04, &[0; 0x100])[..4], [0x04, 0x82, 0x01, 0x00]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            for t in TlvIter::new(&data).flatten() {
                prop_assert!(t.raw.len() >= t.value.len() + 2);
                for c in t.children().flatten() {
                    let _ = c.children().count();
                }
            }
            let _ = find(&data, 0x6F);
        }

        #[test]
        fn roundtrip(tag in prop_oneof![Just(0x80u16), Just(0x5F37u16), Just(0x30u16)],
                     value in proptest::collection::vec(any::<u8>(), 0..400)) {
            let enc = encode(tag, &value);
            let (t, rest) = parse_one(&enc).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(t.tag, u32::from(tag));
            prop_assert_eq!(t.value, &value[..]);
        }
    }
}
