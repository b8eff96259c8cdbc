"""The committed config reference (docs/reference/config.md) lists every key of
base_config() with its default and a meaning, and is what the generator writes today:
a new or changed key without a regenerated page fails here, not in a user's hands."""

import pathlib

import ml_collections

from vsml_tf.runs import config as config_lib
from vsml_tf.tools import config_reference

PAGE = pathlib.Path("docs") / "reference" / "config.md"


def page() -> str:
    # Searched upwards, so that this test may move into a subfolder of tests/.
    here = pathlib.Path(__file__).resolve()
    root = next(p for p in here.parents if (p / PAGE).exists())
    return (root / PAGE).read_text()


def all_leaves(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, (ml_collections.ConfigDict, dict)):
            yield from all_leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


def rows() -> dict[str, list[str]]:
    """key -> the cells of its table row."""
    out = {}
    for line in page().splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            out[cells[0].strip("`")] = cells
    return out


def test_every_key_appears_with_its_default_and_a_meaning():
    table = rows()
    keys = list(all_leaves(config_lib.base_config()))
    assert len(keys) > 100
    for key, default in keys:
        assert key in table, f"{key} is missing from docs/reference/config.md"
        assert table[key][1] == f"`{default!r}`", (key, table[key][1], default)
        assert table[key][2], f"{key} has no meaning: add a comment next to it"
    assert set(table) == {key for key, _ in keys}


def test_committed_page_is_the_generators_output():
    assert page() == config_reference.markdown(), (
        "docs/reference/config.md is stale: run "
        "`python -m vsml_tf.tools.config_reference > docs/reference/config.md`")
