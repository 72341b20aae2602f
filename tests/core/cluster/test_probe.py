"""Test connection's answer: the nodes an address reaches, their CPUs and GPUs, and which models each holds.

Ray runs for real: a head on 127.0.0.1 in its own processes (tests/core/cluster/ray_head.py)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from hear2see_desktop.core.cluster import probe
from hear2see_desktop.core.cluster.address import INSTALL_COMMAND
from hear2see_desktop.core.cluster.probe import ClusterReport, probe_cluster, render_models
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.render.weights_hash import cached_sha256, weights_sha256
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from tests.core.cluster.ray_head import RayHead, free_port

PATIENT_S = 180.0  # joining takes a second or two on an idle machine, minutes on a loaded two-core one


@pytest.fixture
def style_file(tmp_path: Path) -> Path:
    path = tmp_path / "style.safetensors"
    path.write_bytes(os.urandom(300_000))
    return path


def one_sentence(text: str) -> bool:
    return "\n" not in text and text.endswith(".") and len(text) < 400


def test_a_ray_cluster_lists_its_node_and_which_models_the_node_holds(head: RayHead, style_file: Path) -> None:
    import ray

    models = [("my style", str(style_file), weights_sha256(style_file)),
              ("an older style", str(style_file), "0" * 64)]  # the same path, other weights: the node lacks them
    report = probe_cluster(head.client_address, models, timeout_s=PATIENT_S)

    assert isinstance(report, ClusterReport) and report.kind == "remote"
    assert report.silent_nodes == ()
    [node] = report.nodes
    assert node.host == socket.gethostname() and node.ip  # (Ray may know the node by another of its addresses)
    assert node.cpus == os.cpu_count() and node.gpus == 0  # the head was started with --num-gpus=0
    assert [(m.label, m.present) for m in node.models] == [("my style", True), ("an older style", False)]
    assert node.models[1].size_bytes == 300_000
    lines = report.summary()
    assert lines[0] == f"{head.client_address} answered: 1 node, 0 GPUs."
    assert "has my style" in lines[1] and "an older style will be sent (300.0 kB)" in lines[1]
    assert not ray.is_initialized(), "the probe leaves no Ray connection behind"


def test_auto_joins_the_cluster_ray_names_and_leaves_it(head: RayHead, style_file: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setenv("RAY_ADDRESS", head.gcs_address)  # what `ray start --address=...` leaves for auto
    report = probe_cluster("auto", [("my style", str(style_file), weights_sha256(style_file))], timeout_s=PATIENT_S)

    assert [node.host for node in report.nodes] == [socket.gethostname()]
    assert report.nodes[0].models[0].present
    assert report.summary()[0] == "auto answered: 1 node, 0 GPUs."
    assert not ray.is_initialized()


def test_a_closed_port_is_one_sentence_in_seconds() -> None:
    pytest.importorskip("ray")
    address = f"ray://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(BadInputError) as caught:
        probe_cluster(address, timeout_s=10)
    assert time.monotonic() - started < 6, "Ray's own half minute of retries is not waited for"
    message = str(caught.value)
    assert one_sentence(message), message
    assert message.startswith(f"Cannot reach the Ray cluster at {address}: nothing answers on port")


def test_an_unknown_host_is_one_sentence() -> None:
    pytest.importorskip("ray")
    with pytest.raises(BadInputError) as caught:
        probe_cluster("ray://no-such-host.invalid:10001", timeout_s=5)
    assert one_sentence(str(caught.value))
    assert "no-such-host.invalid is not known" in str(caught.value)


def test_local_reports_this_computer_without_starting_ray(style_file: Path) -> None:
    report = probe_cluster("local:2", [("my style", str(style_file), weights_sha256(style_file))])

    assert report.kind == "local" and report.workers == 2
    [node] = report.nodes
    assert node.cpus == os.cpu_count() and node.models[0].present
    assert report.summary()[0].startswith("local:2 starts 2 workers on this computer")
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()


def test_without_ray_a_cluster_is_the_install_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "ray_installed", lambda: False)
    with pytest.raises(BadInputError) as caught:
        probe_cluster("ray://127.0.0.1:10001")
    assert INSTALL_COMMAND in str(caught.value) and one_sentence(str(caught.value))


def test_a_wrong_address_names_the_forms_it_takes() -> None:
    with pytest.raises(BadInputError) as caught:
        probe_cluster("ray:/gpu-box")
    assert "local:N" in str(caught.value) and "ray://HOST:PORT" in str(caught.value)


def test_a_renders_models_are_named_by_their_weights(tiny_models: tuple[Path, Path, Path], style_file: Path) -> None:
    model = tiny_models[0]
    wanted = render_models(RenderSettings(model=str(model), loras=[LoraSpec(str(style_file), 0.8)]))
    assert wanted == [(str(model), str(model.resolve()), weights_sha256(model)),
                      ("style.safetensors", str(style_file), cached_sha256(style_file))]


def test_a_model_not_on_this_computer_is_left_to_the_renders_own_check() -> None:
    assert render_models(RenderSettings(model="nobody/no-such-model")) == []
