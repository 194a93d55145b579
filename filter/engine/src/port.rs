//! The destination port a request is for (SPEC §2.2 `port`): Envoy's
//! `destination.port`, else the port in `:authority`. The filter, `explain`
//! and the test runner all take it from here.

/// The port of an authority (`host:port`, `[v6]:port`), if it names one.
pub fn authority_port(authority: &str) -> Option<u32> {
    let (host, port) = authority.rsplit_once(':')?;
    if host.starts_with('[') && !host.ends_with(']') {
        return None; // a bare IPv6 address, no port
    }
    port.parse().ok()
}

/// The request's destination port: `destination_port` when the proxy knows
/// it, else the port in `authority`.
pub fn request_port(destination_port: Option<u32>, authority: Option<&str>) -> Option<u32> {
    destination_port.or_else(|| authority_port(authority?))
}

/// [`request_port`] from what the filter reads: the `destination.port`
/// property's bytes and the request headers.
pub fn of_request(property: Option<&[u8]>, headers: &[(String, String)]) -> Option<u32> {
    let authority = headers.iter().find(|(n, _)| n == ":authority");
    request_port(
        property.and_then(decode_port_property),
        authority.map(|(_, v)| v.as_str()),
    )
}

/// Envoy's `destination.port` property as `get_property` returns it (an
/// int64, little-endian); `None` for anything else.
pub fn decode_port_property(bytes: &[u8]) -> Option<u32> {
    let raw = <[u8; 8]>::try_from(bytes).ok()?;
    u32::try_from(i64::from_le_bytes(raw)).ok()
}

#[cfg(test)]
mod tests {
    use super::{authority_port, decode_port_property, of_request, request_port};

    #[test]
    fn ports_from_authorities() {
        assert_eq!(authority_port("reviews:9080"), Some(9080));
        assert_eq!(authority_port("reviews"), None);
        assert_eq!(authority_port("[::1]:8443"), Some(8443));
        assert_eq!(authority_port("[::1]"), None);
        assert_eq!(authority_port("host:notaport"), None);
    }

    #[test]
    fn the_destination_port_wins_over_the_authority() {
        assert_eq!(request_port(Some(8080), Some("reviews:9080")), Some(8080));
        assert_eq!(request_port(None, Some("reviews:9080")), Some(9080));
        assert_eq!(request_port(None, Some("reviews")), None);
        assert_eq!(request_port(None, None), None);
    }

    #[test]
    fn the_port_property_is_an_int64() {
        assert_eq!(decode_port_property(&9080_i64.to_le_bytes()), Some(9080));
        assert_eq!(decode_port_property(&(-1_i64).to_le_bytes()), None);
        assert_eq!(decode_port_property(b"9080"), None);
        let headers = [(":authority".to_owned(), "reviews:9080".to_owned())];
        assert_eq!(
            of_request(Some(&8080_i64.to_le_bytes()), &headers),
            Some(8080)
        );
        assert_eq!(of_request(Some(b"junk"), &headers), Some(9080));
        assert_eq!(of_request(None, &[]), None);
    }
}
