/* Sockets from file descriptors and their endpoints, for the network
 * gadgets. Addresses are kept in network byte order in 16-byte arrays
 * (IPv4 in the first 4 bytes); ports in host byte order. */
#ifndef __GADGET_SOCK_H
#define __GADGET_SOCK_H

#include "gadget/common.h"
#include <bpf/bpf_endian.h>

#define GADGET_AF_INET 2
#define GADGET_AF_INET6 10

struct gadget_endpoints {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u32 netns;
	__u32 pad;
};

/* The sock of socket descriptor `fd` (the caller knows fd is a socket). */
static __always_inline struct sock *gadget_sock_from_fd(int fd)
{
	struct file *f = gadget_file_from_fd(fd);
	struct socket *sock;

	if (!f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

static __always_inline void gadget_sock_endpoints(struct sock *sk, struct gadget_endpoints *ep)
{
	ep->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ep->protocol = BPF_CORE_READ(sk, sk_protocol);
	ep->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ep->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ep->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (ep->family == GADGET_AF_INET6) {
		bpf_core_read(ep->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(ep->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		bpf_core_read(ep->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(ep->daddr, 4, &sk->__sk_common.skc_daddr);
	}
}

#endif /* __GADGET_SOCK_H */
