"""Where a webhook may send: only the public internet (no SSRF), checked when an admin
subscribes and again at each send, on the addresses the host resolves to then; and the delivery
log keeps the receiver's status, never its body."""

import http.server
import re
import socket
import ssl
import threading

import pytest

from visitors import webhooks
from visitors.integrations.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

PAGE = "/desk/riverside/integrations/"
PUBLIC = "93.184.215.14"
PRIVATE_ADDRESS = "Frontdesk sends webhooks only to public addresses, not to a private network."
CREDENTIALS = "Leave the user name and password out of the address."


class FakeDNS:
    """Made-up answers for some names, one per lookup (the last one repeats); other names are
    resolved as usual. Records each made-up lookup."""

    def __init__(self, monkeypatch):
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            queue = self.answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            if ":" in address:
                return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class FakeNetwork:
    """Records every outgoing connection instead of making it. With ``answer`` set, a fake
    receiver on the other end keeps the request and sends ``answer``; else it is refused."""

    def __init__(self, monkeypatch):
        self.connected: list[tuple] = []
        self.requests: list[bytes] = []
        self.answer: bytes | None = None

        def create_connection(address, *args, **kwargs):
            self.connected.append(tuple(address))
            if self.answer is None:
                raise ConnectionRefusedError("the test network refuses every connection")
            ours, theirs = socket.socketpair()
            threading.Thread(target=self._serve, args=(theirs,), daemon=True).start()
            return ours

        monkeypatch.setattr(socket, "create_connection", create_connection)

    def _serve(self, sock):
        with sock:
            data = b""
            while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
                data += chunk
            # The whole body too, before answering and closing: a receiver that hangs up while
            # the client still sends its body makes a broken pipe (seen on a loaded machine).
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            while length and len(body) < int(length.group(1)) and (chunk := sock.recv(65536)):
                body += chunk
                data += chunk
            if data:  # an https client that gave up at the handshake sent nothing
                self.requests.append(data)
                sock.sendall(self.answer or b"")


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS(monkeypatch)
    fake.answers["hooks.example.com"] = [PUBLIC]
    fake.answers["127.0.0.1.nip.io"] = ["127.0.0.1"]  # what nip.io answers
    fake.answers["metadata.google.internal"] = ["169.254.169.254"]  # what it answers on GCP
    return fake


@pytest.fixture
def network(monkeypatch):
    return FakeNetwork(monkeypatch)


@pytest.fixture
def development(settings):
    """DEBUG on, where http is allowed: only the address rule can refuse."""
    settings.DEBUG = True


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def _subscribe(client, url):
    return client.post(PAGE, {"make": "webhook", "url": url, "events": ["visit.called"]})


def _url_errors(response):
    return response.context["webhook_form"].errors.get("url")


def _delivery(office, url):
    hook = WebhookSubscription.objects.create(office=office, url=url, events=["visit.called"])
    return WebhookDelivery.objects.create(
        subscription=hook, event="visit.called", event_id="evt_1", payload={"id": "evt_1"}
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", PRIVATE_ADDRESS),
        ("http://127.0.0.1:6391/", PRIVATE_ADDRESS),
        ("http://localhost:5432/", PRIVATE_ADDRESS),
        ("http://[::1]/", PRIVATE_ADDRESS),
        ("http://0.0.0.0/", PRIVATE_ADDRESS),
        ("http://10.0.0.1/", PRIVATE_ADDRESS),
        ("http://metadata.google.internal/computeMetadata/v1/", PRIVATE_ADDRESS),
        ("https://127.0.0.1.nip.io/", PRIVATE_ADDRESS),
        ("http://user:pass@127.0.0.1/admin", CREDENTIALS),
        ("http://[::ffff:127.0.0.1]/", PRIVATE_ADDRESS),
        ("http://[::ffff:a9fe:a9fe]/", PRIVATE_ADDRESS),
        ("http://[::]/", PRIVATE_ADDRESS),
        ("http://224.0.0.1/", PRIVATE_ADDRESS),
        ("http://100.64.0.1/", PRIVATE_ADDRESS),
        ("http://192.168.1.1/", PRIVATE_ADDRESS),
    ],
)
def test_it_refuses_a_subscription_to_a_private_address(signed_in, dns, development, url, error):
    """A host that is or resolves to a non-public address: a form error, no webhook."""
    response = _subscribe(signed_in, url)
    assert response.status_code == 422
    assert _url_errors(response) == [error]
    assert not WebhookSubscription.objects.exists()


def test_it_refuses_credentials_in_the_address(signed_in, dns):
    """A user name and password in the address are refused, even for a public host."""
    response = _subscribe(signed_in, "https://user:pass@hooks.example.com/in")
    assert response.status_code == 422
    assert _url_errors(response) == [CREDENTIALS]
    assert not WebhookSubscription.objects.exists()


