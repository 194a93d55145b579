//! Status codes of the ABI (`WasmResult` in proxy-wasm-cpp-host
//! `include/proxy-wasm/wasm_api_impl.h` / the spec's `proxy_status_t`).

/// A host call's status, as the guest receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum WasmResult {
    Ok = 0,
    NotFound = 1,
    BadArgument = 2,
    SerializationFailure = 3,
    ParseFailure = 4,
    BadExpression = 5,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    ResultMismatch = 9,
    InternalFailure = 10,
    BrokenConnection = 11,
    Unimplemented = 12,
}

impl WasmResult {
    /// The value handed to the guest.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status for a numeric code, if it is one.
    pub fn from_code(code: u32) -> Option<WasmResult> {
        use WasmResult::*;
        Some(match code {
            0 => Ok,
            1 => NotFound,
            2 => BadArgument,
            3 => SerializationFailure,
            4 => ParseFailure,
            5 => BadExpression,
            6 => InvalidMemoryAccess,
            7 => Empty,
            8 => CasMismatch,
            9 => ResultMismatch,
            10 => InternalFailure,
            11 => BrokenConnection,
            12 => Unimplemented,
            _ => return None,
        })
    }
}

impl From<WasmResult> for i32 {
    fn from(r: WasmResult) -> i32 {
        r.code()
    }
}

#[cfg(test)]
mod tests {
    use super::WasmResult;

    #[test]
    fn codes_round_trip_and_match_the_abi() {
        assert_eq!(WasmResult::Ok.code(), 0);
        assert_eq!(WasmResult::NotFound.code(), 1);
        assert_eq!(WasmResult::BadArgument.code(), 2);
        assert_eq!(WasmResult::InvalidMemoryAccess.code(), 6);
        assert_eq!(WasmResult::CasMismatch.code(), 8);
        assert_eq!(WasmResult::Unimplemented.code(), 12);
        for code in 0..=12 {
            let r = WasmResult::from_code(code).unwrap();
            assert_eq!(r.code() as u32, code);
        }
        assert_eq!(WasmResult::from_code(13), None);
    }
}
