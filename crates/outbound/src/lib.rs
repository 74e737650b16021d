//! `adpool-outbound`: the one rule for URLs adpool calls because a tenant typed them (an
//! organization's webhook, an organization's S3 endpoint).
//!
//! A tenant must not be able to make the server call itself, its neighbours or the cloud's
//! metadata service (server-side request forgery). So a tenant-set URL is `http` or `https`, and
//! every address its host names (the literal address, or every address the name resolves to)
//! must be public: not loopback, private, link-local, shared (CGNAT), unspecified, multicast,
//! broadcast, documentation or reserved. Every spelling the URL standard accepts for an address
//! (`0x7f000001`, `127.1`, `[::ffff:127.0.0.1]`) is parsed to the address before the check.
//!
//! The check runs when the URL is saved and again when it is called, because a name can
//! resolve elsewhere later; the [`OutboundRules::client`] also resolves through the same rule,
//! so a name that changes between the check and the connection is still refused, and it never
//! follows a redirect. A self-hosted deployment names the private hosts it trusts
//! (`outbound_allowed_hosts`), e.g. a webhook receiver on the same network.
//!
//! It owns no storage and knows no tenant; callers decide which URLs are tenant-set.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Why a URL may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Not an absolute `http(s)://` URL with a host.
    #[error("'{0}' is not an http:// or https:// URL")]
    NotHttp(String),
    /// The host is, or resolves to, an address that is not on the public internet.
    #[error("'{host}' is {address}, which is not a public internet address")]
    NotPublic {
        /// The host as written.
        host: String,
        /// The address it is or resolves to.
        address: IpAddr,
    },
    /// The name does not resolve.
    #[error("'{host}' does not resolve: {message}")]
    Unresolvable {
        /// The host as written.
        host: String,
        /// The resolver's answer.
        message: String,
    },
}

/// Which hosts tenant-set URLs may reach. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundRules {
    /// Hosts (names or addresses, as written in URLs, lowercase, without brackets) allowed even
    /// though they are not public.
    allowed_private_hosts: Arc<[String]>,
}

impl OutboundRules {
    /// Rules that also allow `allowed_private_hosts` (names or addresses as they appear in URLs;
    /// IPv6 with or without brackets).
    pub fn new<I, S>(allowed_private_hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        OutboundRules {
            allowed_private_hosts: allowed_private_hosts
                .into_iter()
                .map(|h| normalise_host(h.as_ref()))
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// The hosts allowed although not public.
    pub fn allowed_private_hosts(&self) -> &[String] {
        &self.allowed_private_hosts
    }

    fn allows_private(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.allowed_private_hosts.contains(&host)
    }

    /// Checks `url` now: its scheme, and every address its host is or resolves to. Returns the
    /// parsed URL.
    pub async fn check(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = parse_http(url)?;
        let host = parsed
            .host_str()
            .ok_or_else(|| OutboundError::NotHttp(url.to_owned()))?
            .to_owned();
        if self.allows_private(&host) {
            return Ok(parsed);
        }
        match parsed.host() {
            Some(Host::Ipv4(ip)) => public_or_refuse(&host, IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => public_or_refuse(&host, IpAddr::V6(ip))?,
            Some(Host::Domain(name)) => {
                let port = parsed.port_or_known_default().unwrap_or(443);
                let addresses = resolve(name, port).await?;
                for address in addresses {
                    public_or_refuse(&host, address.ip())?;
                }
            }
            None => return Err(OutboundError::NotHttp(url.to_owned())),
        }
        Ok(parsed)
    }

    /// An HTTP client builder for tenant-set URLs: no redirects, and names resolved through
    /// these rules (a name resolving to a non-public address fails to connect). Call
    /// [`OutboundRules::check`] before each request too: a literal address is not resolved.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        install_tls_provider();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver {
                rules: self.clone(),
            })
    }
}

/// Makes rustls's ring provider the process default (once; later calls do nothing). Every
/// HTTPS client in adpool (webhooks, object storage, shop APIs) runs on it, so there is one TLS
/// implementation in the binary and no C crypto library to build.
pub fn install_tls_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Err means another provider was installed first, which serves just as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Parses an absolute `http(s)` URL with a host, without control characters or spaces.
fn parse_http(url: &str) -> Result<Url, OutboundError> {
    let refuse = || OutboundError::NotHttp(url.to_owned());
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse());
    }
    let parsed = Url::parse(url).map_err(|_| refuse())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(refuse());
    }
    Ok(parsed)
}

