// struct_ops test programs: a TCP congestion control's callbacks that count
// their calls and defer to the kernel's Reno kfuncs (struct_ops_ca.bpf.c and
// struct_ops_link.bpf.c register them, the two ways).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

__u64 calls[3];

SEC("struct_ops")
__u32 BPF_PROG(pybpf_ssthresh, struct sock *sk)
{
	__sync_fetch_and_add(&calls[0], 1);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops")
void BPF_PROG(pybpf_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&calls[1], 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops")
__u32 BPF_PROG(pybpf_undo_cwnd, struct sock *sk)
{
	__sync_fetch_and_add(&calls[2], 1);
	return tcp_reno_undo_cwnd(sk);
}
