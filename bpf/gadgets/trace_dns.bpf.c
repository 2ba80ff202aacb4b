// trace_dns: DNS packets (UDP, port dns_port) seen by a socket filter on an
// AF_PACKET socket in the traced network namespace, and process attribution:
// sock:sock_send_length records which process last sent from each local UDP
// port (per network namespace), so user space can name the process behind
// a query and its response.
#include "gadget/common.h"
#include "gadget/filter.h"
#include <bpf/bpf_endian.h>

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP 17
#define PACKET_OUTGOING 4
#define LOOPBACK_IFINDEX 1

const volatile __u16 dns_port = 53;

struct port_key {
	__u32 netns;
	__u16 port;   /* local UDP port, host byte order */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct port_key);
	__type(value, struct gadget_proc);
} dns_ports SEC(".maps");

/* Keep a packet when it is UDP to or from dns_port. Outgoing copies on the
 * loopback device are dropped: each packet shows up again as received. */
SEC("socket")
int dns_filter(struct __sk_buff *skb)
{
	__u16 proto, ports[2];
	__u32 l4;
	__u8 byte;

	if (skb->pkt_type == PACKET_OUTGOING && skb->ifindex == LOOPBACK_IFINDEX)
		return 0;
	if (bpf_skb_load_bytes(skb, 12, &proto, 2))
		return 0;
	proto = bpf_ntohs(proto);
	if (proto == ETH_P_IP) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &byte, 1) || byte != IPPROTO_UDP)
			return 0;
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &byte, 1))
			return 0;
		l4 = ETH_HLEN + (byte & 0xf) * 4;
	} else if (proto == ETH_P_IPV6) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &byte, 1) || byte != IPPROTO_UDP)
			return 0;
		l4 = ETH_HLEN + 40;
	} else {
		return 0;
	}
	if (bpf_skb_load_bytes(skb, l4, ports, 4))
		return 0;
	if (bpf_ntohs(ports[0]) != dns_port && bpf_ntohs(ports[1]) != dns_port)
		return 0;
	return skb->len;
}

SEC("tracepoint/sock/sock_send_length")
int dns_sender(struct trace_event_raw_sock_msg_length *ctx)
{
	struct sock *sk = ctx->sk;
	struct port_key key = {};
	struct gadget_proc proc;

	if (ctx->protocol != IPPROTO_UDP || ctx->ret < 0)
		return 0;
	if (gadget_should_discard())
		return 0;
	key.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	key.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	gadget_fill_proc(&proc);
	bpf_map_update_elem(&dns_ports, &key, &proc, BPF_ANY);
	return 0;
}

GADGET_EVENT(struct port_key);

char LICENSE[] SEC("license") = "GPL";
