"""The TFDS source, with no network: TFDS's own MNIST builder prepares a real TFDS
dataset directory from the shared MNIST files, then our loader reads it through
`tfds.load` and must return exactly the examples the official-files reader returns.

The only liberty taken: the shared files were re-compressed, so their gzip bytes differ
from the ones TFDS registers; the builder here checks them against SHA256SUMS instead.
"""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from official_format import require_shared_mnist

from vsml_tf import datasets
from vsml_tf.datasets import tfds_source


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    data_dir = require_shared_mnist()
    import tensorflow_datasets as tfds
    from tensorflow_datasets.image_classification import mnist as tfds_mnist

    shared = os.path.join(data_dir, "mnist")
    sums = dict(reversed(line.split()) for line in open(os.path.join(shared, "SHA256SUMS")))

    with tfds.core.registered.skip_registration():
        class MNIST(tfds_mnist.MNIST):  # named so: TFDS names the dataset 'mnist'
            @tfds.core.utils.classproperty
            @classmethod
            def url_infos(cls):
                return {url: tfds.core.download.checksums.UrlInfo(
                            size=os.path.getsize(os.path.join(shared, info.filename)),
                            checksum=sums[info.filename], filename=info.filename)
                        for url, info in tfds_mnist.MNIST.url_infos.items()}

    out = str(tmp_path_factory.mktemp("tfds"))
    MNIST(data_dir=out).download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=shared))
    return out


def _canonical(dataset):
    """Examples sorted by (label, pixels): TFDS stores them in its own shuffled order."""
    flat = dataset.images.reshape(len(dataset), -1)
    order = np.lexsort(np.concatenate([flat, dataset.labels[:, None]], 1).T[::-1])
    return dataset.images[order], dataset.labels[order]


@pytest.mark.slow
def test_tfds_source_equals_official_files(tfds_dir):
    from_tfds = datasets.load("mnist", "test", source="tfds", tfds_data_dir=tfds_dir,
                              tfds_download=False)
    from_files = datasets.load("mnist", "test", source="files",
                               data_dir=require_shared_mnist())
    assert from_tfds.images.shape == (10000, 28, 28, 1) and from_tfds.images.dtype == np.uint8
    assert (from_tfds.mean, from_tfds.std, from_tfds.num_classes) == (0.1307, 0.3081, 10)
    for a, b in zip(_canonical(from_tfds), _canonical(from_files)):
        np.testing.assert_array_equal(a, b)
    train = datasets.load("mnist", "train", source="tfds", tfds_data_dir=tfds_dir,
                          tfds_download=False)
    assert len(train) == 60000


@pytest.mark.slow
def test_auto_source_falls_back_to_tfds_and_says_where_it_looked(tfds_dir, tmp_path):
    # No tmp_path/mnist/: 'auto' uses TFDS (here the prepared directory).
    dataset = datasets.load("mnist", "test", data_dir=str(tmp_path), tfds_data_dir=tfds_dir,
                            tfds_download=False)
    assert len(dataset) == 10000
    with pytest.raises(tfds_source.TFDSError, match=r"no .*/kmnist/ with the official files"
                                                    r".*TFDS could not load 'kmnist'"):
        datasets.load("kmnist", "test", data_dir=str(tmp_path), tfds_data_dir=tfds_dir,
                      tfds_download=False)


def test_tfds_missing_dataset_error_without_download(tmp_path):
    assert issubclass(tfds_source.TFDSError, FileNotFoundError)  # one-line CLI error
    with pytest.raises(tfds_source.TFDSError, match=r"'emnist/byclass'.*data\.data_dir"):
        datasets.load("emnist", "test", source="tfds", tfds_data_dir=str(tmp_path),
                      tfds_download=False)


