//! Arbitrary bytes as an admission request body to the webhook's pure `review` function: it
//! never panics (a panic caught inside `review` aborts here too, through libFuzzer's panic
//! hook) and answers either 200 with an `AdmissionReview` or 400 with a plain-text reason.

#![no_main]

use libfuzzer_sys::fuzz_target;
use meshready_core::Severity;
use meshready_webhook::{Config, Context, Verdict, review};

fuzz_target!(|data: &[u8]| {
    let context = Context::default();
    // Half of the inputs also go down the deny path.
    let config = Config {
        deny_threshold: (data.len() % 2 == 0).then_some(Severity::Info),
        ..Config::default()
    };
    let reviewed = review(data, &context, &config);
    assert_ne!(reviewed.verdict, Verdict::Error, "the check panicked");
    match reviewed.status {
        200 => {
            assert!(reviewed.is_json());
            let answer: serde_json::Value =
                serde_json::from_slice(&reviewed.body).expect("a 200 body is JSON");
            assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
            assert_eq!(answer["kind"], "AdmissionReview");
            let request: serde_json::Value =
                serde_json::from_slice(data).expect("a 200 request was JSON");
            assert_eq!(answer["response"]["uid"], request["request"]["uid"]);
            let allowed = answer["response"]["allowed"]
                .as_bool()
                .expect("`allowed` is a boolean");
            assert_eq!(allowed, reviewed.verdict == Verdict::Allowed);
            if !allowed {
                assert_eq!(answer["response"]["status"]["code"], 403);
            }
        }
        400 => {
            assert_eq!(reviewed.verdict, Verdict::Invalid);
            assert!(std::str::from_utf8(&reviewed.body).is_ok_and(|b| !b.is_empty()));
        }
        other => panic!("unexpected status {other}"),
    }
});
