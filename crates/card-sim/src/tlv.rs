//! Minimal BER-TLV / DER helpers (tags up to 2 bytes, lengths up to 3 bytes).

/// Encodes a DER/BER length.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// `tag ‖ len ‖ value`; `tag` is given as its bytes (e.g. `&[0x5F, 0x1F]`).
pub fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + 4 + value.len());
    out.extend_from_slice(tag);
    encode_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

/// One-byte-tag shorthand of [`tlv`].
pub fn t(tag: u8, value: &[u8]) -> Vec<u8> {
    tlv(&[tag], value)
}

/// Concatenation of parts.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A parsed TLV: tag bytes, value, and the whole encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Tag as a number (1 or 2 bytes).
    pub tag: u16,
    /// Value bytes.
    pub value: &'a [u8],
    /// The complete encoding (tag, length, value).
    pub raw: &'a [u8],
}

/// Parses one TLV at the start of `buf`; returns it and the rest.
pub fn parse_one(buf: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let first = *buf.first()?;
    let (tag, mut pos) = if first & 0x1F == 0x1F {
        let second = *buf.get(1)?;
        if second & 0x80 != 0 {
            return None;
        }
        (u16::from_be_bytes([first, second]), 2)
    } else {
        (u16::from(first), 1)
    };
    let l0 = *buf.get(pos)?;
    pos += 1;
    let len = match l0 {
        0..=0x7F => usize::from(l0),
        0x81 => {
            let l = usize::from(*buf.get(pos)?);
            pos += 1;
            l
        }
        0x82 => {
            let l = usize::from(u16::from_be_bytes([*buf.get(pos)?, *buf.get(pos + 1)?]));
            pos += 2;
            l
        }
        _ => return None,
    };
    let end = pos.checked_add(len)?;
    if end > buf.len() {
        return None;
    }
    Some((
        Tlv {
            tag,
            value: &buf[pos..end],
            raw: &buf[..end],
        },
        &buf[end..],
    ))
}

/// Parses a concatenation of TLVs; `None` on any malformed element.
pub fn parse_all(mut buf: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (t, rest) = parse_one(buf)?;
        out.push(t);
        buf = rest;
    }
    Some(out)
}

/// First TLV with `tag` among `items`.
pub fn find<'a>(items: &[Tlv<'a>], tag: u16) -> Option<&'a [u8]> {
    items.iter().find(|t| t.tag == tag).map(|t| t.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let a = tlv(&[0x5F, 0x1F], &[1; 200]);
        let b = t(0x87, &[2; 3]);
        let both = cat(&[&a, &b]);
        let items = parse_all(&both).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].tag, 0x5F1F);
        assert_eq!(items[0].value.len(), 200);
        assert_eq!(find(&items, 0x87), Some(&[2u8, 2, 2][..]));
        assert!(parse_all(&[0x87, 0x05, 1]).is_none());
    }
}
