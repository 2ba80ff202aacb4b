"""Defaults of `pybpf serve`, in a module that imports nothing, so the
command's parser (built by every `pybpf` command) can name them cheaply."""

DEFAULT_PORT = 9431
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
DEFAULT_INTERVAL = 5.0  # seconds between map reads of top and profile gadgets
DEFAULT_MAX_SERIES = 10_000  # series per metric before new label sets fold
