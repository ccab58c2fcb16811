"""Tests of featurelab.spec: parsing, validation with lines, expansion, keys."""

import copy
import json
import pickle
import re
import tomllib

import numpy as np
import pytest

from featurelab.datasets import load_digits_images
from featurelab.layers import ConvLayer, PoolLayer
from featurelab.network import FeatureNetwork
from featurelab.spec import (
    Architecture,
    ScreenSpec,
    build_network,
    config_key,
    default_spec,
    load_spec,
)

EXAMPLE = """\
[data]
dataset = "digits"        # "digits" | "mnist1d" | a .npz path
subset = 600

[protocol]
cv = 3
seed = 0

[screen]
kernels = ["random", "kmeans"]
heads = ["ridge"]
seeds = [0]
max_memory = "512MB"

[[architecture]]
name = "conv32"
output = ["region", 2, "sum"]
layers = [
  { type = "conv", n_kernels = 32, size = 3, padding = "same", pool = ["max", 2] },
  { type = "pool", size = 2, mode = "avg" },
]

[grid]
depth = [1, 2]
n_kernels = [16, 32]
size = [3, 5]
output = [["region", 2, "sum"]]
"""

GRID_NAMES = [f"d{d}-k{k}-s{s}" for d in (1, 2) for k in (16, 32) for s in (3, 5)]


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def line_of(text, needle):
    """1-based number of the only line of ``text`` that contains ``needle``."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def edit(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def as_dict(text):
    return tomllib.loads(text)


def keys(spec):
    return [c["key"] for c in spec.configurations()]


def minimal(**tables):
    """A small valid dict spec, with tables replaced or added."""
    spec = {"data": {"dataset": "digits"}, "protocol": {"cv": 3},
            "architecture": [{"name": "a", "layers": [
                {"type": "conv", "n_kernels": 8, "size": 3}]}]}
    spec.update(tables)
    return spec


# ---------------------------------------------------------------- parsing
def test_example_toml_parses(tmp_path):
    path = write(tmp_path, EXAMPLE)
    spec = load_spec(path)
    assert spec.source == str(path)
    assert (spec.dataset, spec.subset, spec.cv, spec.holdout, spec.protocol_seed) == (
        "digits", 600, 3, None, 0)
    assert spec.kernels == ("random", "kmeans")
    assert spec.heads == ("ridge",)
    assert spec.seeds == (0,)
    assert spec.max_memory == "512MB"
    names = [a.name for a in spec.architectures]
    assert names == ["conv32"] + GRID_NAMES
    conv32 = spec.architectures[0]
    assert conv32.layers == (
        {"type": "conv", "n_kernels": 32, "size": 3, "padding": "same",
         "pool": ["max", 2]},
        {"type": "pool", "mode": "avg"},  # size=2 is PoolLayer's default
    )
    assert conv32.output == ["region", 2, "sum"]
    configs = spec.configurations()
    assert len(configs) == 9 * 2
    assert len({c["key"] for c in configs}) == len(configs)
    assert all(re.fullmatch(r"[0-9a-f]{16}", c["key"]) for c in configs)
    assert [(c["architecture"], c["kernels"]) for c in configs[:4]] == [
        ("conv32", "random"), ("conv32", "kmeans"),
        ("d1-k16-s3", "random"), ("d1-k16-s3", "kmeans")]
    assert set(configs[0]) == {"key", "architecture", "layers", "output", "kernels",
                               "head", "seed"}
    json.dumps(configs)  # JSON data only


def test_dict_and_toml_give_the_same_spec_and_keys(tmp_path):
    from_toml = load_spec(write(tmp_path, EXAMPLE))
    from_dict = load_spec(as_dict(EXAMPLE))
    assert from_dict.source is None
    assert from_dict == from_toml
    assert keys(from_dict) == keys(from_toml)
    assert from_dict.data_hash == from_toml.data_hash


def test_tuples_in_dicts_are_lists_in_the_spec():
    spec = load_spec(minimal(architecture=[{"name": "a", "output": ("region", 2), "layers": (
        {"type": "conv", "n_kernels": 8, "pool": ("max", (2, 2))},)}]))
    arch = spec.architectures[0]
    assert arch.layers[0]["pool"] == ["max", [2, 2]]
    assert arch.output == ["region", 2, "sum"]  # mode filled in


def test_load_spec_sources(tmp_path):
    spec = load_spec(minimal())
    assert load_spec(spec) is spec
    assert load_spec(str(write(tmp_path, EXAMPLE))) == load_spec(tmp_path / "spec.toml")
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(TypeError, match="source must be"):
        load_spec(42)
    with pytest.raises(ValueError, match="source: got a string of several lines"):
        load_spec(EXAMPLE)


def test_array_of_tables_layers(tmp_path):
    text = """\
