//! A live CWA-14890 secure-messaging session: session keys, send sequence counter,
//! command wrapping and response unwrapping (DNIE.md §3.2 step 10 and §3.3).

use std::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::crypto::{self, Key16};
use crate::apdu::{Apdu, Response, StatusWord};
use crate::error::{DnieError, Result};
use crate::tlv;

/// Length of the `8E` MAC data object: 4 bytes on DNIe 2.0, 8 on 3.0/4.0 (DNIE.md §3.3;
/// OpenSC cwa14890.c l.1673, jmulticard `ApduEncrypterDesMac8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacLength {
    /// 4-byte MAC (DNIe 1.0/2.0).
    Four,
    /// 8-byte MAC (DNIe 3.0/4.0).
    Eight,
}

impl MacLength {
    /// Number of bytes.
    pub fn bytes(self) -> usize {
        match self {
            MacLength::Four => 4,
            MacLength::Eight => 8,
        }
    }
}

/// Session state after a successful handshake. Keys are zeroized on drop; `Debug` shows
/// nothing secret.
pub struct SmSession {
    kenc: Key16,
    kmac: Key16,
    ssc: [u8; 8],
    mac_len: MacLength,
}

impl fmt::Debug for SmSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmSession")
            .field("mac_len", &self.mac_len)
            .finish_non_exhaustive()
    }
}

fn kdf(seed: &[u8; 32], counter: u8) -> Key16 {
    let mut h = Sha1::new();
    h.update(seed);
    h.update([0, 0, 0, counter]);
    let d = h.finalize();
    let mut k = Zeroizing::new([0u8; 16]);
    k.copy_from_slice(&d[..16]);
    k
}

impl SmSession {
    /// Session from explicit keys and SSC (the SSC is the value *before* the next
    /// increment).
    pub fn new(kenc: [u8; 16], kmac: [u8; 16], ssc: [u8; 8], mac_len: MacLength) -> Self {
        SmSession {
            kenc: Zeroizing::new(kenc),
            kmac: Zeroizing::new(kmac),
            ssc,
            mac_len,
        }
    }

