// struct_ops registered through a BPF link: SEC(".struct_ops.link") makes the
// map with BPF_F_LINK (Linux 6.4+); newer than libbpf 1.1, which skips it.
#include "struct_ops_ca.h"

SEC(".struct_ops.link")
struct tcp_congestion_ops pybpf_reno = {
	.ssthresh = (void *)pybpf_ssthresh,
	.cong_avoid = (void *)pybpf_cong_avoid,
	.undo_cwnd = (void *)pybpf_undo_cwnd,
	.name = "pybpf_reno",
};

char LICENSE[] SEC("license") = "GPL";
