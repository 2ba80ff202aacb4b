"""The gadgets' subcommands of the `pybpf` command (`pybpf run`, `pybpf list`,
`pybpf serve`, `pybpf containers`).

pybpf's CLI knows nothing of the gadgets: each module here is registered in
pyproject.toml under the ``pybpf.commands`` entry-point group, and pybpf.cli
calls its ``register(subparsers)``.
"""
