"""Synthetic logs in formats that Loghub-2k's eight systems do not cover, with known templates.

A check that the miner's one configuration generalises, without the held-out Loghub systems:
each `Format` is a header (timestamps, levels, pids, hosts, threads...) and a list of
templates, each one log statement of an imagined program; `generate` draws lines from them
(template frequencies skewed as in real logs) and returns each line's true template index.
Grouping accuracy (GA, `grouping_accuracy`) is then measured as on Loghub.

A slot `⟨kind⟩` in a template or header is filled by `FILLERS[kind]`; `⟨a|b|c⟩` picks one of
the words given. The ground truth follows Loghub's: what a statement prints is its template, a
slot is a variable whatever it holds (numbers, user names, hosts, quoted strings, words from a
small set), and a header's fields are not part of the template. A template's level is fixed,
as a statement's is. Everything is deterministic for a given seed.

The formats are written from the formats' public documentation and common practice, not from
any Loghub system's data.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Rng = random.Random

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "oscar", "peggy", "trent", "victor", "walter", "zoe", "quentin"]  # fmt: skip
HOSTS = ["gateway", "bastion", "mercury", "venus", "jupiter", "saturn", "neptune", "orion",
         "atlas", "zeus", "apollo", "hermes"]  # fmt: skip
SERVICES = ["nginx", "postgres", "redis", "kafka", "etcd", "consul", "vault", "grafana",
            "prometheus", "haproxy", "memcached", "rabbitmq"]  # fmt: skip
NAMESPACES = ["default", "kube-system", "monitoring", "ingress-nginx", "payments", "checkout",
              "logging", "cert-manager"]  # fmt: skip
APPS = ["web", "api", "worker", "frontend", "cart", "auth", "search", "billing", "mailer"]
CONTROLLERS = ["deployment", "replicaset", "endpoint", "namespace", "job", "cronjob",
               "daemonset", "statefulset", "serviceaccount", "garbagecollector"]  # fmt: skip
KINDS = ["Pod", "Node", "Service", "ConfigMap", "Secret", "Endpoints", "Namespace",
         "PersistentVolumeClaim", "Deployment"]  # fmt: skip
CLASSES = ["com.acme.shop.OrderService", "com.acme.shop.PaymentGateway",
           "com.acme.shop.InventoryClient", "com.acme.auth.TokenValidator",
           "com.acme.shop.CartController", "com.acme.mail.Notifier",
           "org.springframework.web.servlet.DispatcherServlet",
           "org.hibernate.engine.jdbc.spi.SqlExceptionHelper"]  # fmt: skip
METHODS = ["process", "charge", "reserve", "validate", "checkout", "send", "doDispatch",
           "logExceptions", "handle", "invoke", "apply", "run"]  # fmt: skip
EXCEPTIONS = ["java.lang.NullPointerException", "java.lang.IllegalStateException",
              "java.net.SocketTimeoutException", "java.io.IOException",
              "org.springframework.dao.DataIntegrityViolationException",
              "java.util.concurrent.TimeoutException"]  # fmt: skip
UNITS = ["nginx.service", "ssh.service", "cron.service", "docker.service", "containerd.service",
         "systemd-journald.service", "apt-daily.timer", "logrotate.service",
         "unattended-upgrades.service", "networkd-dispatcher.service"]  # fmt: skip
TABLES = ["users", "orders", "payments", "sessions", "inventory", "audit_log", "carts"]
QUEUES = ["emails", "invoices", "thumbnails", "webhooks", "exports", "reports"]
ROUTES = ["/api/users", "/api/orders", "/healthz", "/metrics", "/api/cart/items", "/login",
          "/static/app.js", "/static/style.css", "/favicon.ico", "/api/search"]  # fmt: skip
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/119.0.0.0 Safari/537.36",
          "curl/8.4.0", "kube-probe/1.28", "Prometheus/2.48.0", "Go-http-client/1.1",
          "python-requests/2.31.0"]  # fmt: skip
ANDROID_TAGS = ["WindowManager", "ActivityManager", "PowerManagerService", "InputDispatcher",
                "ConnectivityService", "PackageManager", "AudioFlinger",
                "BluetoothAdapter"]  # fmt: skip
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WORDS_CJK = ["用户", "登录", "成功", "失败", "订单", "支付", "服务器", "连接"]


def _hex(rng: Rng, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: Rng) -> str:
    return f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}"


def _ip(rng: Rng) -> str:
    return f"{rng.choice([10, 172, 192, 34, 52])}.{rng.randrange(256)}.{rng.randrange(256)}." \
           f"{rng.randrange(1, 255)}"  # fmt: skip


def _pod(rng: Rng) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    rs = "".join(rng.choice(alphabet) for _ in range(rng.choice([9, 10])))
    return f"{rng.choice(APPS)}-{rs}-{''.join(rng.choice(alphabet) for _ in range(5))}"


def _duration(rng: Rng) -> str:
    minutes = f"{rng.randrange(1, 59)}m{rng.randrange(60)}s"
    return rng.choice([f"{rng.uniform(0.1, 999):.1f}ms", f"{rng.uniform(0.5, 30):.3f}s",
                       f"{rng.randrange(1, 900)}µs", minutes])  # fmt: skip


def _path(rng: Rng) -> str:
    kind = rng.choice(["data", "wal", "tmp"])
    return f"/var/lib/{rng.choice(SERVICES)}/{kind}/{_hex(rng, 6)}.{rng.choice(['db', 'log'])}"


def _file(rng: Rng) -> str:
    folder = rng.choice(["img", "css", "js"])
    return f"/srv/www/{folder}/{rng.choice(NAMES)}.{rng.choice(['png', 'css', 'js'])}"


def _package(rng: Rng) -> str:
    app = rng.choice(["mail", "maps", "camera", "music", "settings"])
    return f"com.{rng.choice(['acme', 'example', 'android'])}.{app}"


def _frame(rng: Rng) -> str:
    cls = rng.choice(CLASSES)
    return f"{cls}.{rng.choice(METHODS)}({cls.rsplit('.', 1)[1]}.java:{rng.randrange(20, 900)})"


def _iso(rng: Rng) -> str:
    return f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T" \
           f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}." \
           f"{rng.randrange(1000):03d}Z"  # fmt: skip


def _clock(rng: Rng) -> str:
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


def _date(rng: Rng) -> str:
    return f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


FILLERS: dict[str, Callable[[Rng], str]] = {
    "int": lambda r: str(r.choice([r.randrange(10), r.randrange(1000), r.randrange(10**7)])),
    "small": lambda r: str(r.randrange(1, 64)),
    "dd": lambda r: f"{r.randrange(1, 29):02d}",
    "count": lambda r: str(r.randrange(2, 5000)),
    "pid": lambda r: str(r.randrange(300, 65000)),
    "port": lambda r: str(r.randrange(1024, 65536)),
    "ip": _ip,
    "ip6": lambda r: f"2001:db8:{_hex(r, 4)}::{_hex(r, 3)}",
    "hex8": lambda r: _hex(r, 8),
    "hex12": lambda r: _hex(r, 12),
    "hex32": lambda r: _hex(r, 32),
    "hex64": lambda r: _hex(r, 64),
    "uuid": _uuid,
    "ms": _duration,
    "float": lambda r: f"{r.uniform(0, 100):.{r.choice([1, 2, 3, 6])}f}",
    "bytes": lambda r: str(r.randrange(0, 10**6)),
    "size": lambda r: f"{r.uniform(1, 999):.1f} {r.choice(['KB', 'MB', 'GB'])}",
    "user": lambda r: r.choice(NAMES),
    "email": lambda r: f"{r.choice(NAMES)}@{r.choice(['example.com', 'acme.io', 'mail.org'])}",
    "host": lambda r: r.choice(HOSTS),
    "fqdn": lambda r: f"{r.choice(HOSTS)}.{r.choice(['internal', 'prod', 'corp'])}.acme.io",
    "service": lambda r: r.choice(SERVICES),
    "ns": lambda r: r.choice(NAMESPACES),
    "app": lambda r: r.choice(APPS),
    "pod": _pod,
    "node": lambda r: f"ip-10-0-{r.randrange(256)}-{r.randrange(256)}.ec2.internal",
    "controller": lambda r: r.choice(CONTROLLERS),
    "kind": lambda r: r.choice(KINDS),
    "class": lambda r: r.choice(CLASSES),
    "method": lambda r: r.choice(METHODS),
    "exception": lambda r: r.choice(EXCEPTIONS),
    "frame": _frame,
    "unit": lambda r: r.choice(UNITS),
    "table": lambda r: r.choice(TABLES),
    "queue": lambda r: r.choice(QUEUES),
    "route": lambda r: r.choice(ROUTES) + r.choice(["", "", f"/{r.randrange(1, 10**5)}"]),
    "http": lambda r: r.choice(["GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD"]),
    "status": lambda r: r.choice(["200", "200", "200", "201", "204", "301", "304", "404", "500"]),
    "agent": lambda r: r.choice(AGENTS),
    "path": _path,
    "file": _file,
    "url": lambda r: f"https://{r.choice(HOSTS)}.acme.io{r.choice(ROUTES)}",
    "version": lambda r: f"{r.randrange(1, 4)}.{r.randrange(30)}.{r.randrange(20)}",
    "iso": _iso,
    "date": _date,
    "clock": _clock,
    "cjk": lambda r: r.choice(WORDS_CJK),
    "emoji": lambda r: r.choice(["🚀", "🔥", "✅", "❌", "🐛"]),
    "tag": lambda r: r.choice(ANDROID_TAGS),
    "pkg": _package,
    "container": lambda r: r.choice([*APPS, "sidecar", "istio-proxy", "init-db"]),
    "key": lambda r: f"{r.choice(['session', 'user', 'cart', 'token'])}:{_hex(r, 10)}",
    "word": lambda r: r.choice(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]),
}

SLOT = re.compile(r"⟨([^⟩]*)⟩")


def fill(pattern: str, rng: Rng, values: dict[str, str] | None = None) -> str:
    """`pattern` with each slot filled; `values` fixes some kinds (a header's level...)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if values and name in values:
            return values[name]
        if "|" in name:
            return rng.choice(name.split("|"))
        return FILLERS[name](rng)

    return SLOT.sub(one, pattern)


CONTINUED = "-"  # a template's level for a line printed without the header (a stack frame)


@dataclass(frozen=True)
class Template:
    level: str  # the statement's level, as the format's header prints it
    text: str  # the message, with slots


def T(level: str, text: str) -> Template:  # a short name: the formats read as tables
    return Template(level, text)


@dataclass(frozen=True)
class Format:
    """A log format: `header` prefixes each message (slots, `⟨level⟩` the template's level,
    `⟨ctx⟩` one of `contexts`, a per-template constant such as a logger or a source line)."""

    name: str
    header: str
    templates: tuple[Template, ...]
    contexts: tuple[str, ...] = ("",)

    def line(self, index: int, rng: Rng) -> str:
        template = self.templates[index]
        context = self.contexts[index % len(self.contexts)]
        if template.level == CONTINUED:
            return fill(template.text, rng)
        values = {"level": template.level, "ctx": fill(context, rng)}
        return fill(self.header, rng, values) + fill(template.text, rng)


# --- the formats ------------------------------------------------------------------------------

NGINX = Format(
    "nginx",
    "",
    (
        T("", '⟨ip⟩ - - [⟨small⟩/Dec/2024:⟨clock⟩ +0000] "⟨http⟩ ⟨route⟩ HTTP/1.1" ⟨status⟩ '
              '⟨bytes⟩ "-" "⟨agent⟩"'),
        T("", '⟨ip⟩ - ⟨user⟩ [⟨small⟩/Dec/2024:⟨clock⟩ +0000] "⟨http⟩ ⟨route⟩ HTTP/2.0" '
              '⟨status⟩ ⟨bytes⟩ "⟨url⟩" "⟨agent⟩" ⟨float⟩'),
        T("", '2024/12/⟨small⟩ ⟨clock⟩ [error] ⟨pid⟩#⟨pid⟩: *⟨int⟩ open() "⟨file⟩" failed '
              '(2: No such file or directory), client: ⟨ip⟩, server: ⟨fqdn⟩, request: '
              '"⟨http⟩ ⟨route⟩ HTTP/1.1", host: "⟨fqdn⟩"'),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [error] ⟨pid⟩#⟨pid⟩: *⟨int⟩ connect() failed (111: "
              "Connection refused) while connecting to upstream, client: ⟨ip⟩, server: ⟨fqdn⟩, "
              'request: "⟨http⟩ ⟨route⟩ HTTP/1.1", upstream: "http://⟨ip⟩:⟨port⟩⟨route⟩", '
              'host: "⟨fqdn⟩"'),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [error] ⟨pid⟩#⟨pid⟩: *⟨int⟩ upstream timed out (110: "
              "Connection timed out) while reading response header from upstream, client: "
              '⟨ip⟩, server: ⟨fqdn⟩, request: "⟨http⟩ ⟨route⟩ HTTP/1.1", upstream: '
              '"http://⟨ip⟩:⟨port⟩⟨route⟩", host: "⟨fqdn⟩"'),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [warn] ⟨pid⟩#⟨pid⟩: *⟨int⟩ an upstream response is "
              "buffered to a temporary file /var/cache/nginx/proxy_temp/⟨small⟩/⟨small⟩/⟨int⟩ "
              "while reading upstream, client: ⟨ip⟩, server: ⟨fqdn⟩, request: "
              '"⟨http⟩ ⟨route⟩ HTTP/1.1"'),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [notice] ⟨pid⟩#⟨pid⟩: signal process started"),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [notice] ⟨pid⟩#⟨pid⟩: worker process ⟨pid⟩ exited "
              "with code 0"),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [alert] ⟨pid⟩#⟨pid⟩: worker process ⟨pid⟩ exited on "
              "signal 9"),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [emerg] ⟨pid⟩#⟨pid⟩: bind() to 0.0.0.0:⟨port⟩ failed "
              "(98: Address already in use)"),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [crit] ⟨pid⟩#⟨pid⟩: *⟨int⟩ SSL_do_handshake() failed "
              "(SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, "
              "client: ⟨ip⟩, server: 0.0.0.0:443"),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [info] ⟨pid⟩#⟨pid⟩: *⟨int⟩ client ⟨ip⟩ closed "
              "keepalive connection"),
        T("", "2024/12/⟨small⟩ ⟨clock⟩ [error] ⟨pid⟩#⟨pid⟩: *⟨int⟩ limiting requests, excess: "
              '⟨float⟩ by zone "⟨app⟩", client: ⟨ip⟩, server: ⟨fqdn⟩, request: '
              '"⟨http⟩ ⟨route⟩ HTTP/1.1", host: "⟨fqdn⟩"'),
    ),
)  # fmt: skip

