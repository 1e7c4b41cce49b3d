//! Handle protocol response codes (RFC 3652 §2.2.2.3, SPEC §5), shared by every front end.

/// A Handle response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// 1: success.
    Success,
    /// 2: server error.
    Error,
    /// 3: server busy.
    ServerBusy,
    /// 4: protocol error (malformed request).
    ProtocolError,
    /// 5: operation not supported.
    OperationNotSupported,
    /// 100: handle not found.
    HandleNotFound,
    /// 101: handle already exists.
    HandleAlreadyExists,
    /// 102: invalid handle.
    InvalidHandle,
    /// 200: values not found.
    ValuesNotFound,
    /// 201: value already exists.
    ValueAlreadyExists,
    /// 202: invalid value.
    InvalidValue,
    /// 301: this server is not responsible for the handle.
    ServerNotResponsible,
    /// 400: invalid admin.
    InvalidAdmin,
    /// 401: insufficient permissions.
    InsufficientPermissions,
    /// 402: authentication needed.
    AuthenticationNeeded,
    /// 403: authentication failed.
    AuthenticationFailed,
    /// 604 (national SDK): the enterprise's registration allowance is spent.
    RegistrationLimit,
    /// 605 (national SDK): the enterprise holds as many prefixes as it may.
    PrefixLimit,
}

impl ResponseCode {
    /// The numeric code.
    pub fn code(self) -> u32 {
        match self {
            Self::Success => 1,
            Self::Error => 2,
            Self::ServerBusy => 3,
            Self::ProtocolError => 4,
            Self::OperationNotSupported => 5,
            Self::HandleNotFound => 100,
            Self::HandleAlreadyExists => 101,
            Self::InvalidHandle => 102,
            Self::ValuesNotFound => 200,
            Self::ValueAlreadyExists => 201,
            Self::InvalidValue => 202,
            Self::ServerNotResponsible => 301,
            Self::InvalidAdmin => 400,
            Self::InsufficientPermissions => 401,
            Self::AuthenticationNeeded => 402,
            Self::AuthenticationFailed => 403,
            Self::RegistrationLimit => 604,
            Self::PrefixLimit => 605,
        }
    }
}
