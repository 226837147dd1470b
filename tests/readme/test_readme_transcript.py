"""The README checker itself, on small made-up transcripts: what matches, what does not."""

from __future__ import annotations

import pytest

from readme_transcript import compare, line_matches, noise_lines, parse

README = '''text
<!-- readme-test: vary="^p50.*" -->
```console
$ edgekit thing a.tflite \\
    --flag
size 162,328 bytes, accuracy 98.61%
done in 5.5s
...
p50 0.0091  p90 0.0099
$ echo $?
0
```

```bash
edgekit init        # writes edgekit.toml
# a comment line
```
'''


def test_parse_commands_outputs_and_options():
    console, script = parse(README)
    assert console.tag == "console" and console.line == 3 and console.vary == ["^p50.*"]
    first, second = console.commands
    assert first.text == "edgekit thing a.tflite \\\n    --flag" and first.line == 4
    assert first.expected == ["size 162,328 bytes, accuracy 98.61%", "done in 5.5s", "...", "p50 0.0091  p90 0.0099"]
    assert second.text == "echo $?" and second.expected == ["0"]
    assert [c.text for c in script.commands] == ["edgekit init        # writes edgekit.toml"]
    assert not script.commands[0].check_output


def test_unknown_option_and_output_before_a_command_are_errors():
    with pytest.raises(ValueError, match="unknown readme-test option"):
        parse('<!-- readme-test: fast -->\n```console\n$ ls\n```\n')
    with pytest.raises(ValueError, match="output before"):
        parse('```console\nhello\n$ ls\n```\n')


def test_figures_are_exact_timings_by_shape():
    readme = "size 162,328 bytes, accuracy 98.61%, done in 5.5s, p50 0.031 ms"
    assert line_matches(readme, "size 162,328 bytes, accuracy 98.61%, done in 12.0s, p50 0.009 ms")
    assert not line_matches(readme, "size 162,329 bytes, accuracy 98.61%, done in 5.5s, p50 0.031 ms")
    assert not line_matches(readme, "size 162,328 bytes, accuracy 98.62%, done in 5.5s, p50 0.031 ms")
    assert not line_matches(readme, "size 162,328 bytes, accuracy 98.61%, done in 5.5s, p50 0.031 ms!")
    assert line_matches("float32   609,140   98.61%", "float32 609,140     98.61%")  # columns may shift
    assert line_matches("a 0.9861", "a 0.9900", tol=0.01) and not line_matches("a 0.9861", "a 0.9990", tol=0.01)


def test_vary_patterns_and_ellipses():
    assert line_matches("p50 0.0091  p90 0.0099", "p50 0.0200  p90 0.0300", vary=["^p50.*"])
    assert not line_matches("p50 0.0091  p90 0.0099", "p50 0.0200  p90 0.0300")
    assert line_matches("Host: …  x86_64  …  Python 3.11.7", "Host: vm  x86_64  Intel  2 CPUs  Python 3.11.7")
    assert not line_matches("Host: …  x86_64  …  Python 3.11.7", "Host: vm  x86_64  Intel  Python 3.11.8")


def test_output_is_any_interleaving_of_stdout_and_stderr():
    expected = ["progress 1", "...", "table 5", "progress 2"]
    assert compare(expected, ["table 5"], ["progress 1", "epoch 1", "epoch 2", "progress 2"]) is None
    miss = compare(expected, ["table 6"], ["progress 1", "progress 2"])
    assert miss is not None and miss.expected_line == "table 5" and "table 6" in miss.candidates
    assert compare(["a"], ["a", "b"], []) is not None          # unexpected output fails too
    assert compare(["a", "..."], ["a", "b"], ["c"]) is None


def test_noise_lines_are_found():
    stderr = ["converting ...", "I0000 00:00:1764 123 cpu_feature_guard.cc:210] oneDNN custom operations are on",
              "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", "WARNING:absl:Compiled the loaded model"]
    assert noise_lines(stderr) == stderr[1:]


def test_a_here_document_belongs_to_its_command():
    (block,) = parse("```console\n$ cat > a.toml <<'EOF'\n[x]\ny = 1\nEOF\n$ cat a.toml\n[x]\ny = 1\n```\n")
    write, show = block.commands
    assert write.text == "cat > a.toml <<'EOF'\n[x]\ny = 1\nEOF" and write.expected == []
    assert show.expected == ["[x]", "y = 1"]


def test_unordered_lines_may_come_in_any_order():
    from readme_transcript import in_order

    expected = ["start", "ok pi-1 1", "ok pi-2 2", "done"]
    actual = ["start", "ok pi-2 2", "ok pi-1 1", "done"]
    pattern = [r"^ok "]
    assert compare(in_order(expected, pattern), in_order(actual, pattern), []) is None
    assert compare(expected, actual, []) is not None
    assert compare(in_order(expected, pattern), in_order(["start", "ok pi-2 3", "ok pi-1 1", "done"], pattern), [])


HIDDEN = '''intro
<!-- readme-test: setup
```bash
python tests/helpers/bn_cnn.py mymodel.keras   # a model as the user has it
```
-->

```console
$ edgekit eval mymodel.keras --data val.npz
```
'''


def test_a_hidden_setup_block_runs_first_and_is_named_by_its_page():
    setup, visible = parse(HIDDEN, "docs/guide.md")
    assert setup.setup and setup.tag == "bash" and not setup.commands[0].check_output
    assert setup.commands[0].text.startswith("python tests/helpers/bn_cnn.py") and setup.line == 3
    assert not visible.setup and visible.name == "docs/guide.md:8 edgekit eval mymodel.keras --data val.npz"


def test_a_hidden_setup_comment_holds_one_bash_block_and_is_closed():
    with pytest.raises(ValueError, match="docs/guide.md: a hidden setup comment is not closed"):
        parse(HIDDEN.split("-->")[0], "docs/guide.md")
    with pytest.raises(ValueError, match="docs/guide.md:3: a hidden setup comment holds one bash block"):
        parse(HIDDEN.replace("```bash", "```console"), "docs/guide.md")


def test_an_unknown_state_is_one_line(tmp_path, monkeypatch):
    from readme_transcript import STATES_DIR, StateError, copy_state

    monkeypatch.setenv(STATES_DIR, str(tmp_path))
    with pytest.raises(StateError, match=r"^no state 'trained' \(known: demo, digits\)$"):
        copy_state("trained", tmp_path)
