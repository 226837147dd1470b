"""The command-line vocabulary: every option edgekit has, with the one meaning it has everywhere.

:data:`WORDS` is the table; the click command tree and the stage registry are checked
against it (:func:`violations`) and ``docs/cli.md`` is generated from all three
(:func:`markdown`). ``tests/cli/test_cli_vocabulary.py`` fails on an option that breaks
the table and on a stale ``docs/cli.md``; ``python tests/cli_vocabulary.py`` rewrites it.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import click

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


@dataclass(frozen=True)
class Word:
    """One option name: the kind of value it takes and what it means on every command that has it."""

    kind: str          # file | dir | int | float | choice | flag | text (a SPEC, a name, a host ...)
    meaning: str


WORDS: dict[str, Word] = {
    # what a command writes
    "-o/--output": Word("file", "the one file the command writes"),
    "--out": Word("dir", "the directory the command writes its files into"),
    "--tflite": Word("file", "also convert the result to this .tflite file"),
    "--json": Word("flag", "machine-readable JSON on stdout; messages stay on stderr"),
    # data
    "--train-data": Word("text", "labelled training data SPEC"),
    "--val-data": Word("text", "labelled validation data SPEC (the metrics before/after)"),
    "--calibration": Word("text", "representative inputs SPEC for int8/int16x8 quantization"),
    "--calibration-samples": Word("int", "calibration samples used (a fixed-seed choice)"),
    "--calibration-limit": Word("int", "at most this many calibration samples"),
    "--data": Word("text", "the data SPEC the command scores or checks on"),
    "--eval-data": Word("text", "labelled data SPEC that scores the result"),
    "--limit": Word("int", "at most this many samples (or rows)"),
    "--scale": Word("float", "input preprocessing: x * SCALE"),
    "--mean": Word("float", "input preprocessing: subtract MEAN"),
    "--std": Word("float", "input preprocessing: divide by STD"),
    # training: one set of defaults (edgekit.optimize.finetune.FINETUNE) on every command that fine-tunes
    "--epochs": Word("int", "epochs per stage of fine-tuning (demo: of training its CNN from scratch)"),
    "--batch-size": Word("int", "fine-tuning batch size"),
    "--learning-rate": Word("float", "Adam's fine-tuning learning rate"),
    "--seed": Word("int", "the seed of every random step: same seed and data, same result"),
    "--loss": Word("choice", "the loss for a model saved without one"),
    "--max-drop": Word("float", "the most the metric may drop before the stage backs off ([finetune] max_drop)"),
    "--max-epochs": Word("int", "an upper bound on fine-tuning epochs while a stage is over its budget"),
    # the user's model code
    "--custom-objects": Word("file", "a Python file defining the model's custom Keras classes"),
    "--import": Word("text", "a module to import for the model's custom Keras classes"),
    # conversion
    "--quantize": Word("choice", "the quantization mode"),
    "--io-type": Word("choice", "the type of the model's inputs/outputs"),
    "--per-tensor": Word("flag", "one int8 weight scale per tensor instead of per output channel"),
    "--storage": Word("text", "how the int8 weights are stored (int8, int4, sparse, lut)"),
    "--keep-float": Word("text", "leave this layer float in an int8 model"),
    "--weights": Word("choice", "with a .tflite MODEL: weight bits (alone: weight-only quantization)"),
    "--recipe": Word("file", "with a .tflite MODEL: an AI Edge Quantizer recipe file"),
    "--auto-mixed": Word("float", "keep the fewest layers float so accuracy drops at most this many points"),
    "--no-verify": Word("flag", "write the file even if it disagrees with its reference (a warning, \"verified\": false)"),
    # inspection
    "--nm": Word("text", "print the tensors whose name matches"),
    "--tensors/--no-tensors": Word("flag", "list every tensor"),
    "--arena": Word("flag", "measure the tensor arena TFLite Micro needs"),
    # benchmarking
    "--threads": Word("int", "interpreter threads"),
    "--runs": Word("int", "timed runs"),
    "--warmup": Word("int", "untimed runs before the timed ones"),
    "--runtime": Word("text", "the TFLite runtime to run on"),
    "--delegate": Word("text", "the delegate library to load (e.g. libedgetpu.so.1)"),
    "--timeout": Word("float", "seconds before the run is stopped"),
    "--bench-timeout": Word("float", "seconds before the benchmark on the device is stopped"),
    "--no-bench": Word("flag", "deploy without benchmarking"),
    "--op-profile": Word("flag", "also time each operator alone: its median and share, a summary by op type"),
    # devices
    "--target": Word("text", "a target profile (edgekit targets)"),
    "--host": Word("text", "a device as user@host[:port]"),
    "--device": Word("text", "a device from the inventory (or user@host)"),
    "--group": Word("text", "a group of devices from the inventory"),
    "--inventory": Word("file", "the devices inventory file"),
    "--parallel": Word("int", "devices handled at once"),
    "--verbose": Word("flag", "every device's progress lines and full result line"),
    "--remote-python": Word("text", "the Python on the device"),
    "--remote-dir": Word("text", "the directory on the device"),
    "--known-hosts": Word("file", "the known_hosts file host keys are checked against"),
    "--accept-new-host-key": Word("flag", "trust and record the key of a host seen for the first time"),
    "--ssh-config": Word("file", "an OpenSSH client config file"),
    "-i": Word("file", "an SSH private key"),
    "--connect-timeout": Word("float", "seconds to wait for an SSH connection"),
    "--command-timeout": Word("float", "seconds to wait for a remote command"),
    "--eval": Word("text", "labelled data SPEC scored on the device"),
    "--eval-limit": Word("int", "at most this many samples scored on the device"),
    "--reference": Word("file", "a reference model whose outputs the device's must match"),
    # results
    "--model": Word("text", "only runs of this model"),
    "--all": Word("flag", "include the runs of tune trials (left out by default)"),
    # build files, export
    "--force": Word("flag", "overwrite an existing file"),
    "--format": Word("choice", "the export format"),
    "--name": Word("text", "the file stem of the written files"),
    "--symbol": Word("text", "the C name of the array"),
    # tune
    "--trials": Word("int", "trials to run"),
    "--workers": Word("int", "local worker processes"),
    "--ray": Word("text", "the Ray cluster address to run trials on"),
    "--resume": Word("flag", "continue the study in --out"),
    "--sampler": Word("choice", "the Optuna sampler"),
    "--pruner": Word("choice", "how a search cuts hopeless trials by their per-epoch accuracy"),
    "--size": Word("choice", "the size objective (gzip or raw bytes)"),
    "--space": Word("text", "fix or narrow a search parameter NAME=VALUE"),
    "--trial-timeout": Word("float", "seconds before a trial fails"),
    "--latency/--no-latency": Word("flag", "minimise latency too"),
    "--no-seed-recipes": Word("flag", "do not start from the known-good recipes"),
    # budgets, as edgekit.toml's [budgets] keys
    "--min-accuracy": Word("float", "budget: accuracy at least A (0..1)"),
    "--max-accuracy-drop": Word("float", "budget: accuracy at most D below the float model's"),
    "--max-size-kb": Word("float", "budget: .tflite at most S KB"),
    "--max-gzip-kb": Word("float", "budget: gzipped .tflite at most S KB"),
    "--max-latency-ms": Word("float", "budget: p50 latency at most L ms"),
}

# The fine-tuning flags and the field of edgekit.optimize.finetune.Finetune each one defaults to.
FINETUNE_FLAGS = {"--epochs": "epochs", "--batch-size": "batch_size", "--learning-rate": "learning_rate",
                  "--seed": "seed"}
# Commands that train a model: each takes --seed.
TRAINING = ("demo", "optimize", "distill", "build", "tune")
# Commands whose --epochs is not a fine-tune (their default is their own).
FROM_SCRATCH = ("demo",)


def commands() -> dict[str, click.Command]:
    """Every edgekit command, in ``edgekit --help`` order."""
    from edgekit.cli import COMMANDS, cli

    ctx = click.Context(cli)
    return {name: cli.get_command(ctx, name) for name in COMMANDS}


def spelling(option: click.Option) -> str:
    return "/".join(option.opts + option.secondary_opts)


def options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden]


def kind(option: click.Option) -> str:
    """The vocabulary's kind of ``option``'s value."""
    if option.is_flag:
        return "flag"
    kind_ = option.type
    if isinstance(kind_, click.Path):
        return "dir" if not kind_.file_okay else "file" if not kind_.dir_okay else "text"
    if isinstance(kind_, click.Choice):
        return "choice"
    return {"integer": "int", "integer range": "int", "float": "float", "float range": "float"}.get(kind_.name, "text")


def stage_flags() -> dict[str, tuple[object, object]]:
    """Flag -> (stage, option) over the stage registry."""
    from edgekit.optimize.stages import stages

    return {flag: (stage, option) for stage in stages() for flag, option in stage.flags().items()}


def _stage_kind(option) -> str:
    return ("flag" if option.type is bool else "choice" if option.choices else
            {int: "int", float: "float"}.get(option.type, "text"))


def violations() -> list[str]:
    """Every way the command tree breaks the vocabulary: empty when it speaks it."""
    from edgekit.optimize.finetune import FINETUNE

    found, by_stage = [], stage_flags()
    for name, command in commands().items():
        given = {spelling(o): o for o in options(command)}
        for word, option in given.items():
            where = f"edgekit {name} {word}"
            if word in by_stage:
                stage, declared = by_stage[word]
                if kind(option) != _stage_kind(declared):
                    found.append(f"{where}: a {kind(option)}, but stage {stage.name} declares a "
                                 f"{_stage_kind(declared)}")
                continue
            entry = WORDS.get(word)
            if entry is None:
                found.append(f"{where}: not in the vocabulary (tests/cli_vocabulary.py WORDS); use a word of "
                             "the table or add one there")
            elif kind(option) != entry.kind:
                found.append(f"{where}: takes a {kind(option)}, but the vocabulary says {entry.kind} "
                             f"({entry.meaning})")
            elif word in FINETUNE_FLAGS and name not in FROM_SCRATCH and option.default is not None \
                    and option.default != getattr(FINETUNE, FINETUNE_FLAGS[word]):
                found.append(f"{where}: default {option.default}, but the shared fine-tuning default is "
                             f"{getattr(FINETUNE, FINETUNE_FLAGS[word])} (edgekit/optimize/finetune.py)")
        stage_words = {w for w in given if w in by_stage}
        for stage in {by_stage[w][0].name: by_stage[w][0] for w in stage_words}.values():
            missing = set(stage.flags()) - stage_words
            if missing:
                found.append(f"edgekit {name}: has stage {stage.name}'s flags but not {', '.join(sorted(missing))}")
        if "--epochs" in given and name not in TRAINING:
            found.append(f"edgekit {name}: trains (--epochs) but is not listed as a training command")
        if name in TRAINING and "--seed" not in given:
            found.append(f"edgekit {name}: trains but has no --seed")
    return found


# ---- docs/cli.md ---------------------------------------------------------------------------------------------

def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def _default(option: click.Option) -> str:
    value = option.default
    if option.is_flag or value is None or value == () or not isinstance(value, (int, float, str, tuple)):
        return ""
    return f"`{value}`"


def _vocabulary_table(tree: dict[str, click.Command]) -> list[str]:
    users: dict[str, list[str]] = {word: [] for word in WORDS}
    for name, command in tree.items():
        for option in options(command):
            users.setdefault(spelling(option), []).append(name)
    lines = ["| option | value | meaning | commands |", "|---|---|---|---|"]
    for word, entry in WORDS.items():
        names = ", ".join(users[word])
        lines.append(f"| `{word}` | {entry.kind} | {_cell(entry.meaning)} | {names} |")
    return lines


def _stage_table() -> list[str]:
    from edgekit.optimize.stages import stages

    lines = ["| # | stage | flag | TOML key / config argument | value | default |", "|---|---|---|---|---|---|"]
    for number, stage in enumerate(stages(), 1):
        defaults = {f.name: f.default for f in dataclasses.fields(stage.config)}
        for flag, option in stage.flags().items():
            value = "|".join(option.choices) if option.choices else option.metavar or _stage_kind(option)
            default = defaults.get(option.field, dataclasses.MISSING)
            shown = "" if option.field is None or default in (dataclasses.MISSING, None) else f"`{default}`"
            key = f"`{option.field}`" if option.field else f"(`step = \"{stage.name}\"`)"
            lines.append(f"| {number} | {stage.name} | `{flag}` | {key} | {_cell(value)} | {_cell(shown)} |")
    lines += ["", "| stage | cannot share a recipe with | must be last | what `edgekit tune` varies | "
                  "what `--max-drop` backs off |", "|---|---|---|---|---|"]
    for stage in stages():
        tunables = ", ".join(f"`{p.name}`" for p in stage.tunables)
        lines.append(f"| {stage.name} | {', '.join(stage.excludes)} | {'yes' if stage.last else ''} | {tunables} | "
                     f"{_cell(_backoff(stage.backoff))} |")
    return lines


def _backoff(backoff) -> str:
    """``sparsity`` toward 0 (unless ``structured``), or the declared reason there is nothing to back off."""
    from edgekit.optimize.stages import NoBackoff

    if isinstance(backoff, NoBackoff):
        return f"nothing: {backoff.why}"
    none = str(backoff.none).lower() if isinstance(backoff.none, bool) else f"{backoff.none:g}"
    return (f"`{backoff.field}` toward {none}{' (tried too)' if backoff.try_none else ''}"
            f"{f' (unless `{backoff.unless}`)' if backoff.unless else ''}")


def _renamed_table(tree: dict[str, click.Command]) -> list[str]:
    lines = ["| command | old spelling | use |", "|---|---|---|"]
    for name, command in tree.items():
        for old, new in getattr(command, "renamed", {}).items():
            lines.append(f"| {name} | `{old}` | `{new}` |")
    return lines


def _command_tables(tree: dict[str, click.Command]) -> list[str]:
    lines = []
    for name, command in tree.items():
        lines += [f"### edgekit {name}", "", _cell(_first_sentence(command.help)), "",
                  "| option | value | default | meaning |", "|---|---|---|---|"]
        for option in options(command):
            value = option.metavar or ("" if option.is_flag else kind(option))
            lines.append(f"| `{spelling(option)}` | {_cell(value)} | {_cell(_default(option))} | "
                         f"{_cell(_first_sentence(option.help))} |")
        lines.append("")
    return lines


def markdown() -> str:
    """docs/cli.md as the command tree, the stage registry and :data:`WORDS` make it."""
    from edgekit.optimize.finetune import FINETUNE

    tree = commands()
    lines = [
        "# The edgekit command line: one vocabulary",
        "",
        "<!-- Generated by `python tests/cli_vocabulary.py` from the click commands, the stage registry",
        "     (edgekit/optimize/stages.py) and the table in tests/cli_vocabulary.py; do not edit by hand.",
        "     tests/cli/test_cli_vocabulary.py fails when this file is stale. -->",
        "",
        "Rules every command follows (a test walks every command and checks them):",
        "",
        "- `-o/--output FILE` is the one file a command writes; `--out DIR` the directory it writes into.",
        "- A stage's flags are its name: `--STAGE` for its main setting or switch, `--STAGE-KEY` for the",
        "  others, where KEY is the stage's `[[optimize]]` TOML key and its config class's argument.",
        f"- Fine-tuning defaults are one set, `edgekit/optimize/finetune.py`: {FINETUNE.epochs} epochs per stage,",
        f"  learning rate chosen for the model (its saved Adam rate, else a range test's, else 1e-4 with warmup),",
        f"  batch size {FINETUNE.batch_size}, seed {FINETUNE.seed}, for "
        "`edgekit optimize`, `edgekit distill`,",
        "  `[finetune]` in edgekit.toml (`edgekit build`) and the trials of `edgekit tune`.",
        f"- Every command that trains ({', '.join(TRAINING)}) takes `--seed`.",
        "- An option name means one thing on every command that has it (the table below).",
        "- Old spellings keep working for one release and print one line:",
        "  `edgekit: warning: --OLD is deprecated; use --NEW`.",
        "",
        "## The vocabulary",
        "",
        *_vocabulary_table(tree),
        "",
        "## Optimize stages",
        "",
        "In the order `edgekit optimize` runs them (an `[[optimize]]` list runs in the order written).",
        "",
        *_stage_table(),
        "",
        "## Deprecated spellings",
        "",
        *_renamed_table(tree),
        "",
        "## Every command's options",
        "",
        *_command_tables(tree),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(DOC.parents[1]))
    DOC.write_text(markdown(), encoding="utf-8")
    print(f"wrote {DOC}")
