//! The card layer above a [`Transport`]: T=0 GET RESPONSE on `61xx` (never wrapped),
//! re-send on `6Cxx`, secure messaging when a session is active, and counters of APDUs
//! and bytes (for the benchmark).

use crate::apdu::{Apdu, Response, StatusWord};
use crate::error::{DnieError, Result, TransportError};
use crate::sm::session::SmSession;
use crate::transport::Transport;

/// Upper bound on chained GET RESPONSEs for one command (a 64 KiB answer).
const MAX_GET_RESPONSE: usize = 256;

/// Traffic counters: every APDU that went to the transport, bytes out and in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardStats {
    /// APDUs transmitted (including GET RESPONSE and re-sends).
    pub apdus: u64,
    /// Command bytes sent.
    pub bytes_sent: u64,
    /// Response bytes received (including SW1 SW2).
    pub bytes_received: u64,
}

/// A card reached through a transport.
pub struct Card<T: Transport> {
    transport: T,
    stats: CardStats,
    session: Option<SmSession>,
    /// The card may still hold a secure-messaging session the host no longer has (dropped
    /// after an error or to switch channels). A real DNIe answers the next plain command
    /// with an SM error (6987/6988) and closes its session (DNIE.md §3.3; the way OpenSC
    /// closes a channel), so that command is sent again once.
    card_session: bool,
}

impl<T: Transport> Card<T> {
    /// Wraps a transport.
    pub fn new(transport: T) -> Self {
        Card {
            transport,
            stats: CardStats::default(),
            session: None,
            card_session: false,
        }
    }

