"""Following a container selection as containers come and go (pure: the
synthetic /proc and recorded state of test_gadget_containers)."""
from test_gadget_containers import hybrid, node  # noqa: F401  (fixtures)

from pybpf_gadgets.common import containers as ctr
from pybpf_gadgets.common.selection import Selection


def test_selection_kernel_mode_map_changes(hybrid):
    proc, ns, root = hybrid
    found = ctr.discover(proc, roots=(root,), warn=None)
    sel = Selection(["i14web1", "6a42"])
    assert sel.active and sel.mode(found) == "kernel" and sel.waiting_line(found) is None
    add, drop = sel.map_changes(found, {ns["ns10547"], 777})
    assert add == {ns["ns11705"]} and drop == {777}   # 777: a container that is gone
    assert not Selection().active


def test_selection_waits_for_a_name_in_user_mode(hybrid):
    proc, _, root = hybrid
    found = ctr.discover(proc, roots=(root,), warn=None)
    sel = Selection(["web2"])
    assert sel.mode(found) == "user"
    assert sel.waiting_line(found) == ("no container 'web2' running yet (running: i14api, i14db1, "
                                       "i14pod-cart, i14web1); following it when it starts")
    web2 = ctr.Container("f" * 64, "web2", "podman", "/libpod_parent/libpod-" + "f" * 64)
    assert sel.matches(web2, found) and not sel.matches(found[0], found)
    assert not sel.matches(None, found)


def test_selection_by_filter(node):
    proc, _, root = node
    found = ctr.discover(proc, roots=(root,), warn=None)
    sel = Selection([], ctr.ContainerFilter.parse(namespace="shop"))
    assert sel.mode(found) == "user"
    assert [c.name for c in sel.resolve(found)[0]] == ["nginx"]
    assert [c.name for c in found if sel.matches(c, found)] == ["nginx"]
