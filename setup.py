"""Package list for setuptools (the metadata lives in pyproject.toml).

bpf/objects holds the compiled BPF objects; it ships inside the wheel as the
package `pybpf.objects`, so no compiler is needed on the user's host. The
mapping of that directory is the one thing pyproject.toml cannot express
together with package discovery.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["pybpf", "pybpf.*", "gadgets", "gadgets.*"]) + ["pybpf.objects"],
    package_dir={"pybpf.objects": "bpf/objects"},
)
