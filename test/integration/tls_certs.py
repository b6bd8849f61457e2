"""Certificates for the TLS tests, made with the openssl command: a CA, a
server certificate for 127.0.0.1/localhost and a client certificate signed
by it, and a second CA that signed nothing the server trusts. The files are
readable by everyone: memcached run as root drops to nobody before it reads
them."""
import os
import ssl
import subprocess
import tempfile


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _signed(d, name, ca, subject, ext):
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
             f"{name}.csr", "-subj", subject, cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
             cwd=d)


def _ca(d, name):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
             f"{name}.crt", "-days", "2", "-subj", f"/CN=memcoro test {name}", cwd=d)


class Certs:
    """Paths: ca, server_cert, server_key, client_cert, client_key,
    other_ca; server2_cert/server2_key: a second server certificate from
    the same CA (for refreshes)."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="memcoro-tls-")
        d = self.dir = self._dir.name
        os.chmod(d, 0o755)
        _ca(d, "ca")
        _ca(d, "other_ca")
        server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        _signed(d, "server", "ca", "/CN=localhost", server_ext)
        _signed(d, "server2", "ca", "/CN=localhost", server_ext)
        _signed(d, "client", "ca", "/CN=memcoro test client", "extendedKeyUsage=clientAuth\n")
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o644)
        self.ca = os.path.join(d, "ca.crt")
        self.other_ca = os.path.join(d, "other_ca.crt")
        self.server_cert = os.path.join(d, "server.crt")
        self.server_key = os.path.join(d, "server.key")
        self.server2_cert = os.path.join(d, "server2.crt")
        self.server2_key = os.path.join(d, "server2.key")
        self.client_cert = os.path.join(d, "client.crt")
        self.client_key = os.path.join(d, "client.key")

    def server_args(self, *extra):
        """-Z and the -o list both servers take."""
        return ["-Z", "-o", ",".join([f"ssl_chain_cert={self.server_cert}",
                                      f"ssl_key={self.server_key}", *extra])]

    def client_context(self, cafile=None, cert=False, maximum=None):
        """A client context that verifies the server against `cafile` (the
        CA by default), with the client certificate if `cert`."""
        ctx = ssl.create_default_context(cafile=cafile or self.ca)
        if cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        if maximum is not None:
            ctx.maximum_version = maximum
        return ctx

    def close(self):
        self._dir.cleanup()
