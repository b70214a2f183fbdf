"""A real MQTT broker for the tests: Debian's mosquitto on 127.0.0.1, its
config, password file and log in a folder of the test's own.

    with Mosquitto(tmp_path, users={"clock": "pw"}) as broker:
        broker.port ...
"""

import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.webclient import free_tcp_port


def mosquitto_binary():
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None)


class Mosquitto:
    def __init__(self, workdir, users=None, port=None):
        self.workdir = Path(workdir)
        self.users = users or {}
        self.port = port or free_tcp_port()
        self.proc = None
        self.log = self.workdir / "mosquitto.log"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        # `user`: started as root, mosquitto would become "mosquitto", who
        # cannot read this folder; as anyone else the line changes nothing.
        lines = ["listener %d 127.0.0.1" % self.port, "allow_anonymous %s" % ("false" if self.users else "true"),
                 "persistence false", "log_dest stdout", "user %s" % getpass.getuser()]
        if self.users:
            passwords = self.workdir / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True, capture_output=True)
            os.chmod(passwords, 0o600)
            lines.append("password_file %s" % passwords)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            # Ours, not another test's on the same port (free_tcp_port() holds
            # nothing, and pytest-xdist runs tests side by side): the process
            # is alive and a connection is taken.
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                said = self.log.read_text()
                said = said[said.rfind(" starting"):]  # this start's lines (the log is kept over restarts)
                if self.proc.poll() is None and "listen socket on port %d" % self.port in said and " running" in said:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start on port %d: %s" % (self.port, self.log.read_text()[-1000:]))
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def set_users(broker, users):
    """Rewrite the broker's password file and have it read it again
    (SIGHUP: mosquitto reloads password_file without a restart)."""
    import signal

    passwords = broker.workdir / "passwords"
    passwords.write_text("")
    for user, password in users.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True, capture_output=True)
    broker.users = dict(users)
    broker.proc.send_signal(signal.SIGHUP)


class Proxy(threading.Thread):
    """A TCP relay on loopback to `port`; with `silent` set, it carries
    nothing either way but keeps every connection open: a half-open TCP
    connection, as after a router's reboot or a NAT's timeout."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.upstream = port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.silent = False
        self.stopped = False
        self.accepted = 0
        self.sockets = []

    def run(self):
        while not self.stopped:
            try:
                down, _ = self.listener.accept()
            except socket.timeout:
                continue
            self.accepted += 1
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                down.close()
                continue
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        source.settimeout(0.2)
        self.sockets += [source, sink]
        while not self.stopped:
            try:
                data = source.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                if self.silent:
                    return  # half-open: the other side never hears of it (stop() closes both)
                break
            if not self.silent:
                try:
                    sink.sendall(data)
                except OSError:
                    break
        for s in (source, sink):
            try:
                s.close()
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.join()  # (it looks at `stopped` every 0.2 s)
        self.listener.close()
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