def test_data_dir_set_means_no_download_for_auto(tmp_path):
    """Issue 17 (8): with data.data_dir set but no <name>/ in it, 'auto' does not try
    TFDS downloads (minutes of retries offline): it fails at once, naming the missing
    directory and the official files it expects."""
    (tmp_path / "tfds").mkdir()
    started = time.time()
    with pytest.raises(tfds_source.TFDSError) as info:
        datasets.load("kmnist", "test", data_dir=str(tmp_path / "data"),
                      tfds_data_dir=str(tmp_path / "tfds"), tfds_download=True)
    message = str(info.value)
    assert f"no {tmp_path / 'data' / 'kmnist'}/ with the official files" in message
    assert "kmnist-{train,test}-{imgs,labels}.npz" in message and "\n" not in message
    assert "does not download while data.data_dir is set" in message
    assert time.time() - started < 60


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _clear_proxies(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def no_network(monkeypatch):
    """No network for HTTP(S), whatever the machine has: every request goes through a
    proxy on a local port that refuses connections (bound, never listening). Yields
    the proxy's 'host:port'."""
    _clear_proxies(monkeypatch)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, f"http://{address}")
        yield address


@pytest.mark.timeout(120)
def test_offline_tfds_download_fails_in_seconds_with_the_one_line_error(no_network,
                                                                       tmp_path):
    """Issue 33 (4): without data.data_dir and without network, TFDS's download retried
    for 3 min 24 s before the error; now a connection probe fails at once. Nothing is
    left in the TFDS data_dir."""
    started = time.time()
    with pytest.raises(tfds_source.TFDSError) as info:
        datasets.load("mnist", "test", tfds_data_dir=str(tmp_path), tfds_download=True)
    elapsed = time.time() - started
    message = str(info.value)
    assert elapsed < 30, f"{elapsed:.0f} s"
    assert "\n" not in message and "--config.data.data_dir" in message
    assert f"no network: cannot connect to {no_network}" in message
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_offline_meta_test_on_mnist_is_a_quick_one_line_error(no_network, tmp_path):
    """The user's command end to end: `vsml-evaluate --pretrained` on MNIST with no
    data.data_dir, offline: exit 2, a one-line error naming data.data_dir, in seconds
    (TensorFlow's import included) instead of minutes."""
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "vsml_tf.apps.evaluate", "--pretrained=quickstart_digits",
         f"--workdir={tmp_path / 'out'}", "--config.evaluation.datasets=mnist",
         f"--config.data.tfds_data_dir={tmp_path / 'tfds'}"],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "WANDB_MODE": "offline"})
    elapsed = time.time() - started
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: TFDS could not load 'mnist'") and \
        "--config.data.data_dir" in last, last
    assert "Retrying" not in result.stderr
    assert elapsed < 120, f"{elapsed:.0f} s"


@pytest.mark.timeout(120)
def test_prepared_dataset_loads_offline_with_downloads_allowed(no_network, tfds_dir):
    """The probe runs only before a download: a prepared copy needs no network."""
    dataset = datasets.load("mnist", "test", source="tfds", tfds_data_dir=tfds_dir,
                            tfds_download=True)
    assert len(dataset) == 10000


def test_probe_goes_where_requests_would_connect(monkeypatch):
    """The probe connects to the proxy when one applies, as the download would."""
    _clear_proxies(monkeypatch)
    url = "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-labels-idx1-ubyte.gz"
    assert tfds_source.probe_address(url) == ("storage.googleapis.com", 443)
    assert tfds_source.probe_address("http://codh.rois.ac.jp/x.gz") == ("codh.rois.ac.jp", 80)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert tfds_source.probe_address(url) == ("proxy.example", 3128)
    monkeypatch.setenv("NO_PROXY", "storage.googleapis.com")
    assert tfds_source.probe_address(url) == ("storage.googleapis.com", 443)


def test_probe_passes_when_the_host_accepts_connections(monkeypatch):
    _clear_proxies(monkeypatch)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        tfds_source.check_reachable([f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"])
        server.close()
        with pytest.raises(ConnectionError, match=f"cannot connect to 127.0.0.1:{port}"):
            tfds_source.check_reachable([f"http://127.0.0.1:{port}/a"], timeout=2)
