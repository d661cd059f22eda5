"""The webhook HTTP client on its own (target checks before connecting, TLS with the right name)
and the per-endpoint slots."""

import contextlib
import datetime
import socket
import ssl
import threading
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mediahub.outbound import is_public_address
from mediahub.webhooks import transport
from mediahub.webhooks.slots import Slots
from tests.waiting import wait_for
from tests.webhook_receiver import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "https://10.0.0.1/",
        "https://100.100.100.200/",  # another cloud's metadata service (shared address space)
        "https://[fd00:ec2::254]/",  # AWS metadata over IPv6
        "http://localhost/",
    ],
)
def test_private_targets_are_refused_before_connecting(settings, monkeypatch, url):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False

    def no_connections(*args, **kwargs):
        raise AssertionError("a refused target must not be connected to")

    monkeypatch.setattr(socket, "create_connection", no_connections)
    monkeypatch.setattr(socket.socket, "connect", no_connections)
    outcome = transport.post(url, b"{}", {}, timeout=1)
    assert outcome.error.startswith("Refused:")
    assert outcome.response_status is None and not outcome.succeeded


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.215.14", True),
    ],
)
def test_public_address_ranges(address, public):
    assert is_public_address(address) is public


@pytest.fixture
def localhost_cert(tmp_path):
    """A self-signed certificate for ``localhost`` and a TLS server context using it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


def test_https_connects_to_the_checked_address_with_the_hostname_for_sni_and_certificate(
    settings, monkeypatch, localhost_cert
):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True
    cert_file, context = localhost_cert
    server_names = []
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    receiver = Receiver(tls=context).start()
    try:
        url = f"https://localhost:{receiver.port}/hook?x=1"
        # Not trusted yet: the certificate is verified.
        refused = transport.post(url, b"{}", {"content-type": "application/json"}, timeout=5)
        assert refused.response_status is None and "CERTIFICATE_VERIFY_FAILED" in refused.error

        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # trust it, as a public CA would be
        outcome = transport.post(url, b'{"a":1}', {"content-type": "application/json"}, timeout=5)
        assert outcome.succeeded, outcome.error
        assert outcome.response_status == 200 and outcome.response_body == "ok"
        request = receiver.requests[-1]
        assert request.headers["host"] == f"localhost:{receiver.port}"
        assert request.path == "/hook?x=1" and request.body == b'{"a":1}'
        assert server_names[-1] == "localhost"
    finally:
        receiver.stop()


def fake_dns(monkeypatch, name, addresses):
    """Make ``name`` resolve to ``addresses`` (the resolver is the one thing these tests control)."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_with_any_private_address_is_refused(settings, monkeypatch):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    fake_dns(monkeypatch, "rebind.example", ["93.184.215.14", "169.254.169.254"])
    outcome = transport.post("https://rebind.example/hook", b"{}", {}, timeout=1)
    assert outcome.error == "Refused: rebind.example resolves to a non-public address (169.254.169.254)."


def test_the_next_address_is_tried_when_one_refuses(settings, monkeypatch):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True
    receiver = Receiver().start()
    try:
        # 127.0.0.2 is loopback too, but nothing listens there.
        fake_dns(monkeypatch, "hooks.example", ["127.0.0.2", "127.0.0.1"])
        outcome = transport.post(f"http://hooks.example:{receiver.port}/hook", b"{}", {}, timeout=5)
        assert outcome.succeeded
        assert receiver.requests[0].headers["host"] == f"hooks.example:{receiver.port}"
    finally:
        receiver.stop()
    refused = transport.post(receiver.url, b"{}", {}, timeout=5)
    assert refused.error.startswith("Could not connect:") and "refused" in refused.error


def test_endpoint_slots_bound_holders_and_a_leaked_slot_expires_under_load():
    slots = Slots(f"test-{uuid.uuid4().hex}", limit=2, ttl_seconds=2)
    assert slots.acquire() is not None  # held by a worker that is then killed: never released

    def two_slots_free() -> bool:
        with slots.hold() as acquired:  # other deliveries keep the endpoint busy meanwhile
            assert acquired
            token = slots.acquire()
            if token is None:
                return False
            slots.release(token)
            return True

    assert not two_slots_free()
    wait_for(two_slots_free, timeout=10)


@contextlib.contextmanager
def trickling_server(tls: ssl.SSLContext | None = None):
    """Answers a 200 status line, then one header byte every 50 ms for up to 10 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        if tls is not None:
            conn = tls.wrap_socket(conn, server_side=True)
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(200):
                if stop.wait(0.05):
                    return
                try:
                    conn.sendall(b"a")
                except OSError:
                    return  # the client cut us off

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_trickling_answer_is_cut_off_at_the_timeout(settings, monkeypatch, localhost_cert, scheme):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True
    cert_file, context = localhost_cert
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    with trickling_server(context if scheme == "https" else None) as port:
        outcome = transport.post(f"{scheme}://localhost:{port}/hook", b"{}", {}, timeout=0.5)
    assert outcome.error == "Timed out after 0.5 s."
    assert outcome.response_status is None and not outcome.succeeded
    assert 500 <= outcome.duration_ms < 3000
