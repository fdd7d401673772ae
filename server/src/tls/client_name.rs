//! A certificate's subject as Java's `X500Principal.getName()` writes it (RFC 2253): the most specific
//! name first, `CN`, `C`, `L`, `ST`, `O`, `OU`, `STREET`, `DC` and `UID` by keyword with their string
//! values escaped, other attributes as `oid=#hex` of their DER value. Apache's x509 authentication uses
//! this text as the identity (`x509:CN=client,O=example`).

use x509_parser::der_parser::asn1_rs::ToDer;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The attributes Java names by keyword in RFC 2253 output.
const KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// Characters escaped with a backslash wherever they appear in a value.
const ESCAPED: &str = ",=+<>#;\"\\";

/// The subject of the DER certificate `der`, or `None` if it does not parse.
pub fn subject_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| {
                    let oid = ava.attr_type().to_id_string();
                    let keyword = KEYWORDS.iter().find(|(o, _)| *o == oid).map(|(_, k)| *k);
                    match (keyword, ava.as_str()) {
                        (Some(keyword), Ok(text)) => format!("{keyword}={}", escape(text)),
                        _ => {
                            let der = ava.attr_value().to_der_vec().unwrap_or_default();
                            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                            format!("{}=#{hex}", keyword.map(str::to_string).unwrap_or(oid))
                        }
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        if ESCAPED.contains(c) || (c == ' ' && (i == 0 || i == last)) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `name` reads as a distinguished name (Apache's x509 `isValid`: `new X500Principal(name)`
/// does not throw): attribute-value pairs separated by unescaped `,`, `;` or `+`, each type a keyword
/// or a dotted OID.
pub fn x500_name_is_valid(name: &str) -> bool {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in name.chars() {
        match (escaped, c) {
            (true, _) => {
                current.push(c);
                escaped = false;
            }
            (false, '\\') => {
                current.push(c);
                escaped = true;
            }
            (false, ',' | ';' | '+') => parts.push(std::mem::take(&mut current)),
            (false, _) => current.push(c),
        }
    }
    parts.push(current);
    !name.trim().is_empty()
        && parts.iter().all(|part| match part.split_once('=') {
            Some((kind, _)) => {
                let kind = kind.trim();
                !kind.is_empty()
                    && (kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        || kind.split('.').all(|n| n.parse::<u64>().is_ok()))
            }
            None => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_order_and_escapes() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "DE");
        dn.push(rcgen::DnType::OrganizationName, "Acme, Inc.");
        dn.push(rcgen::DnType::CommonName, "client");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_name(cert.der()).unwrap(),
            "CN=client,O=Acme\\, Inc.,C=DE"
        );
    }

    #[test]
    fn validity_of_names() {
        assert!(x500_name_is_valid("CN=client"));
        assert!(x500_name_is_valid("CN=a\\,b,O=x+OU=y"));
        assert!(x500_name_is_valid("1.2.840.113549.1.9.1=#160161"));
        assert!(!x500_name_is_valid("client"));
        assert!(!x500_name_is_valid(""));
        assert!(!x500_name_is_valid("CN=a,b"));
    }
}
