"""Compiled BPF objects (built from bpf/tests and bpf/gadgets by `make -C bpf`)."""
