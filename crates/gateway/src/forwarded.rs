//! The client's address when the gateway sits behind reverse proxies (a load balancer, nginx):
//! the sign-in throttle counts failures per address, and behind a proxy every request would
//! otherwise come from the proxy, so one guesser would lock out a whole office.
//!
//! `X-Forwarded-For` is believed only from the proxies the operator names
//! (`LMS_TRUSTED_PROXIES`): a client that writes the header itself cannot pick the address it is
//! counted under. Each trusted proxy appends the address it received from, so the list is read
//! from the right, skipping trusted hops; the first address that is not a trusted proxy is the
//! client.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// `LMS_TRUSTED_PROXIES` item: a network (`10.0.0.0/8`, `fd00::/8`) or one address.
///
/// # Errors
/// A message naming the value, when it is neither.
pub fn parse_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not an IP address or network (like 10.0.0.0/8)"))
}

/// The address to count the request under: `peer` itself unless `peer` is a trusted proxy;
/// then the nearest address in `X-Forwarded-For` that is not one. An entry that is not an
/// address stops the walk at the hop that wrote it (the last trusted one).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // Several header lines form one list, in order (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(&client) {
            return client;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", l.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| parse_proxy(s).unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_writes() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.7"]);
        // The client forged the first entry; the two proxies appended the real hops.
        let h = headers(&["1.1.1.1, 203.0.113.9", "192.0.2.7"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
        // Ports and IPv4-mapped IPv6 addresses are read as plain addresses.
        let h = headers(&["203.0.113.9:51234"]);
        assert_eq!(
            client_ip(ip("::ffff:10.1.2.3"), &h, &trusted),
            ip("203.0.113.9")
        );
        let h = headers(&["[2001:db8::5]:443"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("2001:db8::5"));
    }

    #[test]
    fn without_a_usable_header_the_last_trusted_hop_counts() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        let h = headers(&["unknown, 10.9.9.9"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("10.9.9.9"));
        // Every hop trusted: the leftmost is as far as the chain can be followed.
        let h = headers(&["10.4.4.4, 10.9.9.9"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("10.4.4.4"));
    }

    #[test]
    fn proxies_are_networks_or_single_addresses() {
        assert_eq!(
            parse_proxy(" 10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_proxy("127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_proxy("::1").unwrap().to_string(), "::1/128");
        let err = parse_proxy("10.0.0.0/33").unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(parse_proxy("proxy.local").is_err());
    }
}
