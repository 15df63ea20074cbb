//! The shared session store's URL, from `REDIS_URL` (or `KV_URL`), and the
//! certificate authorities of `REDIS_CA_PEM`: checked when the
//! configuration is read, so that a URL the Redis client would refuse, or
//! read otherwise than meant (`#insecure`, `?db=2`), is a configuration
//! error naming its variable rather than a store silently left out. It
//! carries the store's password, so it never prints.

use url::Url;

use crate::origin::is_loopback;

/// A store URL: `redis://` or `rediss://` (TLS). It carries the store's
/// password, so it never prints. A `rediss://` store's certificate must
/// chain to Mozilla's roots, or to the authorities of `REDIS_CA_PEM` when
/// it is set (a store whose provider signs its own, as Redis Cloud does).
#[derive(Clone)]
pub struct StoreUrl {
    url: String,
    /// `REDIS_CA_PEM`: the PEM certificates of the authorities trusted
    /// instead of Mozilla's roots.
    authorities: Option<String>,
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreUrl([redacted])")
    }
}

impl StoreUrl {
    /// Checks the scheme, and that there is no `#fragment`: the Redis
    /// client reads `#insecure` as "check no certificate" (refused by the
    /// client unless a feature someone else's dependency may turn on is
    /// on). The rest is the Redis client's to parse.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        if value.contains('#') {
            return Err(
                "must not have a #fragment (#insecure would turn TLS certificate checks off)"
                    .into(),
            );
        }
        let scheme = value.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("redis" | "rediss")) || value.len() > 2048 {
            return Err("must be a redis:// or rediss:// URL".into());
        }
        // A parameter the Redis client does not read (it reads only
        // `protocol`) would be ignored, unsaid: `?db=2` (another client's
        // form; the database is the path, `/2`) would use database 0, maybe
        // another app's. Refused, not named: a password holding a bare `?`
        // ends the authority there, and its rest reads as the query.
        let url = Url::parse(value).map_err(|_| "is not a valid URL".to_owned())?;
        if url.query_pairs().any(|(name, _)| name != "protocol") {
            return Err("has a query parameter other than protocol, which the Redis client ignores: the database is the URL's path (/2), and TLS is rediss://".into());
        }
        // What the Redis client would refuse at the first connection (a
        // path that is not a database number, a wildcard address) is a
        // configuration error now, not a store silently left out. Its error
        // may quote the URL: only its kind.
        #[cfg(feature = "redis")]
        if let Err(e) = redis::Client::open(value) {
            return Err(format!(
                "is not a URL the Redis client can use ({:?})",
                e.kind()
            ));
        }
        Ok(Self {
            url: value.to_owned(),
            authorities: None,
        })
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM
    /// `CERTIFICATE` blocks; `\n` escapes, as a one-line environment
    /// value holds them, are read as line breaks) instead of Mozilla's
    /// roots. Only for a `rediss://` store: on a plain one it would
    /// promise a protection the connection does not have.
    pub(crate) fn trusting(mut self, pem: &str) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        if !self.is_tls() {
            return Err("applies to a rediss:// (TLS) store, and the store URL is redis://".into());
        }
        let pem = if pem.contains('\n') {
            pem.to_owned()
        } else {
            pem.replace("\\n", "\n")
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|_| "holds a malformed PEM block")?;
            roots
                .add(cert)
                .map_err(|_| "holds a CERTIFICATE block that is not a certificate")?;
        }
        if roots.is_empty() {
            return Err(
                "must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)".into(),
            );
        }
        self.authorities = Some(pem);
        Ok(self)
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.url.starts_with("rediss://")
    }

    /// The authorities of `REDIS_CA_PEM`, as PEM, when set.
    #[cfg(feature = "redis")]
    pub(crate) fn authorities(&self) -> Option<&str> {
        self.authorities.as_deref()
    }

    /// Whether the store's password and traffic would cross a network in
    /// clear: a plain `redis://` URL whose host is not loopback.
    pub(crate) fn is_cleartext_remote(&self) -> bool {
        !self.is_tls() && !Url::parse(&self.url).is_ok_and(|url| is_loopback(&url))
    }

    /// The URL itself, password and all: for the store client only.
    #[cfg(feature = "redis")]
    pub(crate) fn secret(&self) -> &str {
        &self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{AUTH_SECRET, load};

    #[test]
    fn a_plain_store_url_to_another_host_is_cleartext() {
        for (url, cleartext) in [
            ("redis://default:pw@redis-1.cloud.example:12345", true),
            ("redis://10.0.0.1:6379", true),
            ("redis://localhost.evil.example:6379", true),
            ("rediss://default:pw@redis-1.cloud.example:12345", false),
            ("redis://127.0.0.1:6379", false),
            ("redis://:pw@localhost:6379/0", false),
            ("redis://[::1]:6379", false),
        ] {
            let store = StoreUrl::parse(url).unwrap();
            assert_eq!(store.is_cleartext_remote(), cleartext, "{url}");
        }
    }

    #[test]
    fn only_redis_urls_are_store_urls_and_they_never_print() {
        let url = StoreUrl::parse("rediss://default:s3cret@redis.example:6380").unwrap();
        assert!(url.is_tls());
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!StoreUrl::parse("redis://localhost:6379").unwrap().is_tls());
        for bad in [
            "https://redis.example",
            "localhost:6379",
            "",
            "rediss://default:pw@redis.example:6380/#insecure",
            "rediss://redis.example:6380#x",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// A store URL the Redis client would refuse at its first connection
    /// is a configuration error naming the variable it came from, and not
    /// its password; the client's own error is not quoted.
    #[cfg(feature = "redis")]
    #[test]
    fn a_store_url_the_redis_client_refuses_is_a_configuration_error() {
        for (name, url) in [
            (
                "REDIS_URL",
                "rediss://default:s3cret@kv.example:6379/notadb",
            ),
            ("KV_URL", "redis://0.0.0.0:6379"),
            (
                "REDIS_URL",
                "rediss://default:s3cret@kv.example:6379/?protocol=bogus",
            ),
        ] {
            let err = load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("AUTH_SECRET", AUTH_SECRET),
                (name, url),
            ])
            .unwrap_err();
            assert_eq!(err.variable, name, "{url}");
            assert!(err.problem.contains("Redis client"), "{err}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        assert!(StoreUrl::parse("rediss://default:s3cret@kv.example:6379/0").is_ok());
        assert!(StoreUrl::parse("rediss://default:s3cret@kv.example:6379/?protocol=resp3").is_ok());
        // A parameter the client would ignore is refused, without quoting
        // the URL (a password's bare `?` starts what reads as the query).
        for url in [
            "rediss://default:s3cret@kv.example:6379/?db=2",
            "rediss://default:s3cret@kv.example:6379/?ssl_cert_reqs=none",
            "redis://127.0.0.1:6379/0?protocol=resp3&timeout=5",
            "rediss://default:123?s3cret@kv.example:6379",
        ] {
            let err = StoreUrl::parse(url).unwrap_err();
            assert!(err.contains("other than protocol"), "{url}: {err}");
            assert!(!err.contains("s3cret") && !err.contains("db"), "{err}");
        }
    }

    /// A store URL is at most 2048 bytes, and its `Debug` says nothing of
    /// it, not even that it is TLS.
    #[test]
    fn a_store_url_is_at_most_2048_bytes_and_prints_as_redacted() {
        let of_length = |len: usize| {
            let prefix = "rediss://default:pw@redis.example:6380/";
            format!("{prefix}{}", "0".repeat(len - prefix.len()))
        };
        assert!(StoreUrl::parse(&of_length(2048)).is_ok());
        assert!(StoreUrl::parse(&of_length(2049)).is_err());
        let url = StoreUrl::parse("rediss://default:s3cret@redis.example:6380").unwrap();
        assert_eq!(format!("{url:?}"), "StoreUrl([redacted])");
        assert_eq!(format!("{:?}", Some(&url)), "Some(StoreUrl([redacted]))");
    }

    /// A certificate authority's certificate (`tests/support/store-tls/ca.pem`).
    const AUTHORITY: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBpTCCAUugAwIBAgIUXaKSygZCMry8DCJ7TIkBDePJvBswCgYIKoZIzj0EAwIw\n\
HzEdMBsGA1UEAwwUVGVzdCBzdG9yZSBhdXRob3JpdHkwIBcNMjYxMjAzMDgwNTQ0\n\
WhgPMjEyNjExMDkwODA1NDRaMB8xHTAbBgNVBAMMFFRlc3Qgc3RvcmUgYXV0aG9y\n\
aXR5MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjG5wZlbWsFZRY6vsFpDoYUkl\n\
zB7nRDmQnJFeXPqCrbJFcercyKSjvvhB2DXPkm+Koi/dUXQkx+OayDvtWwdGiqNj\n\
MGEwHQYDVR0OBBYEFKAvbJyQGisUSSEKGp+Cwx71w7E/MB8GA1UdIwQYMBaAFKAv\n\
bJyQGisUSSEKGp+Cwx71w7E/MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD\n\
AgEGMAoGCCqGSM49BAMCA0gAMEUCIQCH4j7TsaS3Ot8AToUp+JYnpOv6x942I84k\n\
kTju7LqEUAIgbpPfoIKOMNB4lmPZPNJrtyWtAg1kqwIh1G3w2+y7xh0=\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn redis_ca_pem_names_the_authorities_a_tls_store_is_trusted_by() {
        let base = [
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("KV_URL", "rediss://default:p@kv.example:6379"),
        ];
        let with = |pem: &str| {
            let mut vars = base.to_vec();
            vars.push(("REDIS_CA_PEM", pem));
            load(&vars)
        };
        // As written, and on one line with `\n` escapes.
        let one_line = AUTHORITY.replace('\n', "\\n");
        for pem in [AUTHORITY, one_line.as_str()] {
            let store = with(pem).unwrap().store_url.unwrap();
            #[cfg(feature = "redis")]
            assert_eq!(store.authorities().map(str::trim), Some(AUTHORITY.trim()));
            assert!(store.is_tls());
        }
        let twice = format!("{AUTHORITY}{AUTHORITY}");
        assert!(with(&twice).is_ok());
        // Not a certificate: refused, naming the variable.
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let broken = AUTHORITY.replace("MIIB", "MIIC");
        for bad in ["hello", key_only, &broken] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.variable, "REDIS_CA_PEM", "{bad}");
        }
        // Only for a TLS store, and only with a store.
        let plain = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("REDIS_URL", "redis://localhost:6379"),
            ("REDIS_CA_PEM", AUTHORITY),
        ]);
        assert_eq!(plain.unwrap_err().variable, "REDIS_CA_PEM");
        let alone = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("REDIS_CA_PEM", AUTHORITY),
        ]);
        assert_eq!(alone.unwrap_err().variable, "REDIS_CA_PEM");
    }
}
