"""Records of a perf ring as the kernel writes them, declared with construct.

``struct perf_event_header`` (type, misc, size) and the two bodies a BPF
output event produces: PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW (``u32 size``
and the raw bytes) and PERF_RECORD_LOST (``u64 id, u64 lost``). Host byte
order, as the ring is.

PerfReader's hot loop does not use these: construct takes about 17 us to
parse a header and 40 us for a whole 80-byte sample, where the loop's
indexed u32/u64 words take 0.4 us (timeit, Python 3.11 on the 2-core CI
machine), so every record through construct would cut throughput about
ten times. The layout parses the records that cross the end of a ring
(about one per pass through it), once PerfReader has joined their parts.
"""
from __future__ import annotations

from construct import Bytes, Construct, Int16un, Int32un, Int64un, Pass, Struct, Switch, this

from pybpf.sys.perf import PERF_RECORD_LOST, PERF_RECORD_SAMPLE

PERF_EVENT_HEADER: Construct = Struct(
    "type" / Int32un,
    "misc" / Int16un,
    "size" / Int16un,
)

PERF_RECORD: Construct = Struct(
    "header" / PERF_EVENT_HEADER,
    "body" / Switch(this.header.type, {
        PERF_RECORD_SAMPLE: Struct("size" / Int32un, "data" / Bytes(this.size)),
        PERF_RECORD_LOST: Struct("id" / Int64un, "lost" / Int64un),
    }, default=Pass),
)
