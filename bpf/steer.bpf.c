/* Placeholder: the datapath issue replaces this with the steering program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "shared.h"

SEC("xdp")
int tw_steer(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
