//! The vpcd connector against a local TcpListener playing vpcd.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::card;
use crate::vpcd::{ConnectOptions, Faults, SimHandle, WireEvent};

fn frame(s: &mut TcpStream, payload: &[u8]) {
    let mut f = (payload.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    s.write_all(&f).unwrap();
}

fn recv(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn vpcd() -> (TcpListener, ConnectOptions) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (
        l,
        ConnectOptions {
            base_port: port - 1,
            ..ConnectOptions::default()
        },
    )
}

#[test]
fn framing_control_bytes_and_apdus() {
    let (listener, opts) = vpcd();
    let handle = SimHandle::insert_card(1, card("especimen"), &opts).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    frame(&mut s, &[0x04]);
    assert_eq!(recv(&mut s).unwrap(), crate::card::ATR_DNIE_3.to_vec());
    frame(&mut s, &[0x01]);
    frame(&mut s, &[0x00]);
    frame(&mut s, &[0x01]);
    frame(&mut s, &[0x04]);
    assert_eq!(recv(&mut s).unwrap()[15], 0x04);
    frame(&mut s, &[0x90, 0xB8, 0x00, 0x00, 0x07]);
    let r = recv(&mut s).unwrap();
    assert_eq!(&r[7..], &[0x90, 0x00]);
    frame(&mut s, b"\x00\xA4\x04\x00\x0BMaster.File");
    assert_eq!(recv(&mut s).unwrap(), vec![0x61, 0x1B]);
    // GET ATR between an APDU and its GET RESPONSE does not disturb the card.
    frame(&mut s, &[0x04]);
    assert_eq!(recv(&mut s).unwrap().len(), 20);
    frame(&mut s, &[0x00, 0xC0, 0x00, 0x00, 0x1B]);
    assert_eq!(recv(&mut s).unwrap().len(), 0x1B + 2);
    frame(&mut s, &[0x02]);
    frame(&mut s, &[0x04]);
    assert_eq!(recv(&mut s).unwrap().len(), 20);
    assert_eq!(handle.apdu_count(), 3);
    assert!(handle.atr_requests() >= 4);
    let ev = handle.events();
    assert_eq!(ev[0], WireEvent::PowerOn);
    assert!(ev.contains(&WireEvent::Reset));
    // Removal closes the socket.
    let back = handle.remove().unwrap();
    assert_eq!(back.apdu_count(), 3);
    assert!(recv(&mut s).is_none());
}

#[test]
fn faults_drop_and_delay_and_reinsertion() {
    let (listener, opts) = vpcd();
    let faults = Faults {
        drop_at_apdu: Some(1),
        delay: Some(Duration::from_millis(150)),
        delay_at_apdu: Some(0),
        ..Faults::default()
    };
    let handle = SimHandle::insert_with_faults(1, card("especimen"), &opts, faults).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    frame(&mut s, &[0x90, 0xB8, 0x00, 0x00, 0x07]);
    assert_eq!(recv(&mut s).unwrap().len(), 9);
    assert!(t.elapsed() >= Duration::from_millis(150));
    frame(&mut s, &[0x90, 0xB8, 0x00, 0x00, 0x07]);
    assert!(recv(&mut s).is_none(), "card pulled mid-APDU");
    let deadline = Instant::now() + Duration::from_secs(2);
    while handle.is_connected() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!handle.is_connected());
    // Re-insert the same card (state kept) on a new connection.
    let card_back = handle.remove().unwrap();
    let handle = SimHandle::insert_card(1, card_back, &opts).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    frame(&mut s, &[0x90, 0xB8, 0x00, 0x00, 0x07]);
    assert_eq!(recv(&mut s).unwrap().len(), 9);
    assert_eq!(handle.apdu_count(), 1);
    drop(handle);
    assert!(recv(&mut s).is_none());
}

#[test]
fn connect_refused_is_an_error() {
    let (listener, opts) = vpcd();
    drop(listener);
    assert!(SimHandle::insert_card(1, card("especimen"), &opts).is_err());
}
