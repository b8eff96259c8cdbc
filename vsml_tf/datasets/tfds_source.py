"""Load a whole split from TensorFlow Datasets into memory.

`data_dir` is TFDS's own (default ~/tensorflow_datasets or $TFDS_DATA_DIR); gs:// paths
work as on TPU VMs. With `download=True` TFDS downloads and prepares a dataset it does
not have yet (network needed once).

Offline, a TFDS download does not fail: it retries. Its downloader mounts urllib3's
Retry(total=10, backoff_factor=0.2) on every URL, so an unreachable host costs about 204 s
of back-off (0.4 + 0.8 + ... + 102.4 s) before the error. Before downloading we therefore
open one TCP connection to each download host (or to the proxy that requests would use)
with a short timeout, and fail at once when one cannot be reached.
"""

from __future__ import annotations

import socket
import sys
import urllib.parse
import urllib.request

import numpy as np

from vsml_tf.core.errors import MissingFileError

PROBE_TIMEOUT_S = 5.0  # per host: a reachable download host answers well within it


class TFDSError(MissingFileError):
    """TFDS could not provide the dataset (the commands report it in one line, like a
    missing file)."""


def probe_address(url: str) -> tuple[str, int]:
    """(host, port) a download of `url` connects to first: the proxy from the environment
    (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) as requests uses it, else the URL's own host."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def check_reachable(urls, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise ConnectionError naming the first download host (or proxy) of `urls` that a
    TCP connection cannot reach within `timeout` seconds."""
    for host, port in dict.fromkeys(probe_address(url) for url in urls):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as e:
            raise ConnectionError(f"no network: cannot connect to {host}:{port} within "
                                  f"{timeout:g} s ({e})") from None


def load(tfds_name: str, split: str, data_dir: str = "", download: bool = True):
    """(images uint8 [N, H, W, C], labels int64 [N]) of `split`."""
    import tensorflow_datasets as tfds

    if not sys.stderr.isatty():  # its \r progress bars would garble a log file
        tfds.disable_progress_bar()
    try:
        builder = tfds.builder(tfds_name, data_dir=data_dir or None)
        if download and not builder.is_prepared():
            check_reachable(builder.url_infos or {})
        images, labels = tfds.as_numpy(tfds.load(
            tfds_name, split=split, data_dir=data_dir or None, batch_size=-1,
            as_supervised=True, download=download))
    except Exception as e:  # TFDS raises many types: network, missing data, bad split
        how = ("download it with network access" if download else
               "prepare it (tfds build) or set --config.data.tfds_download=True")
        raise TFDSError(f"TFDS could not load {tfds_name!r} split {split!r} from "
                        f"{data_dir or 'its default data_dir'}: {type(e).__name__}: "
                        f"{' '.join(str(e).split())[:500]}. Either {how}, or point "
                        f"--config.data.data_dir at the official files.") from None
    return np.asarray(images), np.asarray(labels).astype(np.int64)
