//! Text that came from a provider, made safe to show a client or write to a
//! log: shortened, and with whatever could identify or unlock an account
//! masked as `***`: keys and tokens (`sk-…`, AWS and Google keys, JWTs,
//! bearer tokens, `key=…` pairs, long runs of key-like characters),
//! organisation, project and user ids (`org-…`, `proj_…`, UUIDs), and
//! addresses (e-mail, URLs, IP addresses, host names).

/// The longest upstream message kept, in characters.
const MAX_CHARS: usize = 300;

/// The most of an upstream's message held before it is cleaned, in bytes:
/// far more than is ever shown, so that whatever is masked by exact value
/// (a configured key) is masked whole before the text is cut.
pub const MAX_RAW_BYTES: usize = 4096;

/// What a masked part becomes.
const MASK: &str = "***";

/// An upstream's message as it came, at most [`MAX_RAW_BYTES`] (cut on a
/// character boundary), to be cleaned where the configured secrets are
/// known, then [`sanitise`]d.
pub fn bounded(message: &str) -> String {
    let mut end = message.len().min(MAX_RAW_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_owned()
}

/// Shortens an upstream message and masks anything secret or identifying.
pub fn sanitise(message: &str) -> String {
    let mut words = Vec::new();
    // The word before named a credential: `Bearer x`, `"api_key": "x"`, `password: x`.
    let mut names_secret = false;
    for word in message.split_whitespace() {
        let core = core(word);
        let masked = if core.is_empty() {
            word.to_owned()
        } else if names_secret || looks_secret(core) || looks_identifying(core) {
            word.replacen(core, MASK, 1)
        } else if let Some(value) = key_value_secret(core) {
            word.replacen(value, MASK, 1)
        } else if let Some(masked) = mask_parts(word) {
            masked
        } else {
            word.to_owned()
        };
        names_secret = core.eq_ignore_ascii_case("bearer") || secret_name_alone(word);
        words.push(masked);
    }
    let mut out = words.join(" ");
    if out.chars().count() > MAX_CHARS {
        out = out.chars().take(MAX_CHARS).collect::<String>() + "…";
    }
    out
}

/// A word judged part by part, where structured text joins a name to a
/// value, a scheme to a host or a host to a path (`=`, `:`, `/`, brackets,
/// `,` and `;`): `host=gpu-7.internal`, `client_ip:10.9.8.7`,
/// `tenant=org-…`, `//intranet.example.com/trace`. `None` when no part needs
/// masking.
fn mask_parts(word: &str) -> Option<String> {
    const SEPARATORS: [char; 7] = ['=', ':', '/', '(', ')', ',', ';'];
    let mut out = String::with_capacity(word.len());
    let mut masked = false;
    for piece in word.split_inclusive(SEPARATORS) {
        let (part, separator) = match piece.char_indices().last() {
            Some((at, c)) if SEPARATORS.contains(&c) => piece.split_at(at),
            _ => (piece, ""),
        };
        let core = core(part);
        if !core.is_empty() && (looks_secret(core) || looks_identifying(core)) {
            out.push_str(&part.replacen(core, MASK, 1));
            masked = true;
        } else {
            out.push_str(part);
        }
        out.push_str(separator);
    }
    masked.then_some(out)
}

/// A word without the punctuation around it.
fn core(word: &str) -> &str {
    word.trim_matches(|c: char| {
        matches!(
            c,
            '"' | '\''
                | '`'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '<'
                | '>'
                | ','
                | ';'
                | '!'
                | '?'
        )
    })
    .trim_end_matches(['.', ':'])
}

/// Keys and tokens: prefixes providers and clouds give their credentials,
/// JWTs, long runs of key-like characters, and shorter runs that look random
/// (letters of both cases and digits, as base64 and hex keys do; a model id
/// such as `claude-sonnet-4-20250514` has no capitals and a hyphen).
fn looks_secret(word: &str) -> bool {
    const PREFIXES: [&str; 12] = [
        "sk-", "sk_", "pk_", "rk_", "AKIA", "ASIA", "AIza", "ya29.", "ghp_", "xoxb-", "xoxp-",
        "hf_",
    ];
    let keyish = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    let random = word.len() >= 20
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '='))
        && word.chars().any(|c| c.is_ascii_digit())
        && word.chars().any(|c| c.is_ascii_uppercase())
        && word.chars().any(|c| c.is_ascii_lowercase());
    (PREFIXES.iter().any(|prefix| word.starts_with(prefix)) && word.len() > 8)
        || (word.starts_with("eyJ") && word.matches('.').count() >= 2)
        || (word.len() >= 32 && word.chars().all(keyish))
        || random
}

