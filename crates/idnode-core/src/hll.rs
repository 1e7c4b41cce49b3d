//! HyperLogLog sketches of distinct clients (Flajolet et al. 2007, with the small-range
//! correction): 2,048 one-byte registers (standard error about 2.3 %), mergeable by
//! taking each register's maximum, stored as their bytes.

use std::net::IpAddr;

/// Register count exponent: 2^11 registers.
const P: u32 = 11;
/// Registers in a sketch.
pub const REGISTERS: usize = 1 << P;

/// A sketch: the registers, each the largest rank seen in its bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct Sketch {
    registers: Box<[u8; REGISTERS]>,
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sketch(~{})", self.estimate())
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Self {
            registers: Box::new([0; REGISTERS]),
        }
    }
}

/// A 64-bit hash of a client address, the same on every machine and release (SplitMix64's
/// finaliser over both halves of the IPv6 form, IPv4 mapped).
pub fn client_hash(ip: IpAddr) -> u64 {
    let v6 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let bits = u128::from(v6);
    mix(mix(bits as u64) ^ (bits >> 64) as u64)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The register a hash falls in and the rank it gives it.
pub fn bucket(hash: u64) -> (usize, u8) {
    let index = (hash >> (64 - P)) as usize;
    let rest = hash << P;
    let rank = (rest.leading_zeros().min(64 - P) + 1) as u8;
    (index, rank)
}

impl Sketch {
    /// Counts one hashed item.
    pub fn insert(&mut self, hash: u64) {
        let (i, rank) = bucket(hash);
        self.registers[i] = self.registers[i].max(rank);
    }

    /// Sets register `i` to at least `rank`.
    pub fn raise(&mut self, i: usize, rank: u8) {
        if let Some(r) = self.registers.get_mut(i) {
            *r = (*r).max(rank);
        }
    }

    /// Adds what `other` counted (the union of both sets).
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// The estimated number of distinct items.
    pub fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|r| 2f64.powi(-i32::from(*r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        let e = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        e.round() as u64
    }

    /// The registers, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.registers.to_vec()
    }

    /// A sketch from stored bytes: `None` unless they are [`REGISTERS`] valid ranks.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let max = (64 - P + 1) as u8;
        if bytes.len() != REGISTERS || bytes.iter().any(|r| *r > max) {
            return None;
        }
        let mut s = Self::default();
        s.registers.copy_from_slice(bytes);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(range: std::ops::Range<u32>) -> Sketch {
        let mut s = Sketch::default();
        for i in range {
            s.insert(client_hash(IpAddr::from(i.to_be_bytes())));
        }
        s
    }

    #[test]
    fn estimates_are_within_a_few_standard_errors() {
        assert_eq!(Sketch::default().estimate(), 0);
        for n in [1u32, 10, 1_000, 100_000] {
            let e = of(0..n).estimate() as f64;
            let err = (e - f64::from(n)).abs() / f64::from(n);
            assert!(err < 0.07, "{n}: {e}");
        }
    }

    #[test]
    fn repeats_count_once_and_merges_are_unions() {
        let mut a = of(0..5_000);
        let again = of(0..5_000);
        assert_eq!(a, {
            let mut b = a.clone();
            b.merge(&again);
            b
        });
        a.merge(&of(5_000..10_000));
        let e = a.estimate() as f64;
        assert!((e - 10_000.0).abs() / 10_000.0 < 0.07, "{e}");
    }

    #[test]
    fn stored_sketches_read_back_and_garbage_is_refused() {
        let a = of(0..300);
        assert_eq!(Sketch::from_bytes(&a.to_bytes()), Some(a));
        assert!(Sketch::from_bytes(&[0; 10]).is_none());
        assert!(Sketch::from_bytes(&[99; REGISTERS]).is_none());
    }

    #[test]
    fn ipv4_and_its_mapped_form_are_one_client() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_hash(v4), client_hash(mapped));
        assert_ne!(client_hash(v4), client_hash("192.0.2.2".parse().unwrap()));
    }
}
