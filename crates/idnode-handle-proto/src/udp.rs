//! UDP framing: messages over 492 bytes travel as several packets, each with its own
//! envelope (TC set, `sequence` = packet index, `message_length` = the whole message).

use crate::{Envelope, ProtoError, ENVELOPE_LEN, UDP_DATA};

/// Calls `emit` with each UDP packet of `message` (an encoded message with its envelope).
/// A message that fits one packet is emitted unchanged.
pub fn split(message: &[u8], mut emit: impl FnMut(&[u8])) {
    if message.len() <= ENVELOPE_LEN + UDP_DATA {
        emit(message);
        return;
    }
    let (env, data) = message.split_at(ENVELOPE_LEN);
    let mut packet = Vec::with_capacity(ENVELOPE_LEN + UDP_DATA);
    for (i, chunk) in data.chunks(UDP_DATA).enumerate() {
        packet.clear();
        packet.extend_from_slice(env);
        packet[2] |= 0x20;
        packet[12..16].copy_from_slice(&(i as u32).to_be_bytes());
        packet.extend_from_slice(chunk);
        emit(&packet);
    }
}

/// Number of packets a message of `message_length` bytes (after the envelope) needs.
pub fn packet_count(message_length: u32) -> u32 {
    (message_length as usize).div_ceil(UDP_DATA).max(1) as u32
}

/// Collects the packets of one multi-packet message.
#[derive(Debug)]
pub struct Assembly {
    envelope: Envelope,
    buf: Vec<u8>,
    seen: Vec<bool>,
    missing: u32,
}

impl Assembly {
    /// Starts collecting the message whose packet announced `envelope`.
    pub fn new(envelope: Envelope) -> Self {
        let n = packet_count(envelope.message_length);
        Self {
            envelope,
            buf: vec![0; envelope.message_length as usize],
            seen: vec![false; n as usize],
            missing: n,
        }
    }

    /// Adds one packet (envelope decoded, `data` the bytes after it). Returns true when the
    /// message is complete. Duplicates are ignored; inconsistent packets are errors.
    pub fn add(&mut self, envelope: &Envelope, data: &[u8]) -> Result<bool, ProtoError> {
        if envelope.message_length != self.envelope.message_length
            || envelope.request_id != self.envelope.request_id
        {
            return Err(ProtoError::malformed(
                "packet does not belong to this message",
            ));
        }
        let i = envelope.sequence as usize;
        let start = i
            .checked_mul(UDP_DATA)
            .filter(|s| *s < self.buf.len())
            .ok_or_else(|| ProtoError::malformed("packet sequence number out of range"))?;
        let want = (self.buf.len() - start).min(UDP_DATA);
        if data.len() != want {
            return Err(ProtoError::malformed("packet has the wrong length"));
        }
        if !self.seen[i] {
            self.seen[i] = true;
            self.missing -= 1;
            self.buf[start..start + want].copy_from_slice(data);
        }
        Ok(self.missing == 0)
    }

    /// The envelope and the message bytes, once complete.
    pub fn finish(self) -> (Envelope, Vec<u8>) {
        (
            Envelope {
                truncated: false,
                sequence: 0,
                ..self.envelope
            },
            self.buf,
        )
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_message, Header, Message};

    fn message(body_len: usize) -> Vec<u8> {
        let env = Envelope::ours(0, 5);
        let body: Vec<u8> = (0..body_len).map(|i| i as u8).collect();
        encode_message(&env, &Header::default(), &body)
    }

    #[test]
    fn small_messages_are_one_packet() {
        let m = message(10);
        let mut packets = Vec::new();
        split(&m, |p| packets.push(p.to_vec()));
        assert_eq!(packets, vec![m]);
    }

    #[test]
    fn large_messages_split_and_reassemble_in_any_order() {
        let m = message(2000);
        let mut packets = Vec::new();
        split(&m, |p| packets.push(p.to_vec()));
        assert_eq!(packets.len(), (m.len() - ENVELOPE_LEN).div_ceil(UDP_DATA));
        assert!(packets.iter().all(|p| p.len() <= 512));
        packets.reverse();
        let first = Envelope::decode(&packets[0]).unwrap();
        assert!(first.truncated);
        let mut a = Assembly::new(first);
        let mut done = false;
        for p in &packets {
            let e = Envelope::decode(p).unwrap();
            done = a.add(&e, &p[ENVELOPE_LEN..]).unwrap();
            // duplicates change nothing
            a.add(&e, &p[ENVELOPE_LEN..]).unwrap();
        }
        assert!(done);
        let (env, bytes) = a.finish();
        let parsed = Message::parse(env, &bytes).unwrap();
        assert_eq!(parsed.body.len(), 2000);
        assert_eq!(&bytes[..], &m[ENVELOPE_LEN..]);
    }

    #[test]
    fn foreign_or_misshapen_packets_are_refused() {
        let m = message(2000);
        let mut packets = Vec::new();
        split(&m, |p| packets.push(p.to_vec()));
        let e = Envelope::decode(&packets[0]).unwrap();
        let mut a = Assembly::new(e);
        assert!(a
            .add(&e, &packets[0][ENVELOPE_LEN..ENVELOPE_LEN + 10])
            .is_err());
        let mut bad = e;
        bad.sequence = 99;
        assert!(a.add(&bad, &packets[0][ENVELOPE_LEN..]).is_err());
        let mut other = e;
        other.request_id = 6;
        assert!(a.add(&other, &packets[0][ENVELOPE_LEN..]).is_err());
    }
}
