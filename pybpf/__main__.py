"""`python -m pybpf` runs the command line, as the console script does (pybpf_launch)."""
import gc
import sys

gc.disable()  # the package is imported already (by runpy); the command's modules are not
from pybpf.cli import main  # noqa: E402

sys.exit(main(collector_paused=True))
