"""Config values: bad ones are one-line errors before any work (issue 17, defects 7
and 9); a meta-test takes its data settings from the invoking config."""

import os
import subprocess
import sys

import pytest
from checkout import ROOT, TESTING, with_values

from vsml_tf.runs import config as config_lib
from vsml_tf.runs.config import base_config, with_episodes_of


@pytest.mark.parametrize("values,message", [
    (dict(es__population_size=0), r"es.population_size=0: must be >= 1"),
    (dict(es__population_size=-3), r"es.population_size=-3: must be >= 1"),
    (dict(training__episode_length=0), r"training.episode_length=0: must be >= 1"),
    (dict(training__episode_length=-5), r"training.episode_length=-5"),
    (dict(training__num_iterations=-1), r"training.num_iterations=-1: must be >= 0"),
    (dict(evaluation__chunk=0), r"evaluation.chunk=0: must be >= 1"),
    (dict(evaluation__num_episodes=0), r"evaluation.num_episodes=0: must be >= 1"),
    (dict(data__batch_size=0), r"data.batch_size=0: must be >= 1"),
    (dict(model__state_size=0), r"model.state_size=0: must be >= 1"),
    (dict(distribution__cpu_devices=-2), r"distribution.cpu_devices=-2: must be >= 0"),
    (dict(checkpoint__every=0), r"checkpoint.every=0: must be >= 1"),
    (dict(logging__summary_every=0), r"logging.summary_every=0: must be >= 1"),
    (dict(es__sigma=0.0), r"es.sigma=0.0: must be > 0"),
    (dict(es__sigma=-0.1), r"es.sigma=-0.1: must be > 0"),
    (dict(es__learning_rate=0.0), r"es.learning_rate=0.0: must be > 0"),
    (dict(gradient__learning_rate=-1e-3), r"gradient.learning_rate=-0.001: must be > 0"),
    (dict(es__sigma=float("nan")), r"es.sigma=nan: must be > 0"),
    (dict(model__layers="conv8s0,dense"), r"model.layers='conv8s0,dense': conv strides "
                                          r"must be >= 1, got 0"),
    (dict(model__layers="conv8s0"), r"conv strides must be >= 1"),
    (dict(model__layers="conv0s2,dense"), r"conv filters must be >= 1"),
    (dict(model__layers="dense0,dense"), r"dense units must be >= 1"),
    (dict(model__layers="conv8s2"), r"must end with a dense layer"),
    (dict(evaluation__datasets="digits,mnsit"), r"evaluation.datasets: Unknown dataset "
                                                r"'mnsit'. Did you mean mnist"),
    (dict(evaluation__datasets=""), r"evaluation.datasets='': name at least one"),
    (dict(data__dataset="digitz"), r"data.dataset: Unknown dataset 'digitz'"),
    (dict(distribution__startup_timeout_s=0.0), r"startup_timeout_s=0.0: must be > 0"),
    (dict(evaluation__filter_classes="5,x"), r"evaluation.filter_classes='5,x': write "
                                             r"distinct class ids"),
    (dict(evaluation__filter_classes="1,1"), r"evaluation.filter_classes='1,1'"),
    (dict(data__filter_classes="-1,2"), r"data.filter_classes='-1,2'"),
])
def test_out_of_range_values_are_rejected_with_their_key(values, message):
    with pytest.raises(config_lib.ConfigError, match=message) as info:
        config_lib.validate(with_values(**values))
    assert "\n" not in str(info.value)


def test_valid_configs_pass():
    config_lib.validate(config_lib.base_config())
    config_lib.validate(with_values(model__layers="conv8s2,conv8k5s1,dense32,dense",
                                    training__num_iterations=0, evaluation__every=0))


def cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "vsml_tf.apps.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_reports_bad_values_and_files_in_one_line_before_any_work(tmp_path):
    bad_syntax = tmp_path / "bad.py"
    bad_syntax.write_text("from vsml_tf.runs.config import base_config\n"
                          "def get_config(:\n    return base_config()\n")
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    cases = [
        ([f"--config={bad_syntax}"], f"cannot load --config: {bad_syntax}, line 2"),
        ([f"--config={TESTING}", "--config.es.population_size=0"],
         "es.population_size=0: must be >= 1"),
        ([f"--config={TESTING}", "--config.evaluation.every=0",
          "--config.evaluation.datasets=digitz"], "Unknown dataset 'digitz'"),
        ([f"--config={TESTING}", f"--workdir={a_file}"], "is a file, not a directory"),
    ]
    for args, message in cases:
        workdir = [] if any(a.startswith("--workdir") for a in args) else \
            [f"--workdir={tmp_path / 'run'}"]
        result = cli(*args, *workdir)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and message in last, (args, last)
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "run").exists()  # nothing was started


def test_bad_learning_rate_decay_is_rejected_with_the_choices():
    from vsml_tf.runs.config import ConfigError, validate

    config = base_config()
    config.training.learning_rate_decay = "linear"
    with pytest.raises(ConfigError, match="learning_rate_decay='linear': use one of 'none', "
                                          "'cosine'"):
        validate(config)


def test_meta_test_reads_data_from_the_invoking_config(tmp_path):
    learner_config = base_config()
    learner_config.data.data_dir = "/the/run/machine"
    config = base_config()
    config.data.data_dir = str(tmp_path)
    config.data.source = "files"
    merged = with_episodes_of(learner_config, config)
    assert merged.data.data_dir == str(tmp_path) and merged.data.source == "files"
