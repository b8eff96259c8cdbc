"""configs/invariances.py gives each worker its combination of projection, size and classes."""

import os

from checkout import ROOT
from checkout import load_module as load

from vsml_tf.runs import builder, per_worker
from vsml_tf.runs.config import validate

CONFIG = load(os.path.join(ROOT, "configs", "invariances.py"))


def test_each_worker_gets_its_projection_size_and_classes():
    config = CONFIG.get_config("laptop")
    validate(config)
    assert per_worker.period(config) == 8
    data = [per_worker.for_worker(config, w).data for w in range(8)]
    assert [d.rand_proj for d in data] == [False, True] * 4
    assert [d.resize for d in data] == CONFIG.LAPTOP_RESIZE
    sizes = [len(d.filter_classes.split(",")) if d.filter_classes else 10 for d in data]
    assert sizes == [10, 10, 3, 4, 10, 6, 7, 10]
    assert builder.num_shards(config, 1) == 8
