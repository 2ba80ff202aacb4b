// struct_ops the way Linux 5.6+ registers it: SEC(".struct_ops") and a map
// update. libbpf 1.1 (bpftool 7.1) knows this form, so the object joins the
// differential suite.
#include "struct_ops_ca.h"

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_reno_old = {
	.ssthresh = (void *)pybpf_ssthresh,
	.cong_avoid = (void *)pybpf_cong_avoid,
	.undo_cwnd = (void *)pybpf_undo_cwnd,
	.name = "pybpf_reno_old",
};

char LICENSE[] SEC("license") = "GPL";
