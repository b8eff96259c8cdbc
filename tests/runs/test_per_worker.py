"""worker_split: selection, resolution of a config per worker, its life in ConfigDict,
command-line overrides and config.json."""

import copy
import json
import os

import pytest
from absl import flags
from checkout import ROOT
from ml_collections import config_flags

from vsml_tf.runs import config as config_lib
from vsml_tf.runs import per_worker
from vsml_tf.runs.per_worker import WorkerSplit, for_worker, worker_split


@pytest.mark.parametrize("options,repeat", [(["a", "b"], 1), ([1, 2, 3], 2), ([True], 4),
                                            (["m", "f", "r", "e", "k"], 1)])
def test_worker_i_takes_option_i_div_repeat_mod_len(options, repeat):
    split = worker_split(options, repeat)
    for i in range(40):
        assert split.select(i) == options[(i // repeat) % len(options)]
        assert per_worker.select(split, i) == per_worker.select(str(split), i)
    assert split.period == repeat * len(options)
    assert per_worker.select("plain", 7) == "plain"


def config_with_splits():
    c = config_lib.base_config()
    with c.ignore_type():
        c.data.rand_proj = worker_split([False, True])
        c.data.dataset = worker_split(["digits", "random", "sum"], repeat=2)
    return c


def test_for_worker_resolves_every_split_and_leaves_the_config_alone():
    c = config_with_splits()
    assert per_worker.period(c) == 6
    assert set(per_worker.splits(c)) == {"data.rand_proj", "data.dataset"}
    got = [(r.data.dataset, r.data.rand_proj) for r in (for_worker(c, i) for i in range(7))]
    assert got == [("digits", False), ("digits", True), ("random", False), ("random", True),
                   ("sum", False), ("sum", True), ("digits", False)]
    assert not per_worker.splits(for_worker(c, 3))
    assert isinstance(c.data.rand_proj, WorkerSplit)            # unchanged
    config_lib.validate(c)
    assert per_worker.period(config_lib.base_config()) == 1


def test_survives_configdict_copy_lock_and_config_json(tmp_path):
    from vsml_tf.runs.workdir import write_config

    c = config_with_splits()
    c.lock()
    assert copy.deepcopy(c).data.dataset == c.data.dataset
    write_config(c, str(tmp_path))
    saved = json.load(open(tmp_path / "config.json"))
    assert saved["data"]["rand_proj"] == "worker_split([False, True])"
    assert saved["data"]["dataset"] == 'worker_split(["digits", "random", "sum"], repeat=2)'
    assert per_worker.parse(saved["data"]["dataset"]) == c.data.dataset
    assert per_worker.select(saved["data"]["dataset"], 2) == "random"


def test_parse_errors_and_type_checks():
    with pytest.raises(ValueError, match="worker_split\\(\\[option"):
        per_worker.parse("worker_split(mnist, kmnist)")
    with pytest.raises(ValueError, match="at least one option"):
        worker_split([])
    with pytest.raises(ValueError, match="repeat must be a positive int"):
        worker_split([1, 2], repeat=0)
    c = config_lib.base_config()
    with c.ignore_type():
        c.data.rand_proj = worker_split([False, "yes"])
    with pytest.raises(config_lib.ConfigError, match="option 'yes' is a str, the field is a bool"):
        config_lib.validate(c)
    c = config_lib.base_config()
    with c.ignore_type():
        c.data.normalize = worker_split(["standard", "zscore"])
    with pytest.raises(config_lib.ConfigError, match="data.normalize='zscore' \\(worker 1\\)"):
        config_lib.validate(c)


def test_command_line_override_of_a_field_holding_a_worker_split():
    """configs/rand_proj.py holds a worker_split; ml_collections parses overrides of it
    with the parser registered for WorkerSplit."""
    path = os.path.join(ROOT, "configs", "rand_proj.py")
    for argv, expected in [
            ([], worker_split([False, True])),
            (["--config.data.rand_proj=False"], worker_split([False])),
            (["--config.data.rand_proj=worker_split([True, False], repeat=3)"],
             worker_split([True, False], repeat=3))]:
        values = flags.FlagValues()
        full_argv = ["prog", f"--config={path}", *argv]
        config_flags.DEFINE_config_file("config", path, flag_values=values, lock_config=True,
                                        sys_argv=full_argv)
        values(full_argv)
        assert values.config.data.rand_proj == expected
        assert values.config.data.dataset == "mnist"
        config_lib.validate(values.config)
