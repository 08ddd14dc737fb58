//! File control information returned by SELECT (DNIE.md §2).
//!
//! DNIe form (OpenSC `dnie_process_fci`, jmulticard `SelectFileApduResponse`):
//! `6F L [84 <DF name>] 85 0A <type> <FID 2> <size 2> <ACL 5>` (13-byte `85` on key EFs),
//! type `01` transparent EF, `15` key EF, `24` compressed-certificate EF, `38` DF.
//! The ISO 7816-4 FCP form (`62` with `80`/`81` size, `82` descriptor, `83` FID) is also
//! understood so that a card answering in the standard form is read as well.

use crate::error::{DnieError, Result};
use crate::tlv::{self, Tlv};

/// Kind of file, from the proprietary `85` type byte or the ISO `82` descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `01`: transparent EF.
    Transparent,
    /// `15`: key EF.
    Key,
    /// `24`: EF holding a zlib-compressed certificate.
    CompressedCertificate,
    /// `38`: dedicated file (directory).
    Df,
    /// Any other type byte.
    Other(u8),
}

/// What a SELECT told us about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fci {
    /// File kind, if the FCI says.
    pub kind: Option<FileKind>,
    /// File identifier, if the FCI says.
    pub fid: Option<u16>,
    /// File size in bytes (EFs), if the FCI says.
    pub size: Option<u16>,
    /// DF name (`84`), if any.
    pub df_name: Option<Vec<u8>>,
}

fn u16_at(v: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*v.get(at)?, *v.get(at + 1)?]))
}

impl Fci {
    /// Parses an FCI/FCP template. Never panics on any input.
    pub fn parse(data: &[u8]) -> Result<Fci> {
        let (outer, _) =
            tlv::parse_one(data).map_err(|_| DnieError::MalformedData("FCI is not BER-TLV"))?;
        if outer.tag != 0x6F && outer.tag != 0x62 {
            return Err(DnieError::MalformedData("FCI template tag is not 6F/62"));
        }
        let mut fci = Fci {
            kind: None,
            fid: None,
            size: None,
            df_name: None,
        };
        for item in outer.children() {
            let Tlv { tag, value, .. } =
                item.map_err(|_| DnieError::MalformedData("FCI content is not BER-TLV"))?;
            match tag {
                0x84 => fci.df_name = Some(value.to_vec()),
                0x85 if value.len() >= 5 => {
                    fci.kind = Some(match value[0] {
                        0x01 => FileKind::Transparent,
                        0x15 => FileKind::Key,
                        0x24 => FileKind::CompressedCertificate,
                        0x38 => FileKind::Df,
                        other => FileKind::Other(other),
                    });
                    fci.fid = u16_at(value, 1);
                    fci.size = u16_at(value, 3);
                }
                0x80 | 0x81 if fci.size.is_none() => {
                    fci.size = match value {
                        [a] => Some(u16::from(*a)),
                        [.., a, b] => Some(u16::from_be_bytes([*a, *b])),
                        [] => None,
                    }
                }
                0x82 if fci.kind.is_none() => {
                    fci.kind = value.first().map(|d| {
                        if d & 0x38 == 0x38 {
                            FileKind::Df
                        } else {
                            FileKind::Transparent
                        }
                    })
                }
                0x83 if fci.fid.is_none() => fci.fid = u16_at(value, 0),
                _ => {}
            }
        }
        Ok(fci)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn master_file_fci() {
        // 27 bytes, the size the real card announces with 61 1B (DNIE.md §2).
        let mut d = vec![0x6F, 0x19, 0x84, 0x0B];
        d.extend_from_slice(b"Master.File");
        d.extend_from_slice(&[
            0x85, 0x0A, 0x38, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]);
        assert_eq!(d.len(), 0x1B);
        let f = Fci::parse(&d).unwrap();
        assert_eq!(f.kind, Some(FileKind::Df));
        assert_eq!(f.fid, Some(0x3F00));
        assert_eq!(f.df_name.as_deref(), Some(&b"Master.File"[..]));
    }

    #[test]
    fn ef_fci() {
        let d = [
            0x6F, 0x0C, 0x85, 0x0A, 0x24, 0x70, 0x01, 0x05, 0x48, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let f = Fci::parse(&d).unwrap();
        assert_eq!(f.kind, Some(FileKind::CompressedCertificate));
        assert_eq!(f.fid, Some(0x7001));
        assert_eq!(f.size, Some(0x0548));
        // key EF with 13-byte 85
        let d = [
            0x6F, 0x0F, 0x85, 0x0D, 0x15, 0x01, 0x01, 0x00, 0x10, 0, 0, 0, 0, 0, 1, 2, 3,
        ];
        assert_eq!(Fci::parse(&d).unwrap().kind, Some(FileKind::Key));
    }

    #[test]
    fn iso_fcp() {
        let d = [
            0x62, 0x0B, 0x80, 0x02, 0x01, 0x00, 0x82, 0x01, 0x01, 0x83, 0x02, 0x00, 0x06,
        ];
        let f = Fci::parse(&d).unwrap();
        assert_eq!(f.size, Some(256));
        assert_eq!(f.fid, Some(0x0006));
        assert_eq!(f.kind, Some(FileKind::Transparent));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Fci::parse(&[]).is_err());
        assert!(Fci::parse(&[0x30, 0x00]).is_err());
        assert!(Fci::parse(&[0x6F, 0x05, 0x85]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Fci::parse(&data);
            let mut framed = vec![0x6F, data.len().min(127) as u8];
            framed.extend_from_slice(&data[..data.len().min(127)]);
            let _ = Fci::parse(&framed);
        }
    }
}
