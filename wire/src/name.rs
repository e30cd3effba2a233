//! The one rule for names that travel between the parts: device serials,
//! site and customer names in the fleet list, zone names in a site's
//! configuration, file names of the export. Kept in one place so a name the
//! collector accepts is one the analysis and provisioning accept too.

/// Longest serial, site, customer or zone name.
pub const MAX_NAME: usize = 64;

/// Whether `s` is a name: 1 to [`MAX_NAME`] of `A-Z a-z 0-9 . _ -`.
pub fn valid_name(s: &str) -> bool {
    name_within(s, MAX_NAME)
}

/// Whether `s` is 1 to `max` bytes of `A-Z a-z 0-9 . _ -`.
pub fn name_within(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("OSS-0001"));
        assert!(valid_name("a.b_c-D9"));
        assert!(valid_name(&"a".repeat(MAX_NAME)));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("é"));
        assert!(!valid_name(&"a".repeat(MAX_NAME + 1)));
        assert!(name_within(&"a".repeat(255), 255));
        assert!(!name_within(&"a".repeat(256), 255));
    }
}
