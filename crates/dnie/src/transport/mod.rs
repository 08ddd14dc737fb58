//! The transport: one APDU out, one response back. Nothing else lives here: GET RESPONSE,
//! 6Cxx and secure messaging are handled above it by [`crate::card::Card`].
//!
//! The PC/SC implementation is in [`pcsc`] (the only file that uses the `pcsc` crate);
//! tests plug in their own.

pub mod pcsc;

use crate::error::TransportError;

/// A channel to a card that exchanges raw APDUs.
pub trait Transport {
    /// Sends one command APDU (as bytes) and returns the raw response including SW1 SW2.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
}
