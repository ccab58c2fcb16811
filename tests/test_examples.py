"""The example screen specifications in examples/ load, are the size their
comments say, and a tiny variant of each runs end to end."""

import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from featurelab.screen import screen
from featurelab.spec import build_network, load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# file name -> (input shape, architectures, configurations, samples of the
# tiny variant, the two architectures the tiny variant keeps)
CASES = {
    "digits.toml": ((1, 8, 8), 16, 32, 300,
                    ("d1-k16-s3-out_region2sum", "d2-k16-s3-out_region4sum")),
    "mnist1d.toml": ((1, 40), 24, 48, 400,
                     ("L1-k256-s9-gmax", "L2w-k64-k256-gmax")),
}


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES.glob("*.toml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_loads_with_the_documented_size(name):
    path = EXAMPLES / name
    input_shape, n_archs, n_configs, _, _ = CASES[name]
    spec = load_spec(path)
    assert spec.source == str(path)
    assert len(spec.architectures) == n_archs
    assert len(spec.configurations()) == n_configs
    # the header comment states the same numbers
    header = path.read_text(encoding="utf-8").split("\n\n")[0]
    match = re.search(r"(\d+) architectures .*?= (\d+) configurations", header,
                      re.DOTALL)
    assert match is not None, f"{name}: the header does not state the screen size"
    assert (int(match.group(1)), int(match.group(2))) == (n_archs, n_configs)
    # every conv layer takes the screen's kernel source, so each architecture
    # has one score per source (random vs k-means can be compared)
    assert spec.kernels == ("random", "kmeans")
    assert all(arch.uses_kernel_axis() for arch in spec.architectures)
    # every network can be built for the dataset's samples
    for config in spec.configurations():
        net = build_network(config, input_shape=input_shape)
        shape = input_shape
        for layer in net.layers:
            shape = layer.output_shape(shape)
        assert all(s >= 1 for s in shape), (config["architecture"], shape)
    # the spec survives a round trip through a dict
    assert load_spec(spec.to_dict()) == spec


def test_mnist1d_example_screens_on_training_signals_with_a_holdout():
    spec = load_spec(EXAMPLES / "mnist1d.toml")
    assert spec.dataset == "mnist1d" and spec.subset is None
    assert spec.holdout == 0.25 and spec.cv is None
    assert spec.heads == ("ridge",) and spec.seeds == (0,)
    depths = {sum(layer["type"] == "conv" for layer in arch.layers)
              for arch in spec.architectures}
    assert depths == {1, 2, 3}
    outputs = {arch.output if isinstance(arch.output, str) else
               (arch.output[0], arch.output[2]) for arch in spec.architectures}
    assert {"flatten", ("adaptive", "max"), ("adaptive", "avg"),
            ("region", "sum"), ("region", "max")} <= outputs


def test_digits_example_uses_three_fold_cv():
    spec = load_spec(EXAMPLES / "digits.toml")
    assert spec.dataset == "digits" and spec.cv == 3 and spec.holdout is None
    assert spec.heads == ("ridge",)


@pytest.mark.parametrize("name", sorted(CASES))
def test_tiny_variant_of_example_runs(name):
    _, _, _, subset, keep = CASES[name]
    raw = load_spec(EXAMPLES / name).to_dict()
    raw["architecture"] = [a for a in raw["architecture"] if a["name"] in keep]
    assert [a["name"] for a in raw["architecture"]] == list(keep)
    raw["data"]["subset"] = subset
    # one BLAS thread: on a few hundred samples more threads gain nothing, and
    # on a busy 2-core machine OpenBLAS threads that wait for a core made these
    # screens 3-4x slower
    with threadpool_limits(limits=1):
        table = screen(raw, results=None, verbose=False)
    assert len(table) == 4  # 2 architectures x 2 kernel sources
    assert list(table["status"]) == ["ok"] * 4, list(table["error"])
    assert sorted(table["kernels"]) == ["kmeans", "kmeans", "random", "random"]
    assert (table["accuracy"] > 0.2).all()  # ten classes: chance is 0.1
