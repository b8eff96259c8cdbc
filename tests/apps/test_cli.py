"""The commands' shared flag handling (apps/cli.py): unknown config keys and bad
worker_split overrides are one-line errors."""

import pytest
from checkout import TESTING, cli

from vsml_tf.runs import config as config_lib

pytestmark = pytest.mark.slow  # every test here takes more than ~5 s


@pytest.mark.parametrize("arg,key,hint", [
    ("--config.es.popluation_size=3", "es.popluation_size", "es.population_size"),
    ("--config.trainng.episode_length=3", "trainng.episode_length",
     "training.episode_length"),
])
def test_unknown_override_is_a_one_line_error(arg, key, hint):
    result = cli("train", f"--config={TESTING}", arg)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Unknown config key") and key in last and hint in last


def test_unknown_key_in_config_file(tmp_path):
    path = tmp_path / "typo.py"
    path.write_text("from vsml_tf.runs.config import base_config\n"
                    "def get_config():\n"
                    "    c = base_config()\n"
                    "    c.training.episode_lenght = 3\n"
                    "    return c\n")
    result = cli("train", f"--config={path}", f"--workdir={tmp_path / 'w'}")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "training.episode_lenght" in last and "training.episode_length" in last
    with pytest.raises(config_lib.ConfigError, match="episode_lenght"):
        c = config_lib.base_config()
        c.training.episode_lenght = 3
        config_lib.validate(c)


def test_bad_worker_split_override_is_a_one_line_error(tmp_path):
    result = cli("train", f"--config={TESTING}", f"--workdir={tmp_path}",
                 "--config.data.rand_proj=worker_split([False, 'yes'])")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("error: data.rand_proj=worker_split([False, \"yes\"]): option 'yes' is a "
                    "str, the field is a bool.")