KLOG = Format(
    "klog",
    "⟨level⟩12⟨dd⟩ ⟨clock⟩.⟨int⟩ ⟨pid⟩ ⟨ctx⟩] ",
    (
        T("I", "Listing and watching *v1.⟨kind⟩ from k8s.io/client-go/informers/factory.go:150"),
        T("I", '"Starting controller" controller="⟨controller⟩"'),
        T("I", '"Shutting down controller" controller="⟨controller⟩"'),
        T("I", '"Caches are synced" controller="⟨controller⟩"'),
        T("I", '"SyncLoop ADD" source="api" pods=["⟨ns⟩/⟨pod⟩"]'),
        T("I", '"SyncLoop UPDATE" source="api" pods=["⟨ns⟩/⟨pod⟩"]'),
        T("I", '"SyncLoop DELETE" source="api" pods=["⟨ns⟩/⟨pod⟩"]'),
        T("I", '"SyncLoop (PLEG): event for pod" pod="⟨ns⟩/⟨pod⟩" event={"ID":"⟨uuid⟩",'
               '"Type":"ContainerStarted","Data":"⟨hex64⟩"}'),
        T("I", "attempting to acquire leader lease ⟨ns⟩/⟨controller⟩..."),
        T("I", "successfully acquired lease ⟨ns⟩/⟨controller⟩"),
        T("E", '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for '
               '\\"⟨container⟩\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed '
               'container=⟨container⟩ pod=⟨pod⟩_⟨ns⟩(⟨uuid⟩)\\"" pod="⟨ns⟩/⟨pod⟩" '
               "podUID=⟨uuid⟩"),
        T("W", "⟨kind⟩ ⟨ns⟩/⟨pod⟩ has no ownerReferences; skipping"),
        T("I", '"Killing container with a grace period" pod="⟨ns⟩/⟨pod⟩" podUID=⟨uuid⟩ '
               'containerName="⟨container⟩" containerID="containerd://⟨hex64⟩" gracePeriod=30'),
        T("E", '"Unable to attach or mount volumes for pod; skipping pod" err="unmounted '
               'volumes=[data], unattached volumes=[data kube-api-access-⟨hex8⟩]: timed out '
               'waiting for the condition" pod="⟨ns⟩/⟨pod⟩"'),
        T("I", '"Probe failed" probeType="Readiness" pod="⟨ns⟩/⟨pod⟩" podUID=⟨uuid⟩ '
               'containerName="⟨container⟩" probeResult=failure output="Get '
               '\\"http://⟨ip⟩:⟨port⟩/healthz\\": dial tcp ⟨ip⟩:⟨port⟩: connect: connection '
               'refused"'),
        T("W", "watch of *v1.⟨kind⟩ ended with: an error on the server (\"unable to decode an "
               "event from the watch stream: http2: client connection lost\") has prevented the "
               "request from succeeding"),
        T("I", "Event(v1.ObjectReference{Kind:\"Deployment\", Namespace:\"⟨ns⟩\", "
               "Name:\"⟨app⟩\", UID:\"⟨uuid⟩\", APIVersion:\"apps/v1\", "
               "ResourceVersion:\"⟨int⟩\", FieldPath:\"\"}): type: 'Normal' reason: "
               "'ScalingReplicaSet' Scaled up replica set ⟨pod⟩ to ⟨small⟩"),
        T("E", "Failed to update lease ⟨ns⟩/⟨controller⟩: Operation cannot be fulfilled on "
               'leases.coordination.k8s.io "⟨controller⟩": the object has been modified; '
               "please apply your changes to the latest version and try again"),
    ),
    contexts=("reflector.go:255", "controller.go:110", "controller.go:121", "informer.go:318",
              "kubelet.go:2423", "kubelet.go:2436", "kubelet.go:2442", "kubelet.go:2455",
              "leaderelection.go:250", "leaderelection.go:260", "pod_workers.go:1300",
              "garbagecollector.go:512", "kuberuntime_container.go:745", "pod_workers.go:1298",
              "prober.go:107", "reflector.go:462", "event.go:307", "leaderelection.go:367"),
)  # fmt: skip

