//! The per-request context of `guest-sdk`.

use crate::Paused;
use log::info;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::time::Duration;

pub struct SdkHttp {
    context_id: u32,
    requests: u32,
    paused: Paused,
}

impl SdkHttp {
    pub fn new(context_id: u32, requests: u32, paused: Paused) -> Self {
        SdkHttp {
            context_id,
            requests,
            paused,
        }
    }

    fn shared_increment(&self) -> u64 {
        // Retry on a CAS mismatch, as every shared-data user must.
        for _ in 0..8 {
            let (value, cas) = self.get_shared_data("sdk-count");
            let next = value
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            if self
                .set_shared_data("sdk-count", Some(next.to_string().as_bytes()), cas)
                .is_ok()
            {
                return next;
            }
        }
        0
    }
}

impl Context for SdkHttp {
    fn on_http_call_response(
        &mut self,
        token: u32,
        headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_default();
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        info!(
            "sdk call_response {token} {headers} {status} {}",
            String::from_utf8_lossy(&body)
        );
        if status == "200" {
            self.set_http_request_header("x-auth", Some("ok"));
            self.resume_http_request();
        } else {
            self.send_http_response(403, vec![("x-auth", "denied")], Some(b"denied by auth\n"));
        }
    }

    fn on_done(&mut self) -> bool {
        info!("sdk done {}", self.context_id);
        true
    }
}

impl HttpContext for SdkHttp {
    fn on_http_request_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        let _ = hostcalls::increment_metric(self.requests, 1);
        let headers = self.get_http_request_headers();
        info!(
            "sdk request_headers {} {num_headers} {} {end_of_stream}",
            self.context_id,
            headers.len()
        );
        match self.get_http_request_header("x-sdk").as_deref() {
            Some("call") => {
                let path = self.get_http_request_header(":path").unwrap_or_default();
                match self.dispatch_http_call(
                    "auth-cluster",
                    vec![(":method", "GET"), (":path", &path), (":authority", "auth")],
                    Some(b"check"),
                    vec![],
                    Duration::from_secs(2),
                ) {
                    Ok(token) => {
                        info!("sdk dispatched {token}");
                        Action::Pause
                    }
                    Err(status) => {
                        info!("sdk dispatch_failed {status:?}");
                        Action::Continue
                    }
                }
            }
            Some("deny") => {
                self.send_http_response(401, vec![("www-authenticate", "Basic")], Some(b"no\n"));
                Action::Pause
            }
            Some("shared") => {
                let count = self.shared_increment();
                self.set_http_request_header("x-sdk-count", Some(&count.to_string()));
                Action::Continue
            }
            Some("pause") => {
                self.paused.borrow_mut().push(self.context_id);
                Action::Pause
            }
            _ => {
                self.set_http_request_header("x-sdk-seen", Some("1"));
                Action::Continue
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        info!("sdk request_body {}", String::from_utf8_lossy(&body));
        self.set_http_request_body(0, body_size, &body.to_ascii_uppercase());
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let status = self.get_http_response_header(":status").unwrap_or_default();
        self.set_http_response_header("x-sdk-response", Some(&status));
        self.add_http_response_header("x-sdk-trace", "a");
        self.add_http_response_header("x-sdk-trace", "b");
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self
            .get_http_response_body(0, body_size)
            .unwrap_or_default();
        info!("sdk response_body {}", String::from_utf8_lossy(&body));
        Action::Continue
    }

    fn on_log(&mut self) {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let status = self.get_http_response_header(":status").unwrap_or_default();
        info!("sdk log {} {path} {status}", self.context_id);
    }
}
