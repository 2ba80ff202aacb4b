"""Framework shared by every gadget: descriptions, parameters, container
discovery, event decoding from BTF, user-space filters, output and the run
loop. See docs/GADGETS.md."""