LOGFMT = Format(
    "logfmt",
    "ts=⟨iso⟩ level=⟨level⟩ caller=⟨ctx⟩ ",
    (
        T("info", 'msg="request completed" method=⟨http⟩ path=⟨route⟩ status=⟨status⟩ '
                  "duration=⟨ms⟩ user=⟨user⟩"),
        T("info", 'msg="starting server" addr=:⟨port⟩ version=⟨version⟩'),
        T("info", 'msg="compaction completed" component=compactor blocks=⟨small⟩ duration=⟨ms⟩'),
        T("warn", 'msg="slow query" table=⟨table⟩ duration=⟨ms⟩ rows=⟨count⟩'),
        T("error", 'msg="failed to connect to database" host=⟨fqdn⟩ port=5432 err="dial tcp '
                   '⟨ip⟩:5432: connect: connection refused" attempt=⟨small⟩'),
        T("info", 'msg="user logged in" user=⟨user⟩ remote=⟨ip⟩ method=⟨password|oauth|sso⟩'),
        T("info", 'msg="user logged out" user=⟨user⟩ remote=⟨ip⟩ session=⟨hex32⟩'),
        T("debug", 'msg="cache miss" key=⟨key⟩ backend=⟨redis|memcached⟩'),
        T("debug", 'msg="cache hit" key=⟨key⟩ backend=⟨redis|memcached⟩'),
        T("info", "msg=\"job enqueued\" queue=⟨queue⟩ job_id=⟨uuid⟩"),
        T("info", "msg=\"job finished\" queue=⟨queue⟩ job_id=⟨uuid⟩ duration=⟨ms⟩"),
        T("error", "msg=\"job failed\" queue=⟨queue⟩ job_id=⟨uuid⟩ err=\"context deadline "
                   "exceeded\" retries=⟨small⟩"),
        T("warn", 'msg="rate limit exceeded" client=⟨ip⟩ limit=⟨count⟩ window=1m'),
        T("info", 'msg="config reloaded" file=/etc/⟨service⟩/config.yaml changed=⟨small⟩'),
        T("error", 'msg="panic recovered" err="runtime error: invalid memory address or nil '
                   'pointer dereference" handler=⟨route⟩'),
        T("info", 'msg="leader elected" node=⟨host⟩ term=⟨count⟩'),
    ),
    contexts=("server.go:214", "server.go:98", "compactor.go:377", "db.go:155", "db.go:87",
              "auth.go:66", "auth.go:91", "cache.go:40", "cache.go:37", "queue.go:120",
              "queue.go:188", "queue.go:201", "limiter.go:52", "config.go:73", "recover.go:29",
              "raft.go:412"),
)  # fmt: skip

