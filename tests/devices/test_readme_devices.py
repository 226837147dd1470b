"""The documents' device blocks (docs/test-devices.md) on the emulated devices, run as the page shows
them: ``rig.sh start``, a deploy to one Pi, a throttled Pi, a fleet from an inventory, ``rig.sh stop``.

They start and stop the rig themselves, so they run before any test of the session asks for the
``devices`` fixture (tests/devices/conftest.py orders them first)."""

from __future__ import annotations

import pytest

from readme_transcript import Session, block_problems, pages, parse, scratch
from helpers.support import ROOT

pytestmark = pytest.mark.device

DEVICE_BLOCKS = [block for page in pages(ROOT) for block in parse((ROOT / page).read_text(), page)
                 if block.device]


@pytest.fixture(scope="module")
def transcript(rig_machine, tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("readme-devices")
    session = Session(directory, scratch(ROOT, directory))
    return {block.name: [session.run(command) for command in block.commands] for block in DEVICE_BLOCKS}


@pytest.mark.parametrize("block", DEVICE_BLOCKS, ids=lambda block: block.name)
def test_device_block_prints_what_the_readme_says(block, transcript):
    problems = block_problems(block, transcript[block.name])
    assert not problems, "\n".join(problems)


def test_the_documents_have_device_blocks():
    assert len(DEVICE_BLOCKS) >= 3
