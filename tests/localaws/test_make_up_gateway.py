"""`make up` (deploy/make_up.py) and the gateway port: it fails naming a taken port, and the API
key goes only to the gateway process it started (checked through the gateway's identity route)."""

import json
import os
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploy import make_up
from deploy.local_target import LocalTarget
from localaws.gateway_process import GatewayProcess
from localaws.server_process import ServerProcessError
from tests.localaws.apis import gateway_command
from tests.support import PROJECT_ROOT

THE_API_KEY = "the-api-key-value"


class Squatter(ThreadingHTTPServer):
    """Something else on the gateway's port: answers 200 to everything, as a gateway that
    forged its identity would, and records the headers of every request it receives."""

    def __init__(self):
        self.received_headers: list[list[tuple[str, str]]] = []
        squatter = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                squatter.received_headers.append(list(self.headers.items()))
                body = b'{"service": "localaws-gateway", "pid": 1}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def saw_the_key(self) -> bool:
        return any(THE_API_KEY in value for headers in self.received_headers for _, value in headers)


@pytest.fixture
def squatter():
    server = Squatter()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def make_up_target(emulator_port: int, gateway_port: int) -> LocalTarget:
    return LocalTarget.load({"REVIEWS_EMULATOR_PORT": str(emulator_port), "REVIEWS_GATEWAY_PORT": str(gateway_port)})


@pytest.fixture
def deployed_without_terraform(monkeypatch):
    """`make up`'s deploy and runtime steps replaced: this is about the gateway, not Terraform
    (nor the user pool it deploys)."""
    monkeypatch.setattr(make_up, "deploy", lambda target: {})
    monkeypatch.setattr(make_up, "create_demo_reviewers", lambda target, outputs: None)
    monkeypatch.setattr(make_up, "prepare_runtime", lambda target: None)
    monkeypatch.setattr(LocalTarget, "api_key", lambda target: THE_API_KEY)


def test_make_up_fails_naming_a_taken_gateway_port(running_emulator, squatter, deployed_without_terraform):
    with pytest.raises(ServerProcessError, match=f"port {squatter.port} is taken by another process"):
        make_up.up(make_up_target(running_emulator.port, squatter.port))
    assert not squatter.saw_the_key()


def test_the_key_goes_only_to_the_gateway_make_up_started(
    running_emulator, squatter, deployed_without_terraform, monkeypatch
):
    """Even if a stranger answers on the port after the gateway started (it died, another
    process took the port), the smoke test does not send it the key."""
    monkeypatch.setattr(GatewayProcess, "start", lambda gateway: 4242)
    with pytest.raises(ServerProcessError, match="not the local gateway started as pid 4242; nothing was sent"):
        make_up.up(make_up_target(running_emulator.port, squatter.port))
    assert not squatter.saw_the_key()


def test_our_gateway_is_recognized_by_its_pid(serve, running_emulator, squatter):
    gateway_port = urllib.parse.urlsplit(serve("dev")).port  # served by this process
    assert make_up_target(running_emulator.port, gateway_port).gateway.is_ours(os.getpid())
    assert not make_up_target(running_emulator.port, gateway_port).gateway.is_ours(os.getpid() + 1)
    assert not make_up_target(running_emulator.port, squatter.port).gateway.is_ours(os.getpid())


def test_gateway_command_fails_naming_a_taken_port(test_api, squatter):
    result = subprocess.run(
        gateway_command(test_api, squatter.port),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{squatter.port}" in result.stderr


def test_stop_leaves_alone_a_process_that_reused_the_recorded_pid(tmp_path, unused_port):
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    gateway = GatewayProcess("http://127.0.0.1:1", "us-east-1", "api", "v1", unused_port, tmp_path)
    gateway.state_file.write_text(json.dumps({"pid": bystander.pid, "start_ticks": 1}))  # not its start time
    try:
        assert not gateway.stop()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
