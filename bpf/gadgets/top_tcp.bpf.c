// top_tcp: bytes sent and received per (process, TCP connection), counted at
// the sock_send_length / sock_recv_length tracepoints, which fire in the
// sending or receiving process with the byte count of each call.
#include "gadget/common.h"
#include "gadget/filter.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define MSG_PEEK 2

struct conn_key {
	__u8 saddr[16];  // IPv4 in the first 4 bytes
	__u8 daddr[16];
	__u32 pid;
	__u16 sport;     // host byte order
	__u16 dport;     // host byte order
	__u16 family;
	__u16 _pad[3];
};

struct conn_stat {
	struct gadget_proc proc;
	__u64 sent;
	__u64 received;
};

const volatile __u16 targ_family = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct conn_key);
	__type(value, struct conn_stat);
} stats SEC(".maps");

static __always_inline int count(struct sock *sk, int ret, bool sending)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct conn_key key = {};
	struct conn_stat *s, fresh = {};

	if (ret <= 0)
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	key.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (key.family != AF_INET && key.family != AF_INET6)
		return 0;
	if (targ_family && key.family != targ_family)
		return 0;
	if (gadget_should_discard())
		return 0;
	key.pid = pid_tgid >> 32;
	key.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	key.dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (key.family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)key.saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)key.daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&key.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&key.daddr, sk, __sk_common.skc_v6_daddr);
	}
	s = bpf_map_lookup_elem(&stats, &key);
	if (!s) {
		gadget_fill_proc(&fresh.proc);
		bpf_map_update_elem(&stats, &key, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&stats, &key);
		if (!s)
			return 0;
	}
	if (sending)
		__sync_fetch_and_add(&s->sent, ret);
	else
		__sync_fetch_and_add(&s->received, ret);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tcp_send, struct sock *sk, int ret, int flags)
{
	return count(sk, ret, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tcp_recv, struct sock *sk, int ret, int flags)
{
	if (flags & MSG_PEEK)
		return 0;
	return count(sk, ret, false);
}

char LICENSE[] SEC("license") = "GPL";
