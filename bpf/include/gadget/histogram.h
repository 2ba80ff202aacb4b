/* Log2 histograms kept in a hash map: `struct hist` is the value type user
 * space decodes (gadgets/common/histogram.py reads slots, total, count).
 */
#ifndef __GADGET_HISTOGRAM_H
#define __GADGET_HISTOGRAM_H

#include "gadget/common.h"

#define GADGET_HIST_SLOTS 27

struct hist {
	__u64 slots[GADGET_HIST_SLOTS];
	__u64 total;    // sum of the samples, in the histogram's unit
	__u64 count;
};

static __always_inline __u32 gadget_log2_slot(__u64 v)
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

/* Count `v` in the histogram of `key` in `hists`, creating it if needed. */
static __always_inline void gadget_hist_add(void *hists, const void *key, __u64 v)
{
	struct hist *h, zero = {};
	__u32 slot;

	h = bpf_map_lookup_elem(hists, key);
	if (!h) {
		bpf_map_update_elem(hists, key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(hists, key);
		if (!h)
			return;
	}
	slot = gadget_log2_slot(v);
	if (slot >= GADGET_HIST_SLOTS)
		slot = GADGET_HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->total, v);
	__sync_fetch_and_add(&h->count, 1);
}

#endif
