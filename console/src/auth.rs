//! Passwords (argon2id), random secrets, and login throttling.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A password shorter than this is refused when a user is created.
pub const MIN_PASSWORD: usize = 12;

/// Longest password accepted (argon2 takes any length; this bounds the work
/// one login request can cause).
pub const MAX_PASSWORD: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("the system's random source failed: {0}")]
    Random(String),
    #[error("a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    PasswordLength,
}

/// An argon2id hash in PHC string form (salt and parameters inside).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.chars().count()) {
        return Err(AuthError::PasswordLength);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches a stored hash; a damaged hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD * 4 {
        return false;
    }
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that a login
/// for an unknown name costs the same time as one for a known name.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no such user, no such password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// `bytes` random bytes from the operating system, as lowercase hex.
pub fn random_hex(bytes: usize) -> Result<String, AuthError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

/// A generated password: 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 20];
    getrandom::getrandom(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    // 55 symbols: the modulo bias (256 % 55) is small and harmless here.
    Ok(buf
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Session ids and API tokens are stored only as their SHA-256, so a copy
/// of the database gives no one a live login.
pub fn secret_sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Equal without an early exit, for comparing secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Limits on failed logins: per user name and per client address, counted
/// over a window.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub per_user: u32,
    pub per_address: u32,
    pub window_us: i64,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_user: 5,
            per_address: 20,
            window_us: 15 * 60 * 1_000_000,
        }
    }
}

/// Most keys the throttle remembers; past this the oldest windows go
/// (a flood of made-up names cannot grow it without bound).
const THROTTLE_KEYS: usize = 10_000;

/// Failed logins per key ("u:NAME" or "a:ADDRESS") in the current window.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: HashMap<String, (u32, i64)>,
}

impl Throttle {
    fn count(&self, key: &str, now_us: i64, limits: &ThrottleLimits) -> u32 {
        match self.failures.get(key) {
            Some((n, start)) if now_us - start < limits.window_us => *n,
            _ => 0,
        }
    }

    /// Microseconds until a login for this user from this address may be
    /// tried again, or `None` when it may be tried now.
    pub fn blocked_for(
        &self,
        user: &str,
        address: &str,
        now_us: i64,
        limits: &ThrottleLimits,
    ) -> Option<i64> {
        let keys = [
            (format!("u:{user}"), limits.per_user),
            (format!("a:{address}"), limits.per_address),
        ];
        keys.iter()
            .filter(|(k, limit)| self.count(k, now_us, limits) >= *limit)
            .filter_map(|(k, _)| self.failures.get(k))
            .map(|(_, start)| start + limits.window_us - now_us)
            .max()
    }

    pub fn failed(&mut self, user: &str, address: &str, now_us: i64, limits: &ThrottleLimits) {
        for key in [format!("u:{user}"), format!("a:{address}")] {
            let n = self.count(&key, now_us, limits);
            let entry = self.failures.entry(key).or_insert((0, now_us));
            if n == 0 {
                *entry = (0, now_us);
            }
            entry.0 += 1;
        }
        if self.failures.len() > THROTTLE_KEYS {
            self.failures
                .retain(|_, (_, start)| now_us - *start < limits.window_us);
            while self.failures.len() > THROTTLE_KEYS {
                let oldest = self
                    .failures
                    .iter()
                    .min_by_key(|(_, (_, start))| *start)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => self.failures.remove(&k),
                    None => break,
                };
            }
        }
    }

    /// A successful login clears the user's count (not the address's).
    pub fn succeeded(&mut self, user: &str) {
        self.failures.remove(&format!("u:{user}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert!(matches!(
            hash_password("short"),
            Err(AuthError::PasswordLength)
        ));
    }

    #[test]
    fn throttle_blocks_a_user_after_its_limit_and_forgets_after_the_window() {
        let limits = ThrottleLimits {
            per_user: 3,
            per_address: 10,
            window_us: 1000,
        };
        let mut t = Throttle::default();
        for i in 0..3 {
            assert_eq!(t.blocked_for("alice", "1.2.3.4", i, &limits), None);
            t.failed("alice", "1.2.3.4", i, &limits);
        }
        assert_eq!(t.blocked_for("alice", "5.6.7.8", 10, &limits), Some(990));
        assert_eq!(t.blocked_for("bob", "1.2.3.4", 10, &limits), None);
        assert_eq!(t.blocked_for("alice", "1.2.3.4", 1000, &limits), None);
    }

    #[test]
    fn throttle_blocks_an_address_trying_many_names() {
        let limits = ThrottleLimits {
            per_user: 3,
            per_address: 4,
            window_us: 1000,
        };
        let mut t = Throttle::default();
        for i in 0..4 {
            t.failed(&format!("user{i}"), "9.9.9.9", i, &limits);
        }
        assert!(t.blocked_for("someone", "9.9.9.9", 5, &limits).is_some());
        assert!(t.blocked_for("someone", "8.8.8.8", 5, &limits).is_none());
    }

    #[test]
    fn throttle_table_stays_bounded() {
        let limits = ThrottleLimits::default();
        let mut t = Throttle::default();
        for i in 0..(THROTTLE_KEYS + 50) {
            t.failed(&format!("u{i}"), "1.1.1.1", i as i64, &limits);
        }
        assert!(t.failures.len() <= THROTTLE_KEYS);
    }
}
