//! One request being answered: who asked, the message, and where its answers go. Every
//! step of the Handle service takes this one context instead of the peer, message, request
//! bytes, reply envelope and output buffer one by one.

use std::net::IpAddr;

use idnode_handle_proto::{digest, flags, rc, Body, DigestAlg, Envelope, Header, Message};

use crate::service::write;

/// A request and the buffer its answers are written to.
pub(crate) struct Exchange<'a, 'm> {
    /// The client's address.
    pub(crate) peer: IpAddr,
    /// The request message, parsed.
    pub(crate) m: &'a Message<'m>,
    /// The request message's bytes (a challenge keeps them to answer it later).
    pub(crate) msg: &'a [u8],
    /// The envelope answers go out in.
    pub(crate) reply: Envelope,
    /// Where answers are appended.
    pub(crate) out: &'a mut Vec<u8>,
}

impl<'a, 'm> Exchange<'a, 'm> {
    /// Answers to `m` (whose bytes are `msg`) from `peer`, appended to `out`.
    pub(crate) fn new(
        peer: IpAddr,
        m: &'a Message<'m>,
        msg: &'a [u8],
        out: &'a mut Vec<u8>,
    ) -> Self {
        Self {
            peer,
            m,
            msg,
            reply: m.envelope.reply(),
            out,
        }
    }

    /// Writes one answer message with `header` (the request's, perhaps with CN set),
    /// response code `code` and `body`, with the request digest when it was asked for.
    pub(crate) fn write(&mut self, header: &Header, code: u32, body: &Body<'_>) {
        let d = request_digest(self.m);
        let d = d.as_ref().map(|(a, v)| (*a, v.as_slice()));
        write(self.out, &self.reply, header, code, d, body);
    }

    /// Answers with `code` and `body`.
    pub(crate) fn answer(&mut self, code: u32, body: &Body<'_>) {
        let header = self.m.header;
        self.write(&header, code, body);
    }

    /// Answers success with `body`.
    pub(crate) fn ok(&mut self, body: &Body<'_>) {
        self.answer(rc::SUCCESS, body);
    }

    /// Answers an error: its response code and message.
    pub(crate) fn fail(&mut self, code: u32, message: &str) {
        self.answer(code, &Body::Error(message));
    }

    /// Answers a service error with the response code it maps to.
    pub(crate) fn refuse(&mut self, code: idnode_core::ResponseCode, e: &dyn std::fmt::Display) {
        self.fail(code.code(), &e.to_string());
    }
}

/// The request digest, when the request asked for it (RD).
pub(crate) fn request_digest(m: &Message<'_>) -> Option<(DigestAlg, Vec<u8>)> {
    m.header.has(flags::RD).then(|| {
        let alg = DigestAlg::for_version(m.envelope.negotiated());
        (alg, digest(alg, m.signed))
    })
}
