"""Only this machine: the servers of the local target answer requests addressed to a loopback
name or address, and nothing else.

A page on any site can make the developer's browser send requests to 127.0.0.1; through DNS
rebinding (its own host name re-pointed at 127.0.0.1) it can even read the answers, as if it
were same-origin. The browser then sends that site's host name in `Host`, which is how such a
request is recognized and refused.
"""

import ipaddress

LOOPBACK_NAMES = ("localhost",)


def is_loopback_host(host: str) -> bool:
    """True for a `Host` header naming this machine: localhost (or a name under it, which
    browsers resolve to loopback themselves), 127.0.0.0/8 or [::1], with any port. A request
    without one is not a browser's (HTTP/1.1 browsers always send it), so callers pass
    "localhost" for a missing header."""
    name = _without_port(host.strip().lower()).rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:4566
        return host.partition("]")[0] + "]"
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host
