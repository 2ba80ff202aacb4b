// profile_tcprtt: log2 histogram of TCP smoothed RTT, sampled at tcp:tcp_probe
// (every segment received on an established connection), optionally one
// histogram per local or remote address.
//
// tcp_probe runs in softirq context, where the current task is whoever was
// interrupted. For the process and container filters, the socket's owner is
// recorded instead: when a task that passes the filters sends or receives on
// a socket (sock_send_length / sock_recv_length, process context), the socket
// is tagged in socket-local storage; with filters set, only tagged sockets
// are sampled.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/histogram.h"

#define AF_INET 2
#define AF_INET6 10

#define GROUP_NONE 0
#define GROUP_LOCAL 1
#define GROUP_REMOTE 2

struct hist_key {
	__u8 addr[16];  // IPv4 in the first 4 bytes; zero when not grouping
	__u16 family;
	__u16 _pad[3];
};

const volatile __u8 group_by = GROUP_NONE;
const volatile bool milliseconds = false;
const volatile __u16 targ_sport = 0;
const volatile __u16 targ_dport = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} owned SEC(".maps");

static __always_inline bool filtering(void)
{
	return gadget_filter_by_mntns || gadget_targ_pid || gadget_targ_tid ||
	       gadget_targ_uid != (__u32)-1 || gadget_targ_gid != (__u32)-1 ||
	       gadget_targ_comm[0] != '\0';
}

static __always_inline int tag_owner(struct sock *sk)
{
	if (!filtering() || gadget_should_discard())
		return 0;
	bpf_sk_storage_get(&owned, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tag_send, struct sock *sk, int ret, int flags)
{
	return tag_owner(sk);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tag_recv, struct sock *sk, int ret, int flags)
{
	return tag_owner(sk);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_rtt, struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct hist_key key = {};
	__u64 srtt;
	__u16 family;

	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (filtering() && !bpf_sk_storage_get(&owned, sk, 0, 0))
		return 0;
	if (targ_sport && BPF_CORE_READ(sk, __sk_common.skc_num) != targ_sport)
		return 0;
	if (targ_dport &&
	    __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport)) != targ_dport)
		return 0;
	if (group_by != GROUP_NONE) {
		key.family = family;
		if (family == AF_INET && group_by == GROUP_LOCAL)
			BPF_CORE_READ_INTO((__u32 *)key.addr, sk, __sk_common.skc_rcv_saddr);
		else if (family == AF_INET)
			BPF_CORE_READ_INTO((__u32 *)key.addr, sk, __sk_common.skc_daddr);
		else if (group_by == GROUP_LOCAL)
			BPF_CORE_READ_INTO(&key.addr, sk, __sk_common.skc_v6_rcv_saddr);
		else
			BPF_CORE_READ_INTO(&key.addr, sk, __sk_common.skc_v6_daddr);
	}
	srtt = BPF_CORE_READ(tp, srtt_us) >> 3;  // srtt_us holds 8 x the smoothed RTT
	if (milliseconds)
		srtt /= 1000;
	gadget_hist_add(&hists, &key, srtt);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
