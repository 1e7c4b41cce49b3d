//! Request bodies, by operation code.

use idnode_core::HandleValue;

use crate::session::SessionSetup;
use crate::value::{encode_values, read_values};
use crate::{op, ProtoError, MAX_VALUES};
use idnode_core::wire::{put_blob, put_u32, Reader};

/// A decoded request body. Handles are UTF-8 strings as sent (not yet validated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 1: resolve `handle`, optionally only some indexes and types.
    Resolution {
        /// The handle.
        handle: &'a str,
        /// Wanted indexes (empty: all).
        indexes: Vec<u32>,
        /// Wanted types (empty: all).
        types: Vec<&'a str>,
    },
    /// 2000 (national SDK): a login-shaped resolution.
    Login {
        /// The handle.
        handle: &'a str,
        /// Wanted indexes.
        indexes: Vec<u32>,
        /// Wanted types.
        types: Vec<&'a str>,
    },
    /// 2: the server's site information (clients may name a handle).
    GetSiteInfo {
        /// The handle the client is about to ask for, if it said.
        handle: Option<&'a str>,
    },
    /// 100: create a handle with values.
    Create {
        /// The handle.
        handle: &'a str,
        /// Its values.
        values: Vec<HandleValue>,
    },
    /// 101: delete a handle.
    Delete {
        /// The handle.
        handle: &'a str,
    },
    /// 102: add values.
    AddValue {
        /// The handle.
        handle: &'a str,
        /// The values.
        values: Vec<HandleValue>,
    },
    /// 103: remove the values at indexes.
    RemoveValue {
        /// The handle.
        handle: &'a str,
        /// The indexes.
        indexes: Vec<u32>,
    },
    /// 104: replace values at their indexes.
    ModifyValue {
        /// The handle.
        handle: &'a str,
        /// The values.
        values: Vec<HandleValue>,
    },
    /// 105: list handles under a prefix (`0.NA/88.118.8`).
    ListHandles {
        /// The prefix handle.
        handle: &'a str,
    },
    /// 200: the answer to a challenge.
    ChallengeAnswer {
        /// `HS_SECKEY` or `HS_PUBKEY`.
        auth_type: &'a str,
        /// The admin handle.
        admin: &'a str,
        /// Index of the key value.
        index: u32,
        /// The signed response.
        response: &'a [u8],
    },
    /// 201: verify a challenge answer for a key held here.
    VerifyResponse {
        /// The key's handle.
        handle: &'a str,
        /// The key's index.
        index: u32,
        /// The challenge nonce.
        nonce: &'a [u8],
        /// The digest of the original request.
        digest: &'a [u8],
        /// The client's signed response.
        response: &'a [u8],
    },
    /// 300: home a prefix here.
    HomeNa {
        /// The prefix handle.
        handle: &'a str,
    },
    /// 301: unhome a prefix.
    UnhomeNa {
        /// The prefix handle.
        handle: &'a str,
    },
    /// 302: list the prefixes homed here.
    ListHomedNas {
        /// The prefix handle asked about, if any.
        handle: Option<&'a str>,
    },
    /// 2001 (national SDK): log in with the key at `index` of `handle`.
    LoginIdSystem {
        /// The admin handle.
        handle: &'a str,
        /// The key index.
        index: u32,
    },
    /// 400: set up a session.
    SessionSetup(SessionSetup<'a>),
    /// 401: end the session the message belongs to.
    SessionTerminate,
    /// 402: the session key, encrypted to the server's public key.
    SessionExchangeKey {
        /// `alg ‖ key`, RSA-encrypted.
        encrypted_key: &'a [u8],
    },
}

fn read_indexes(r: &mut Reader<'_>) -> Result<Vec<u32>, ProtoError> {
    let n = r.count(4)?;
    if n > MAX_VALUES {
        return Err(ProtoError::malformed("too many indexes"));
    }
    Ok((0..n).map(|_| r.u32()).collect::<Result<_, _>>()?)
}

fn read_types<'a>(r: &mut Reader<'a>) -> Result<Vec<&'a str>, ProtoError> {
    let n = r.count(4)?;
    if n > MAX_VALUES {
        return Err(ProtoError::malformed("too many types"));
    }
    Ok((0..n).map(|_| r.str()).collect::<Result<_, _>>()?)
}