def test_it_refuses_http_while_debug_is_off_and_allows_it_in_development(signed_in, dns, settings):
    """Without DEBUG a webhook must be https; with DEBUG on (development) http will do."""
    settings.DEBUG = False
    response = _subscribe(signed_in, "http://hooks.example.com/in")
    assert response.status_code == 422
    assert _url_errors(response) == ["Use an https address."]
    assert _subscribe(signed_in, "https://hooks.example.com/in").status_code == 200
    settings.DEBUG = True
    assert _subscribe(signed_in, "http://hooks.example.com/in").status_code == 200
    assert sorted(WebhookSubscription.objects.values_list("url", flat=True)) == [
        "http://hooks.example.com/in",
        "https://hooks.example.com/in",
    ]


def test_it_lets_only_the_allowed_hosts_reach_a_private_address(signed_in, settings, development):
    """WEBHOOK_ALLOWED_HOSTS lets 127.0.0.1 through; other local hosts stay refused."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    assert _subscribe(signed_in, "http://127.0.0.1:8001/hooks").status_code == 200
    assert _subscribe(signed_in, "http://127.0.0.2:8001/hooks").status_code == 422
    assert _subscribe(signed_in, "http://localhost:8001/hooks").status_code == 422
    assert list(WebhookSubscription.objects.values_list("url", flat=True)) == [
        "http://127.0.0.1:8001/hooks"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",  # resolved to a public address when it was added
        "http://169.254.169.254/latest/meta-data/",  # added before the rule existed
        "http://[::ffff:169.254.169.254]/",
        "http://user:pass@hooks.example.com/in",
    ],
)
def test_it_fails_a_send_to_a_private_address_for_good_without_connecting(
    office, dns, network, development, url
):
    """The name resolves to a private address at send time (DNS rebinding), or the row predates
    the rule: the delivery fails at once, with the reason, and nothing is connected to."""
    dns.answers["hooks.example.com"] = ["10.0.0.5"]
    delivery = _delivery(office, url)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "failed"  # no DeliveryFailed
    assert network.connected == []
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response_status) == ("failed", 1, None)
    assert delivery.error.startswith("Not sent: ")


def test_it_connects_to_the_address_it_checked_with_the_name_in_the_host_header(
    office, dns, network, development
):
    """The name is resolved once per send; a second answer (private) is never asked for."""
    dns.answers["hooks.example.com"] = [PUBLIC, "10.0.0.5"]
    network.answer = b"HTTP/1.1 204 No Content\r\n\r\n"
    delivery = _delivery(office, "http://hooks.example.com/in?source=frontdesk")
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "delivered"
    assert network.connected == [(PUBLIC, 80)]
    assert dns.lookups == ["hooks.example.com"]
    request = network.requests[0]
    assert request.startswith(b"POST /in?source=frontdesk HTTP/1.1\r\n")
    assert b"\r\nHost: hooks.example.com\r\n" in request


def test_it_checks_the_certificate_against_the_name_on_the_checked_address(
    office, dns, network, monkeypatch
):
    """https goes to the checked address, with SNI and certificate verification for the name;
    a certificate that does not match is a failed attempt, retried."""
    network.answer = b""
    handshakes = []

    def wrap_socket(context, sock, server_hostname=None, **kwargs):
        handshakes.append((server_hostname, context.check_hostname, context.verify_mode))
        raise ssl.SSLCertVerificationError("certificate verify failed: Hostname mismatch")

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", wrap_socket)
    delivery = _delivery(office, "https://hooks.example.com/in")
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.webhook_deliver(delivery_id=delivery.pk)
    assert network.connected == [(PUBLIC, 443)]
    assert handshakes == [("hooks.example.com", True, ssl.CERT_REQUIRED)]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert "Hostname mismatch" in delivery.error


def test_it_shows_the_receiver_s_status_but_never_its_body(signed_in, office, settings):
    """A receiver's answer (here a 500 with a body) leaves its status in the log, not its words."""
    settings.DEBUG = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    class Talkative(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"aws_secret_access_key=AKIA-FROM-THE-FAR-SIDE")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Talkative)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        delivery = _delivery(office, f"http://127.0.0.1:{server.server_address[1]}/in")
        with pytest.raises(webhooks.DeliveryFailed):
            webhooks.webhook_deliver(delivery_id=delivery.pk)
    finally:
        server.shutdown()
        server.server_close()
    delivery.refresh_from_db()
    assert (delivery.response_status, delivery.response_excerpt) == (500, "")
    page = signed_in.get(f"{PAGE}webhooks/{delivery.subscription_id}/").content.decode()
    assert "HTTP 500" in page
    assert "AKIA-FROM-THE-FAR-SIDE" not in page


@pytest.mark.parametrize(
    ("address", "public"),
    [
        (PUBLIC, True),
        ("2606:4700:4700::1111", True),
        ("::ffff:93.184.215.14", True),
        ("64:ff9b::93.184.215.14", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("::7f00:1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff0e::1", False),
        ("239.1.1.1", False),
        ("240.0.0.1", False),
        ("198.18.0.1", False),
    ],
)
def test_it_tells_public_addresses_from_the_rest(address, public):
    """IPv6 forms that carry an IPv4 address are judged by that address."""
    assert webhooks.is_public_address(address) is public


def test_it_judges_a_numeric_host_by_the_address_it_resolves_to(development):
    """127.0.0.1 written as one number is still 127.0.0.1."""
    with pytest.raises(webhooks.DestinationRefused):
        webhooks.check_destination("http://2130706433/")