    /// Derives the session from the handshake values (CWA-14890; OpenSC
    /// `cwa_compute_session_keys`): `seed = K.IFD ⊕ K.ICC`, `Kenc = SHA1(seed‖00000001)[..16]`,
    /// `Kmac = SHA1(seed‖00000002)[..16]`, `SSC = RND.ICC[4..8] ‖ RND.IFD[4..8]`.
    pub fn derive(
        k_ifd: &[u8; 32],
        k_icc: &[u8; 32],
        rnd_icc: &[u8; 8],
        rnd_ifd: &[u8; 8],
        mac_len: MacLength,
    ) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        for (i, s) in seed.iter_mut().enumerate() {
            *s = k_ifd[i] ^ k_icc[i];
        }
        let mut ssc = [0u8; 8];
        ssc[..4].copy_from_slice(&rnd_icc[4..]);
        ssc[4..].copy_from_slice(&rnd_ifd[4..]);
        SmSession {
            kenc: kdf(&seed, 1),
            kmac: kdf(&seed, 2),
            ssc,
            mac_len,
        }
    }

    /// MAC length in use.
    pub fn mac_len(&self) -> MacLength {
        self.mac_len
    }

    /// Current send sequence counter.
    pub fn ssc(&self) -> [u8; 8] {
        self.ssc
    }

    fn increment_ssc(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }

    fn mac(&self, body: &[u8]) -> [u8; 8] {
        let mut input = Vec::with_capacity(body.len() + 16);
        input.extend_from_slice(&self.ssc);
        input.extend_from_slice(&crypto::pad(body));
        crypto::retail_mac(&self.kmac, &input)
    }

    /// Wraps a plain command: CLA |= 0x0C; data → `87 L 01 ‖ 3DES-CBC(pad(data))`, or
    /// without data and with Le → `97 01 Le` (never both); SSC+1; `8E` MAC over
    /// `SSC ‖ pad(pad(header) ‖ DOs)`. The wrapped APDU is sent as case 3.
    pub fn wrap(&mut self, apdu: &Apdu) -> Result<Apdu> {
        if apdu.ins == 0xC0 {
            return Err(DnieError::SecureMessaging("GET RESPONSE is never wrapped"));
        }
        let cla = apdu.cla | 0x0C;
        let mut dos = Vec::new();
        if !apdu.data.is_empty() {
            let padded = Zeroizing::new(crypto::pad(&apdu.data));
            let mut v = vec![0x01];
            v.extend_from_slice(&crypto::tdes_cbc_encrypt(&self.kenc, &padded));
            dos.extend_from_slice(&tlv::encode(0x87, &v));
        } else if let Some(le) = apdu.le {
            dos.extend_from_slice(&[0x97, 0x01, if le >= 256 { 0 } else { le as u8 }]);
        }
        self.increment_ssc();
        let mut body = crypto::pad(&[cla, apdu.ins, apdu.p1, apdu.p2]);
        body.extend_from_slice(&dos);
        let mac = self.mac(&body);
        dos.extend_from_slice(&tlv::encode(0x8E, &mac[..self.mac_len.bytes()]));
        Ok(Apdu {
            cla,
            ins: apdu.ins,
            p1: apdu.p1,
            p2: apdu.p2,
            data: dos,
            le: None,
        })
    }

    /// Unwraps a wrapped response `[87|81] 99 8E`: SSC+1, checks the MAC over the DOs
    /// before `8E`, decrypts `87`, takes the inner SW from `99`.
    pub fn unwrap(&mut self, resp: &Response) -> Result<Response> {
        self.increment_ssc();
        let data = &resp.data;
        let mut rest: &[u8] = data;
        let mut enc: Option<&[u8]> = None;
        let mut plain: Option<&[u8]> = None;
        let mut sw: Option<StatusWord> = None;
        let mut mac: Option<(&[u8], usize)> = None;
        while !rest.is_empty() {
            let offset = data.len() - rest.len();
            let (obj, next) = tlv::parse_one(rest)
                .map_err(|_| DnieError::SecureMessaging("malformed wrapped response"))?;
            match obj.tag {
                0x87 => enc = Some(obj.value),
                0x81 => plain = Some(obj.value),
                0x99 => match obj.value {
                    [a, b] => sw = Some(StatusWord::new(*a, *b)),
                    _ => {
                        return Err(DnieError::SecureMessaging(
                            "bad status DO in wrapped response",
                        ));
                    }
                },
                0x8E => {
                    mac = Some((obj.value, offset));
                    if !next.is_empty() {
                        return Err(DnieError::SecureMessaging(
                            "data after the MAC in wrapped response",
                        ));
                    }
                }
                _ => {
                    return Err(DnieError::SecureMessaging(
                        "unexpected DO in wrapped response",
                    ));
                }
            }
            rest = next;
        }
        let (mac, mac_at) =
            mac.ok_or(DnieError::SecureMessaging("wrapped response without MAC"))?;
        let expected = self.mac(&data[..mac_at]);
        if !crypto::ct_eq(mac, &expected[..self.mac_len.bytes()]) {
            return Err(DnieError::SecureMessaging("response MAC does not verify"));
        }
        let out = match (enc, plain) {
            (Some(_), Some(_)) => {
                return Err(DnieError::SecureMessaging(
                    "both encrypted and plain data in response",
                ));
            }
            (Some(e), None) => {
                let (&indicator, cryptogram) = e
                    .split_first()
                    .ok_or(DnieError::SecureMessaging("empty cryptogram"))?;
                if indicator != 0x01 {
                    return Err(DnieError::SecureMessaging("unknown padding indicator"));
                }
                let dec = Zeroizing::new(
                    crypto::tdes_cbc_decrypt(&self.kenc, cryptogram)
                        .ok_or(DnieError::SecureMessaging("cryptogram not a multiple of 8"))?,
                );
                crypto::unpad(&dec)
                    .ok_or(DnieError::SecureMessaging("bad padding in cryptogram"))?
                    .to_vec()
            }
            (None, Some(p)) => p.to_vec(),
            (None, None) => Vec::new(),
        };
        Ok(Response {
            data: out,
            sw: sw.unwrap_or(resp.sw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn minus_one(ssc: [u8; 8]) -> [u8; 8] {
        (u64::from_be_bytes(ssc) - 1).to_be_bytes()
    }

    /// jmulticard `TestApduEncrypter.java` (DNIE.md §3.3): the SSC given there is the value
    /// already incremented, so the session starts one below it.
    #[test]
    fn jmulticard_vectors_select_master_file() {
        let mut s = SmSession::new(
            h("598f26e36e11a8ec14b81e19bda223ca"),
            h("5de2939a1ea03a930b88206d8f73e8a7"),
            minus_one(h("d31ac8ec7ba0fe75")),
            MacLength::Four,
        );
        let apdu = Apdu::new(0x00, 0xA4, 0x04, 0x00).with_data(b"Master.File".to_vec());
        let wrapped = s.wrap(&apdu).unwrap().to_bytes().unwrap();
        assert_eq!(
            hex::encode(wrapped),
            "0ca40400198711013e9ac315a8e855dd3722f291078ac2bd8e04b6f56963"
        );
        assert_eq!(s.ssc(), h::<8>("d31ac8ec7ba0fe75"));
    }

    #[test]
    fn jmulticard_vectors_verify_cryptoki() {
        let mut s = SmSession::new(
            h("598f26e36e11a8ec14b81e19bda223ca"),
            h("5de2939a1ea03a930b88206d8f73e8a7"),
            minus_one(h("d31ac8ec7ba0fe6f")),
            MacLength::Four,
        );
        let apdu = Apdu::new(0x00, 0x20, 0x00, 0x00).with_data(b"CRYPTOKI".to_vec());
        let wrapped = s.wrap(&apdu).unwrap().to_bytes().unwrap();
        assert_eq!(
            hex::encode(wrapped),
            "0c20000019871101ce1ab937c332f3faee43336d4311ef338e046908df4e"
        );
    }

    #[test]
    fn ssc_increments_with_carry() {
        let mut s = SmSession::new(
            [0; 16],
            [0; 16],
            [0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
            MacLength::Eight,
        );
        s.increment_ssc();
        assert_eq!(s.ssc(), [0, 0, 0, 0, 0, 1, 0, 0]);
        let mut s = SmSession::new([0; 16], [0; 16], [0xFF; 8], MacLength::Eight);
        s.increment_ssc();
        assert_eq!(s.ssc(), [0; 8]);
    }

    #[test]
    fn le_only_command_gets_97_and_no_87() {
        let mut s = SmSession::new([1; 16], [2; 16], [0; 8], MacLength::Eight);
        let w = s.wrap(&Apdu::new(0, 0xB0, 0, 0).with_le(256)).unwrap();
        assert_eq!(w.cla, 0x0C);
        assert_eq!(&w.data[..3], &[0x97, 0x01, 0x00]);
        assert_eq!(w.data[3], 0x8E);
        assert_eq!(w.data[4], 8);
        assert_eq!(w.data.len(), 13);
        assert_eq!(w.le, None);
        let w = s
            .wrap(
                &Apdu::new(0, 0x22, 0x41, 0xB6)
                    .with_data(vec![0x84, 2, 1, 1])
                    .with_le(10),
            )
            .unwrap();
        assert_eq!(w.data[0], 0x87);
        assert!(!w.data.windows(2).any(|x| x == [0x97, 0x01]));
    }

    /// Builds a response the way a card would, with an independent (test-side) MAC.
    fn card_response(
        kenc: &[u8; 16],
        kmac: &[u8; 16],
        ssc: [u8; 8],
        data: &[u8],
        sw: [u8; 2],
        mac_len: usize,
    ) -> Response {
        let mut dos = Vec::new();
        if !data.is_empty() {
            let mut v = vec![1];
            v.extend(crypto::tdes_cbc_encrypt(kenc, &crypto::pad(data)));
            dos.extend(tlv::encode(0x87, &v));
        }
        dos.extend(tlv::encode(0x99, &sw));
        let mut input = ssc.to_vec();
        input.extend(crypto::pad(&dos));
        let mac = crypto::retail_mac(kmac, &input);
        dos.extend(tlv::encode(0x8E, &mac[..mac_len]));
        Response {
            data: dos,
            sw: StatusWord::Ok,
        }
    }

    #[test]
    fn unwraps_and_checks_mac() {
        let kenc = [3u8; 16];
        let kmac: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut s = SmSession::new(kenc, kmac, [0; 8], MacLength::Eight);
        let r = card_response(
            &kenc,
            &kmac,
            [0, 0, 0, 0, 0, 0, 0, 1],
            b"hello card data",
            [0x90, 0],
            8,
        );
        let out = s.unwrap(&r).unwrap();
        assert_eq!(out.data, b"hello card data");
        assert!(out.sw.is_ok());
        // same response again: SSC moved on, MAC must fail
        assert!(matches!(s.unwrap(&r), Err(DnieError::SecureMessaging(_))));
        // inner status only
        let r = card_response(&kenc, &kmac, [0, 0, 0, 0, 0, 0, 0, 3], b"", [0x63, 0xC1], 8);
        let out = s.unwrap(&r).unwrap();
        assert_eq!(out.sw, StatusWord::WrongPin { tries_left: 1 });
        // corrupted MAC
        let mut r = card_response(&kenc, &kmac, [0, 0, 0, 0, 0, 0, 0, 4], b"x", [0x90, 0], 8);
        let n = r.data.len();
        r.data[n - 1] ^= 1;
        assert!(s.unwrap(&r).is_err());
        // 4-byte MAC on an 8-byte session is refused
        let r = card_response(&kenc, &kmac, [0, 0, 0, 0, 0, 0, 0, 5], b"x", [0x90, 0], 4);
        assert!(s.unwrap(&r).is_err());
    }

    #[test]
    fn derive_matches_definition() {
        let kifd = [0x11u8; 32];
        let kicc = [0x22u8; 32];
        let s = SmSession::derive(
            &kifd,
            &kicc,
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[9, 10, 11, 12, 13, 14, 15, 16],
            MacLength::Eight,
        );
        assert_eq!(s.ssc(), [5, 6, 7, 8, 13, 14, 15, 16]);
        let mut hsh = Sha1::new();
        hsh.update([0x33u8; 32]);
        hsh.update([0, 0, 0, 1]);
        assert_eq!(&s.kenc[..], &hsh.finalize()[..16]);
    }

    proptest::proptest! {
        #[test]
        fn unwrap_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut s = SmSession::new([1; 16], [2; 16], [0; 8], MacLength::Eight);
            let _ = s.unwrap(&Response { data, sw: StatusWord::Ok });
        }
    }
}