impl<'a> Request<'a> {
    /// Decodes the body of a request with operation `op_code`.
    pub fn decode(op_code: u32, body: &'a [u8]) -> Result<Self, ProtoError> {
        let mut r = Reader::new(body);
        let req = match op_code {
            op::RESOLUTION | op::LOGIN => {
                let handle = r.str()?;
                let indexes = read_indexes(&mut r)?;
                let types = read_types(&mut r)?;
                if op_code == op::LOGIN {
                    Self::Login {
                        handle,
                        indexes,
                        types,
                    }
                } else {
                    Self::Resolution {
                        handle,
                        indexes,
                        types,
                    }
                }
            }
            op::GET_SITE_INFO => Self::GetSiteInfo {
                handle: if r.remaining() == 0 {
                    None
                } else {
                    Some(r.str()?)
                },
            },
            op::CREATE_HANDLE | op::ADD_VALUE | op::MODIFY_VALUE => {
                let handle = r.str()?;
                let values = read_values(&mut r)?;
                match op_code {
                    op::CREATE_HANDLE => Self::Create { handle, values },
                    op::ADD_VALUE => Self::AddValue { handle, values },
                    _ => Self::ModifyValue { handle, values },
                }
            }
            op::DELETE_HANDLE => Self::Delete { handle: r.str()? },
            op::REMOVE_VALUE => Self::RemoveValue {
                handle: r.str()?,
                indexes: read_indexes(&mut r)?,
            },
            op::LIST_HANDLES => Self::ListHandles { handle: r.str()? },
            op::CHALLENGE_RESPONSE => Self::ChallengeAnswer {
                auth_type: r.str()?,
                admin: r.str()?,
                index: r.u32()?,
                response: r.blob()?,
            },
            op::VERIFY_RESPONSE => Self::VerifyResponse {
                handle: r.str()?,
                index: r.u32()?,
                nonce: r.blob()?,
                digest: r.blob()?,
                response: r.blob()?,
            },
            op::HOME_NA => Self::HomeNa { handle: r.str()? },
            op::UNHOME_NA => Self::UnhomeNa { handle: r.str()? },
            op::LIST_HOMED_NAS => Self::ListHomedNas {
                handle: if r.remaining() == 0 {
                    None
                } else {
                    Some(r.str()?)
                },
            },
            op::LOGIN_ID_SYSTEM => Self::LoginIdSystem {
                handle: r.str()?,
                index: r.u32()?,
            },
            op::SESSION_SETUP => Self::SessionSetup(SessionSetup::read(&mut r)?),
            op::SESSION_TERMINATE => Self::SessionTerminate,
            op::SESSION_EXCHANGEKEY => Self::SessionExchangeKey {
                encrypted_key: r.blob()?,
            },
            other => return Err(ProtoError::Unsupported(other)),
        };
        r.finish()?;
        Ok(req)
    }

    /// The operation code.
    pub fn op_code(&self) -> u32 {
        match self {
            Self::Resolution { .. } => op::RESOLUTION,
            Self::Login { .. } => op::LOGIN,
            Self::GetSiteInfo { .. } => op::GET_SITE_INFO,
            Self::Create { .. } => op::CREATE_HANDLE,
            Self::Delete { .. } => op::DELETE_HANDLE,
            Self::AddValue { .. } => op::ADD_VALUE,
            Self::RemoveValue { .. } => op::REMOVE_VALUE,
            Self::ModifyValue { .. } => op::MODIFY_VALUE,
            Self::ListHandles { .. } => op::LIST_HANDLES,
            Self::ChallengeAnswer { .. } => op::CHALLENGE_RESPONSE,
            Self::VerifyResponse { .. } => op::VERIFY_RESPONSE,
            Self::HomeNa { .. } => op::HOME_NA,
            Self::UnhomeNa { .. } => op::UNHOME_NA,
            Self::ListHomedNas { .. } => op::LIST_HOMED_NAS,
            Self::LoginIdSystem { .. } => op::LOGIN_ID_SYSTEM,
            Self::SessionSetup(_) => op::SESSION_SETUP,
            Self::SessionTerminate => op::SESSION_TERMINATE,
            Self::SessionExchangeKey { .. } => op::SESSION_EXCHANGEKEY,
        }
    }