/// Whether `word` is a credential's name waiting for its value: `password:`,
/// `"api_key":`, `token=`.
fn secret_name_alone(word: &str) -> bool {
    let Some(name) = word.strip_suffix(':').or_else(|| word.strip_suffix('=')) else {
        return false;
    };
    is_secret_name(name.trim_matches(['"', '\'']))
}

/// Whether `name` names a credential.
fn is_secret_name(name: &str) -> bool {
    const NAMES: [&str; 9] = [
        "key",
        "api_key",
        "apikey",
        "api-key",
        "token",
        "secret",
        "password",
        "signature",
        "sig",
    ];
    let name = name.to_ascii_lowercase();
    NAMES
        .iter()
        .any(|n| name == *n || name.ends_with(&format!("_{n}")) || name.ends_with(&format!("-{n}")))
}

/// Account ids and addresses (a host or an address with a path after it
/// too, such as `internal.example.com/debug` or `10.1.2.3/24`).
fn looks_identifying(word: &str) -> bool {
    const ID_PREFIXES: [&str; 6] = ["org-", "org_", "proj_", "proj-", "user-", "acct_"];
    let before_path = word.split('/').next().unwrap_or_default();
    ID_PREFIXES
        .iter()
        .any(|prefix| word.len() > prefix.len() + 3 && word.starts_with(prefix))
        || is_uuid(word)
        || is_email(word)
        || word.contains("://")
        || is_ip(before_path)
        || is_host(before_path)
}

/// The value of a `key=value` or `key:value` pair whose key names a secret
/// (the key may end a query string: `…?token=abc`).
fn key_value_secret(word: &str) -> Option<&str> {
    let (name, value) = word.split_once('=').or_else(|| word.split_once(':'))?;
    let name = name.rsplit(['?', '&', ';']).next().unwrap_or(name);
    let value = value.trim_matches(['"', '\'']);
    (is_secret_name(name.trim_matches(['"', '\''])) && !value.is_empty()).then_some(value)
}

fn is_uuid(word: &str) -> bool {
    let groups: Vec<&str> = word.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_email(word: &str) -> bool {
    word.split_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
}

/// An IPv4 address (with a port or not), or an IPv6 one.
fn is_ip(word: &str) -> bool {
    let v4 = word.split(':').next().unwrap_or_default();
    let octets: Vec<&str> = v4.split('.').collect();
    let is_v4 = octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.chars().all(|c| c.is_ascii_digit()));
    let bare = word
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or_default();
    // `::` or the seven colons of a full address: a clock time has two.
    let is_v6 = (bare.contains("::") || bare.matches(':').count() >= 7)
        && bare
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        && bare.chars().any(|c| c.is_ascii_hexdigit());
    is_v4 || is_v6
}

