//! The shape of app passwords: 24 characters of RFC 4648 base32 (120
//! random bits), shown in six groups of four (`abcd-efgh-ijkl-mnop-qrst-uvwx`)
//! so they can be typed on a phone. Case, dashes and spaces do not matter.

use rand::Rng;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const LENGTH: usize = 24;

/// A fresh app password, grouped for reading.
pub fn generate() -> String {
    let mut rng = rand::thread_rng();
    let chars: Vec<char> = (0..LENGTH)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The password as an app password (lower case, no separators), if it
/// has that shape.
pub fn normalized(password: &str) -> Option<String> {
    let kept: String = password
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (kept.len() == LENGTH && kept.bytes().all(|b| ALPHABET.contains(&b))).then_some(kept)
}

/// What the database keeps of an app password.
pub fn digest(normalized: &str) -> String {
    crate::token::token_hash(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_the_shape_and_differ() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 29);
        assert_eq!(a.matches('-').count(), 5);
        let plain = normalized(&a).unwrap();
        assert_eq!(plain.len(), 24);
        assert_eq!(normalized(&a.to_uppercase().replace('-', " ")), Some(plain));
        assert_eq!(normalized("correct horse battery staple"), None);
        assert_eq!(
            normalized("abcd-efgh-ijkl-mnop-qrst-uvw1"),
            None,
            "1 is not base32"
        );
    }
}
