"""Servers that ask clients to authenticate, memcached and memcoro alike,
knowing the same users: memcached -S reads Cyrus SASL's sasldb (made with
saslpasswd2, from Debian's sasl2-bin), memcoro -S a user:password file; both
-Y servers read the same auth file.
"""
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness

USERS = {b"alice": b"secret", b"bob": b"hunter2"}


def _readable(path):
    # memcached started as root runs as nobody (harness.py): it must read these.
    os.chmod(path, os.stat(path).st_mode | stat.S_IROTH | stat.S_IXOTH)


class Credentials:
    """A directory holding the users as a pwdb / auth file and, when
    saslpasswd2 exists, as a sasldb with the SASL_CONF_PATH directory that
    points memcached at it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="memcoro-auth-")
        _readable(self.dir)
        self.file = os.path.join(self.dir, "users")
        self.write(USERS)
        self.sasl_conf = None
        if shutil.which("saslpasswd2"):
            sasldb = os.path.join(self.dir, "sasldb2")
            for user, password in USERS.items():
                subprocess.run(["saslpasswd2", "-a", "memcached", "-c", "-p", "-f", sasldb,
                                user.decode()], input=password, check=True)
            _readable(sasldb)
            with open(os.path.join(self.dir, "memcached.conf"), "w") as f:
                f.write(f"mech_list: plain\nsasldb_path: {sasldb}\n")
            self.sasl_conf = self.dir

    def write(self, users, path=None, raw=None):
        with open(path or self.file, "wb") as f:
            f.write(raw if raw is not None else
                    b"".join(u + b":" + p + b"\n" for u, p in users.items()))
        _readable(path or self.file)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def sasl_server(kind, creds, args=(), **kw):
    if kind == "memcached":
        return harness.Server(["-S", *args], kind="memcached",
                              env={"SASL_CONF_PATH": creds.sasl_conf}, **kw)
    return harness.Server(["-S", "--sasl-pwdb", creds.file, *args], **kw)


def ascii_server(kind, creds, args=(), **kw):
    return harness.Server(["-Y", creds.file, *args], kind=kind, **kw)


class WithCredentials(unittest.TestCase):
    """A test class whose tests share one Credentials (self.creds)."""

    @classmethod
    def setUpClass(cls):
        cls.creds = Credentials()

    @classmethod
    def tearDownClass(cls):
        cls.creds.remove()
