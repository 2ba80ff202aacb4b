"""RingBufReader and PerfReader against the kernel: a C getppid() storm
emits events (readers_events.bpf.o); every event is received or counted
lost, tiny buffers force overflow and records wrapping the ring end."""
from __future__ import annotations

import asyncio
import os
import signal
import struct
import subprocess
import threading
import time

import pytest

import pybpf
from pybpf.errors import BPFError
from pybpf.links import attach
from pybpf.readers import PerfReader, RingBufReader
from pybpf.sys import map_delete_elem

EVENT = struct.Struct("<QQIII I16sQQ")
MAGIC = 0xFEEDBEEF
STORM_C = r"""
#include <unistd.h>
#include <stdlib.h>
#include <sys/syscall.h>
int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	char go;
	if (read(0, &go, 1) != 1)
		return 1;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return 0;
}
"""


@pytest.fixture(scope="module")
def storm_exe(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("storm")
    src = tmp / "storm.c"
    src.write_text(STORM_C)
    exe = tmp / "storm"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    return exe


class Storm:
    """A storm process that waits for go(), then calls getppid() ``count`` times."""

    def __init__(self, exe, count: int) -> None:
        self.proc = subprocess.Popen([str(exe), str(count)], stdin=subprocess.PIPE)
        self.pid = self.proc.pid

    def go(self) -> None:
        self.proc.stdin.write(b"g")
        self.proc.stdin.close()

    def done(self) -> bool:
        return self.proc.poll() is not None

    def wait(self) -> None:
        assert self.proc.wait(timeout=60) == 0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def load(obj_path, rb_size: int = 256 * 1024):
    spec = pybpf.ObjectSpec.from_file(str(obj_path("readers_events")))
    spec.maps["rb"].max_entries = rb_size
    return pybpf.load(spec)


def as_int(value) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "little")


def stats(coll) -> list:
    return [as_int(coll.maps["stats"][i]) for i in range(3)]


def check_event(rec, pid: int) -> int:
    seq, _ts, epid, tid, _cpu, magic, comm, arg0, arg1 = EVENT.unpack_from(rec)
    assert magic == MAGIC and epid == pid == tid
    assert arg0 == seq * 3 and arg1 == (~seq) & 0xFFFFFFFFFFFFFFFF
    assert comm.split(b"\0", 1)[0] == b"storm"  # older kernels leave bytes after the NUL
    return seq


def drain(reader, storm) -> list:
    got = []
    while True:
        done = storm.done()
        batch = reader.read_batch(timeout=0 if done else 0.05)
        got.extend(batch)
        if done and not batch:
            return got


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_ringbuf_receives_every_event_in_order(obj_path, storm_exe):
    storm = Storm(storm_exe, 20000)
    try:
        with load(obj_path, rb_size=1 << 22) as coll:
            coll.maps["targ"][0] = storm.pid
            with attach(coll.programs["emit_ringbuf"]), RingBufReader(coll.maps["rb"]) as rd:
                storm.go()
                got = drain(rd, storm)
                storm.wait()
                got += rd.read_batch(timeout=0)
            emitted, dropped, _ = stats(coll)
    finally:
        storm.kill()
    assert emitted == 20000 and dropped == 0
    seqs = [check_event(rec, storm.pid) for rec in got]
    assert seqs == list(range(20000))


