//! The CWA-14890 device authentication that opens a secure channel (DNIE.md §3.2).
//!
//! All handshake APDUs go in plain. The chip's public key (from EF 3F00/601F, verified
//! up to the component root by the caller) and SN.ICC are inputs.

use rand::RngCore;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::cvc::{byte_len, left_pad, rsa_raw};
use super::keys::{IfdIdentity, TerminalKeySet};
use super::session::{MacLength, SmSession};
use crate::apdu::Apdu;
use crate::card::Card;
use crate::error::{DnieError, Result};
use crate::transport::Transport;

/// Key reference of the root public key in the card (`02 0F`).
const ROOT_KEY_REF: [u8; 2] = [0x02, 0x0F];
/// Key reference of the chip's component private key (`02 1F`).
const ICC_PRIVATE_KEY_REF: [u8; 2] = [0x02, 0x1F];

/// What the handshake needs.
pub struct HandshakeParams<'a> {
    /// Terminal key set (CA certificate and its CHR).
    pub key_set: &'a TerminalKeySet,
    /// Which terminal identity (user channel or PIN channel).
    pub ifd: &'a IfdIdentity,
    /// The chip's component public key (PK.ICC).
    pub icc_public_key: &'a RsaPublicKey,
    /// SN.ICC = `00 ‖ chip serial` (8 bytes).
    pub sn_icc: [u8; 8],
    /// MAC length of the card generation.
    pub mac_len: MacLength,
}

fn step<T: Transport>(card: &mut Card<T>, apdu: Apdu, what: &'static str) -> Result<Vec<u8>> {
    let resp = card.transmit_plain(&apdu)?;
    if !resp.sw.is_ok() {
        tracing::debug!(step = what, sw = %resp.sw, "CWA-14890 handshake step refused");
        return Err(DnieError::Handshake(what));
    }
    Ok(resp.data)
}

/// `MSE SET` for verification with a public key named by `83 <ref>` (CLA 00, INS 22,
/// P1 81, P2 B6).
pub fn mse_set_verification_key(key_ref: &[u8]) -> Apdu {
    let mut data = vec![0x83, key_ref.len() as u8];
    data.extend_from_slice(key_ref);
    Apdu::new(0x00, 0x22, 0x81, 0xB6).with_data(data)
}

/// `PSO VERIFY CERTIFICATE` (CLA 00, INS 2A, P1 00, P2 AE) with a CVC.
pub fn pso_verify_certificate(cvc: &[u8]) -> Apdu {
    Apdu::new(0x00, 0x2A, 0x00, 0xAE).with_data(cvc.to_vec())
}

/// `MSE SET AT` for internal/external authentication: `83 0C <IFD CHR> 84 02 02 1F`.
pub fn mse_set_authentication(ifd_chr: &[u8; 12]) -> Apdu {
    let mut data = vec![0x83, 0x0C];
    data.extend_from_slice(ifd_chr);
    data.extend_from_slice(&[0x84, 0x02]);
    data.extend_from_slice(&ICC_PRIVATE_KEY_REF);
    Apdu::new(0x00, 0x22, 0xC1, 0xA4).with_data(data)
}

