"""TLS on the outbound client (issue 12 point 2): the connection goes to the address the
guard checked, and the certificate is verified against the URL's host name."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from capabilities_app.core.errors import UpstreamUnreachable
from capabilities_app.runtime import upstream
from capabilities_app.runtime.connections import TLSSocket
from capabilities_app.runtime.guard import parse_networks


def certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for DNS name ``name``: (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_upstream(tmp_path):
    """An HTTPS server on 127.0.0.1 whose certificate names ``localhost``; a client that
    trusts that certificate (and nothing else)."""
    cert, key = certificate(tmp_path, "localhost")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = upstream.Client(
        upstream.Settings(allowed_networks=parse_networks(["127.0.0.0/8", "::1/128"]), timeout=5)
    )
    trusted = ssl.create_default_context(cafile=str(cert))
    trusted.sslsocket_class = TLSSocket
    client._connections.tls = trusted
    yield client, server.server_address[1]
    client.close()
    server.shutdown()
    server.server_close()


def test_the_certificate_is_verified_against_the_host_name(tls_upstream):
    client, port = tls_upstream
    for _ in range(2):  # a new connection, then the kept one
        response = client.send(upstream.Request("GET", f"https://localhost:{port}/x"))
        assert (response.status, response.content) == (200, b'{"ok": true}')


def test_a_certificate_for_another_name_is_unreachable(tls_upstream):
    """Connecting to the checked address (127.0.0.1) does not verify the certificate
    against that address: https://127.0.0.1 fails, the name does not match."""
    client, port = tls_upstream
    with pytest.raises(UpstreamUnreachable) as exc:
        client.send(upstream.Request("GET", f"https://127.0.0.1:{port}/x"))
    assert "cannot connect to the upstream https://127.0.0.1" in exc.value.detail
    assert "certificate" in exc.value.detail.lower()
