"""deploy/rabbitmq/tls/20-tls.conf on a real broker: a private RabbitMQ node (Debian's package, its
own name, ports and data folder) starts with the sample, serves AMQPS with a certificate from a
throwaway CA, and `authstream publish` reaches it over TLS as the Auth0 Action would."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest

from consumers.bench.indexer import free_port
from tests.helpers import REPO_ROOT, dumps, envelope, eventually

SAMPLE = REPO_ROOT / "deploy" / "rabbitmq" / "tls" / "20-tls.conf"
SERVER = "/usr/sbin/rabbitmq-server"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> None:
    """A CA, and a certificate it signed for localhost and 127.0.0.1."""
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=authstream test CA", cwd=folder,
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost", cwd=folder,
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=folder,
    )  # fmt: skip


@pytest.fixture
def tls_broker() -> Iterator[tuple[int, Path]]:
    """A private node with the TLS sample (its certificate paths pointed at a throwaway CA's
    files); yields the AMQPS port and the CA file."""
    if not os.path.exists(SERVER) or os.geteuid() != 0:
        pytest.skip("needs Debian's rabbitmq-server (make services installs it) and root")
    home = Path(tempfile.mkdtemp(prefix="authstream-tls-", dir="/tmp"))
    try:
        yield from _run_node(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_node(home: Path) -> Iterator[tuple[int, Path]]:
    certificates, config = home / "tls", home / "conf.d"
    for folder in (certificates, config, home / "mnesia", home / "log"):
        folder.mkdir()
    make_certificates(certificates)
    amqp, amqps = free_port(), free_port()
    (config / "10-node.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{amqp}\n")
    sample = SAMPLE.read_text().replace("/etc/rabbitmq/tls/", f"{certificates}/")
    sample = sample.replace("listeners.ssl.default = 5671", f"listeners.ssl.default = {amqps}")
    (config / "20-tls.conf").write_text(sample)
    (home / "enabled_plugins").write_text("[].\n")
    shutil.chown(home, "rabbitmq", "rabbitmq")
    for path in home.rglob("*"):
        shutil.chown(path, "rabbitmq", "rabbitmq")
    home.chmod(0o755)
    node = f"authstream-tls-{uuid.uuid4().hex[:8]}@localhost"
    environment = os.environ | {
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_PORT": str(amqp),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_CONFIG_FILES": str(config),
        "RABBITMQ_CONFIG_FILE": str(home / "none"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(home / "none.config"),
        "RABBITMQ_CONF_ENV_FILE": str(home / "none.env"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(home / "node.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "+sbwt none +sbwtdcpu none +sbwtdio none",
    }
    output = (home / "server.out").open("w")
    server = subprocess.Popen(
        [SERVER], env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )

    def listening() -> bool:
        assert server.poll() is None, (home / "server.out").read_text()
        try:
            socket.create_connection(("127.0.0.1", amqps), 1).close()
            return True
        except OSError:
            return False

    try:
        eventually(listening, timeout=90, interval=0.5, message="the AMQPS listener")
        yield amqps, certificates / "ca.pem"
    finally:
        subprocess.run(
            ["rabbitmqctl", "-n", node, "shutdown"], capture_output=True, timeout=60, check=False
        )
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        output.close()


def connect(port: int, context: ssl.SSLContext) -> pika.BlockingConnection:
    parameters = pika.ConnectionParameters(
        host="localhost",
        port=port,
        credentials=pika.PlainCredentials("guest", "guest"),
        ssl_options=pika.SSLOptions(context, "localhost"),
        connection_attempts=1,
    )
    return pika.BlockingConnection(parameters)


def test_the_tls_sample_serves_amqps_and_authstream_publishes_over_it(
    tls_broker: tuple[int, Path], tmp_path: Path
) -> None:
    port, ca = tls_broker
    with connect(port, ssl.create_default_context(cafile=str(ca))) as connection:
        channel = connection.channel()
        channel.exchange_declare("authstream.events", "topic", durable=True)
        channel.queue_declare("tls-check", durable=True)
        channel.queue_bind("tls-check", "authstream.events", "#")
        version = connection._impl._transport._sock.version()  # type: ignore[attr-defined]
        assert version in ("TLSv1.3", "TLSv1.2")

    # A client that does not trust the CA is refused: the broker really serves that certificate.
    with pytest.raises((pika.exceptions.AMQPConnectionError, ssl.SSLError)):
        connect(port, ssl.create_default_context())

    # authstream itself, as the Action would publish (the CA trusted through SSL_CERT_FILE).
    events = tmp_path / "events.jsonl"
    events.write_bytes(dumps(envelope()) + b"\n")
    published = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "publish", str(events)],
        env=os.environ
        | {
            "AUTHSTREAM_AMQP_URL": f"amqps://guest:guest@localhost:{port}/",
            "AUTHSTREAM_NAME_PREFIX": "",
            "SSL_CERT_FILE": str(ca),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.returncode == 0, published.stderr
    with connect(port, ssl.create_default_context(cafile=str(ca))) as connection:
        method, _, _ = connection.channel().basic_get("tls-check", auto_ack=True)
        assert method is not None, "the event published over TLS is in the queue"