/// Runs the handshake and returns the session (not yet installed on the card layer).
pub fn run<T: Transport>(
    card: &mut Card<T>,
    p: &HandshakeParams<'_>,
    rng: &mut dyn RngCore,
) -> Result<SmSession> {
    let icc_len = byte_len(&p.icc_public_key.n().to_bytes_be());
    let ifd_len = byte_len(&p.ifd.modulus);
    if ifd_len < 64 || icc_len < 64 {
        return Err(DnieError::BadConfig("RSA keys too short for CWA-14890"));
    }

    // Steps 2–5: terminal CV chain.
    step(
        card,
        mse_set_verification_key(&ROOT_KEY_REF),
        "MSE SET root key",
    )?;
    step(
        card,
        pso_verify_certificate(&p.key_set.ca_cvc),
        "PSO VERIFY CERTIFICATE (terminal CA)",
    )?;
    step(
        card,
        mse_set_verification_key(&p.key_set.ca_chr),
        "MSE SET terminal CA key",
    )?;
    step(
        card,
        pso_verify_certificate(&p.ifd.cvc),
        "PSO VERIFY CERTIFICATE (terminal)",
    )?;
    // Step 6.
    step(card, mse_set_authentication(&p.ifd.chr()), "MSE SET AT")?;

    // Step 7: INTERNAL AUTHENTICATE.
    let mut rnd_ifd = [0u8; 8];
    rng.fill_bytes(&mut rnd_ifd);
    let mut challenge = rnd_ifd.to_vec();
    challenge.extend_from_slice(&p.ifd.sn_ifd);
    let answer = step(
        card,
        Apdu::new(0x00, 0x88, 0x00, 0x00)
            .with_data(challenge)
            .with_le(ifd_len as u16),
        "INTERNAL AUTHENTICATE",
    )?;
    let k_icc = open_internal_authenticate(&answer, p, &rnd_ifd)?;

    // Step 8: GET CHALLENGE.
    let rnd_icc: [u8; 8] = step(
        card,
        Apdu::new(0x00, 0x84, 0x00, 0x00).with_le(8),
        "GET CHALLENGE",
    )?
    .try_into()
    .map_err(|_| DnieError::Handshake("GET CHALLENGE length"))?;

    // Step 9: EXTERNAL AUTHENTICATE.
    let mut k_ifd = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut k_ifd[..]);
    let cryptogram = external_authenticate_cryptogram(p, &k_ifd, &rnd_icc, rng)?;
    step(
        card,
        Apdu::new(0x00, 0x82, 0x00, 0x00).with_data(cryptogram),
        "EXTERNAL AUTHENTICATE",
    )?;

    // Step 10.
    Ok(SmSession::derive(
        &k_ifd, &k_icc, &rnd_icc, &rnd_ifd, p.mac_len,
    ))
}

/// `min(x, n − x)`.
fn sigmin(x: &BigUint, n: &BigUint) -> BigUint {
    let other = n - x;
    if &other < x { other } else { x.clone() }
}

/// Opens the chip's INTERNAL AUTHENTICATE answer: raw RSA with SK.IFD gives SIGMIN, raw
/// RSA with PK.ICC gives `6A ‖ PRND1 ‖ K.ICC ‖ SHA1(PRND1‖K.ICC‖RND.IFD‖SN.IFD) ‖ BC`,
/// or its complement `N.ICC − value` when the card sent `N.ICC − SIG` (OpenSC
/// `cwa_verify_internal_auth`; jmulticard `Cwa14890OneV1Connection`).
fn open_internal_authenticate(
    answer: &[u8],
    p: &HandshakeParams<'_>,
    rnd_ifd: &[u8; 8],
) -> Result<Zeroizing<[u8; 32]>> {
    let bad = DnieError::Handshake("INTERNAL AUTHENTICATE answer does not verify");
    let sig_min =
        rsa_raw(answer, &p.ifd.private_exponent, &p.ifd.modulus).map_err(|_| bad.clone())?;
    let n_icc = p.icc_public_key.n();
    let icc_len = byte_len(&n_icc.to_bytes_be());
    let v = BigUint::from_bytes_be(&sig_min);
    if &v >= n_icc {
        return Err(bad);
    }
    let direct = v.modpow(p.icc_public_key.e(), n_icc);
    let mut m = Zeroizing::new(left_pad(&direct.to_bytes_be(), icc_len));
    if !(m[0] == 0x6A && m[icc_len - 1] == 0xBC) {
        let other = n_icc - &direct;
        m = Zeroizing::new(left_pad(&other.to_bytes_be(), icc_len));
        if !(m[0] == 0x6A && m[icc_len - 1] == 0xBC) {
            return Err(bad);
        }
    }
    let hash_at = icc_len - 21;
    let kicc_at = hash_at - 32;
    let mut h = Sha1::new();
    h.update(&m[1..hash_at]); // PRND1 ‖ K.ICC
    h.update(rnd_ifd);
    h.update(p.ifd.sn_ifd);
    if h.finalize()[..] != m[hash_at..icc_len - 1] {
        return Err(bad);
    }
    let mut k = Zeroizing::new([0u8; 32]);
    k.copy_from_slice(&m[kicc_at..hash_at]);
    Ok(k)
}

