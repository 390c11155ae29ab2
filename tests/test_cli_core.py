"""The core CLI commands: `autopeft count` and `autopeft spaces`."""

import json
import subprocess
import sys

import autopeft
from autopeft.cli import main
from tests.conftest import minilm_path


def test_count_matches_the_library(capsys):
    path = minilm_path()
    assert main(["count", "--model", path, "--space", "lora_layerwise", "--sample", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    from transformers import AutoConfig

    mc = AutoConfig.from_pretrained(path)
    config = autopeft.SearchSpace.from_yaml("lora_layerwise").sample(mc, 3)
    assert out["trainable_params"] == config.num_trainable_params(mc) > 0
    assert out["bytes"] == 4 * out["trainable_params"]
    assert sum(out["breakdown"].values()) == out["trainable_params"]


def test_spaces_lists_shipped_spaces(capsys):
    assert main(["spaces"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["autopeft", "lora_layerwise", "mixed"]


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 1, "layers": [{"lora": {"qeury": 4}}]}')
    result = subprocess.run(
        [sys.executable, "-m", "autopeft.cli", "count", "--model", minilm_path(), "--config", str(bad)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "layers[0].lora" in lines[0] and "qeury" in lines[0]
