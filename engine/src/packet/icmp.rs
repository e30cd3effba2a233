//! ICMP and ICMPv6 (RFC 792, RFC 4443): the type/code pairing Zeek uses to
//! put requests and replies in one connection.

/// Zeek's connection ports for an ICMP message: the type as the source port,
/// and as the destination port the counterpart type for request/reply pairs
/// or the code for one-way messages.
pub fn conn_ports(v6: bool, icmp_type: u8, code: u8) -> (u16, u16) {
    let counterpart = if v6 {
        match icmp_type {
            128 => Some(129),
            129 => Some(128),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            130 => Some(131),
            131 => Some(130),
            139 => Some(140),
            140 => Some(139),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    } else {
        match icmp_type {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    };
    (u16::from(icmp_type), u16::from(counterpart.unwrap_or(code)))
}

/// Whether Zeek treats this type as the reply half of a pair (so the sender
/// is the responder).
pub fn is_reply(v6: bool, icmp_type: u8) -> bool {
    if v6 {
        matches!(icmp_type, 129 | 134 | 136 | 131 | 140 | 145)
    } else {
        matches!(icmp_type, 0 | 14 | 16 | 9 | 18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_pairs_and_one_way() {
        assert_eq!(conn_ports(false, 8, 0), (8, 0));
        assert_eq!(conn_ports(false, 0, 0), (0, 8));
        assert_eq!(conn_ports(false, 3, 1), (3, 1));
        assert_eq!(conn_ports(true, 135, 0), (135, 136));
    }
}
