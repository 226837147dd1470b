"""The agent's ``session`` command: many answers from one process, the one-shot commands unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgekit.agent.runner import AGENT_PATH
from edgekit.remote.push import _CHECK_STORED


def _session(*requests) -> tuple[list[dict], subprocess.CompletedProcess]:
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)
    proc = subprocess.run([sys.executable, str(AGENT_PATH), "session"], input=lines, capture_output=True, text=True,
                          timeout=120)
    return [json.loads(line) for line in proc.stdout.splitlines()], proc


def test_one_session_answers_every_request_in_order(remote_models, tmp_path):
    model = str(remote_models["a"])
    answers, proc = _session(["probe", "--dir", str(tmp_path)],
                             ["bench", model, "--runs", "3", "--warmup", "0"],
                             "not json",
                             ["bench", str(tmp_path / "missing.tflite")],
                             ["script", _CHECK_STORED, str(tmp_path), model, "0" * 64],
                             ["script", "import sys; sys.exit('refused: ' + sys.argv[1])", "why"],
                             ["session"])
    assert proc.returncode == 0, proc.stderr
    assert len(answers) == 7
    probe, bench, garbage, missing, stored, refused, nested = answers
    assert probe["ok"] and probe["runtime"]["name"] and probe["free_disk_bytes"] > 0
    assert bench["ok"] and bench["timing_ms"]["runs"] == 3 and bench["model"]["path"] == model
    assert garbage["error"]["kind"] == "bad_args" and not garbage["ok"]
    assert missing["error"] == {"kind": "bad_args", "message": f"{tmp_path / 'missing.tflite'}: no such model file"}
    assert stored["status"] == 0 and json.loads(stored["stdout"])["sha256"] == bench["model"]["sha256"]
    assert (refused["status"], refused["stderr"]) == (1, "refused: why")
    assert nested["error"]["kind"] == "bad_args"


def test_the_one_shot_commands_still_answer_alone(remote_models):
    proc = subprocess.run([sys.executable, str(AGENT_PATH), "bench", str(remote_models["a"]), "--runs", "2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["timing_ms"]["runs"] == 2
    bad = subprocess.run([sys.executable, str(AGENT_PATH), "bench", "/no/such.tflite"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["kind"] == "bad_args"


def test_a_session_whose_answers_lost_their_reader_stops_its_benchmark(remote_models):
    """edgekit gone (sshd closes stdin and the answer pipe): the benchmark in flight is abandoned at once, so the
    deploy lock the process holds is released; stdin ending alone (requests piped ahead) is not enough."""
    agent = subprocess.Popen([sys.executable, str(AGENT_PATH), "session"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        agent.stdin.write(json.dumps(["probe"]) + "\n")
        agent.stdin.flush()
        assert json.loads(agent.stdout.readline())["ok"]  # the runtime is imported: the next request runs at once
        agent.stdin.write(json.dumps(["bench", str(remote_models["a"]), "--runs", "100000000", "--warmup", "0"]) + "\n")
        agent.stdin.close()
        with pytest.raises(subprocess.TimeoutExpired):
            agent.wait(timeout=1.5)  # a reader is still there: it gets its answer
        agent.stdout.close()
        assert agent.wait(timeout=10) == 0
    finally:
        agent.kill()
        agent.wait()