[data]
dataset = "mnist1d"
[protocol]
holdout = 0.2
seed = 3
[[architecture]]
name = "x"
output = "flatten"
[[architecture.layers]]
type = "conv"
n_kernels = 8
nonlinearity = "none"
[[architecture.layers]]
type = "pool"
mode = "l2"
stride = "none"
"""
    spec = load_spec(write(tmp_path, text))
    assert (spec.cv, spec.holdout, spec.protocol_seed) == (None, 0.2, 3)
    assert spec.architectures == (Architecture(
        "x", ({"type": "conv", "n_kernels": 8, "nonlinearity": "identity"},
              {"type": "pool", "mode": "l2"}), "flatten"),)
    bad = edit(text, 'mode = "l2"', 'mode = "median"')
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line_of(bad, 'median')}: "
                       r"architecture\[0\]\.layers\[1\]\.mode: must be one of"):
        load_spec(write(tmp_path, bad))


def test_none_strings_and_pool_tables():
    spec = load_spec(minimal(architecture=[{"name": "a", "layers": [
        {"type": "conv", "n_kernels": 8, "normalize": "none", "pool": "none",
         "kernel_params": "none"},
        {"type": "conv", "n_kernels": 8, "normalize": "lcn",
         "pool": {"mode": "avg", "size": 3, "stride": 2, "padding": 1}}]}]))
    first, second = spec.architectures[0].layers
    assert first == {"type": "conv", "n_kernels": 8}
    assert second["pool"] == {"mode": "avg", "size": 3, "stride": 2, "padding": 1}
    net = build_network(spec.configurations()[0])
    assert net.layers[0].normalize is None and net.layers[0].pool is None
    assert net.layers[1].pool == {"mode": "avg", "size": 3, "stride": 2, "padding": 1}


# ----------------------------------------------------------------- keys
def test_keys_are_stable_across_loads(tmp_path):
    assert keys(load_spec(write(tmp_path, EXAMPLE))) == keys(load_spec(as_dict(EXAMPLE)))
    assert keys(load_spec(as_dict(EXAMPLE))) == keys(load_spec(as_dict(EXAMPLE)))


@pytest.mark.parametrize("old, new", [
    ('dataset = "digits"', 'dataset = "mnist1d"'),
    ("subset = 600", "subset = 700"),
    ("subset = 600", ""),
    ("cv = 3", "cv = 4"),
    ("cv = 3", "holdout = 0.25"),
    ("seed = 0\n", "seed = 1\n"),
])
def test_data_and_protocol_change_every_key(old, new):
    base = load_spec(as_dict(EXAMPLE))
    changed = load_spec(as_dict(edit(EXAMPLE, old, new)))
    assert changed.data_hash != base.data_hash
    assert not set(keys(base)) & set(keys(changed))


@pytest.mark.parametrize("old, new", [
    ("n_kernels = 32", "n_kernels = 33"),
    ("size = 3,", "size = 4,"),
    ('padding = "same"', 'padding = "valid"'),
    ('pool = ["max", 2]', 'pool = ["avg", 2]'),
    ('mode = "avg"', 'mode = "max"'),
    ('output = ["region", 2, "sum"]\nlayers', 'output = ["region", 2, "max"]\nlayers'),
    ('{ type = "pool", size = 2, mode = "avg" },', ""),
])
def test_architecture_changes_change_its_keys(old, new):
    base = load_spec(as_dict(EXAMPLE)).configurations()
    changed = load_spec(as_dict(edit(EXAMPLE, old, new))).configurations()
    assert [c["key"] for c in changed[:2]] != [c["key"] for c in base[:2]]
    assert not {c["key"] for c in changed[:2]} & {c["key"] for c in base}
    assert [c["key"] for c in changed[2:]] == [c["key"] for c in base[2:]]


@pytest.mark.parametrize("old, new", [
    ('heads = ["ridge"]', 'heads = ["logistic"]'),
    ("seeds = [0]", "seeds = [1]"),
    ('kernels = ["random", "kmeans"]', 'kernels = ["pca", "patches"]'),
])
def test_head_seed_and_kernels_change_keys(old, new):
    base = set(keys(load_spec(as_dict(EXAMPLE))))
    changed = set(keys(load_spec(as_dict(edit(EXAMPLE, old, new)))))
    assert len(changed) == len(base) and not changed & base


def test_renaming_and_spelling_defaults_out_keep_keys():
    base = load_spec(as_dict(EXAMPLE)).configurations()
    text = edit(EXAMPLE, 'name = "conv32"', 'name = "renamed"')
    text = edit(text, 'pool = ["max", 2] }',
                'pool = ["max", 2], stride = 1, whiten = false, normalize = "none" }')
    text = edit(text, "[grid]\n", "[grid]\ndilation = [1]\n")
    changed = load_spec(as_dict(text)).configurations()
    assert changed[0]["architecture"] == "renamed"
    assert [c["key"] for c in changed] == [c["key"] for c in base]
    # the key ignores the name and any extra field, and survives JSON
    config = json.loads(json.dumps(base[0]))
    config["architecture"], config["accuracy"] = "other", 0.5
    assert config_key(config, load_spec(as_dict(EXAMPLE)).data_hash) == base[0]["key"]


def test_kernel_axis_is_skipped_when_every_conv_layer_sets_kernels():
    spec = load_spec(minimal(
        screen={"kernels": ["random", "kmeans"], "heads": ["ridge", "logistic"],
                "seeds": [0, 1]},
        architecture=[
            {"name": "own", "layers": [{"type": "conv", "kernels": "gabor"},
                                       {"type": "pool"}]},
            {"name": "mixed", "layers": [{"type": "conv", "kernels": "gabor"},
                                         {"type": "conv", "n_kernels": 8}]},
            {"name": "pool-only", "layers": [{"type": "pool"}]},
        ]))
    configs = spec.configurations()
    by_arch = {}
    for c in configs:
        by_arch.setdefault(c["architecture"], []).append((c["kernels"], c["head"],
                                                          c["seed"]))
    assert by_arch["own"] == [("-", h, s) for h in ("ridge", "logistic") for s in (0, 1)]
    assert by_arch["pool-only"] == by_arch["own"]
    assert by_arch["mixed"] == [(k, h, s) for k in ("random", "kmeans")
                                for h in ("ridge", "logistic") for s in (0, 1)]
    assert len({c["key"] for c in configs}) == len(configs) == 16
    # an explicit "random" is the layer's own source, not the axis
    spec = load_spec(minimal(architecture=[{"name": "r", "layers": [
        {"type": "conv", "kernels": "random"}]}]))
    assert [c["kernels"] for c in spec.configurations()] == ["-"]


# ----------------------------------------------------------------- grid
def test_grid_expansion_counts_and_names():
    spec = load_spec(minimal(architecture=[], grid={
        "depth": [1, 2, 3], "n_kernels": [8, 16], "size": [3],
        "nonlinearity": ["relu", "abs"], "whiten": [False, True]}))
    names = [a.name for a in spec.architectures]
    assert len(names) == 3 * 2 * 2 * 2
    assert names[:3] == ["d1-k8-nl_relu-white_off", "d1-k8-nl_relu-white_on",
                         "d1-k8-nl_abs-white_off"]
    assert len(set(names)) == len(names)
    for arch in spec.architectures:
        depth = int(arch.name.split("-")[0][1:])
        assert len(arch.layers) == depth
        assert all(layer == arch.layers[0] for layer in arch.layers)
        assert arch.layers[0]["size"] == 3 and arch.output == ["region", 2, "sum"]
    assert len(spec.configurations()) == 24


def test_grid_names_for_lists_pools_and_outputs():
    spec = load_spec(minimal(architecture=[], grid={
        "size": [3, [3, 5]], "pool": ["none", ["max", 2]],
        "output": [["region", 2, "sum"], "flatten"]}))
    assert [a.name for a in spec.architectures] == [
        "s3-pool_none-out_region2sum", "s3-pool_none-out_flatten",
        "s3-pool_max2-out_region2sum", "s3-pool_max2-out_flatten",
        "s3x5-pool_none-out_region2sum", "s3x5-pool_none-out_flatten",
        "s3x5-pool_max2-out_region2sum", "s3x5-pool_max2-out_flatten"]
    single = load_spec(minimal(architecture=[], grid={"n_kernels": [8]}))
    assert [a.name for a in single.architectures] == ["d1"]
    assert single.architectures[0].layers == ({"type": "conv", "n_kernels": 8},)


def test_grid_kernels_take_layers_off_the_kernel_axis():
    spec = load_spec(minimal(architecture=[], screen={"kernels": ["random", "pca"]},
                             grid={"kernels": ["gabor", "edges"]}))
    assert [(c["architecture"], c["kernels"]) for c in spec.configurations()] == [
        ("src_gabor", "-"), ("src_edges", "-")]


# ------------------------------------------------------------ bad input
def bad_toml(tmp_path, old, new, needle=None):
    """Write EXAMPLE with ``old`` replaced; return (path, line of needle)."""
    text = edit(EXAMPLE, old, new)
    return write(tmp_path, text), line_of(text, needle if needle is not None else new)


@pytest.mark.parametrize("old, new, needle, message", [
    ("[grid]", "[grids]", None, r"grids: unknown table 'grids'; expected among"),
    ("subset = 600", "subset = 600\nformat = 1", "format", r"data\.format: unknown key"),
    ('dataset = "digits"', 'dataset = ""', None, r"data\.dataset: expected one of"),
    ('dataset = "digits"', 'dataset = "digit"', None,
     r"data\.dataset: 'digit' is not one of \['digits', 'mnist1d'\] or a path"),
    ('dataset = "digits"', "dataset = 3", None, r"data\.dataset: expected .* got 3"),
    ("subset = 600", "subset = 1", None, r"data\.subset: expected an int >= 2, got 1"),
    ("subset = 600", "subset = 6.5", None, r"data\.subset: expected an int >= 2"),
    ("cv = 3", "cv = 1", None, r"protocol\.cv: expected an int >= 2, got 1"),
    ("cv = 3", "cv = true", None, r"protocol\.cv: expected an int >= 2, got True"),
    ("cv = 3", "holdout = 1.5", None,
     r"protocol\.holdout: expected a fraction in \(0, 1\), got 1\.5"),
    ("cv = 3", "cv = 3\nholdout = 0.2", "holdout",
     r"protocol\.holdout: give exactly one of cv .* got both"),
    ("cv = 3", "", "[protocol]", r"protocol: give exactly one of cv .* got neither"),
    ("seed = 0\n", "seed = -1\n", "seed = -1", r"protocol\.seed: expected an int >= 0"),
    ('kernels = ["random", "kmeans"]', 'kernels = ["random", "sift"]', None,
     r"screen\.kernels: 'sift' is not one of \['edges', 'gabor'"),
    ('kernels = ["random", "kmeans"]', "kernels = []", None,
     r"screen\.kernels: expected a non-empty list of kernel sources"),
    ('kernels = ["random", "kmeans"]', 'kernels = "random"', None,
     r"screen\.kernels: expected a non-empty list"),
    ('kernels = ["random", "kmeans"]', 'kernels = ["pca", "pca"]', None,
     r"screen\.kernels: duplicate entry 'pca'"),
    ('heads = ["ridge"]', 'heads = ["ridge", "svm"]', None,
     r"screen\.heads: 'svm' is not one of \['auto', 'linear_svc', 'logistic', 'ridge', "
     r"'sgd'\]"),
    ('heads = ["ridge"]', 'heads = [\n  "ridge",\n  "ridge",  # again\n]', "# again",
     r"screen\.heads: duplicate entry 'ridge'"),
    ("seeds = [0]", "seeds = []", None, r"screen\.seeds: expected a non-empty list"),
    ("seeds = [0]", 'seeds = [0, "1"]', None,
     r"screen\.seeds: expected an int >= 0, got '1'"),
    ("seeds = [0]", "seeds = [2, 2]", None, r"screen\.seeds: duplicate entry 2"),
    ('max_memory = "512MB"', 'max_memory = "lots"', None,
     r"screen\.max_memory: must be a number of bytes or a string like '512MB'"),
    ('max_memory = "512MB"', "max_memory = 1.5", None, r"screen\.max_memory: must be"),
    ('name = "conv32"', 'name = ""', None, r"architecture\[0\]\.name: expected a non-empty"),
    ('name = "conv32"', 'name = "conv32"\ncolor = "red"', "color",
     r"architecture\[0\]\.color: unknown key 'color'"),
    ('name = "conv32"', 'name = "d1-k16-s3"', None,
     r"architecture\[0\]\.name: name 'd1-k16-s3' is also the name of a grid"),
    ('output = ["region", 2, "sum"]\nlayers', 'output = ["ring", 2]\nlayers',
     '"ring"', r"architecture\[0\]\.output: must be 'flatten', \('region'"),
    ('output = ["region", 2, "sum"]\nlayers', 'output = ["region", 2, "median"]\nlayers',
     "median", r"architecture\[0\]\.output: mode must be one of"),
])
def test_bad_values_name_key_and_line(tmp_path, old, new, needle, message):
    path, line = bad_toml(tmp_path, old, new, needle)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}, line {line}: "
                       rf"{message}"):
        load_spec(path)
    # the same spec as a dict: the key path, no file and no line
    with pytest.raises(ValueError, match=rf"^{message}"):
        load_spec(as_dict(path.read_text()))


@pytest.mark.parametrize("new, needle, message", [
    ('{ type = "conv", n_kernels = 32, kernel_size = 3 },', "kernel_size",
     (r"architecture\[0\]\.layers\[0\]\.kernel_size: unknown conv layer parameter "
     r"'kernel_size' \(layer 0 of architecture 'conv32'\); expected one of")),
    ('{ type = "conv", n_kernels = 32 },\n  { type = "pool", window = 2 },', "window",
     (r"architecture\[0\]\.layers\[1\]\.window: unknown pool layer parameter 'window' "
     r"\(layer 1 of architecture 'conv32'\)")),
    ('{ type = "dense", n_kernels = 32 },', "dense",
     (r"architecture\[0\]\.layers\[0\]\.type: 'dense' is not one of "
     r"\['bank', 'channel_pool', 'conv', 'pool'\] \(layer 0 of architecture 'conv32'\)")),
    ('{ n_kernels = 32 },', "{ n_kernels = 32 }",
     r"architecture\[0\]\.layers\[0\]: missing key 'type'"),
    ('{ type = "conv", n_kernels = 0 },', "n_kernels = 0",
     r"architecture\[0\]\.layers\[0\]\.n_kernels: must be >= 1, got 0"),
    ('{ type = "conv", size = [3, 0] },', "size = [3, 0]",
     r"architecture\[0\]\.layers\[0\]\.size: must be >= 1 on every axis"),
    ('{ type = "conv", padding = "half" },', "half",
     r"architecture\[0\]\.layers\[0\]\.padding: must be one of \['full', 'same', 'valid'\]"),
    ('{ type = "conv", nonlinearity = "gelu" },', "gelu",
     r"architecture\[0\]\.layers\[0\]\.nonlinearity: must be one of"),
    ('{ type = "conv", pool = "max" },', 'pool = "max"',
     r"architecture\[0\]\.layers\[0\]\.pool: must be None, a \(mode, size\) pair"),
    ('{ type = "conv", pool = ["max", 2, 1] },', "pool = [",
     r"architecture\[0\]\.layers\[0\]\.pool: must be None"),
    ('{ type = "conv", pool = { mode = "max", size = 2, padding = 2 } },', "padding = 2",
     r"architecture\[0\]\.layers\[0\]\.pool: padding must be smaller than"),
    ('{ type = "conv", normalize = "batch" },', "batch",
     r"architecture\[0\]\.layers\[0\]\.normalize: must be one of \['lcn', 'patch'\]"),
    ('{ type = "conv", whiten = "yes" },', "yes",
     r"architecture\[0\]\.layers\[0\]\.whiten: must be True or False"),
    ('{ type = "conv", kernels = "sift" },', "sift",
     r"architecture\[0\]\.layers\[0\]\.kernels: 'sift' is not one of"),
    ('{ type = "conv", norm_epsilon = -1 },', "norm_epsilon",
     r"architecture\[0\]\.layers\[0\]\.norm_epsilon: must be a finite real number > 0"),
    ('{ type = "conv", kernel_params = 3 },', "kernel_params",
     r"architecture\[0\]\.layers\[0\]\.kernel_params: must be a table"),
    ('{ type = "conv" },\n  { type = "pool", size = 2, padding = 2 },', "padding = 2",
     r"architecture\[0\]\.layers\[1\]: pool padding must be smaller than the pool size"),
    ('"conv",', '"conv",', r"architecture\[0\]\.layers\[0\]: a layer must be a table"),
])
def test_bad_layers_name_key_index_architecture_and_line(tmp_path, new, needle, message):
    old = ('{ type = "conv", n_kernels = 32, size = 3, padding = "same", '
           'pool = ["max", 2] },')
    path, line = bad_toml(tmp_path, old, new, needle)
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line}: {message}"):
        load_spec(path)
    with pytest.raises(ValueError, match=rf"^{message}"):
        load_spec(as_dict(path.read_text()))


@pytest.mark.parametrize("old, new, needle, message", [
    (("depth = [1, 2]\nn_kernels = [16, 32]\nsize = [3, 5]\n"
     'output = [["region", 2, "sum"]]\n'), "", "[grid]", r"grid: empty grid"),
    ("size = [3, 5]", "size = []", None, r"grid\.size: empty grid"),
    ("size = [3, 5]", "size = 3  # one", "# one",
     r"grid\.size: expected a list of candidate values"),
    ("size = [3, 5]", "sizes = [3, 5]", None, r"grid\.sizes: unknown key 'sizes'"),
    ("size = [3, 5]", "type = [\"conv\"]", None, r"grid\.type: unknown key 'type'"),
    ("depth = [1, 2]", "depth = [1, 0]", None, r"grid\.depth: expected an int >= 1, got 0"),
    ("size = [3, 5]", "size = [3, 3]", None, r"grid\.size: duplicate entry 3"),
    ("size = [3, 5]", 'size = [3, "5"]', None, r"grid\.size: must be an int"),
    ("size = [3, 5]", 'pool = ["max", 2]  # one', "# one",
     r"grid\.pool: must be None.*a single pool is written pool = \[\[\"max\", 2\]\]"),
    ('output = [["region", 2, "sum"]]', 'output = ["region", 2, "sum"]  # one', "# one",
     (r"grid\.output: must be 'flatten'.*one candidate: a single output is written "
     r"output = \[\[\"region\", 2, \"sum\"\]\]")),
    ("size = [3, 5]", 'size = [\n  3,\n  "five",\n]', '"five"', r"grid\.size: must be"),
])
def test_bad_grids_name_key_and_line(tmp_path, old, new, needle, message):
    path, line = bad_toml(tmp_path, old, new, needle)
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line}: {message}"):
        load_spec(path)


def test_bad_architecture_sets(tmp_path):
    # two architectures with one name, and two with one network
    second = '\n[[architecture]]\nname = "conv32"\nlayers = [{ type = "pool" }]\n'
    text = edit(EXAMPLE, "[grid]", second + "[grid]")
    lines = [i for i, s in enumerate(text.splitlines(), 1) if s == 'name = "conv32"']
    with pytest.raises(ValueError, match=rf"spec\.toml, line {lines[1]}: "
                       r"architecture\[1\]\.name: duplicate architecture name 'conv32' "
                       r"\(also architecture\[0\]\)"):
        load_spec(write(tmp_path, text))
    same = ('\n[[architecture]]\nname = "same"\nlayers = [{ type = "conv", n_kernels = 16, '
            'size = 3 }]\n')
    text = edit(EXAMPLE, "[grid]", same + "[grid]")
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line_of(text, '[grid]')}: "
                       r"grid: architecture 'd1-k16-s3' is the same network as 'same'"):
        load_spec(write(tmp_path, text))
    # no architectures at all; a single [architecture] table instead of [[...]]
    text = EXAMPLE[:EXAMPLE.index("[[architecture]]")]
    with pytest.raises(ValueError, match=r"spec\.toml: architecture: no architectures"):
        load_spec(write(tmp_path, text))
    text = edit(EXAMPLE[:EXAMPLE.index("[grid]")], "[[architecture]]", "[architecture]")
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line_of(text, '[architecture]')}"
                       r": architecture: expected \[\[architecture\]\] tables"):
        load_spec(write(tmp_path, text))
    with pytest.raises(ValueError, match=r"^architecture\[0\]: missing key 'layers' "
                       r"\(architecture 'arch0'\)"):
        load_spec(minimal(architecture=[{"output": "flatten"}]))


def test_missing_tables_and_keys(tmp_path):
    text = edit(EXAMPLE, 'dataset = "digits"        # "digits" | "mnist1d" | a .npz path\n', "")
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line_of(text, '[data]')}: "
                       r"data\.dataset: missing; expected one of \['digits', 'mnist1d'\]"):
        load_spec(write(tmp_path, text))
    with pytest.raises(ValueError, match=r"^data: missing table \[data\]"):
        load_spec({"protocol": {"cv": 3}})
    with pytest.raises(ValueError, match=r"^protocol: missing table \[protocol\]"):
        load_spec({"data": {"dataset": "digits"}})
    with pytest.raises(ValueError, match=r"^data: expected a table \[data\], got 'digits'"):
        load_spec(minimal(data="digits"))
    with pytest.raises(TypeError, match=r"source must be a ScreenSpec, a dict"):
        load_spec([])


def test_bad_dict_values():
    with pytest.raises(ValueError, match=r"^screen\.seeds: expected an int >= 0"):
        load_spec(minimal(screen={"seeds": [0.5]}))
    with pytest.raises(ValueError, match=r"^architecture\[0\]\.layers\[0\]\.n_kernels: "
                       r"expected a finite number, got nan"):
        load_spec(minimal(architecture=[{"layers": [{"type": "conv",
                                                     "n_kernels": float("nan")}]}]))
    with pytest.raises(ValueError, match=r"^architecture\[0\]\.layers\[0\]\.kernels: "
                       r"object .* is not a spec value"):
        load_spec(minimal(architecture=[{"layers": [{"type": "conv",
                                                     "kernels": object()}]}]))


def test_toml_syntax_error_names_file_and_line(tmp_path):
    text = edit(EXAMPLE, "cv = 3", "cv == 3")
    with pytest.raises(ValueError, match=rf"spec\.toml, line {line_of(text, 'cv ==')}: "
                       r"invalid TOML: "):
        load_spec(write(tmp_path, text))
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="binary.toml: not a UTF-8 text file"):
        load_spec(path)


def test_lines_with_comments_strings_and_multiline_values(tmp_path):
    text = r'''# a spec with tricky text
[data]
dataset = "digits" # [screen] in a comment
[protocol]
cv = 3
[screen]
"kernels" = [ # sources
  'random',   # ok
  """kmeans""",
  "bogus", # bad
]
[[architecture]]
layers = [{ type = "conv", "n_kernels" = 8, kernel_params = { note = """
[screen]
heads = ["svm"]
\""" """"" }, pool = { mode = "max", size = 2 } }]
'''
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=rf"line {line_of(text, 'bogus')}: "
                       r"screen\.kernels: 'bogus' is not one of"):
        load_spec(path)
    text = edit(text, '  "bogus", # bad\n', "").replace('size = 2', 'size = 0')
    with pytest.raises(ValueError, match=rf"line {line_of(text, 'size = 0')}: "
                       r"architecture\[0\]\.layers\[0\]\.pool: size must be >= 1"):
        load_spec(write(tmp_path, text))


# ------------------------------------------------------------- round trip
def test_to_dict_round_trips(tmp_path):
    for spec in (load_spec(write(tmp_path, EXAMPLE)), default_spec(), default_spec(True),
                 load_spec(minimal(protocol={"holdout": 0.3, "seed": 2}))):
        data = spec.to_dict()
        again = load_spec(data)
        assert again == spec
        assert keys(again) == keys(spec)
        assert load_spec(json.loads(json.dumps(data))) == spec
    assert "grid" not in load_spec(as_dict(EXAMPLE)).to_dict()


def test_spec_is_frozen_hashable_and_pickles():
    spec = load_spec(minimal())
    with pytest.raises(AttributeError):
        spec.cv = 5
    assert isinstance(spec, ScreenSpec)
    assert hash(spec) == hash(load_spec(minimal())) and len({spec, default_spec()}) == 2
    assert pickle.loads(pickle.dumps(spec)) == spec


# ------------------------------------------------------------ build_network
def test_build_network_layers_and_params():
    spec = load_spec(as_dict(EXAMPLE))
    config = spec.configurations()[1]  # conv32 with k-means kernels
    assert (config["architecture"], config["kernels"]) == ("conv32", "kmeans")
    net = build_network(config, input_shape=(1, 8, 8), max_memory="64MB")
    assert isinstance(net, FeatureNetwork)
    conv, pool = net.layers
    assert isinstance(conv, ConvLayer) and isinstance(pool, PoolLayer)
    assert conv.get_params() == ConvLayer(32, 3, kernels="kmeans", padding="same",
                                          pool=("max", 2)).get_params()
    assert pool.get_params() == PoolLayer(2, mode="avg").get_params()
    assert net.output == ("region", 2, "sum")
    assert (net.input_shape, net.max_memory, net.random_state) == ((1, 8, 8), "64MB", 0)
    # lists become tuples again, also after a JSON round trip; own kernels kept
    config = json.loads(json.dumps({
        "layers": [{"type": "conv", "size": [3, 5], "padding": [[1, 2], [2, 2]],
                    "kernels": "gabor", "kernel_params": {"frequencies": [0.1, 0.2]}},
                   {"type": "conv", "n_kernels": 4, "stride": [1, 2]}],
        "output": ["adaptive", [2, 2], "max"], "kernels": "pca", "seed": 7}))
    net = build_network(config)
    first, second = net.layers
    assert first.size == (3, 5) and first.padding == ((1, 2), (2, 2))
    assert first.kernels == "gabor" and first.kernel_params == {"frequencies": (0.1, 0.2)}
    assert second.kernels == "pca" and second.stride == (1, 2)
    assert net.output == ("adaptive", (2, 2), "max") and net.random_state == 7


def test_build_network_bad_configs():
    good = {"layers": [{"type": "conv", "kernels": "gabor"}], "output": "flatten",
            "kernels": "-", "seed": 0}
    assert build_network(good).layers[0].kernels == "gabor"
    with pytest.raises(ValueError, match=r"config\.kernels: '-' means that every conv "
                       r"layer sets its own kernels, but layers\[0\] sets none"):
        build_network(dict(good, layers=[{"type": "conv"}]))
    with pytest.raises(ValueError, match=r"config: missing key\(s\) \['seed'\]"):
        build_network({k: v for k, v in good.items() if k != "seed"})
    with pytest.raises(ValueError, match=r"config\.layers\[0\]\.sizes: unknown conv"):
        build_network(dict(good, layers=[{"type": "conv", "sizes": 3}]))
    with pytest.raises(ValueError, match=r"config\.kernels: 'sift' is not one of"):
        build_network(dict(good, layers=[{"type": "conv"}], kernels="sift"))
    with pytest.raises(ValueError, match=r"config\.seed: expected an int >= 0"):
        build_network(dict(good, seed="0"))
    with pytest.raises(TypeError, match="config must be a dict"):
        build_network([good])


def test_built_networks_fit(tmp_path):
    X, _ = load_digits_images()
    for config in load_spec(write(tmp_path, EXAMPLE)).configurations()[:6]:
        net = build_network(config).fit(X[:30])
        assert net.transform(X[:3]).shape == (3, net.n_features_out_)


# ------------------------------------------------------------ default spec
@pytest.mark.parametrize("quick", [False, True])
def test_default_spec_builds_and_fits(quick):
    spec = default_spec(quick=quick)
    configs = spec.configurations()
    assert len(configs) == (8 if quick else 24)
    assert spec.dataset == "digits" and spec.cv == 3
    assert (spec.subset is not None) == quick
    assert len({c["key"] for c in configs}) == len(configs)
    assert {c["kernels"] for c in configs} == {"random", "kmeans"}
    X, _ = load_digits_images()
    for config in configs:
        net = build_network(config, max_memory=spec.max_memory)
        shape = (1, 8, 8)
        for layer in net.layers:  # every layer fits the maps it gets (no data)
            shape = layer.output_shape(shape)
        if quick:  # fitting the full screen's 1600-dim whitening takes ~10 s
            net.fit(X[:20])
            assert net.transform(X[:20]).shape == (20, net.n_features_out_)
            assert net.shapes_[-1] == shape


def test_default_spec_keys_are_copies():
    spec = default_spec()
    configs = spec.configurations()
    configs[0]["layers"][0]["n_kernels"] = 999
    assert spec.configurations()[0]["layers"][0]["n_kernels"] != 999
    assert copy.deepcopy(spec) == spec


def test_sharing_tile_and_channel_pool_layers_build():
    spec = load_spec({
        "data": {"dataset": "digits"}, "protocol": {"cv": 3},
        "screen": {"kernels": ["random"], "heads": ["ridge"], "seeds": [0]},
        "architecture": [{"name": "tiled-maxout", "layers": [
            {"type": "conv", "n_kernels": 8, "size": 3, "sharing": "tiled", "tile": [2, 3],
             "nonlinearity": "none"},
            {"type": "channel_pool", "group_size": 2, "mode": "l2"}]}],
    })
    net = build_network(spec.configurations()[0])
    conv, pool = net.layers
    assert (conv.sharing, conv.tile) == ("tiled", (2, 3))
    assert (type(pool).__name__, pool.group_size, pool.mode) == ("ChannelPoolLayer", 2, "l2")
    assert net.fit(np.zeros((4, 1, 8, 8))).shapes_[1:] == [(8, 6, 6), (4, 6, 6)]


@pytest.mark.parametrize("layer, message", [
    ({"type": "conv", "sharing": "tilted"},
     r"layers\[0\]\.sharing: must be one of \['local', 'shared', 'tiled'\]"),
    ({"type": "conv", "sharing": "tiled", "tile": 0}, r"layers\[0\]\.tile: "),
    ({"type": "channel_pool", "group_size": 0}, r"layers\[0\]\.group_size: must be >= 1"),
    ({"type": "channel_pool", "mode": "median"}, r"layers\[0\]\.mode: must be one of"),
    ({"type": "channel_pool", "size": 2}, "unknown channel_pool layer parameter 'size'"),
])
def test_bad_sharing_and_channel_pool_keys(layer, message):
    with pytest.raises(ValueError, match=message):
        load_spec({"data": {"dataset": "digits"}, "protocol": {"cv": 3},
                   "screen": {"kernels": ["random"], "heads": ["ridge"], "seeds": [0]},
                   "architecture": [{"name": "a", "layers": [layer]}]})


def test_bank_layers_in_a_spec():
    spec = load_spec({
        "data": {"dataset": "mnist1d"}, "protocol": {"holdout": 0.25},
        "screen": {"kernels": ["random"], "heads": ["ridge"], "seeds": [0]},
        "architecture": [
            {"name": "mini", "output": "flatten", "layers": [
                {"type": "conv", "n_kernels": 8, "size": 5, "padding": "same"},
                {"type": "bank", "kernels": "minirocket", "n_kernels": 168,
                 "pool": ["ppv", "lspv"], "kernel_params": {"max_dilations": 4}}]},
            {"name": "rocket", "output": "flatten", "layers": [
                {"type": "bank", "n_kernels": 100}]}]})
    configs = spec.configurations()
    assert [c["kernels"] for c in configs] == ["random", "-"]   # bank: no kernel axis
    net = build_network(configs[0])
    bank = net.layers[1]
    assert (type(bank).__name__, bank.kernels, bank.pool) == (
        "BankLayer", "minirocket", ("ppv", "lspv"))
    assert net.fit(np.zeros((3, 1, 40), np.float32)).n_features_out_ == 168 * 2


@pytest.mark.parametrize("layer, message", [
    ({"type": "bank", "kernels": "gabor"}, r"layers\[0\]\.kernels: must be one of"),
    ({"type": "bank", "pool": ["ppv", "median"]}, r"layers\[0\]\.pool: must be one of"),
    ({"type": "bank", "n_kernels": 0}, r"layers\[0\]\.n_kernels: must be >= 1"),
    ({"type": "bank", "kernel_params": 3}, r"layers\[0\]\.kernel_params: must be a table"),
    ({"type": "bank", "size": 9}, "unknown bank layer parameter 'size'"),
])
def test_bad_bank_keys(layer, message):
    with pytest.raises(ValueError, match=message):
        load_spec({"data": {"dataset": "mnist1d"}, "protocol": {"holdout": 0.25},
                   "screen": {"kernels": ["random"], "heads": ["ridge"], "seeds": [0]},
                   "architecture": [{"name": "a", "layers": [layer]}]})
