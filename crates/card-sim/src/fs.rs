//! The card's file system: DFs and transparent EFs, FCI as the DNIe returns it (DNIE.md §2).
//!
//! FCI: `6F L [84 <DF name>] 85 0A <type> <FID 2> <size 2> <ACL 5>` (key EFs: `85 0D`, three
//! more bytes). Types: `01` transparent EF, `15` key EF, `24` compressed-certificate EF,
//! `38` DF. The size of an EF is its **allocated** size (content is zero padded to it); the size
//! of a DF is the sum of what it holds. The meaning of the 5 ACL bytes on real cards is not
//! public; ours (an own encoding, documented here) is `<read> FF FF FF FF` with read `00`
//! always, `40` inside a CWA user channel, `50` inside a channel with the PIN verified, `FF`
//! never.

/// Who may read an EF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Plain or in any channel.
    Always,
    /// Only inside a CWA-14890 user channel (ICAO data groups of the 3.0).
    UserChannel,
    /// Only inside a channel with the PIN verified (certificates of the DNIe 2.0).
    ChannelAndPin,
    /// Never (private keys; DG3).
    Never,
}

impl Access {
    fn acl_byte(self) -> u8 {
        match self {
            Access::Always => 0x00,
            Access::UserChannel => 0x40,
            Access::ChannelAndPin => 0x50,
            Access::Never => 0xFF,
        }
    }
}

/// What a file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Dedicated file, optionally with a DF name.
    Df {
        /// DF name (for SELECT by name).
        name: Option<Vec<u8>>,
    },
    /// Transparent EF.
    Transparent,
    /// Private-key EF.
    Key,
    /// Compressed-certificate EF (8-byte little-endian header + zlib).
    CompressedCert,
}

/// One file.
#[derive(Clone, Debug)]
pub struct File {
    /// File identifier.
    pub fid: u16,
    /// Parent DF index (`None` for the MF).
    pub parent: Option<usize>,
    /// Kind.
    pub kind: FileKind,
    /// Content, zero padded to the allocated size (empty for DFs).
    pub content: Vec<u8>,
    /// Read condition.
    pub read: Access,
}

/// A tree of files kept in a vector; index 0 is the MF.
#[derive(Clone, Debug)]
pub struct FileSystem {
    files: Vec<File>,
}

/// Index of the MF.
pub const MF: usize = 0;

impl FileSystem {
    /// A file system with only the MF (`3F00`, DF name `name`).
    pub fn new(mf_name: &[u8]) -> Self {
        Self {
            files: vec![File {
                fid: 0x3F00,
                parent: None,
                kind: FileKind::Df {
                    name: Some(mf_name.to_vec()),
                },
                content: Vec::new(),
                read: Access::Always,
            }],
        }
    }

    /// Adds a DF under `parent`.
    pub fn add_df(&mut self, parent: usize, fid: u16, name: Option<&[u8]>) -> usize {
        self.files.push(File {
            fid,
            parent: Some(parent),
            kind: FileKind::Df {
                name: name.map(<[u8]>::to_vec),
            },
            content: Vec::new(),
            read: Access::Always,
        });
        self.files.len() - 1
    }

    /// Adds an EF under `parent` holding `content` zero padded to `alloc` bytes.
    pub fn add_ef(
        &mut self,
        parent: usize,
        fid: u16,
        kind: FileKind,
        content: &[u8],
        alloc: usize,
        read: Access,
    ) -> usize {
        let mut data = content.to_vec();
        if data.len() < alloc {
            data.resize(alloc, 0);
        }
        self.files.push(File {
            fid,
            parent: Some(parent),
            kind,
            content: data,
            read,
        });
        self.files.len() - 1
    }

    /// A file by index.
    pub fn file(&self, idx: usize) -> Option<&File> {
        self.files.get(idx)
    }

    /// Whether `idx` is a DF.
    pub fn is_df(&self, idx: usize) -> bool {
        matches!(
            self.files.get(idx).map(|f| &f.kind),
            Some(FileKind::Df { .. })
        )
    }

    fn children(&self, df: usize) -> impl Iterator<Item = usize> + '_ {
        self.files
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.parent == Some(df))
            .map(|(i, _)| i)
    }

    /// SELECT by FID from the current DF (ISO 7816-4 P1=00 search order: children of the
    /// current DF, the current DF itself, its parent, the parent's children). The MF is selected
    /// by DF name only: FID `3F00` is not found (as on the DNIe).
    pub fn select_fid(&self, current_df: usize, fid: u16) -> Option<usize> {
        if fid == 0x3F00 {
            return None;
        }
        if let Some(i) = self
            .children(current_df)
            .find(|&i| self.files[i].fid == fid)
        {
            return Some(i);
        }
        if self.files.get(current_df)?.fid == fid {
            return Some(current_df);
        }
        let parent = self.files.get(current_df)?.parent?;
        if self.files[parent].fid == fid && parent != MF {
            return Some(parent);
        }
        self.children(parent).find(|&i| self.files[i].fid == fid)
    }

    /// SELECT by DF name.
    pub fn select_name(&self, name: &[u8]) -> Option<usize> {
        self.files.iter().position(|f| match &f.kind {
            FileKind::Df { name: Some(n) } => n == name,
            _ => false,
        })
    }

    /// Total allocated size below a DF.
    fn df_size(&self, df: usize) -> usize {
        self.children(df)
            .map(|i| {
                if self.is_df(i) {
                    self.df_size(i)
                } else {
                    self.files[i].content.len()
                }
            })
            .sum()
    }

    /// The FCI template of a file.
    pub fn fci(&self, idx: usize) -> Vec<u8> {
        let Some(f) = self.files.get(idx) else {
            return Vec::new();
        };
        let (ty, size, name) = match &f.kind {
            FileKind::Df { name } => (0x38, self.df_size(idx), name.clone()),
            FileKind::Transparent => (0x01, f.content.len(), None),
            FileKind::Key => (0x15, f.content.len(), None),
            FileKind::CompressedCert => (0x24, f.content.len(), None),
        };
        let size = u16::try_from(size).unwrap_or(u16::MAX);
        let mut prop = vec![ty];
        prop.extend_from_slice(&f.fid.to_be_bytes());
        prop.extend_from_slice(&size.to_be_bytes());
        prop.extend_from_slice(&[f.read.acl_byte(), 0xFF, 0xFF, 0xFF, 0xFF]);
        if f.kind == FileKind::Key {
            prop.extend_from_slice(&[0x00, 0x00, 0x00]);
        }
        let mut body = Vec::new();
        if let Some(n) = name {
            body.extend(crate::tlv::t(0x84, &n));
        }
        body.extend(crate::tlv::t(0x85, &prop));
        crate::tlv::t(0x6F, &body)
    }
}
