//! `fault.abort` (SPEC §2.3): compiled (an abort without `percentage` never
//! fires, as in Istio) and answered by the filter for the fraction of
//! requests it covers. `fault.delay` is a router option (`crate::router`).

use crate::decide::Notes;
use crate::decision::Decision;
use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::model;
use crate::request::Request;

use super::direct::{http_status, local};
use super::split::mix64;

/// A compiled `fault.abort`.
#[derive(Debug)]
pub(crate) struct FaultAbort {
    pub(crate) status: u32,
    /// Parts per million of requests aborted.
    pub(crate) ppm: u32,
}

/// Envoy's body for a fault-filter abort.
const FAULT_ABORT_BODY: &str = "fault filter abort";

/// Compile `fault` at `path` (the filter answers the abort).
pub(crate) fn compile(
    f: &model::Fault,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<FaultAbort> {
    let Some(abort) = &f.abort else {
        if f.delay.is_none() {
            errors.push(path, PolicyErrorKind::EmptyFault);
        }
        return None;
    };
    let ap = field(path, "abort");
    let Some(status) = abort.http_status else {
        errors.push(&ap, PolicyErrorKind::AbortWithoutStatus);
        return None;
    };
    http_status(status, &field(&ap, "httpStatus"), errors);
    // No `percentage`: Istio translates the abort with a 0% fraction, so it
    // never fires (pilot route.go `translateFault`).
    let percent = abort.percentage.as_ref().map_or(0.0, |p| p.value);
    if !(0.0..=100.0).contains(&percent) {
        errors.push(
            &field(&field(&ap, "percentage"), "value"),
            PolicyErrorKind::PercentOutOfRange {
                value: percent.to_string(),
            },
        );
    }
    Some(FaultAbort {
        status,
        ppm: percent_to_ppm(percent.clamp(0.0, 100.0)),
    })
}

// === impl FaultAbort ===

impl FaultAbort {
    /// Whether the abort fires for this request; when it does, `d` answers
    /// it with the abort's status.
    pub(crate) fn act(&self, req: &Request<'_>, d: &mut Decision, note: &mut Notes<'_>) -> bool {
        if fault_fires(self.ppm, req.random) {
            note.add(|| {
                format!(
                    "fault.abort fired ({} ppm): status {}",
                    self.ppm, self.status
                )
            });
            d.local_response = Some(local(self.status, FAULT_ABORT_BODY));
            return true;
        }
        note.add(|| format!("fault.abort did not fire ({} ppm)", self.ppm));
        false
    }
}

/// Fault percentage in parts per million (0..=1_000_000).
pub(crate) fn percent_to_ppm(percent: f64) -> u32 {
    // `as` saturates, and validation keeps percent within 0..=100.
    (percent * 10_000.0).round() as u32
}

/// Whether a fault with `ppm` fires for this request's randomness. Mixed so
/// it does not correlate with the split, which uses `random` directly.
pub(crate) fn fault_fires(ppm: u32, random: u64) -> bool {
    mix64(random ^ 0x6661_756c_745f_6162) % 1_000_000 < u64::from(ppm)
}
