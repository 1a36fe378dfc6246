"""The relay in front of the shared AWS provider (deploy/provider_answers.py): the provider's
schema and configuration check are answered from the cache once it holds them, everything
else always reaches the provider, and Terraform plans exactly as it does with its own provider.

A stand-in provider (a gRPC server in this process that counts what reaches it) shows what the
relay forwards; the real provider plans a small configuration on the emulator.
"""

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from deploy.provider_answers import AnswerCache, relayed
from deploy.provider_server import shared_provider
from deploy.terraform import Stack

SCHEMA = "/tfplugin5.Provider/GetSchema"
CHECK_CONFIG = "/tfplugin5.Provider/PrepareProviderConfig"
PLAN = "/tfplugin5.Provider/PlanResourceChange"
REFUSED = "/tfplugin5.Provider/ReadResource"


class StandInProvider(grpc.GenericRpcHandler):
    """Answers every unary call with its method and request; refuses REFUSED; counts calls."""

    def __init__(self):
        self.calls: Counter[str] = Counter()

    def service(self, handler_call_details):
        method = handler_call_details.method

        def answer(request: bytes, context) -> bytes:
            self.calls[method] += 1
            if method == REFUSED:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no such resource")
            return f"{method} answered {request.decode()}".encode()

        return grpc.unary_unary_rpc_method_handler(answer)


@contextmanager
def stand_in(tmp_path: Path, protocol: int = 5) -> Iterator[tuple[StandInProvider, str]]:
    """The stand-in served on a unix socket, and the reattach value naming it."""
    provider = StandInProvider()
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([provider])
    socket = tmp_path / "provider.sock"
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    reattach = {
        "registry.terraform.io/hashicorp/aws": {
            "Protocol": "grpc",
            "ProtocolVersion": protocol,
            "Pid": 1,
            "Test": True,
            "Addr": {"Network": "unix", "String": str(socket)},
        }
    }
    try:
        yield provider, json.dumps(reattach)
    finally:
        server.stop(grace=None)


def call(reattach: str, method: str, request: bytes) -> bytes:
    [attach] = json.loads(reattach).values()
    with grpc.insecure_channel(f"unix://{attach['Addr']['String']}") as channel:
        unary: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
        return unary(request, timeout=10)


@pytest.fixture
def binary(tmp_path) -> Path:
    """A file standing for the provider binary: the cache keys answers by its identity."""
    path = tmp_path / "terraform-provider-aws_v5.100.0_x5"
    path.write_bytes(b"provider")
    return path


def test_schema_and_config_check_reach_the_provider_once_then_come_from_the_cache(tmp_path, binary):
    answers = tmp_path / "answers"
    with stand_in(tmp_path) as (provider, reattach):
        for _ in range(2):  # two Terraform commands, each with a relay of its own
            cache = AnswerCache(answers, binary)
            with relayed(reattach, cache) as relay:
                for _ in range(2):  # two walks
                    assert call(relay, SCHEMA, b"") == f"{SCHEMA} answered ".encode()
                    assert call(relay, CHECK_CONFIG, b"port 1") == f"{CHECK_CONFIG} answered port 1".encode()
    assert provider.calls == {SCHEMA: 1, CHECK_CONFIG: 1}
    assert (cache.forwarded, cache.answered) == (0, 4)  # the second command's relay
    assert answers.stat().st_mode & 0o777 == 0o700
    assert sorted(path.stat().st_mode & 0o777 for path in answers.iterdir()) == [0o600, 0o600]


def test_another_configuration_or_another_binary_is_asked_again(tmp_path, binary):
    other_binary = tmp_path / "terraform-provider-aws_v5.99.1_x5"
    other_binary.write_bytes(b"another provider")
    with stand_in(tmp_path) as (provider, reattach):
        with relayed(reattach, AnswerCache(tmp_path / "answers", binary)) as relay:
            call(relay, CHECK_CONFIG, b"port 1")
            call(relay, CHECK_CONFIG, b"port 2")
        with relayed(reattach, AnswerCache(tmp_path / "answers", other_binary)) as relay:
            call(relay, CHECK_CONFIG, b"port 1")
    assert provider.calls == {CHECK_CONFIG: 3}


def test_every_other_call_reaches_the_provider_each_time(tmp_path, binary):
    with stand_in(tmp_path) as (provider, reattach), relayed(reattach, AnswerCache(tmp_path / "a", binary)) as relay:
        assert [call(relay, PLAN, b"same") for _ in range(3)] == [f"{PLAN} answered same".encode()] * 3
    assert provider.calls == {PLAN: 3}


def test_a_providers_error_reaches_terraform_as_sent_and_is_not_kept(tmp_path, binary):
    with stand_in(tmp_path) as (provider, reattach), relayed(reattach, AnswerCache(tmp_path / "a", binary)) as relay:
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as refused:
                call(relay, REFUSED, b"x")
            assert (refused.value.code(), refused.value.details()) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "no such resource",
            )
    assert provider.calls == {REFUSED: 2}


def test_protocol_6_providers_get_their_own_method_names_cached(tmp_path, binary):
    schema_6 = "/tfplugin6.Provider/GetProviderSchema"
    with (
        stand_in(tmp_path, protocol=6) as (provider, reattach),
        relayed(reattach, AnswerCache(tmp_path / "a", binary)) as relay,
    ):
        for _ in range(2):
            call(relay, schema_6, b"")
            call(relay, SCHEMA, b"")  # not a protocol 6 method: forwarded
    assert provider.calls == {schema_6: 1, SCHEMA: 2}


# --- the real provider ---------------------------------------------------------------------


def small_configuration(endpoint: str) -> dict:
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {
            "aws": {
                "region": "us-east-2",
                "access_key": "test",
                "secret_key": "test",
                "max_retries": 1,
                "skip_credentials_validation": True,
                "skip_metadata_api_check": "true",
                "skip_requesting_account_id": True,
                "endpoints": [{"ssm": endpoint, "sts": endpoint}],
            }
        },
        "resource": {"aws_ssm_parameter": {"answered": {"name": "/relay/answered", "type": "String", "value": "1"}}},
    }


@pytest.mark.emulator
def test_terraform_plans_the_same_through_the_relay_cold_and_warm_as_with_its_own_provider(running_emulator, tmp_path):
    directory = tmp_path / "stack"
    directory.mkdir()
    (directory / "main.tf.json").write_text(json.dumps(small_configuration(running_emulator.endpoint)))
    stack = Stack(directory, tmp_path / "logs")

    def planned(runner: Stack, plan_file: str) -> list:
        runner.run("plan", "-input=false", "-no-color", f"-out={plan_file}")
        return json.loads(runner.run("show", "-json", plan_file))["resource_changes"]

    stack.run("init", "-input=false", "-no-color")
    stack.run("plan", "-input=false", "-no-color", "-out=own.bin")  # Terraform starts its own provider
    answers = tmp_path / "answers"
    with shared_provider(stack, answers) as cold:
        own_provider = json.loads(cold.run("show", "-json", "own.bin"))["resource_changes"]
        assert planned(cold, "cold.bin") == own_provider
    with shared_provider(stack, answers) as warm:
        assert planned(warm, "warm.bin") == own_provider
    assert [change["change"]["actions"] for change in own_provider] == [["create"]]
    assert len(list(answers.iterdir())) == 2  # the schema and the one configuration check
