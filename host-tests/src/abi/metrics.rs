//! Metrics (`proxy_define_metric`, `proxy_increment_metric`,
//! `proxy_record_metric`, `proxy_get_metric`), as Envoy's
//! `Context::defineMetric` / `incrementMetric` / `recordMetric` /
//! `getMetric` (envoy `source/extensions/common/wasm/context.cc`): ids
//! carry the kind in their low two bits, counters reject non-positive
//! increments, histograms cannot be incremented nor read.

use wasmtime::Caller;

use super::answer::{Answer, Stop, guest, put_u32, put_u64};
use super::{Registry, register};
use crate::memory::parts;
use crate::state::{HostState, kind_index};
use crate::status::WasmResult;
use crate::types::{MetricKind, MetricValue};

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_define_metric", define, (kind: i32, np: i32, ns: i32, idp: i32));
    register!(reg, "env", "proxy_increment_metric", increment, (id: i32, offset: i64));
    register!(reg, "env", "proxy_record_metric", record, (id: i32, value: i64));
    register!(reg, "env", "proxy_get_metric", get, (id: i32, rp: i32));
    Ok(())
}

fn kind_of_id(id: u32) -> Option<MetricKind> {
    match id & 3 {
        0 => Some(MetricKind::Counter),
        1 => Some(MetricKind::Gauge),
        2 => Some(MetricKind::Histogram),
        _ => None,
    }
}

/// Counters and gauges only: a histogram (or an id of no kind) cannot be
/// incremented nor read, `BAD_ARGUMENT`.
fn counter_or_gauge(id: u32) -> Result<(), Stop> {
    match kind_of_id(id) {
        Some(MetricKind::Counter | MetricKind::Gauge) => Ok(()),
        _ => Err(Stop::Status(WasmResult::BadArgument)),
    }
}

fn define(caller: &mut Caller<'_, HostState>, kind: i32, np: i32, ns: i32, idp: i32) -> Answer {
    let (mem, state) = parts(caller);
    let name = guest(mem, np, ns)?;
    let call = "proxy_define_metric";
    crate::budget::copy(state, call, name.len())?;
    let defined = state.metrics.by_id.len();
    crate::budget::count(call, "metric ids", defined, crate::budget::MAX_METRICS)?;
    let kind = match kind {
        0 => MetricKind::Counter,
        1 => MetricKind::Gauge,
        2 => MetricKind::Histogram,
        _ => return Ok(WasmResult::BadArgument),
    };
    let id = state.metrics.define(kind, &String::from_utf8_lossy(name));
    debug_assert_eq!(id & 3, kind_index(kind));
    put_u32(mem, idp, id)?;
    Ok(WasmResult::Ok)
}

fn increment(caller: &mut Caller<'_, HostState>, id: i32, offset: i64) -> Answer {
    let id = id as u32;
    let state = caller.data_mut();
    counter_or_gauge(id)?;
    let metric = state.metrics.get_mut(id).ok_or(WasmResult::NotFound)?;
    match &mut metric.value {
        MetricValue::Counter(v) => {
            if offset <= 0 {
                return Ok(WasmResult::BadArgument);
            }
            *v = v.wrapping_add(offset as u64);
        }
        MetricValue::Gauge(v) => {
            // Envoy's gauges are unsigned: `add` or `sub`; we saturate at 0
            // where Envoy would assert in a debug build.
            *v = if offset > 0 {
                v.wrapping_add(offset as u64)
            } else {
                v.saturating_sub(offset.unsigned_abs())
            };
        }
        MetricValue::Histogram(_) => return Ok(WasmResult::BadArgument),
    }
    Ok(WasmResult::Ok)
}

fn record(caller: &mut Caller<'_, HostState>, id: i32, value: i64) -> Answer {
    let value = value as u64;
    let state = caller.data_mut();
    let metric = state
        .metrics
        .get_mut(id as u32)
        .ok_or(WasmResult::NotFound)?;
    match &mut metric.value {
        MetricValue::Counter(v) => *v = v.wrapping_add(value),
        MetricValue::Gauge(v) => *v = value,
        MetricValue::Histogram(samples) => {
            // Host-side bound on memory; Envoy keeps no samples at all.
            if samples.len() < crate::state::MAX_HISTOGRAM_SAMPLES {
                samples.push(value);
            }
        }
    }
    Ok(WasmResult::Ok)
}

fn get(caller: &mut Caller<'_, HostState>, id: i32, rp: i32) -> Answer {
    let id = id as u32;
    let (mem, state) = parts(caller);
    counter_or_gauge(id)?;
    let metric = state.metrics.get_mut(id).ok_or(WasmResult::NotFound)?;
    let value = match metric.value {
        MetricValue::Counter(v) | MetricValue::Gauge(v) => v,
        MetricValue::Histogram(_) => return Ok(WasmResult::BadArgument),
    };
    put_u64(mem, rp, value)?;
    Ok(WasmResult::Ok)
}
