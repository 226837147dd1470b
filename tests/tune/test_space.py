"""The search space: read from the stage registry, narrowed by the user, never an excluded recipe."""

from __future__ import annotations

import optuna
import pytest

from edgekit.errors import UsageError
from edgekit.optimize.stages import check_order, get_stage, stage_names
from edgekit.pipeline.config import OptimizeStep
from edgekit.tune.seeds import seed_recipes
from edgekit.tune.space import full_space, narrow, recipe


def test_every_registered_stage_and_its_tunables_are_dimensions():
    space = full_space()
    for name in stage_names():
        assert space.dims[name].param.kind == "bool"
        for tunable in get_stage(name).tunables:
            assert space.dims[f"{name}.{tunable.name}"].param is tunable
    assert stage_names() and {"convert.quantize", "convert.per_tensor"} <= set(space.dims)


def test_sampled_recipes_respect_the_stage_rules_and_build_their_configs():
    space = full_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(300):
        params = space.sample(study.ask())
        steps, convert = recipe(params)
        names = [s["step"] for s in steps]
        check_order(names)  # never an excluded pair, qat last
        for table in steps:
            OptimizeStep(table["step"], {k: v for k, v in table.items() if k != "step"}).settings()
        seen.update(names)
        if convert["per_tensor"]:
            assert convert["quantize"] in ("int8", "int16x8")
    assert seen == set(stage_names())  # every stage is reachable


def test_narrowing_fixes_and_ranges():
    space = narrow(full_space(), {"prune.sparsity": [0.6, 0.7], "ternary": False, "prune": True,
                                  "cluster.init": ["linear", "density"], "convert.quantize": "int8"})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(50):
        params = space.sample(study.ask())
        assert params["prune"] is True and params["ternary"] is False
        assert 0.6 <= params["prune.sparsity"] <= 0.7
        assert params["convert.quantize"] == "int8"
        assert params.get("cluster.init", "linear") in ("linear", "density")
        assert not params["binary"]  # binary excludes prune, which is fixed on


@pytest.mark.parametrize("overrides, message", [
    ({"prune.sparsty": 0.5}, "unknown tune parameter 'prune.sparsty'"),
    ({"prune.sparsity": [0.2, 0.9]}, "leaves its range [0.5, 0.95]"),
    ({"prune.sparsity": "high"}, "must be a float in [0.5, 0.95]"),
    ({"ternary": "no"}, "is true or false"),
    ({"cluster.init": "random"}, "takes kmeans++, linear, density"),
    ({"ternary": True, "cluster": True}, "cannot share a recipe"),
])
def test_bad_narrowing_is_one_line(overrides, message):
    with pytest.raises(UsageError) as err:
        narrow(full_space(), overrides, lambda name: "edgekit.toml:9: ")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("edgekit.toml:9: ")


def test_seed_recipes_start_with_the_toolbox_recipe_and_fit_the_narrowed_space():
    seeds = seed_recipes(full_space(), {"quantize": "int8"})
    first = seeds[0]
    assert [s["step"] for s in recipe(first)[0]] == ["distill", "prune", "ternary"]
    assert first["prune.sparsity"] == 0.8 and first["prune.structure"] == "runs"
    assert len(seeds) == len(set(map(str, seeds)))
    narrowed = narrow(full_space(), {"prune.sparsity": [0.5, 0.6], "ternary": False})
    fitted = seed_recipes(narrowed, {"quantize": "int8"})
    assert all(not s.get("ternary") for s in fitted)
    assert all(s["prune.sparsity"] <= 0.6 for s in fitted if "prune.sparsity" in s)
