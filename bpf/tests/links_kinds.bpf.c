// One program per attach kind this kernel allows, for tests/kernel/test_links*.py.
// Each counts its hits in counts[KIND]; the tracing ones only for the tgid in targ[0].
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

enum {
	K_TRACEPOINT, K_RAW_TP, K_TP_BTF, K_UPROBE, K_URETPROBE, K_PERF_EVENT,
	K_CONNECT4, K_SOCKET, K_TC, K_ITER, K_XDP, K_MAX = 16,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

// targ[0]: tgid to watch; targ[1]: UDP destination port for tc/socket/connect4
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} targ SEC(".maps");

// last[K]: the last value a program saw (uretprobe: return value; connect4: port)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} last SEC(".maps");

static __always_inline __u32 cfg(__u32 key)
{
	__u32 *v = bpf_map_lookup_elem(&targ, &key);

	return v ? *v : 0;
}

static __always_inline int mine(void)
{
	__u32 tgid = cfg(0);

	return tgid && (bpf_get_current_pid_tgid() >> 32) == tgid;
}

static __always_inline void hit(__u32 kind)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &kind);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void remember(__u32 kind, __u64 value)
{
	bpf_map_update_elem(&last, &kind, &value, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_tracepoint(void *ctx)
{
	if (mine())
		hit(K_TRACEPOINT);
	return 0;
}

#define NR_GETPPID 110	/* x86_64 */

SEC("raw_tp/sys_enter")
int on_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	if (mine() && ctx->args[1] == NR_GETPPID)
		hit(K_RAW_TP);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_tp_btf, struct pt_regs *regs, long id)
{
	if (mine() && id == NR_GETPPID)
		hit(K_TP_BTF);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_uprobe, int a, int b)
{
	hit(K_UPROBE);
	remember(K_UPROBE, a);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_uretprobe, int ret)
{
	hit(K_URETPROBE);
	remember(K_URETPROBE, ret);
	return 0;
}

SEC("perf_event")
int on_perf_event(struct bpf_perf_event_data *ctx)
{
	hit(K_PERF_EVENT);
	return 0;
}

SEC("cgroup/connect4")
int on_connect4(struct bpf_sock_addr *ctx)
{
	if (bpf_ntohs(ctx->user_port) == cfg(1)) {
		hit(K_CONNECT4);
		remember(K_CONNECT4, bpf_ntohs(ctx->user_port));
	}
	return 1;
}

static __always_inline int dport_is(struct __sk_buff *skb, __u32 off)
{
	__u16 dport;

	return !bpf_skb_load_bytes(skb, off, &dport, 2) && bpf_ntohs(dport) == cfg(1);
}

static __always_inline int udp_to_port(struct __sk_buff *skb, __u32 l3)
{
	__u8 proto, vihl;

	if (bpf_skb_load_bytes(skb, l3, &vihl, 1) || (vihl >> 4) != 4)
		return 0;
	if (bpf_skb_load_bytes(skb, l3 + 9, &proto, 1) || proto != 17)
		return 0;
	return dport_is(skb, l3 + (vihl & 0xf) * 4 + 2);
}

SEC("socket")
int on_socket(struct __sk_buff *skb)
{
	/* a UDP socket's filter sees the packet from the UDP header on */
	if (dport_is(skb, 2))
		hit(K_SOCKET);
	return skb->len;
}

SEC("tc")
int on_tc(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(0x0800) && udp_to_port(skb, 14))
		hit(K_TC);
	return -1; /* TC_ACT_UNSPEC / TCX_NEXT: let later filters run, then pass */
}

SEC("xdp")
int on_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = data + sizeof(*eth) + sizeof(*ip);

	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(0x0800) && ip->ihl == 5 && ip->protocol == 17 &&
	    bpf_ntohs(udp->dest) == cfg(1))
		hit(K_XDP);
	return XDP_PASS;
}

SEC("iter/task")
int on_iter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	if (task->tgid == cfg(0) && task->pid == task->tgid)
		hit(K_ITER);
	BPF_SEQ_PRINTF(seq, "%d %s\n", task->pid, task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
