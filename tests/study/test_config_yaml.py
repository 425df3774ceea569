"""The study config reader: duplicate keys, alias bombs and huge values fail fast, in one line."""

from __future__ import annotations

import time

import pytest

from repalign import InputError
from repalign.cli import main
from repalign.study.config import config_from_dict, load_config

BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["models: *i"]
)


def test_duplicate_keys_are_refused_naming_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("models: [zoo]\nhuman:\n  ties: half\n  ties: exclude\n")
    with pytest.raises(InputError, match=r"dup.yaml: line 4: duplicate key 'ties' \(first given on line 3\)"):
        load_config(path)
    path.write_text("models: [zoo]\nmodels: [zoo:noise-00]\n")
    with pytest.raises(InputError, match="line 2: duplicate key 'models'"):
        load_config(path)


def test_an_alias_bomb_fails_fast_with_one_error_line(tmp_path, capsys):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    assert len(BOMB) < 1024
    start = time.perf_counter()
    assert main(["study", str(path), "--dry-run"]) == 2
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and "alias" in err[0] and "bomb.yaml" in err[0]


def test_small_aliases_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("models: [zoo]\nhuman: {datasets: &d [zoo]}\ntransfer: [{dataset: zoo, shots: [1]}]\n"
                    "analysis: {covariate: null}\nextraction: {batch_size: 8}\n")
    assert load_config(path).human.datasets == ("zoo",)
    path.write_text("models: &m [zoo]\nhuman: {datasets: [zoo]}\ntransfer: [{dataset: zoo, shots: [1]}]\n"
                    "zoo: &z {n_classes: 3}\n")
    assert load_config(path).zoo == {"n_classes": 3}


def test_the_validator_never_renders_a_huge_value():
    huge = list(range(1_000_000))
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        config_from_dict({"models": ["zoo"], "human": {"ties": huge}})
    assert time.perf_counter() - start < 1
    message = str(info.value)
    assert len(message) < 300 and "..." in message
    with pytest.raises(InputError) as info:
        config_from_dict({"models": ["zoo"], "human": {"similarity": "x" * 100_000}})
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", "/abs", "c:evil", " padded"])
def test_a_name_that_would_leave_runs_is_refused(name):
    with pytest.raises(InputError, match=r"cfg.yaml: name: .*outside runs/.*set output:"):
        config_from_dict({"name": name, "models": ["zoo"]}, source="cfg.yaml")


def test_an_explicit_output_folder_is_the_users_choice(tmp_path):
    cfg = config_from_dict({"name": "a/b", "models": ["zoo"], "output": str(tmp_path / "out")}, source="cfg.yaml")
    assert cfg.output == tmp_path / "out"
    assert config_from_dict({"name": "mine", "models": ["zoo"]}).output.as_posix() == "runs/mine"


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu", "cuda1"])
def test_a_misspelt_device_is_refused_when_the_config_is_read(device):
    with pytest.raises(InputError, match=r"cfg.yaml: extraction.device: .*not a device name"):
        config_from_dict({"models": ["zoo"], "extraction": {"device": device}}, source="cfg.yaml")


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:3", "mps", "CUDA"])
def test_device_names_are_checked_by_spelling_not_against_this_machine(device):
    # the units may run on a GPU node while the driver has none
    assert config_from_dict({"models": ["zoo"], "extraction": {"device": device}}).extraction.device == device