    /// Whether the operation changes data (and so needs an authenticated administrator).
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Self::Create { .. }
                | Self::Delete { .. }
                | Self::AddValue { .. }
                | Self::RemoveValue { .. }
                | Self::ModifyValue { .. }
                | Self::ListHandles { .. }
                | Self::HomeNa { .. }
                | Self::UnhomeNa { .. }
        )
    }

    /// Encodes the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Resolution {
                handle,
                indexes,
                types,
            }
            | Self::Login {
                handle,
                indexes,
                types,
            } => {
                put_blob(&mut out, handle.as_bytes());
                put_u32(&mut out, indexes.len() as u32);
                indexes.iter().for_each(|i| put_u32(&mut out, *i));
                put_u32(&mut out, types.len() as u32);
                types.iter().for_each(|t| put_blob(&mut out, t.as_bytes()));
            }
            Self::GetSiteInfo { handle } | Self::ListHomedNas { handle } => {
                if let Some(h) = handle {
                    put_blob(&mut out, h.as_bytes());
                }
            }
            Self::Create { handle, values }
            | Self::AddValue { handle, values }
            | Self::ModifyValue { handle, values } => {
                put_blob(&mut out, handle.as_bytes());
                encode_values(&mut out, values.iter());
            }
            Self::Delete { handle }
            | Self::ListHandles { handle }
            | Self::HomeNa { handle }
            | Self::UnhomeNa { handle } => put_blob(&mut out, handle.as_bytes()),
            Self::RemoveValue { handle, indexes } => {
                put_blob(&mut out, handle.as_bytes());
                put_u32(&mut out, indexes.len() as u32);
                indexes.iter().for_each(|i| put_u32(&mut out, *i));
            }
            Self::ChallengeAnswer {
                auth_type,
                admin,
                index,
                response,
            } => {
                put_blob(&mut out, auth_type.as_bytes());
                put_blob(&mut out, admin.as_bytes());
                put_u32(&mut out, *index);
                put_blob(&mut out, response);
            }
            Self::VerifyResponse {
                handle,
                index,
                nonce,
                digest,
                response,
            } => {
                put_blob(&mut out, handle.as_bytes());
                put_u32(&mut out, *index);
                put_blob(&mut out, nonce);
                put_blob(&mut out, digest);
                put_blob(&mut out, response);
            }
            Self::LoginIdSystem { handle, index } => {
                put_blob(&mut out, handle.as_bytes());
                put_u32(&mut out, *index);
            }
            Self::SessionSetup(s) => s.write(&mut out),
            Self::SessionTerminate => {}
            Self::SessionExchangeKey { encrypted_key } => put_blob(&mut out, encrypted_key),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::tests::arb_value;
    use proptest::prelude::*;

    fn arb_request() -> impl Strategy<Value = (u32, Vec<u8>)> {
        let h = "[0-9.A-Za-z/-]{1,30}";
        let vals = || proptest::collection::vec(arb_value(), 0..4);
        let idx = proptest::collection::vec(any::<u32>(), 0..4);
        prop_oneof![
            (
                h,
                idx.clone(),
                proptest::collection::vec("[A-Z_.]{1,8}", 0..3)
            )
                .prop_map(|(h, i, t)| {
                    let t: Vec<&str> = t.iter().map(String::as_str).collect();
                    let r = Request::Resolution {
                        handle: &h,
                        indexes: i,
                        types: t,
                    };
                    (r.op_code(), r.encode())
                }),
            (h, vals()).prop_map(|(h, v)| {
                let r = Request::Create {
                    handle: &h,
                    values: v,
                };
                (r.op_code(), r.encode())
            }),
            (h, vals()).prop_map(|(h, v)| {
                let r = Request::ModifyValue {
                    handle: &h,
                    values: v,
                };
                (r.op_code(), r.encode())
            }),
            (h, idx).prop_map(|(h, i)| {
                let r = Request::RemoveValue {
                    handle: &h,
                    indexes: i,
                };
                (r.op_code(), r.encode())
            }),
            (
                h,
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(h, i, s)| {
                    let r = Request::ChallengeAnswer {
                        auth_type: "HS_PUBKEY",
                        admin: &h,
                        index: i,
                        response: &s,
                    };
                    (r.op_code(), r.encode())
                }),
            (h, any::<u32>()).prop_map(|(h, i)| {
                let r = Request::LoginIdSystem {
                    handle: &h,
                    index: i,
                };
                (r.op_code(), r.encode())
            }),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode((op_code, body) in arb_request()) {
            let r = Request::decode(op_code, &body).unwrap();
            prop_assert_eq!(r.op_code(), op_code);
            prop_assert_eq!(r.encode(), body);
        }

        #[test]
        fn request_decoding_never_panics(op_code in prop_oneof![Just(1u32), Just(2), 100u32..106, 200u32..202, 300u32..303, Just(2000), Just(2001), any::<u32>()],
                                          body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = Request::decode(op_code, &body);
        }
    }

    #[test]
    fn unknown_operations_are_unsupported_and_trailing_bytes_malformed() {
        assert_eq!(Request::decode(999, b""), Err(ProtoError::Unsupported(999)));
        let mut b = Request::Delete {
            handle: "88.118.8/x",
        }
        .encode();
        b.push(0);
        assert_eq!(
            Request::decode(op::DELETE_HANDLE, &b)
                .unwrap_err()
                .response_code(),
            4
        );
    }
}
