"""pybpf gadgets: observability tools (trace, top, profile, snapshot) on pybpf."""