fn normalise_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn public_or_refuse(host: &str, address: IpAddr) -> Result<(), OutboundError> {
    if is_public(address) {
        Ok(())
    } else {
        Err(OutboundError::NotPublic {
            host: host.to_owned(),
            address,
        })
    }
}

async fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
    let unresolvable = |message: String| OutboundError::Unresolvable {
        host: name.to_owned(),
        message,
    };
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| unresolvable(e.to_string()))?
        .collect();
    if addresses.is_empty() {
        return Err(unresolvable("no addresses".into()));
    }
    Ok(addresses)
}

/// True when `address` is on the public internet.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return is_public_v4(v4);
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || segments[..6] == [0; 6] // IPv4-compatible (deprecated), ::/96
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)) // documentation
}

/// reqwest's resolver for [`OutboundRules::client_builder`]: the system resolver, keeping only
/// public addresses unless the name is allowed.
struct GuardedResolver {
    rules: OutboundRules,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolve(&name, 0).await?;
            if rules.allows_private(&name) {
                return Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs);
            }
            let public: Vec<SocketAddr> = addresses
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                let address = addresses[0].ip();
                return Err(Box::new(OutboundError::NotPublic {
                    host: name,
                    address,
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use super::*;

    fn refused(url: &str) -> bool {
        let rules = OutboundRules::default();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(rules.check(url))
            .is_err()
    }

    #[test]
    fn loopback_private_and_link_local_in_every_spelling_are_refused() {
        for url in [
            "http://127.0.0.1/hook",
            "http://127.1/hook",
            "http://0x7f000001/hook",
            "http://2130706433/hook",
            "http://0177.0.0.1/hook",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[::ffff:7f00:1]/hook",
            "http://localhost/hook",
            "http://LOCALHOST./hook",
            "http://0.0.0.0/hook",
            "http://[::]/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/hook",
            "http://[fe80::1]/hook",
            "http://[fd00::1]/hook",
            "http://[64:ff9b::7f00:1]/hook",
            "ftp://example.com/hook",
            "file:///etc/passwd",
            "http:///hook",
            "http://exa mple.com/",
            "http://example.com/\thook",
            "gopher://127.0.0.1:6379/_INFO",
        ] {
            assert!(refused(url), "{url} was accepted");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["8.8.8.8", "211.249.220.24", "2001:4860:4860::8888"] {
            let ip: IpAddr = address.parse().unwrap();
            assert!(is_public(ip), "{address}");
        }
        assert!(!refused("https://8.8.8.8/hook"));
        assert!(!refused("https://[2001:4860:4860::8888]/hook"));
    }

    #[test]
    fn a_deployment_can_allow_its_own_private_hosts() {
        let rules = OutboundRules::new(["127.0.0.1", "[::1]", "Hooks.Internal"]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(
            runtime
                .block_on(rules.check("http://127.0.0.1:9000/h"))
                .is_ok()
        );
        assert!(runtime.block_on(rules.check("http://[::1]:9000/h")).is_ok());
        assert!(rules.allows_private("hooks.internal"));
        // Another spelling of an allowed address is the same address.
        assert!(runtime.block_on(rules.check("http://127.1:9000/h")).is_ok());
        assert!(runtime.block_on(rules.check("http://10.0.0.1/h")).is_err());
    }

    #[test]
    fn the_client_refuses_a_name_that_resolves_to_loopback_and_never_follows_redirects() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            // A server that answers every request with a redirect to itself.
            tokio::spawn(async move {
                loop {
                    let Ok((mut socket, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buffer = [0u8; 2048];
                        let _ = socket.read(&mut buffer).await;
                        let _ = socket
                            .write_all(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/next\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                    });
                }
            });
            // The name resolves to loopback: the client refuses to connect.
            let client = OutboundRules::default().client_builder().build().unwrap();
            let error = client
                .post(format!("http://localhost:{port}/hook"))
                .send()
                .await
                .unwrap_err();
            assert!(format!("{error:?}").contains("NotPublic"), "{error:?}");
            // Allowed, it connects, and the redirect is answered to the caller, not followed.
            let client = OutboundRules::new(["localhost"])
                .client_builder()
                .build()
                .unwrap();
            let response = client
                .post(format!("http://localhost:{port}/hook"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 307);
        });
    }
}