/// EXTERNAL AUTHENTICATE data: `RSA_PK.ICC(min(SIG, N.IFD − SIG))`, with
/// `SIG = RSA_SK.IFD(6A ‖ PRND2 ‖ K.IFD ‖ SHA1(PRND2‖K.IFD‖RND.ICC‖SN.ICC) ‖ BC)`. The
/// result is left-padded to the ICC modulus length (DNIE.md §11: SIGMIN can be shorter).
fn external_authenticate_cryptogram(
    p: &HandshakeParams<'_>,
    k_ifd: &[u8; 32],
    rnd_icc: &[u8; 8],
    rng: &mut dyn RngCore,
) -> Result<Vec<u8>> {
    let ifd_len = byte_len(&p.ifd.modulus);
    let mut prnd2 = Zeroizing::new(vec![0u8; ifd_len - 54]);
    rng.fill_bytes(&mut prnd2);
    let mut h = Sha1::new();
    h.update(&prnd2[..]);
    h.update(k_ifd);
    h.update(rnd_icc);
    h.update(p.sn_icc);
    let mut m = Zeroizing::new(Vec::with_capacity(ifd_len));
    m.push(0x6A);
    m.extend_from_slice(&prnd2);
    m.extend_from_slice(k_ifd);
    m.extend_from_slice(&h.finalize());
    m.push(0xBC);
    let sig = rsa_raw(&m, &p.ifd.private_exponent, &p.ifd.modulus)?;
    let n_ifd = BigUint::from_bytes_be(&p.ifd.modulus);
    let s = sigmin(&BigUint::from_bytes_be(&sig), &n_ifd);
    let n_icc = p.icc_public_key.n();
    if &s >= n_icc {
        return Err(DnieError::Handshake("SIGMIN larger than the chip modulus"));
    }
    let icc_len = byte_len(&n_icc.to_bytes_be());
    Ok(left_pad(
        &s.modpow(p.icc_public_key.e(), n_icc).to_bytes_be(),
        icc_len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdus_as_published() {
        // DNIE.md §3.2 steps 2, 4, 6.
        assert_eq!(
            hex::encode(mse_set_verification_key(&ROOT_KEY_REF).to_bytes().unwrap()),
            "002281b604830202 0f".replace(' ', "")
        );
        let k = TerminalKeySet::production_legacy();
        assert_eq!(
            hex::encode(mse_set_verification_key(&k.ca_chr).to_bytes().unwrap()),
            "002281b60a83086573534449600006"
        );
        assert_eq!(
            hex::encode(mse_set_authentication(&k.user.chr()).to_bytes().unwrap()),
            "0022c1a412830c000000002000000000000001840202 1f".replace(' ', "")
        );
        let pso = pso_verify_certificate(&k.ca_cvc).to_bytes().unwrap();
        assert_eq!(hex::encode(&pso[..5]), "002a00aed2");
        let pso = pso_verify_certificate(&k.user.cvc).to_bytes().unwrap();
        assert_eq!(hex::encode(&pso[..5]), "002a00aed1");
    }

    #[test]
    fn sigmin_picks_smaller() {
        let n = BigUint::from(100u32);
        assert_eq!(sigmin(&BigUint::from(70u32), &n), BigUint::from(30u32));
        assert_eq!(sigmin(&BigUint::from(30u32), &n), BigUint::from(30u32));
    }
}