    /// Counters since creation (or the last [`Card::reset_stats`]).
    pub fn stats(&self) -> CardStats {
        self.stats
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        self.stats = CardStats::default();
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Whether a secure-messaging session is active.
    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    pub(crate) fn set_session(&mut self, session: SmSession) {
        self.session = Some(session);
        self.card_session = true;
    }

    /// Forgets the secure-messaging session (the card's copy dies with the next plain
    /// command, which is then repeated once if the card refused it with an SM error).
    pub fn drop_session(&mut self) {
        self.session = None;
    }

    /// Whether the card may still hold a session this side has forgotten.
    pub fn card_may_hold_session(&self) -> bool {
        self.card_session && self.session.is_none()
    }

    fn exchange(&mut self, raw: &[u8]) -> Result<Response> {
        self.stats.apdus += 1;
        self.stats.bytes_sent += raw.len() as u64;
        let out = self.transport.transmit(raw).map_err(|e| {
            // Whatever happened, a session on the card side cannot be trusted any more.
            self.session = None;
            DnieError::from(e)
        })?;
        self.stats.bytes_received += out.len() as u64;
        Response::from_bytes(&out).ok_or_else(|| {
            self.session = None;
            DnieError::from(TransportError::NoStatusWord)
        })
    }

    /// Ends the card's secure-messaging session on purpose with a plain command (OpenSC
    /// closes a DNIe channel with a plain SELECT MF): whatever the card answers, its
    /// session is over. Not repeated after an SM error, which is the expected answer.
    pub fn close_session(&mut self, closer: &Apdu) -> Result<Response> {
        self.session = None;
        self.card_session = false;
        self.exchange_collect(&closer.to_bytes()?)
    }

    /// Sends raw bytes and follows `61xx` with plain `00 C0 00 00 xx` until done.
    fn exchange_collect(&mut self, raw: &[u8]) -> Result<Response> {
        let mut resp = self.exchange(raw)?;
        let mut data = std::mem::take(&mut resp.data);
        let mut rounds = 0;
        while let StatusWord::MoreData(n) = resp.sw {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE {
                return Err(DnieError::MalformedData("endless GET RESPONSE chain"));
            }
            let le = if n == 0 { 256 } else { u16::from(n) };
            let get = Apdu::new(0x00, 0xC0, 0x00, 0x00).with_le(le).to_bytes()?;
            resp = self.exchange(&get)?;
            data.append(&mut resp.data);
        }
        Ok(Response { data, sw: resp.sw })
    }

    /// Sends an APDU in plain, whatever the session state (a plain APDU ends a card-side
    /// SM session, so the host session is dropped too). Handles 61xx and 6Cxx.
    pub fn transmit_plain(&mut self, apdu: &Apdu) -> Result<Response> {
        self.session = None;
        self.transmit_unwrapped(apdu)
    }

    fn transmit_unwrapped(&mut self, apdu: &Apdu) -> Result<Response> {
        let mut cmd = zeroize::Zeroizing::new(apdu.clone());
        let mut resp = self.exchange_collect(&cmd.to_bytes()?)?;
        if std::mem::take(&mut self.card_session) && resp.sw.is_secure_messaging_failure() {
            // The card refused the command because it still had a session, and closed it.
            tracing::debug!(sw = %resp.sw, "plain command ended a stale card session; resending");
            resp = self.exchange_collect(&cmd.to_bytes()?)?;
        }
        if let StatusWord::WrongLe(n) = resp.sw {
            cmd.le = Some(if n == 0 { 256 } else { u16::from(n) });
            resp = self.exchange_collect(&cmd.to_bytes()?)?;
        }
        Ok(resp)
    }

    /// Sends an APDU: wrapped if a secure-messaging session is active, else plain.
    ///
    /// Under SM: the wrapped reply's MAC is checked and the inner SW comes from `99`.
    /// A reply that is a bare error SW (errors may come back unwrapped, DNIE.md §3.3) is
    /// returned as is, and the host session is **dropped**: the sources disagree on
    /// whether the card counted that reply in its SSC (OpenSC `cwa_decode_response`
    /// leaves the SSC alone for a bare SW; jmulticard `Cwa14890OneV1Connection.transmit`
    /// steps it for every reply), so the next wrapped command could only be a guess; a
    /// new handshake is certain. SM failures (6688/6987/6988, bad MAC) end the session
    /// and return [`DnieError::SecureMessaging`]. An inner `6Cxx` re-wraps with Le = xx.
    pub fn transmit(&mut self, apdu: &Apdu) -> Result<Response> {
        let Some(mut session) = self.session.take() else {
            return self.transmit_unwrapped(apdu);
        };
        let mut inner = zeroize::Zeroizing::new(apdu.clone());
        for attempt in 0..2 {
            let wrapped = session.wrap(&inner)?;
            let resp = self.exchange_collect(&wrapped.to_bytes()?)?;
            if resp.sw.is_secure_messaging_failure() {
                // The card answered in plain and closed its session.
                self.card_session = false;
                return Err(DnieError::from_status("secure messaging", resp.sw));
            }
            if resp.data.is_empty() && !resp.sw.is_ok() {
                tracing::debug!(sw = %resp.sw, "unwrapped error reply; secure channel dropped");
                return Ok(resp);
            }
            let out = session.unwrap(&resp)?;
            if out.sw.is_secure_messaging_failure() {
                return Err(DnieError::from_status("secure messaging", out.sw));
            }
            if let (StatusWord::WrongLe(n), 0) = (out.sw, attempt) {
                inner.le = Some(if n == 0 { 256 } else { u16::from(n) });
                continue;
            }
            self.session = Some(session);
            return Ok(out);
        }
        Err(DnieError::SecureMessaging(
            "card kept asking for another Le",
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted transport: checks each command and answers from a list.
    #[derive(Default)]
    pub(crate) struct Script {
        pub steps: VecDeque<(Vec<u8>, Vec<u8>)>,
    }

    impl Script {
        pub fn new(steps: &[(&str, &str)]) -> Self {
            Script {
                steps: steps
                    .iter()
                    .map(|(c, r)| (hex::decode(c).unwrap(), hex::decode(r).unwrap()))
                    .collect(),
            }
        }
    }

    impl Transport for Script {
        fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
            let (cmd, resp) = self.steps.pop_front().expect("unexpected extra APDU");
            assert_eq!(hex::encode(apdu), hex::encode(cmd));
            Ok(resp)
        }
    }

    #[test]
    fn get_response_chain_and_counters() {
        let mut card = Card::new(Script::new(&[
            ("00a404000b4d61737465722e46696c65", "611b"),
            ("00c000001b", "01026190"),
            ("00c0000090", "aa9000"),
        ]));
        let r = card
            .transmit(&Apdu::new(0, 0xA4, 4, 0).with_data(b"Master.File".to_vec()))
            .unwrap();
        assert_eq!(r.data, [1, 2, 0xAA]);
        assert!(r.sw.is_ok());
        assert_eq!(
            card.stats(),
            CardStats {
                apdus: 3,
                bytes_sent: 16 + 5 + 5,
                bytes_received: 2 + 4 + 3
            }
        );
    }

    #[test]
    fn wrong_le_resends_once() {
        let mut card = Card::new(Script::new(&[
            ("00b0000000", "6c10"),
            ("00b0000010", "00112233445566778899aabbccddeeff9000"),
        ]));
        let r = card
            .transmit(&Apdu::new(0, 0xB0, 0, 0).with_le(256))
            .unwrap();
        assert_eq!(r.data.len(), 16);
        let mut card = Card::new(Script::new(&[
            ("00b0000000", "6c10"),
            ("00b0000010", "6c08"),
        ]));
        let r = card
            .transmit(&Apdu::new(0, 0xB0, 0, 0).with_le(256))
            .unwrap();
        assert_eq!(r.sw, StatusWord::WrongLe(8));
    }

    #[test]
    fn empty_response_is_card_removed() {
        let mut card = Card::new(Script::new(&[("0084000008", "")]));
        let e = card
            .transmit(&Apdu::new(0, 0x84, 0, 0).with_le(8))
            .unwrap_err();
        assert_eq!(e, DnieError::CardRemoved);
    }

    #[test]
    fn secure_messaging_failure_drops_session() {
        let mut card = Card::new(Script::new(&[("", "6988")]));
        card.set_session(SmSession::new(
            [1; 16],
            [2; 16],
            [0; 8],
            crate::sm::session::MacLength::Eight,
        ));
        // Script checks bytes: compute expected wrapped bytes with an identical session.
        let mut twin = SmSession::new(
            [1; 16],
            [2; 16],
            [0; 8],
            crate::sm::session::MacLength::Eight,
        );
        let apdu = Apdu::new(0, 0xB0, 0, 0).with_le(16);
        let wrapped = twin.wrap(&apdu).unwrap().to_bytes().unwrap();
        card.transport.steps[0].0 = wrapped;
        let e = card.transmit(&apdu).unwrap_err();
        assert_eq!(e.code(), "SM-003");
        assert!(!card.has_session());
    }

    #[test]
    fn bare_error_reply_drops_the_session() {
        let mut twin = SmSession::new(
            [1; 16],
            [2; 16],
            [0; 8],
            crate::sm::session::MacLength::Eight,
        );
        let apdu = Apdu::new(0, 0xA4, 0, 0).with_data(vec![0x60, 0x04]);
        let wrapped = twin.wrap(&apdu).unwrap().to_bytes().unwrap();
        let mut card = Card::new(Script {
            steps: [(wrapped, vec![0x6A, 0x82])].into(),
        });
        card.set_session(SmSession::new(
            [1; 16],
            [2; 16],
            [0; 8],
            crate::sm::session::MacLength::Eight,
        ));
        let r = card.transmit(&apdu).unwrap();
        assert_eq!(r.sw, StatusWord::FileNotFound);
        // Whether the card counted the bare reply in its SSC is unknown: new handshake.
        assert!(!card.has_session());
        assert!(card.card_may_hold_session());
    }

    #[test]
    fn plain_command_after_a_dropped_session_is_resent_once() {
        let select = "00a4040c0b4d61737465722e46696c65";
        let mut card = Card::new(Script::new(&[
            (select, "6987"),
            (select, "9000"),
            (select, "6987"),
        ]));
        card.set_session(SmSession::new(
            [1; 16],
            [2; 16],
            [0; 8],
            crate::sm::session::MacLength::Eight,
        ));
        card.drop_session();
        let apdu = Apdu::new(0, 0xA4, 4, 0x0C).with_data(b"Master.File".to_vec());
        assert!(card.transmit(&apdu).unwrap().sw.is_ok());
        assert!(!card.card_may_hold_session());
        // With no stale session an SM error is the card's answer, not repeated.
        assert_eq!(
            card.transmit(&apdu).unwrap().sw,
            StatusWord::SmDataObjectsMissing
        );
        assert_eq!(card.stats().apdus, 3);
    }

    /// A response built the way a card does, MAC'd with `ssc` (already incremented).
    fn card_reply(kenc: &[u8; 16], kmac: &[u8; 16], ssc: u64, data: &[u8], sw: [u8; 2]) -> Vec<u8> {
        use crate::sm::crypto;
        let mut dos = Vec::new();
        if !data.is_empty() {
            let mut v = vec![1];
            v.extend(crypto::tdes_cbc_encrypt(kenc, &crypto::pad(data)));
            dos.extend(crate::tlv::encode(0x87, &v));
        }
        dos.extend(crate::tlv::encode(0x99, &sw));
        let mut input = ssc.to_be_bytes().to_vec();
        input.extend(crypto::pad(&dos));
        let mac = crypto::retail_mac(kmac, &input);
        dos.extend(crate::tlv::encode(0x8E, &mac[..8]));
        dos.extend([0x90, 0x00]);
        dos
    }

    #[test]
    fn inner_wrong_le_rewraps_and_t0_reply_is_fetched_plain() {
        use crate::sm::session::MacLength;
        let (kenc, kmac) = ([5u8; 16], [6u8; 16]);
        let mut twin = SmSession::new(kenc, kmac, [0; 8], MacLength::Eight);
        let first = Apdu::new(0, 0xB0, 0, 0).with_le(0x20);
        let w1 = twin.wrap(&first).unwrap().to_bytes().unwrap(); // SSC 1
        let r1 = card_reply(&kenc, &kmac, 2, &[], [0x6C, 0x10]); // SSC 2
        let mut twin = SmSession::new(kenc, kmac, 2u64.to_be_bytes(), MacLength::Eight);
        let w2 = twin
            .wrap(&Apdu::new(0, 0xB0, 0, 0).with_le(0x10))
            .unwrap()
            .to_bytes()
            .unwrap(); // SSC 3
        let r2 = card_reply(&kenc, &kmac, 4, &[0xAB; 16], [0x90, 0x00]); // SSC 4
        let (r2_data, r2_sw) = r2.split_at(r2.len() - 2);
        let len = r2_data.len() as u8;
        let mut t0 = r2_data.to_vec();
        t0.extend_from_slice(r2_sw);
        let mut card = Card::new(Script {
            steps: [
                (w1, r1),
                (w2, vec![0x61, len]),
                (vec![0x00, 0xC0, 0x00, 0x00, len], t0),
            ]
            .into(),
        });
        card.set_session(SmSession::new(kenc, kmac, [0; 8], MacLength::Eight));
        let r = card.transmit(&first).unwrap();
        assert!(r.sw.is_ok());
        assert_eq!(r.data, [0xAB; 16]);
        assert!(card.has_session());
        assert_eq!(card.stats().apdus, 3);
    }
}