JSONL = Format(
    "jsonl",
    '{"time":"⟨iso⟩","level":"⟨level⟩",',
    (
        T("info", '"msg":"request completed","method":"⟨http⟩","path":"⟨route⟩",'
                  '"status":⟨status⟩,"duration_ms":⟨float⟩}'),
        T("error", '"msg":"payment declined","user_id":⟨int⟩,"amount":⟨float⟩,'
                   '"currency":"⟨EUR|USD|GBP⟩","reason":"⟨insufficient_funds|card_expired|'
                   'fraud_suspected⟩"}'),
        T("info", '"msg":"user signed up","user_id":⟨int⟩,"email":"⟨email⟩","plan":"⟨free|pro|'
                  'team|enterprise⟩"}'),
        T("warn", '"msg":"retrying request","attempt":⟨small⟩,"url":"⟨url⟩","error":"timeout"}'),
        T("info", '"msg":"order created","order_id":"⟨uuid⟩","user":"⟨user⟩","items":⟨small⟩}'),
        T("info", '"msg":"order shipped","order_id":"⟨uuid⟩","user":"⟨user⟩","carrier":"⟨dhl|'
                  'ups|fedex|usps⟩"}'),
        T("error", '"msg":"database error","error":"duplicate key value violates unique '
                   'constraint \\"⟨table⟩_pkey\\"","table":"⟨table⟩"}'),
        T("debug", '"msg":"cache lookup","key":"⟨key⟩","hit":⟨true|false⟩}'),
        T("info", '"msg":"healthcheck","status":"ok","uptime_s":⟨count⟩}'),
        T("error", '"msg":"unhandled exception","exception":"⟨exception⟩","trace_id":"⟨hex32⟩"}'),
        T("info", '"msg":"started","port":⟨port⟩}'),
        T("info", '"msg":"stopped","port":⟨port⟩}'),
        T("warn", '"msg":"disk usage high","mount":"/⟨data|var|home⟩","percent":⟨small⟩}'),
        T("info", '"msg":"message consumed","topic":"⟨queue⟩","partition":⟨small⟩,'
                  '"offset":⟨int⟩}'),
    ),
)  # fmt: skip