/// A host name: labels joined by dots, at least two, the last a top-level
/// domain or a private one (`api.internal.example.com`, `gpu-7.svc.cluster.local`),
/// with or without a port; not a dotted field path (`tools.function.parameters`).
fn is_host(word: &str) -> bool {
    const DOMAINS: [&str; 24] = [
        "com",
        "net",
        "org",
        "io",
        "ai",
        "dev",
        "app",
        "cloud",
        "co",
        "us",
        "uk",
        "de",
        "fr",
        "eu",
        "jp",
        "cn",
        "in",
        "internal",
        "local",
        "lan",
        "corp",
        "intra",
        "localhost",
        "svc",
    ];
    let host = word.split(':').next().unwrap_or_default();
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| DOMAINS.contains(&tld.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_and_long_text_is_cut() {
        assert_eq!(
            sanitise("bad key sk-test-abcdefgh given"),
            "bad key *** given"
        );
        assert_eq!(
            sanitise("token 0123456789abcdef0123456789abcdef here"),
            "token *** here"
        );
        let long = "word ".repeat(100);
        let cut = sanitise(&long);
        assert_eq!(cut.chars().count(), MAX_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn credentials_ids_and_addresses_are_masked_and_the_sense_kept() {
        let hostile = "Invalid 'temperature' for org-AbCd1234 in project proj_XyZ9876 (user-q1w2e3r4): \
            key=hunter2hunter2, see https://internal.example.com/debug?token=abc or write to \
            ops@example.com; upstream 10.1.2.3:8443 [fe80::1] gpu-7.pool.example.net trace \
            2f1c6a2e-8c1b-4a4e-9c7d-1f2e3d4c5b6a: Bearer abc.def AKIAIOSFODNN7EXAMPLE \
            AIzaSyD-abcdefghijklmnopqrstuvwxyz12345 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        let clean = sanitise(hostile);
        for leak in [
            "org-AbCd1234",
            "proj_XyZ9876",
            "user-q1w2e3r4",
            "hunter2",
            "internal.example.com",
            "ops@example.com",
            "10.1.2.3",
            "fe80::1",
            "gpu-7.pool",
            "2f1c6a2e",
            "abc.def",
            "AKIA",
            "AIza",
            "eyJ",
        ] {
            assert!(!clean.contains(leak), "{leak} in {clean}");
        }
        assert!(
            clean.starts_with("Invalid 'temperature' for *** in project ***"),
            "{clean}"
        );
        assert!(clean.contains("key=***"), "{clean}");
    }

    #[test]
    fn structured_forms_are_judged_part_by_part() {
        let hostile = "failed: host=gpu-7.internal client_ip:10.9.8.7 tenant=org-Abc12345 \
            jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln see //intranet.example.com/trace \
            (peer=10.0.0.12,region=us-east-1) at 12:30:45 in messages.0.content";
        let clean = sanitise(hostile);
        for leak in [
            "gpu-7",
            "10.9.8.7",
            "org-Abc12345",
            "eyJ",
            "intranet",
            "10.0.0.12",
        ] {
            assert!(!clean.contains(leak), "{leak} in {clean}");
        }
        for kept in [
            "host=***",
            "client_ip:***",
            "tenant=***",
            "jwt=***",
            "//***/trace",
            "region=us-east-1)",
            "12:30:45",
            "messages.0.content",
        ] {
            assert!(clean.contains(kept), "{kept} lost from {clean}");
        }
    }

    #[test]
    fn ordinary_words_numbers_and_versions_are_kept() {
        let plain = "max_tokens must be at most 4096 (got 10000.5), e.g. 3.5.1 or gpt-4o-mini: see messages[0].content.";
        assert_eq!(sanitise(plain), plain);
        for kept in [
            "model claude-3-5-sonnet-20241022 is overloaded",
            "model claude-sonnet-4-20250514 or meta-llama/Llama-3.1-70B-Instruct",
            "messages.1.content.0.tool_use.id: tools.function.parameters is invalid",
            "retry at 12:30:45 UTC",
            "Basic authentication is not supported",
        ] {
            assert_eq!(sanitise(kept), kept);
        }
    }

    #[test]
    fn credentials_after_their_name_and_hosts_with_paths_are_masked() {
        let hostile = "\"api_key\": \"abc123\", password: hunter2 see \
            internal.example.com/debug?token=abc from 10.1.2.3/24 via gpu-7.svc.cluster.local";
        let clean = sanitise(hostile);
        for leak in [
            "abc123",
            "hunter2",
            "internal.example",
            "token=abc",
            "10.1.2.3",
            "gpu-7",
        ] {
            assert!(!clean.contains(leak), "{leak} in {clean}");
        }
        assert!(clean.contains("\"api_key\": \"***\""), "{clean}");
    }
}