def test_ringbuf_one_page_overflow_every_event_accounted(obj_path, storm_exe):
    storm = Storm(storm_exe, 200000)
    try:
        with load(obj_path, rb_size=4096) as coll:
            coll.maps["targ"][0] = storm.pid
            with attach(coll.programs["emit_ringbuf"]), RingBufReader(coll.maps["rb"]) as rd:
                storm.go()
                got = drain(rd, storm)
                storm.wait()
                got += rd.read_batch(timeout=0)
                assert rd.pending_bytes() == 0
            emitted, dropped, _ = stats(coll)
    finally:
        storm.kill()
    assert emitted == 200000
    assert dropped > 0, "a one-page ring buffer should overflow under a storm"
    assert len(got) + dropped == emitted
    seqs = [check_event(rec, storm.pid) for rec in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_perf_one_page_wraps_and_counts_lost(obj_path, storm_exe):
    storm = Storm(storm_exe, 100000)
    try:
        with load(obj_path) as coll:
            coll.maps["targ"][0] = storm.pid
            with attach(coll.programs["emit_perf"]), PerfReader(coll.maps["pb"], pages=1) as rd:
                storm.go()
                got = drain(rd, storm)
                storm.wait()
                got += rd.read_batch(timeout=0)
                lost_seen = rd.lost
                emitted, _, failed = stats(coll)
                assert len(got) + failed == emitted
                # the kernel writes a LOST record before the next sample that fits
                # in that CPU's ring: one more event from this process on each CPU
                # flushes the counts
                coll.maps["targ"][0] = os.getpid()
                cpus = os.sched_getaffinity(0)
                try:
                    for cpu in rd.cpus:
                        os.sched_setaffinity(0, {cpu})
                        os.getppid()
                finally:
                    os.sched_setaffinity(0, cpus)
                tail = rd.read_batch(timeout=1)
                lost = rd.lost
                ncpus = len(rd.cpus)
    finally:
        storm.kill()
    assert emitted == 100000
    assert failed > 0, "a one-page perf ring should overflow under a storm"
    assert lost_seen <= failed
    assert len(tail) == ncpus and lost == failed
    seqs = [check_event(rec, storm.pid) for rec in got]
    assert len(set(seqs)) == len(seqs)


def test_perf_records_wrapping_the_ring_end_are_whole(obj_path):
    # 80-byte records in a 4096-byte ring: every 51st record crosses the end
    with load(obj_path) as coll:
        coll.maps["targ"][0] = os.getpid()
        with attach(coll.programs["emit_perf"]), PerfReader(coll.maps["pb"], pages=1) as rd:
            got = []
            for _ in range(10):
                for _ in range(40):
                    os.getppid()
                got += rd.read_batch(timeout=1)
            assert rd.lost == 0
    assert len(got) == 400
    seqs = []
    for rec in got:
        assert len(rec) == 68  # 64 bytes + the kernel's padding to 8 with the u32 size
        seq, _ts, pid, _tid, _cpu, magic, comm, arg0, arg1 = EVENT.unpack_from(rec)
        assert magic == MAGIC and pid == os.getpid() and arg0 == seq * 3
        seqs.append(seq)
    assert sorted(seqs) == list(range(400))


@pytest.mark.parametrize("kind", ["ringbuf", "perf"])
def test_iterator_poll_and_async(obj_path, kind):
    with load(obj_path) as coll:
        coll.maps["targ"][0] = os.getpid()
        prog = coll.programs["emit_ringbuf" if kind == "ringbuf" else "emit_perf"]
        reader = RingBufReader(coll.maps["rb"]) if kind == "ringbuf" else PerfReader(coll.maps["pb"])
        with attach(prog), reader:
            for _ in range(5):
                os.getppid()
            seqs = []
            for rec in reader:  # memoryviews, valid until the next record
                assert isinstance(rec, memoryview)
                seqs.append(EVENT.unpack_from(rec)[0])
                if len(seqs) == 2:
                    break
            # leaving the loop early keeps the rest for the next call
            assert reader.poll(lambda rec: seqs.append(EVENT.unpack_from(rec)[0]), 1) == 3
            assert sorted(seqs) == [0, 1, 2, 3, 4]

            async def consume():
                out = []
                async for rec in reader:
                    out.append(EVENT.unpack_from(rec)[0])
                    if len(out) == 3:
                        return out

            async def main():
                task = asyncio.ensure_future(consume())
                await asyncio.sleep(0.05)
                assert not task.done()
                for _ in range(3):
                    os.getppid()
                return await asyncio.wait_for(task, 5)

            assert sorted(asyncio.run(main())) == [5, 6, 7]
            assert reader.read_batch(timeout=0) == []


@pytest.mark.parametrize("kind", ["ringbuf", "perf"])
def test_read_batch_timeout_and_close_releases_fds(obj_path, kind):
    with load(obj_path) as coll:
        before = fd_count()
        reader = RingBufReader(coll.maps["rb"]) if kind == "ringbuf" else PerfReader(coll.maps["pb"])
        start = time.monotonic()
        assert reader.read_batch(timeout=0.1) == []
        assert time.monotonic() - start >= 0.09
        assert fd_count() > before
        reader.close()
        reader.close()
        assert fd_count() == before
        with pytest.raises(ValueError):
            reader.read_batch(timeout=0)
        if kind == "perf":
            # the reader took its events out of the map again (delete finds nothing)
            pb = coll.maps["pb"]
            for cpu in range(pb.max_entries):
                assert not map_delete_elem(pb.fd, struct.pack("<I", cpu))


@pytest.mark.parametrize("kind", ["ringbuf", "perf"])
def test_wake_ends_a_wait_from_a_signal_handler_or_a_thread(obj_path, kind):
    """A handler that returns lets Python resume an interrupted epoll wait until its
    timeout; wake() ends it at once, once (the next wait runs its time again)."""
    with load(obj_path) as coll, make_reader(coll, kind) as rd:
        previous = signal.signal(signal.SIGALRM, lambda *_: rd.wake())
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            start = time.monotonic()
            assert rd.read_batch(timeout=5, gather=0.05) == []
            assert time.monotonic() - start < 2
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        start = time.monotonic()
        assert rd.read_batch(timeout=0.1) == []
        assert time.monotonic() - start >= 0.09
        waker = threading.Timer(0.05, rd.wake)
        waker.start()
        start = time.monotonic()
        assert rd.poll(lambda rec: None, 5) == 0
        waker.join()
        assert time.monotonic() - start < 2
        rd.wake()  # before a wait: the next one returns at once
        start = time.monotonic()
        assert rd.read_batch(timeout=5) == []
        assert time.monotonic() - start < 2
    rd.wake()  # closed: nothing to wake, no error


def test_reader_rejects_wrong_map_type_naming_it(obj_path):
    with load(obj_path) as coll:
        before = fd_count()
        with pytest.raises(BPFError, match="map 'stats'"):
            RingBufReader(coll.maps["stats"])
        with pytest.raises(BPFError, match="map 'rb'"):
            PerfReader(coll.maps["rb"])
        assert fd_count() == before


def test_ringbuf_reader_from_raw_fd(obj_path):
    with load(obj_path) as coll:
        coll.maps["targ"][0] = os.getpid()
        with attach(coll.programs["emit_ringbuf"]), \
                RingBufReader(coll.maps["rb"].fd.fileno()) as rd:
            os.getppid()
            assert len(rd.read_batch(timeout=1)) == 1


def test_poll_callback_raising_keeps_the_rest(obj_path):
    with load(obj_path) as coll:
        coll.maps["targ"][0] = os.getpid()
        with attach(coll.programs["emit_ringbuf"]), RingBufReader(coll.maps["rb"]) as rd:
            for _ in range(4):
                os.getppid()
            seen = []

            def take(rec):
                seen.append(EVENT.unpack_from(rec)[0])
                if len(seen) == 2:
                    raise RuntimeError("stop")

            with pytest.raises(RuntimeError):
                rd.poll(take, timeout=1)
            assert [EVENT.unpack_from(rec)[0] for rec in rd.read_batch(timeout=0)] == [2, 3]
            assert seen == [0, 1]


@pytest.mark.parametrize("kind", ["ringbuf", "perf"])
def test_struct_decode_bulk_matches_bytes(obj_path, kind):
    """decode=Struct gives the same tuples as unpacking each bytes record, across
    runs, the ring end (reassembled wraps)."""
    with load(obj_path, rb_size=4096) as coll:
        coll.maps["targ"][0] = os.getpid()
        prog = coll.programs["emit_ringbuf" if kind == "ringbuf" else "emit_perf"]
        make = (lambda: RingBufReader(coll.maps["rb"])) if kind == "ringbuf" else \
            (lambda: PerfReader(coll.maps["pb"], pages=1))
        with attach(prog), make() as rd:
            decoded, plain = [], []
            for round_ in range(12):
                for _ in range(7 + round_ * 3):
                    os.getppid()
                if round_ % 2:
                    plain += [EVENT.unpack_from(rec) for rec in rd.read_batch(timeout=1)]
                else:
                    decoded += rd.read_batch(timeout=1, decode=EVENT)
            assert rd.lost == 0
    both = sorted(decoded + plain)
    assert [t[0] for t in both] == list(range(len(both)))
    assert all(t[5] == MAGIC and t[7] == t[0] * 3 for t in decoded)


def _bpf_map_mappings() -> dict:
    """This process's mappings of BPF maps: start address -> size in bytes."""
    out = {}
    with open("/proc/self/maps") as fh:
        for line in fh:
            if "bpf-map" in line:
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                out[start] = end - start
    return out


def test_ringbuf_maps_its_data_once_and_joins_wrapping_records(obj_path, storm_exe):
    """The data area is mapped once (not twice, as libbpf does): a 1 MiB ring costs
    1 MiB and two pages of mappings; records wrapping around the end of a one-page
    ring come whole to a poll callback (views of the ring, else a joined copy) and
    to a decode callable."""
    with load(obj_path, rb_size=1 << 20) as coll:
        before = _bpf_map_mappings()
        with RingBufReader(coll.maps["rb"]):
            added = {a: n for a, n in _bpf_map_mappings().items() if a not in before}
        assert sum(added.values()) == (1 << 20) + 2 * 4096
    storm = Storm(storm_exe, 3000)
    try:
        with load(obj_path, rb_size=4096) as coll:
            coll.maps["targ"][0] = storm.pid
            with attach(coll.programs["emit_ringbuf"]), RingBufReader(coll.maps["rb"]) as rd:
                storm.go()
                seqs: list = []

                def decoded(buf, off):
                    return check_event(memoryview(buf)[off:off + EVENT.size], storm.pid)

                def viewed(rec):
                    seqs.append(check_event(rec, storm.pid))

                while not storm.done() or rd.pending_bytes():
                    seqs.extend(rd.read_batch(timeout=0.05, decode=decoded))
                    rd.poll(viewed, timeout=0.05)
                storm.wait()
            emitted, dropped, _ = stats(coll)
    finally:
        storm.kill()
    assert emitted == 3000 and len(seqs) + dropped == emitted
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


@pytest.mark.parametrize("options", [{"watermark": 4}, {"wakeup_bytes": 256}],
                         ids=["watermark", "wakeup_bytes"])
def test_perf_wakeup_options(obj_path, options):
    with load(obj_path) as coll:
        coll.maps["targ"][0] = os.getpid()
        with attach(coll.programs["emit_perf"]), \
                PerfReader(coll.maps["pb"], pages=2, **options) as rd:
            for _ in range(10):
                os.getppid()
            # the reader reads the ring head itself: wake-ups only matter while waiting
            assert len(rd.read_batch(timeout=0)) == 10


def make_reader(coll, kind: str, **perf_options):
    if kind == "ringbuf":
        return RingBufReader(coll.maps["rb"])
    return PerfReader(coll.maps["pb"], **perf_options)


@pytest.mark.parametrize("kind", ["ringbuf", "perf"])
def test_gather_holds_back_only_batches_that_follow_a_batch(obj_path, kind):
    """With gather, a record after a quiet spell comes at once; the next batch
    waits until ``gather`` after the last one and holds what came meanwhile."""
    with load(obj_path) as coll:
        coll.maps["targ"][0] = os.getpid()
        prog = coll.programs["emit_ringbuf" if kind == "ringbuf" else "emit_perf"]
        with attach(prog), make_reader(coll, kind) as rd:
            os.getppid()
            start = time.monotonic()
            assert len(rd.read_batch(timeout=5, gather=1.0)) == 1
            assert time.monotonic() - start < 0.8
            handed = time.monotonic()
            os.getppid()
            later = threading.Timer(0.1, lambda: [os.getppid() for _ in range(3)])
            later.start()
            got = []
            assert rd.poll(lambda rec: got.append(EVENT.unpack_from(rec)[0]), 5,
                           gather=1.0) == 4
            later.join()
            assert time.monotonic() - handed >= 0.95
            assert sorted(got) == [1, 2, 3, 4]  # perf: one ring per CPU, the thread may run elsewhere
            assert rd.read_batch(timeout=0.05, gather=1.0) == []  # quiet: the timeout holds


@pytest.mark.parametrize("kind", ["ringbuf", "perf"])
def test_gather_ends_when_a_ring_is_half_full(obj_path, kind):
    with load(obj_path, rb_size=4096) as coll:
        coll.maps["targ"][0] = os.getpid()
        prog = coll.programs["emit_ringbuf" if kind == "ringbuf" else "emit_perf"]
        with attach(prog), make_reader(coll, kind, pages=1) as rd:
            os.getppid()
            assert len(rd.read_batch(timeout=5, gather=10)) == 1
            for _ in range(40):  # 72 (80) bytes each: more than half of 4096
                os.getppid()
            start = time.monotonic()
            assert len(rd.read_batch(timeout=5, gather=10)) == 40
            assert time.monotonic() - start < 5
            assert rd.lost == 0
