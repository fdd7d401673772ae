//! Session passwords, as Apache derives them: 16 bytes from `java.util.Random` seeded with
//! `session_id ^ secret`. Every member derives the same password for a session, so a client can move to
//! another server with its id and password.

/// Length of a session password.
pub const PASSWORD_LEN: usize = 16;

/// Apache's fixed server secret (`ZooKeeperServer.superSecret`).
const SUPER_SECRET: i64 = 0xB341_5C00;

/// `java.util.Random`'s linear congruential generator constants.
const MULTIPLIER: i64 = 0x5_DEEC_E66D;
const ADDEND: i64 = 0xB;
const MASK: i64 = (1 << 48) - 1;

/// The password of session `session_id`.
pub fn session_password(session_id: i64) -> [u8; PASSWORD_LEN] {
    let mut seed = ((session_id ^ SUPER_SECRET) ^ MULTIPLIER) & MASK;
    let mut out = [0u8; PASSWORD_LEN];
    // `Random.nextBytes`: one `nextInt()` per four bytes, least significant byte first.
    for chunk in out.chunks_mut(4) {
        seed = (seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND)) & MASK;
        let mut value = (seed >> 16) as i32;
        for byte in chunk {
            *byte = value as u8;
            value >>= 8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_random() {
        // new java.util.Random(0).nextInt() == -1155484576, then -723955400.
        let p = session_password(SUPER_SECRET);
        assert_eq!(&p[..4], &(-1155484576_i32).to_le_bytes());
        assert_eq!(&p[4..8], &(-723955400_i32).to_le_bytes());
    }

    #[test]
    fn differs_per_session() {
        assert_ne!(session_password(1), session_password(2));
        assert_eq!(session_password(7), session_password(7));
    }
}
