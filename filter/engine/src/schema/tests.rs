use serde::de::{DeserializeOwned, Error as _, Visitor};
use serde::forward_to_deserialize_any;

use super::*;
use crate::model::*;
use crate::telemetry::model::*;

/// A deserializer that answers with the field names serde asks a struct
/// for, in the order it reads them from a list.
struct FieldNames;

impl<'de> serde::Deserializer<'de> for FieldNames {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom(fields.join(",")))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

fn serde_fields<T: DeserializeOwned>() -> String {
    T::deserialize(FieldNames).err().unwrap().to_string()
}

fn table(fields: &'static [Field]) -> String {
    let names: Vec<&str> = model_order(fields).map(|fd| fd.name).collect();
    names.join(",")
}

#[test]
fn every_table_lists_the_model_fields_in_the_order_serde_reads_them() {
    let pairs = [
        (table(STRING_MATCH), serde_fields::<StringMatch>()),
        (table(MATCH_REQUEST), serde_fields::<MatchRequest>()),
        (table(HEADER_OPERATIONS), serde_fields::<HeaderOperations>()),
        (table(HEADERS), serde_fields::<Headers>()),
        (table(PORT_SELECTOR), serde_fields::<PortSelector>()),
        (table(DESTINATION), serde_fields::<Destination>()),
        (table(ROUTE_DESTINATION), serde_fields::<RouteDestination>()),
        (table(REGEX_REWRITE), serde_fields::<RegexRewrite>()),
        (table(REWRITE), serde_fields::<Rewrite>()),
        (table(REDIRECT), serde_fields::<Redirect>()),
        (table(BODY), serde_fields::<Body>()),
        (table(DIRECT_RESPONSE), serde_fields::<DirectResponse>()),
        (table(PERCENT), serde_fields::<Percent>()),
        (table(ABORT), serde_fields::<Abort>()),
        (table(DELAY), serde_fields::<Delay>()),
        (table(FAULT), serde_fields::<Fault>()),
        (table(RETRIES), serde_fields::<Retries>()),
        (table(MIRROR_POLICY), serde_fields::<MirrorPolicy>()),
        (table(CORS_POLICY), serde_fields::<CorsPolicy>()),
        (table(STICKY), serde_fields::<Sticky>()),
        (table(GENERATE_COOKIE), serde_fields::<GenerateCookie>()),
        (table(HTTP_RULE), serde_fields::<HttpRule>()),
        (table(VIRTUAL_SERVICE), serde_fields::<VirtualService>()),
        (table(SETTINGS), serde_fields::<Settings>()),
        (table(PROVIDER_REF), serde_fields::<ProviderRef>()),
        (table(METRIC_SELECTOR), serde_fields::<MetricSelector>()),
        (table(TAG_OVERRIDE), serde_fields::<TagOverride>()),
        (table(METRICS_OVERRIDES), serde_fields::<MetricsOverrides>()),
        (table(METRICS), serde_fields::<Metrics>()),
        (table(SUBSET_OPTIONS), serde_fields::<SubsetOptions>()),
        (
            table(DESTINATION_RULE),
            serde_fields::<DestinationRuleOptions>(),
        ),
        (table(SPEC), serde_fields::<Spec>()),
        (table(METADATA), serde_fields::<Metadata>()),
        (table(TRAFFIC_POLICY), serde_fields::<TrafficPolicy>()),
    ];
    for (schema, model) in &pairs {
        assert_eq!(schema, model);
    }
    // `sticky` is where the table lists it in messages
    assert!(names(HTTP_RULE).contains("`headers`, `sticky`, `timeout`"));
}

#[test]
fn unknown_fields_are_reported_and_stripped_also_inside_a_struct_given_as_a_list() {
    let mut doc = serde_json::json!({
        "bogus": 1,
        "spec": {"virtualServices": [{"name": "vs", "http": [
            {"route": [[{"host": "a", "port": {"number": 1, "x": 2}, "y": 3}, 5, {"request": {"z": 1}}]],
             "sticky": {"header": "h", "q": 1}, "delegate": {}}
        ]}]}
    });
    let mut errors = Errors::default();
    check(&mut doc, &mut errors);
    let paths: Vec<String> = errors.list.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "bogus",
            "spec.virtualServices[0].http[0].delegate",
            "spec.virtualServices[0].http[0].route[0]",
            "spec.virtualServices[0].http[0].sticky.q",
        ]
    );
    assert_eq!(
        doc,
        serde_json::json!({
            "spec": {"virtualServices": [{"name": "vs", "http": [
                {"route": [[{"host": "a", "port": {"number": 1}}, 5, {"request": {}}]],
                 "sticky": {"header": "h"}}
            ]}]}
        })
    );
}
