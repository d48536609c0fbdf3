//! Verification codes: 10 random characters from a 31-character alphabet without the easily
//! confused 0, O, 1, I and L (about 49 bits), stored without separators and shown grouped as
//! `KX7P-9QMR-2D`. Input is normalised: case, spaces, dashes and dots do not matter.

use rand::Rng;

/// The characters a code is made of.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Characters in a code.
pub const LEN: usize = 10;

/// A new random code, without separators.
pub fn generate() -> String {
    let mut rng = rand::thread_rng();
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// The code as shown: `KX7P-9QMR-2D`.
pub fn display(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 2);
    for (i, c) in code.chars().enumerate() {
        if i == 4 || i == 8 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// The stored form of what someone typed or scanned, or `None` when it cannot be a code.
pub fn normalise(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '_' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A NIP with its middle hidden, for the public verification: `1985********0001` keeps the
/// first four and last four digits.
pub fn mask_nip(nip: &str) -> String {
    let chars: Vec<char> = nip.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 4 || i >= chars.len() - 4 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_ambiguous_characters() {
        assert_eq!(ALPHABET.len(), 31);
        for c in b"01OIL" {
            assert!(!ALPHABET.contains(c));
        }
    }

    #[test]
    fn codes_are_ten_alphabet_characters_and_normalise_to_themselves() {
        for _ in 0..100 {
            let c = generate();
            assert_eq!(c.len(), LEN);
            assert_eq!(normalise(&c).as_deref(), Some(c.as_str()));
            assert_eq!(normalise(&display(&c)).as_deref(), Some(c.as_str()));
        }
    }

    #[test]
    fn input_is_normalised_and_garbage_is_refused() {
        assert_eq!(display("KX7P9QMR2D"), "KX7P-9QMR-2D");
        assert_eq!(normalise(" kx7p-9qmr 2d ").as_deref(), Some("KX7P9QMR2D"));
        assert_eq!(normalise("KX7P-9QMR-2"), None);
        assert_eq!(normalise("KX7P-9QMR-20"), None);
        assert_eq!(normalise("KX7P-9QMR-2DD"), None);
    }

    #[test]
    fn a_nip_is_masked_in_the_middle() {
        assert_eq!(mask_nip("198501012010011001"), "1985**********1001");
        assert_eq!(mask_nip("12345678"), "********");
    }
}