JAVA = Format(
    "java",
    "⟨date⟩ ⟨clock⟩.⟨int⟩ ⟨level⟩ ⟨pid⟩ --- [⟨ctx⟩] ",
    (
        T("INFO", "c.a.shop.OrderService : Order ⟨uuid⟩ placed by ⟨user⟩ for ⟨float⟩ EUR"),
        T("INFO", "c.a.shop.OrderService : Order ⟨uuid⟩ cancelled by ⟨user⟩"),
        T("ERROR", "c.a.shop.PaymentGateway : Payment failed for order ⟨uuid⟩"),
        T("-", "⟨exception⟩: Connection to payment provider timed out after ⟨small⟩ ms"),
        T("-", "\tat ⟨frame⟩"),
        T("-", "\t... ⟨small⟩ more"),
        T("-", "Caused by: ⟨exception⟩: Read timed out"),
        T("WARN", "o.h.engine.jdbc.spi.SqlExceptionHelper : SQL Error: 0, SQLState: 23505"),
        T("ERROR", "o.h.engine.jdbc.spi.SqlExceptionHelper : ERROR: duplicate key value violates "
                   "unique constraint \"⟨table⟩_pkey\""),
        T("INFO", "o.s.b.w.embedded.tomcat.TomcatWebServer : Tomcat started on port(s): ⟨port⟩ "
                  "(http) with context path ''"),
        T("INFO", "c.a.shop.ShopApplication : Started ShopApplication in ⟨float⟩ seconds "
                  "(process running for ⟨float⟩)"),
        T("INFO", "o.s.web.servlet.DispatcherServlet : Completed initialization in ⟨small⟩ ms"),
        T("DEBUG", "c.a.shop.CartController : Adding item ⟨int⟩ to cart of user ⟨user⟩"),
        T("DEBUG", "c.a.shop.CartController : Removing item ⟨int⟩ from cart of user ⟨user⟩"),
        T("WARN", "c.a.shop.InventoryClient : Stock for sku ⟨int⟩ is low: ⟨small⟩ left"),
        T("INFO", "c.a.auth.TokenValidator : Token for ⟨user⟩ expired at ⟨iso⟩"),
        T("ERROR", "c.a.mail.Notifier : Could not send mail to ⟨email⟩: ⟨exception⟩"),
        T("INFO", "com.zaxxer.hikari.HikariDataSource : HikariPool-1 - Start completed."),
    ),
    contexts=("http-nio-8080-exec-⟨small⟩", "http-nio-8080-exec-⟨small⟩", "main",
              "scheduling-1", "task-⟨small⟩", "pool-⟨small⟩-thread-⟨small⟩", "main",
              "http-nio-8080-exec-⟨small⟩", "main", "restartedMain", "kafka-consumer-⟨small⟩",
              "http-nio-8080-exec-⟨small⟩"),
)  # fmt: skip

