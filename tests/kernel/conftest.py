"""Every test in tests/kernel talks to the real kernel."""
import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/kernel/" in str(item.fspath):
            item.add_marker(pytest.mark.kernel)
