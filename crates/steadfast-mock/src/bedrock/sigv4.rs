//! AWS Signature Version 4, checked as AWS checks it: the simulated
//! provider knows the secret key, recomputes the signature of the request it
//! received and compares. Written from AWS's published algorithm ("Create a
//! signed AWS API request", IAM user guide) and kept independent of the
//! `aws-sigv4` crate the gateway signs with, so the two cannot share a
//! misreading; boto3's own signed calls pass it
//! (`tests/it/python/bedrock_official.py`), which is what shows the check
//! itself is right.
//!
//! The canonical request: method, the path with each segment URI-encoded
//! again (services other than S3 sign the encoded path), the sorted query,
//! the signed headers (lowercase names, trimmed values), their names, and
//! the payload's SHA-256 (or `x-amz-content-sha256`). The signing key is
//! HMAC-SHA256 chained over the date, region, service and `aws4_request`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Method, Uri, header};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How far a request's `x-amz-date` may be from the provider's clock.
const SKEW: Duration = Duration::from_secs(15 * 60);

/// Why a signature is refused: the service's exception and message.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    /// `x-amzn-ErrorType`.
    pub(super) error_type: &'static str,
    /// The message.
    pub(super) message: String,
}

impl Refusal {
    fn new(error_type: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            error_type,
            message: message.into(),
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
struct Authorization<'a> {
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        if let Some(value) = part.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(value);
        } else if let Some(value) = part.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let (_key_id, scope) = credential?.split_once('/')?;
    Some(Authorization {
        scope,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

/// Checks the request's signature for `service` with `secret`.
pub(super) fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    service: &str,
    secret: &str,
) -> Result<(), Refusal> {
    let Some(authorization) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Refusal::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let Some(auth) = parse_authorization(authorization) else {
        return Err(Refusal::new(
            "IncompleteSignatureException",
            format!(
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={authorization}"
            ),
        ));
    };
    let amz_date = header_value(headers, "x-amz-date");
    let scope: Vec<&str> = auth.scope.split('/').collect();
    let [date, region, scoped_service, "aws4_request"] = scope[..] else {
        return Err(Refusal::new(
            "IncompleteSignatureException",
            format!(
                "Credential should be scoped to a valid region, service and terminator. Credential scope={}",
                auth.scope
            ),
        ));
    };
    if scoped_service != service {
        return Err(Refusal::new(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{service}'."),
        ));
    }
    if !amz_date.starts_with(date) {
        return Err(Refusal::new(
            "InvalidSignatureException",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}'",
                amz_date.get(..8).unwrap_or_default()
            ),
        ));
    }
    let Some(signed_at) = parse_amz_date(amz_date) else {
        return Err(Refusal::new(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let now = SystemTime::now();
    let skew = now
        .duration_since(signed_at)
        .unwrap_or_else(|early| early.duration());
    if skew > SKEW {
        return Err(Refusal::new(
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz_date} is now earlier or later than the server's time (15 min.)"
            ),
        ));
    }
    let payload_hash = match header_value(headers, "x-amz-content-sha256") {
        "" => hex::encode(Sha256::digest(body)),
        given => given.to_owned(),
    };
    let canonical = canonical_request(method, uri, headers, auth.signed_headers, &payload_hash);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected != auth.signature {
        return Err(Refusal::new(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The canonical request AWS signs.
fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let path = uri
        .path()
        .split('/')
        .map(encode)
        .collect::<Vec<_>>()
        .join("/");
    let mut query: Vec<String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            format!("{}={}", encode(&decode(name)), encode(&decode(value)))
        })
        .collect();
    query.sort();
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| {
            let value = if name == "host" {
                headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .or_else(|| uri.authority().map(|a| a.as_str()))
                    .unwrap_or_default()
                    .to_owned()
            } else {
                headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!("{name}:{value}\n")
        })
        .collect();
    format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        query.join("&")
    )
}

/// URI-encodes every byte but the unreserved ones (`A-Z a-z 0-9 - _ . ~`).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Undoes percent-encoding (a query's names and values are encoded anew).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `20261207T175800Z`.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    if text.len() != 16 || !text.is_ascii() || &text[8..9] != "T" || &text[15..] != "Z" {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example (the IAM user guide's `GET
    /// https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08`,
    /// secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`), its signature
    /// as the guide gives it, checked with the date's skew set aside.
    #[test]
    fn the_published_example_signature_is_recomputed() {
        let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let canonical = canonical_request(
            &Method::GET,
            &uri,
            &headers,
            "content-type;host;x-amz-date",
            &hex::encode(Sha256::digest(b"")),
        );
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20150830");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        assert_eq!(
            hex::encode(hmac(&key, string_to_sign.as_bytes())),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn dates_are_read_as_utc() {
        let at = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_440_938_160
        );
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
    }

    #[test]
    fn paths_are_encoded_again_segment_by_segment() {
        let uri: Uri = "/model/anthropic.claude-v2%3A1/converse".parse().unwrap();
        let canonical = canonical_request(&Method::POST, &uri, &HeaderMap::new(), "", "h");
        assert!(
            canonical.starts_with("POST\n/model/anthropic.claude-v2%253A1/converse\n"),
            "{canonical}"
        );
    }
}
