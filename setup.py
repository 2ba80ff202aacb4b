"""Package list for setuptools (the metadata lives in pyproject.toml).

Two packages come from folders of another name, which pyproject.toml cannot
express together with package discovery:

- the repository's ``gadgets/`` installs as ``pybpf_gadgets`` (the gadgets
  import each other relatively, so the folder works under either name);
- ``bpf/objects`` installs as ``pybpf.objects``, holding the objects built
  from ``bpf/gadgets/`` (``NAME.bpf.o``, or ``NAME.ARCH.bpf.o`` where the code
  depends on the architecture), so no compiler is needed on the user's host.
  The test fixtures built from ``bpf/tests/`` stay in the repository.
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
GADGET_OBJECTS = [pattern for src in sorted((HERE / "bpf" / "gadgets").glob("*.bpf.c"))
                  for name in [src.name[: -len(".bpf.c")]]
                  for pattern in (f"{name}.bpf.o", f"{name}.*.bpf.o")]

setup(
    packages=(find_packages(include=["pybpf", "pybpf.*"])
              + ["pybpf_gadgets" + p[len("gadgets"):]
                 for p in find_packages(include=["gadgets", "gadgets.*"])]
              + ["pybpf.objects"]),
    # the console script's entry, outside the package so that it runs before it imports
    py_modules=["pybpf_launch"],
    package_dir={"pybpf_gadgets": "gadgets", "pybpf.objects": "bpf/objects"},
    package_data={"pybpf": ["py.typed"], "pybpf_gadgets": ["py.typed"],
                  "pybpf.objects": GADGET_OBJECTS},
    include_package_data=False,
)
