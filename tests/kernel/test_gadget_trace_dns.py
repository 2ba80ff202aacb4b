"""trace_dns against the kernel: a test resolver on loopback answers a query
sent by a child process; query and response are seen with the process,
name, type, answers, rcode, latency and server."""
import json
import socket
import struct
import subprocess
import sys
import threading
import uuid

from test_gadget_trace_support import CLIRun, collect

from pybpf_gadgets import trace_dns


class Resolver:
    """Answers every A query with 192.0.2.7 and every AAAA with NXDOMAIN."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                msg, peer = self.sock.recvfrom(512)
            except OSError:
                return
            ident = msg[:2]
            qend = 12
            while msg[qend]:
                qend += msg[qend] + 1
            qtype = struct.unpack_from("!H", msg, qend + 1)[0]
            question = msg[12:qend + 5]
            if qtype == 1:
                head = ident + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
                answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
            else:
                head = ident + struct.pack("!HHHHH", 0x8183, 1, 0, 0, 0)
                answer = b""
            self.sock.sendto(head + question + answer, peer)

    def close(self) -> None:
        self.sock.close()


CLIENT = r"""
import socket, struct, sys
name, port, qtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
q += struct.pack("!HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(q, ("127.0.0.1", port))
s.recv(512)
"""


def test_query_and_response_fields():
    res = Resolver()
    name = f"pybpf-{uuid.uuid4().hex[:8]}.example.test"
    pids = []

    def trigger():
        p = subprocess.Popen([sys.executable, "-c", CLIENT, name, str(res.port), "1"])
        pids.append(p.pid)
        p.wait()

    try:
        with trace_dns.run(port=res.port) as run:
            events = collect(run, trigger, lambda e: e["name"] == name + ".", want=2)
    finally:
        res.close()
    q = [e for e in events if e["qr"] == "Q"][0]
    r = [e for e in events if e["qr"] == "R" and e["id"] == q["id"]][0]
    assert q["proc"]["pid"] in pids and q["proc"]["comm"].startswith("python")
    assert r["proc"]["pid"] == q["proc"]["pid"]
    assert q["qtype"] == "A" and q["id"] == 0x1234 and q["answers"] == []
    assert q["nameserver"] == f"127.0.0.1:{res.port}"
    assert r["rcode"] == "NOERROR" and r["answers"] == ["192.0.2.7"] and r["num_answers"] == 1
    assert r["latency_ns"] > 0 and r["client"] == q["client"]


def test_cli_json_nxdomain():
    res = Resolver()
    name = f"pybpf-{uuid.uuid4().hex[:8]}.example.test"

    def trigger():
        subprocess.run([sys.executable, "-c", CLIENT, name, str(res.port), "28"])

    cli = CLIRun("trace_dns", "-o", "json", "--timeout", "120", "--port", str(res.port),
                 "--filter", "qr=R", "--filter", f"name={name}.")
    try:
        line = cli.wait_for(trigger, lambda s: name in s)
    finally:
        rc, err = cli.stop()
        res.close()
    assert line is not None, err
    e = json.loads(line)
    assert e["rcode"] == "NXDOMAIN" and e["qtype"] == "AAAA" and e["proc"]["comm"]
    assert rc == 0
