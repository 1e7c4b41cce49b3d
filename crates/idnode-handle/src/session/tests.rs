use super::*;

/// The 1024-bit MODP group of RFC 2409 §6.2 (generator 2), as Java's DH key pairs use.
const OAKLEY2_P: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";

fn v(minor: u8) -> Version {
    Version { major: 2, minor }
}

/// A client's side of the exchange, as CNRI's resolver computes it.
/// A server-cipher session: the server's public key now, the client's key by EXCHANGEKEY.
fn server_cipher(sessions: &Sessions, server: &ServerKey) -> Established {
    sessions
        .setup(
            KeyExchange::CipherServer,
            b"",
            None,
            Some(server),
            None,
            v(10),
        )
        .unwrap()
}

/// The session's MAC of `m` is HMAC-SHA256 under `key`.
fn macs_with(session: &Session, key: &[u8]) {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    assert_eq!(session.mac(b"m").unwrap(), hmac::sign(&k, b"m").as_ref());
}

fn client_key(x: &BigUint, p: &BigUint, server_y: &BigUint) -> Vec<u8> {
    let shared = server_y.modpow(x, p).to_bytes_be();
    let len = p.bits().div_ceil(8);
    let mut padded = vec![0u8; len - shared.len()];
    padded.extend_from_slice(&shared);
    let mut i = 0;
    while i + 32 < padded.len() && padded[i] == 0 {
        i += 1;
    }
    padded[i..i + 32].to_vec()
}

#[test]
fn diffie_hellman_sessions_agree_on_the_key_and_protect_messages() {
    let p = BigUint::parse_bytes(OAKLEY2_P.as_bytes(), 16).unwrap();
    let g = BigUint::from(2u8);
    let x = BigUint::from_bytes_be(&[0x5a; 40]);
    let y = g.modpow(&x, &p);
    let sessions = Sessions::new(Duration::from_secs(60));
    let est = sessions
        .setup(
            KeyExchange::DiffieHellman,
            &dh_public(&y, &p, &g),
            None,
            None,
            Some(("0.NA/88.118.8".into(), 300)),
            v(10),
        )
        .unwrap();
    assert_eq!(&est.data[..4], &ALG_AES.to_be_bytes());
    let mut r = &est.data[4..];
    assert_eq!(take_blob(&mut r).unwrap(), b"DH_PUB_KEY");
    r = &r[2..];
    let server_y = BigUint::from_bytes_be(take_blob(&mut r).unwrap());
    assert_eq!(take_blob(&mut r).unwrap(), p.to_bytes_be());
    let key = client_key(&x, &p, &server_y);

    // The MAC is HMAC-SHA256 under the agreed key.
    let s = est.session;
    assert!(s.id > 0 && s.id <= 0x7fff_ffff);
    assert!(sessions.get(s.id).is_some());
    let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mac = hmac::sign(&k, b"covered").as_ref().to_vec();
    assert_eq!(s.mac(b"covered").unwrap(), mac);
    s.verify(b"covered", 1, &mac).unwrap();
    // A replayed counter and a wrong MAC are refused.
    assert_eq!(
        s.verify(b"covered", 1, &mac).unwrap_err().0,
        idnode_handle_proto::rc::SESSION_MESSAGE_REJECTED
    );
    assert_eq!(
        s.verify(b"other", 2, &mac).unwrap_err().0,
        idnode_handle_proto::rc::INVALID_SESSION_KEY
    );
    // Encryption: AES-128-CBC under the key's first 16 bytes, IV in front.
    let ct = s.encrypt(b"a message of some length").unwrap();
    assert_eq!(ct.len() % 16, 0);
    let dec = cbc::Decryptor::<aes::Aes128>::new_from_slices(&key[..16], &ct[..16])
        .unwrap()
        .decrypt_padded_vec_mut::<Pkcs7>(&ct[16..])
        .unwrap();
    assert_eq!(dec, b"a message of some length");
    assert_eq!(s.decrypt(&ct).unwrap(), b"a message of some length");
    let mut tampered = ct.clone();
    tampered[20] ^= 1;
    assert!(s.decrypt(&tampered[..tampered.len() - 1]).is_err());
    sessions.remove(s.id);
    assert!(sessions.get(s.id).is_none());
}

#[test]
fn bad_diffie_hellman_values_are_refused() {
    let p = BigUint::parse_bytes(OAKLEY2_P.as_bytes(), 16).unwrap();
    let g = BigUint::from(2u8);
    let sessions = Sessions::new(Duration::from_secs(60));
    let setup = |key: &[u8]| {
        sessions
            .setup(KeyExchange::DiffieHellman, key, None, None, None, v(10))
            .map(|_| ())
    };
    for y in [BigUint::from(1u8), &p - BigUint::from(1u8), p.clone()] {
        assert!(setup(&dh_public(&y, &p, &g)).is_err());
    }
    let small = BigUint::from(1_000_003u32);
    assert!(setup(&dh_public(&BigUint::from(5u8), &small, &g)).is_err());
    assert!(setup(b"garbage").is_err());
    assert!(setup(&dh_public(&BigUint::from(5u8), &p, &g)[..30]).is_err());
    // Old clients (before 2.4) would need DES: refused.
    let y = g.modpow(&BigUint::from(12345u32), &p);
    assert!(sessions
        .setup(
            KeyExchange::DiffieHellman,
            &dh_public(&y, &p, &g),
            None,
            None,
            None,
            v(3)
        )
        .is_err());
}

#[test]
fn cipher_sessions_exchange_keys_with_rsa() {
    let (server, _) = ServerKey::generate().unwrap();
    let (client, _) = ServerKey::generate().unwrap();
    let sessions = Sessions::new(Duration::from_secs(60));
    // Client cipher: the key comes encrypted to the client's key.
    let est = sessions
        .setup(
            KeyExchange::CipherClient,
            b"",
            Some(client.public_key()),
            Some(&server),
            None,
            v(10),
        )
        .unwrap();
    let plain = client.decrypt(&est.data).unwrap();
    assert_eq!(&plain[..4], &ALG_AES.to_be_bytes());
    macs_with(&est.session, &plain[4..]);
    // Server cipher: the server's public key, then the client's key by EXCHANGEKEY.
    let est = server_cipher(&sessions, &server);
    assert_eq!(est.data, server.public_key().encode());
    assert!(!est.session.has_key());
    let mut sent = ALG_AES.to_be_bytes().to_vec();
    sent.extend_from_slice(&[7u8; 16]);
    let enc = encrypt_to(server.public_key(), &sent).unwrap();
    sessions
        .exchange_key(&est.session, Some(&server), &enc)
        .unwrap();
    macs_with(&est.session, &[7u8; 16]);
    // A second exchange (anyone who saw the session id could send one) is refused.
    let mut other = ALG_AES.to_be_bytes().to_vec();
    other.extend_from_slice(&[8u8; 16]);
    let enc = encrypt_to(server.public_key(), &other).unwrap();
    assert!(sessions
        .exchange_key(&est.session, Some(&server), &enc)
        .is_err());
    macs_with(&est.session, &[7u8; 16]);
    // DES keys are refused.
    let est = server_cipher(&sessions, &server);
    let mut des = 1u32.to_be_bytes().to_vec();
    des.extend_from_slice(&[7u8; 8]);
    let enc = encrypt_to(server.public_key(), &des).unwrap();
    assert!(sessions
        .exchange_key(&est.session, Some(&server), &enc)
        .is_err());
    assert!(!est.session.has_key());
}
