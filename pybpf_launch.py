"""The `pybpf` console script's entry: the command, started before the package imports.

Importing pybpf and the command's modules makes many objects that live as
long as the process and few cycles, so the cyclic garbage collector would
only walk them again and again (some 20 collections, 5-9 ms of a warm
start). A module inside the package cannot stop that: the package's own
import runs first. This one, outside it, pauses the collector before the
first import; pybpf.cli.main freezes what start-up made once its parser is
built and then lets the collector run (``collector_paused``).
"""
import gc
import sys


def main() -> int:
    gc.disable()
    from pybpf.cli import main as command

    return command(collector_paused=True)


if __name__ == "__main__":
    sys.exit(main())
