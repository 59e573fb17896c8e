//! Outbound request safety (SSRF guard) for integration webhooks.
//!
//! A webhook URL chosen by an account administrator must not make the server talk to itself
//! or to its private network. Refused destinations ([`is_forbidden`]): unspecified, loopback,
//! private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud
//! metadata address 169.254.169.254, fe80::/10), CGNAT (100.64/10), broadcast, multicast,
//! and the documentation and benchmarking ranges; IPv4-mapped IPv6 addresses are judged as
//! the IPv4 address they carry.
//!
//! The check runs at save time and again at connect time: [`resolve_checked`] resolves the
//! host once per delivery, refuses the delivery when any address is forbidden, and returns
//! the address the request must connect to (the delivery pins it with reqwest's
//! `ClientBuilder::resolve`), so a DNS answer that changes between the check and the
//! connection (DNS rebinding) cannot redirect the request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a target was refused or could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The URL has no host, or its scheme is not http(s).
    #[error("the URL has no host")]
    NoHost,
    /// The host did not resolve (the text is the resolver's error).
    #[error("the host {host} does not resolve: {error}")]
    Unresolvable {
        /// The URL's host.
        host: String,
        /// The resolver's message.
        error: String,
    },
    /// The host resolves to a loopback, private, link-local or otherwise internal address.
    #[error("the host {host} resolves to a private or local address ({ip})")]
    Forbidden {
        /// The URL's host.
        host: String,
        /// The first forbidden address found.
        ip: IpAddr,
    },
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, including the metadata address 169.254.169.254
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || a >= 240 // reserved 240/4
}

fn v6_forbidden(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_forbidden(v4);
    }
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation 2001:db8::/32
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 64:ff9b::/96 (may reach v4 internals)
}

/// True for an address a webhook must never reach (see the module documentation).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => v6_forbidden(v6),
    }
}

/// The host and port (default 443 for https, 80 for http) of a parsed URL.
pub fn host_and_port(url: &url::Url) -> Result<(String, u16), TargetError> {
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(TargetError::NoHost),
    };
    let port = url.port_or_known_default().ok_or(TargetError::NoHost)?;
    Ok((host, port))
}

/// Resolves the URL's host (`tokio::net::lookup_host`) and returns the address to connect
/// to: the first one resolved. With `allow_private` false, every resolved address must be
/// public, otherwise [`TargetError::Forbidden`]. Errors: [`TargetError::NoHost`],
/// [`TargetError::Unresolvable`] (including no address at all).
pub async fn resolve_checked(
    url: &url::Url,
    allow_private: bool,
) -> Result<SocketAddr, TargetError> {
    let (host, port) = host_and_port(url)?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| TargetError::Unresolvable {
                host: host.clone(),
                error: e.to_string(),
            })?
            .collect(),
    };
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
            return Err(TargetError::Forbidden { host, ip: bad.ip() });
        }
    }
    addrs
        .first()
        .copied()
        .ok_or_else(|| TargetError::Unresolvable {
            host,
            error: "no address".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        for bad in [
            "127.0.0.1",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_forbidden(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn localhost_is_refused_unless_allowed() {
        let url = url::Url::parse("https://localhost/hook").unwrap();
        assert!(matches!(
            resolve_checked(&url, false).await,
            Err(TargetError::Forbidden { .. })
        ));
        let addr = resolve_checked(&url, true).await.unwrap();
        assert!(addr.ip().is_loopback());
        assert_eq!(addr.port(), 443);
    }
}
