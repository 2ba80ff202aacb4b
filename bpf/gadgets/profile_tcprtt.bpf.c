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

#define AF_INET 2
#define AF_INET6 10
#define MAX_SLOTS 27

#define GROUP_NONE 0
#define GROUP_LOCAL 1
#define GROUP_REMOTE 2

struct hist_key {
	__u8 addr[16];  // IPv4 in the first 4 bytes; zero when not grouping
	__u16 family;
	__u16 _pad[3];
};

struct hist {
	__u64 slots[MAX_SLOTS];
	__u64 total;    // sum of the samples, in the histogram's unit
	__u64 count;
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

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	// the number of the highest set bit; 0 and 1 both land in slot 0
	for (int shift = 32; shift > 0; shift >>= 1) {
		if (v >> shift) {
			v >>= shift;
			slot += shift;
		}
	}
	return slot;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_rtt, struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct hist_key key = {};
	struct hist *h, zero = {};
	__u64 srtt;
	__u32 slot;
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
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h)
			return 0;
	}
	slot = log2_slot(srtt);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->total, srtt);
	__sync_fetch_and_add(&h->count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