SYSLOG = Format(
    "syslog",
    "⟨Jan|Feb|Mar⟩ ⟨small⟩ ⟨clock⟩ ⟨host⟩ ",
    (
        T("", "systemd[1]: Started ⟨unit⟩."),
        T("", "systemd[1]: Stopped ⟨unit⟩."),
        T("", "systemd[1]: ⟨unit⟩: Deactivated successfully."),
        T("", "systemd[1]: ⟨unit⟩: Main process exited, code=exited, status=1/FAILURE"),
        T("", "systemd[1]: ⟨unit⟩: Failed with result 'exit-code'."),
        T("", "systemd-logind[⟨pid⟩]: New session ⟨count⟩ of user ⟨user⟩."),
        T("", "systemd-logind[⟨pid⟩]: Session ⟨count⟩ logged out. Waiting for processes to exit."),
        T("", "systemd-logind[⟨pid⟩]: Removed session ⟨count⟩."),
        T("", "CRON[⟨pid⟩]: (⟨user⟩) CMD (/usr/local/bin/backup.sh --target ⟨host⟩)"),
        T("", "CRON[⟨pid⟩]: pam_unix(cron:session): session opened for user ⟨user⟩(uid=⟨int⟩) "
              "by (uid=0)"),
        T("", "CRON[⟨pid⟩]: pam_unix(cron:session): session closed for user ⟨user⟩"),
        T("", "sudo[⟨pid⟩]:    ⟨user⟩ : TTY=pts/⟨small⟩ ; PWD=/home/⟨user⟩ ; USER=root ; "
              "COMMAND=/usr/bin/systemctl restart ⟨service⟩"),
        T("", "kernel: [⟨float⟩] Out of memory: Killed process ⟨pid⟩ (⟨service⟩) "
              "total-vm:⟨int⟩kB, anon-rss:⟨int⟩kB, file-rss:0kB, shmem-rss:0kB"),
        T("", "kernel: [⟨float⟩] EXT4-fs (sda1): mounted filesystem with ordered data mode."),
        T("", "dockerd[⟨pid⟩]: time=\"⟨iso⟩\" level=info msg=\"ignoring event\" "
              "container=⟨hex64⟩ module=libcontainerd namespace=moby "
              "topic=/tasks/delete type=\"*events.TaskDelete\""),
        T("", "postfix/smtp[⟨pid⟩]: ⟨hex8⟩: to=<⟨email⟩>, relay=⟨fqdn⟩[⟨ip⟩]:25, "
              "delay=⟨float⟩, status=sent (250 2.0.0 OK)"),
        T("", "⟨service⟩[⟨pid⟩]: Reloading configuration"),
    ),
)  # fmt: skip

LOGCAT = Format(
    "logcat",
    "⟨dd⟩-⟨dd⟩ ⟨clock⟩.⟨int⟩  ⟨pid⟩  ⟨pid⟩ ⟨level⟩ ⟨ctx⟩: ",
    (
        T("D", "Relayout returned: old=[0,0][1080,2340] new=[0,0][1080,2340] result=0x⟨small⟩ "
               "surface={valid=true ⟨int⟩} changed=false"),
        T("I", "Start proc ⟨pid⟩:⟨pkg⟩/u0a⟨small⟩ for activity {⟨pkg⟩/.MainActivity}"),
        T("I", "Displayed ⟨pkg⟩/.MainActivity: +⟨small⟩ms"),
        T("W", "Acquiring wake lock ⟨hex8⟩ for ⟨pkg⟩ without WAKE_LOCK permission"),
        T("I", "Killing ⟨pid⟩:⟨pkg⟩/u0a⟨small⟩ (adj ⟨small⟩): empty #⟨small⟩"),
        T("E", "Dropping event because there is no touchable window at (⟨small⟩, ⟨small⟩)."),
        T("D", "setScreenState: state=⟨ON|OFF|DOZE⟩"),
        T("I", "NetworkAgentInfo [WIFI () - ⟨small⟩] validation passed"),
        T("I", "NetworkAgentInfo [MOBILE (LTE) - ⟨small⟩] validation failed"),
        T("V", "Package ⟨pkg⟩ codePath changed from /data/app/⟨hex8⟩ to /data/app/⟨hex8⟩"),
        T("D", "onStateChange: state=⟨small⟩ device=⟨hex12⟩"),
        T("W", "Slow operation: ⟨count⟩ms so far, now at startProcess: done updating pids map"),
    ),
    contexts=(*ANDROID_TAGS, "Choreographer", "ViewRootImpl", "NetworkMonitor",
              "BluetoothHeadset"),
)  # fmt: skip

PIPE = Format(
    "pipe",
    "2024⟨dd⟩⟨dd⟩-⟨clock⟩:⟨int⟩|⟨ctx⟩|⟨int⟩|",
    (
        T("", "onStandStepChanged ⟨int⟩"),
        T("", "onExtend:⟨int⟩ ⟨small⟩ ⟨small⟩ ⟨small⟩"),
        T("", "processHandleBroadcastAction action:android.intent.action.SCREEN_ON"),
        T("", "processHandleBroadcastAction action:android.intent.action.SCREEN_OFF"),
        T("", "flush sensor data"),
        T("", "REPORT : ⟨int⟩ ⟨int⟩ ⟨int⟩ ⟨int⟩"),
        T("", "getTodayTotalDetailSteps = ⟨int⟩##⟨int⟩##⟨int⟩##⟨int⟩##⟨int⟩"),
        T("", "setGoal=⟨int⟩ user=⟨user⟩"),
        T("", "upload failed, reason=⟨timeout|no_network|server_error|unauthorized⟩"),
        T("", "upload ok, records=⟨count⟩"),
        T("", "totalSteps=⟨int⟩ totalCalories=⟨int⟩ totalDistance=⟨int⟩"),
        T("", "tryToReconnect device=⟨hex12⟩ state=⟨small⟩"),
    ),
    contexts=("Step_LSC", "Step_ExtSDM", "Step_StandStepCounter", "Step_StandStepCounter",
              "Step_SPUtils", "Step_LSC", "Step_StandReportReceiver", "Step_Goal",
              "Sync_Upload", "Sync_Upload", "Step_ExtSDM", "BT_Conn"),
)  # fmt: skip

