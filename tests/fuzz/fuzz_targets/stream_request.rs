//! STREAM request sniffing, head detection and parsing: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::stream::request::{head_end, parse_stream_request, sniff};

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let head = match head_end(data) {
        Some(end) => &data[..end],
        None => data,
    };
    let _ = parse_stream_request(head);
    // Also as a well-formed request line around arbitrary bytes.
    let mut req = b"STREAM ".to_vec();
    req.extend_from_slice(data);
    req.extend_from_slice(b" HTTP/1.1\r\nUser-Agent: netdata/v1.37.1\r\n\r\n");
    if let Ok(r) = parse_stream_request(&req) {
        for s in [&r.key, &r.hostname, &r.machine_guid, &r.tags]
            .into_iter()
            .flatten()
        {
            assert!(!s.is_empty());
        }
    }
});