CBS = Format(
    "cbs",
    "⟨date⟩ ⟨clock⟩, ⟨level⟩                  ⟨ctx⟩    ",
    (
        T("Info", "Loaded Servicing Stack v⟨version⟩.⟨int⟩ with Core: C:\\Windows\\winsxs\\"
                  "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_⟨version⟩_none_"
                  "⟨hex12⟩\\cbscore.dll"),
        T("Info", "Session: ⟨int⟩_⟨int⟩ initialized by client WindowsUpdateAgent."),
        T("Info", "Session: ⟨int⟩_⟨int⟩ finalized. Reboot required: no [HRESULT = 0x00000000 - "
                  "S_OK]"),
        T("Info", "Read out cached package applicability for package: Package_for_KB⟨int⟩~"
                  "31bf3856ad364e35~amd64~~⟨version⟩, ApplicableState: ⟨small⟩, "
                  "CurrentState:⟨small⟩"),
        T("Info", "Failed to get session package state for package: Package_for_KB⟨int⟩ "
                  "[HRESULT = 0x800f0805 - CBS_E_INVALID_PACKAGE]"),
        T("Info", "Warning: Unrecognized packageExtended attribute."),
        T("Info", "Expecting attribute name [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]"),
        T("Info", "Starting TrustedInstaller initialization."),
        T("Info", "Ending TrustedInstaller initialization."),
        T("Info", "Starting the TrustedInstaller main loop."),
        T("Info", "TrustedInstaller service starts successfully."),
        T("Info", "SQM: Initializing online with Windows opt-in: False"),
        T("Info", "SQM: Cleaning up report files older than 10 days."),
        T("Info", "No startup processing required, TrustedInstaller service was not set as "
                  "autostart"),
        T("Error", "Failed to resolve package 'Package_for_KB⟨int⟩~31bf3856ad364e35~amd64~~"
                   "⟨version⟩' [HRESULT = 0x800f0805 - CBS_E_INVALID_PACKAGE]"),
    ),
    contexts=("CBS", "CBS", "CBS", "CBS", "CBS", "CBS", "CBS", "CBS", "CBS", "CBS", "CBS",
              "CBS", "CBS", "CBS", "CSI"),
)  # fmt: skip

OPENSTACK = Format(
    "openstack",
    "⟨date⟩ ⟨clock⟩.⟨int⟩ ⟨pid⟩ ⟨level⟩ ⟨ctx⟩ [req-⟨uuid⟩ ⟨hex32⟩ ⟨hex32⟩ - - -] ",
    (
        T("INFO", '⟨ip⟩ "⟨GET|POST|DELETE⟩ /v2/⟨hex32⟩/servers/detail HTTP/1.1" status: '
                  "⟨status⟩ len: ⟨bytes⟩ time: ⟨float⟩"),
        T("INFO", "[instance: ⟨uuid⟩] Instance spawned successfully."),
        T("INFO", "[instance: ⟨uuid⟩] Took ⟨float⟩ seconds to spawn the instance on the "
                  "hypervisor."),
        T("INFO", "[instance: ⟨uuid⟩] Terminating instance"),
        T("INFO", "[instance: ⟨uuid⟩] Deleting instance files /var/lib/nova/instances/⟨uuid⟩"),
        T("WARNING", "[instance: ⟨uuid⟩] Instance shutdown by itself. Calling the stop API. "
                     "Current vm_state: active, current task_state: None, original DB "
                     "power_state: 1, current VM power_state: 4"),
        T("INFO", "Compute_service record updated for ⟨host⟩:⟨host⟩"),
        T("INFO", "Auditing locally available compute resources for node ⟨host⟩"),
        T("INFO", "Final resource view: name=⟨host⟩ phys_ram=⟨int⟩MB used_ram=⟨int⟩MB "
                  "phys_disk=⟨small⟩GB used_disk=⟨small⟩GB total_vcpus=⟨small⟩ used_vcpus=⟨small⟩ "
                  "pci_stats=[]"),
        T("ERROR", "[instance: ⟨uuid⟩] Failed to allocate network(s): Virtual Interface "
                   "creation failed"),
        T("INFO", "image ⟨uuid⟩ at (/var/lib/nova/instances/_base/⟨hex32⟩): checking"),
        T("INFO", "Active base files: /var/lib/nova/instances/_base/⟨hex32⟩"),
        T("WARNING", "Unknown base file: /var/lib/nova/instances/_base/⟨hex32⟩"),
    ),
    contexts=("nova.osapi_compute.wsgi.server", "nova.compute.manager", "nova.compute.manager",
              "nova.compute.manager", "nova.virt.libvirt.driver", "nova.compute.manager",
              "nova.compute.resource_tracker", "nova.compute.resource_tracker",
              "nova.compute.resource_tracker", "nova.compute.manager",
              "nova.virt.libvirt.imagecache", "nova.virt.libvirt.imagecache",
              "nova.virt.libvirt.imagecache"),
)  # fmt: skip

PYTHON = Format(
    "python",
    "⟨date⟩ ⟨clock⟩,⟨int⟩ - ⟨ctx⟩ - ⟨level⟩ - ",
    (
        T("INFO", "Worker ⟨host⟩ picked up task ⟨uuid⟩ from queue ⟨queue⟩"),
        T("INFO", "Task ⟨uuid⟩ succeeded in ⟨float⟩s: None"),
        T("ERROR", "Task ⟨uuid⟩ raised unexpected: ConnectionError('Connection refused')"),
        T("-", "Traceback (most recent call last):"),
        T("-", '  File "/app/⟨worker|tasks|db|utils⟩.py", line ⟨int⟩, in ⟨method⟩'),
        T("-", "ValueError: invalid literal for int() with base 10: '⟨word⟩'"),
        T("WARNING", "Retrying (Retry(total=⟨small⟩, connect=None, read=None, redirect=None, "
                     "status=None)) after connection broken by 'NewConnectionError'"),
        T("INFO", 'Starting new HTTPS connection (1): ⟨fqdn⟩:443'),
        T("DEBUG", '⟨url⟩ "⟨http⟩ ⟨route⟩ HTTP/1.1" ⟨status⟩ ⟨bytes⟩'),
        T("INFO", "User ⟨user⟩ exported ⟨count⟩ rows from ⟨table⟩"),
        T("WARNING", "Cache for ⟨table⟩ is stale by ⟨count⟩ seconds, refreshing"),
    ),
    contexts=("celery.worker", "celery.app.trace", "celery.app.trace", "", "", "", "",
              "urllib3.connectionpool", "urllib3.connectionpool", "urllib3.connectionpool",
              "app.export", "app.cache"),
)  # fmt: skip

# Variables that are plain words (names, services, hosts without digits), words that vary among
# few values, and statements that differ in one constant word only.
WORDS = Format(
    "words",
    "[⟨clock⟩] ⟨level⟩ ",
    (
        T("INFO", "User ⟨user⟩ logged in from ⟨host⟩"),
        T("INFO", "User ⟨user⟩ logged out from ⟨host⟩"),
        T("WARN", "User ⟨user⟩ failed to log in from ⟨host⟩"),
        T("INFO", "Service ⟨service⟩ started on ⟨host⟩"),
        T("INFO", "Service ⟨service⟩ stopped on ⟨host⟩"),
        T("ERROR", "Service ⟨service⟩ crashed on ⟨host⟩ with signal ⟨SIGSEGV|SIGKILL|SIGABRT⟩"),
        T("INFO", "Replication of ⟨table⟩ from ⟨host⟩ to ⟨host⟩ is ⟨healthy|lagging|paused⟩"),
        T("INFO", "Granted role ⟨admin|editor|viewer⟩ to ⟨user⟩ by ⟨user⟩"),
        T("INFO", "Revoked role ⟨admin|editor|viewer⟩ from ⟨user⟩ by ⟨user⟩"),
        T("INFO", "Connection to ⟨service⟩ opened"),
        T("INFO", "Connection to ⟨service⟩ closed"),
        T("WARN", "Queue ⟨queue⟩ is backing up"),
        T("INFO", "Feature flag ⟨word⟩ enabled for ⟨user⟩"),
        T("INFO", "Feature flag ⟨word⟩ disabled for ⟨user⟩"),
        T("INFO", "Backup of ⟨table⟩ completed"),
        T("ERROR", "Backup of ⟨table⟩ failed"),
        T("INFO", "⟨cjk⟩ ⟨user⟩ 登录成功 ⟨emoji⟩"),
        T("INFO", "Message from ⟨user⟩: “⟨cjk⟩” delivered to ⟨user⟩"),
    ),
)  # fmt: skip

FORMATS: tuple[Format, ...] = (NGINX, KLOG, LOGFMT, JSONL, JAVA, SYSLOG, LOGCAT, PIPE, CBS,
                               OPENSTACK, PYTHON, WORDS)  # fmt: skip


def generate(fmt: Format, lines: int = 2000, seed: int = 0) -> tuple[list[str], list[int]]:
    """`lines` lines of `fmt` and each line's true template index. Template frequencies fall
    as a power law (the commonest a few hundred times the rarest), in a random order of
    templates; every template appears at least twice."""
    rng = random.Random(f"{fmt.name}/{seed}")
    order = list(range(len(fmt.templates)))
    rng.shuffle(order)
    weights = [0.0] * len(order)
    for rank, index in enumerate(order):
        weights[index] = 1 / (rank + 1) ** 1.3
    truth = [*range(len(order)), *range(len(order))]
    truth += rng.choices(range(len(order)), weights, k=max(0, lines - len(truth)))
    truth = truth[:lines]
    rng.shuffle(truth)
    return [fmt.line(index, rng) for index in truth], truth


def grouping_accuracy(truth: Sequence[object], predicted: Sequence[object]) -> float:
    """GA (Zhu et al., ICSE 2019): the fraction of lines whose predicted group is exactly their
    true group (as `shared/tools/loghub_score.py` computes it)."""
    if len(truth) != len(predicted) or not truth:
        raise ValueError("truth and predicted must be equally long and not empty")
    preds_of: dict[object, set[object]] = {}
    truths_of: dict[object, set[object]] = {}
    for t, p in zip(truth, predicted, strict=True):
        preds_of.setdefault(t, set()).add(p)
        truths_of.setdefault(p, set()).add(t)
    correct = sum(
        1
        for t, p in zip(truth, predicted, strict=True)
        if len(preds_of[t]) == 1 and len(truths_of[p]) == 1
    )
    return correct / len(truth)
