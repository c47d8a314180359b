"""utils.checkpoint: atomic, finite-only writes; safe (weights-only) reads of our own full
training state; code in a pickle never runs; short architecture-mismatch errors."""
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from function_baseline.model_pos_preparation import build_lifter
from function_dhaug.gan_augmenter import GANAugmenter
from tests.function_dhaug.synthetic_data import SUBJECTS, make_pose_set, make_templates
from tests.utils.test_io import kill_writer_midway
from utils.camera import h36m_camera_table
from utils.checkpoint import (TRUST_FLAG, load_checkpoint, load_model_weights, save_checkpoint,
                              state_dict_mismatch)
from utils.config import parse_args
from utils.finite import NonFiniteError
from utils.io import DataError
from utils.seed import global_rng_state, make_generator, seed_everything, set_global_rng_state


def test_round_trip_and_clear_errors(tmp_path):
    path = tmp_path / "ckpt.pth.tar"
    save_checkpoint(path, {"epoch": 3, "model_pos": {"w": torch.ones(2)}})
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and torch.equal(state["model_pos"]["w"], torch.ones(2))
    with pytest.raises(DataError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pth.tar")
    with pytest.raises(DataError, match="optimizer"):
        load_checkpoint(path, ("model_pos", "optimizer"))
    (tmp_path / "junk.pth.tar").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pth.tar")
    with pytest.raises(DataError, match="is not a file"):
        load_checkpoint(tmp_path)
    (tmp_path / "torn.pth.tar").write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"cannot read checkpoint .*torn.pth.tar"):
        load_checkpoint(tmp_path / "torn.pth.tar")


def test_killed_writer_leaves_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "ckpt_last.pth.tar"
    save_checkpoint(path, {"epoch": 1, "model_pos": {"w": torch.arange(3.0)}})
    kill_writer_midway(path)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["model_pos"]["w"], torch.arange(3.0))


class MakesMarker:
    """Unpickling this runs ``open(marker, 'w')``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_that_runs_code_is_refused_and_never_runs(tmp_path, capsys):
    marker = tmp_path / "marker"
    zipped = tmp_path / "downloaded.pth.tar"
    torch.save({"model_pos": {"w": torch.ones(1)}, "payload": MakesMarker(marker)}, zipped)
    raw = tmp_path / "raw_pickle.pth.tar"
    raw.write_bytes(pickle.dumps({"model_pos": MakesMarker(marker)}))
    for path in (zipped, raw):
        with pytest.raises(DataError) as err:
            load_checkpoint(path)
        msg = str(err.value)
        assert str(path) in msg and TRUST_FLAG in msg and "\n" not in msg
        assert not marker.exists()
    assert "io.open" in str(pytest.raises(DataError, load_checkpoint, zipped).value)
    assert capsys.readouterr().err == ""                       # no torch warning either
    # The test's pickle really runs code when trusted, so the refusal above is what saved us.
    load_checkpoint(zipped, trust=True)
    assert marker.exists()


def _tiny_args():
    return parse_args(["--posenet_name", "mlp", "--stages", "1", "--batch_size", "8",
                       "--Gen_DenseDim", "16", "--Dis_DenseDim_3D", "16", "--Dis_DenseDim_2D", "16",
                       "--record_all_picture", "False", "--device", "cpu"])


def _trainer_state(args) -> dict:
    """The dictionary run_fk_gan's Trainer.state() writes, built from the real pieces after
    some training: pose net + Adam, GAN augmenter after an epoch, generators, RNG, log."""
    seed_everything(0)
    model = build_lifter(args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr_p)
    model(torch.randn(4, 16, 2)).square().mean().backward()
    opt.step()
    train = make_pose_set(40)
    aug = GANAugmenter(args, train, make_templates(), h36m_camera_table(SUBJECTS),
                       torch.device("cpu"), make_generator(0, 1), progress=False)
    aug.run_epoch(0)
    batch_gen = make_generator(0, 0)
    torch.randperm(10, generator=batch_gen)
    res = {"h36m": {"p1": 51.5, "p2": 40.25, "per_action": {"Walking": {"p1": 50.0, "p2": 39.0}},
                    "p1_action_mean": 50.0, "p2_action_mean": 39.0},
           "dhp": {"p1": 90.0, "p2": 70.0, "pck": 80.5, "auc": 45.25}}
    np.random.standard_normal()            # numpy now holds a cached Gaussian (has_gauss = 1)
    random.gauss(0, 1)                     # python too (gauss_next)
    return {"epoch": 3, "model_pos": model.state_dict(), "optimizer": opt.state_dict(),
            "augmenter": aug.state_dict(), "batch_gen": batch_gen.get_state(),
            "rng": global_rng_state(), "best": {"h36m_p1": 51.5, "dhp_p1": None},
            "last_res": res, "args": vars(args),
            "log": {"text_lines": [str(args), "epoch\tlr"], "json_lines": ['{"epoch": 0}']}}


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_our_full_training_state_loads_safely_and_restores_every_rng_exactly(tmp_path):
    args = _tiny_args()
    state = _trainer_state(args)
    path = save_checkpoint(tmp_path / "ckpt_last.pth.tar", state)
    torch.load(path, weights_only=True)                     # plain torch agrees it is safe
    loaded = load_checkpoint(path, ("model_pos", "optimizer", "epoch", "log"))
    assert _same(state, loaded)
    expected = (torch.rand(3), np.random.standard_normal(4), np.random.rand(2), random.gauss(0, 1),
                random.random())
    set_global_rng_state(loaded["rng"])
    again = (torch.rand(3), np.random.standard_normal(4), np.random.rand(2), random.gauss(0, 1),
             random.random())
    assert torch.equal(expected[0], again[0])
    assert all(np.array_equal(x, y) for x, y in zip(expected[1:3], again[1:3]))
    assert expected[3:] == again[3:]
    # The GAN continues exactly from the loaded state as from the live one.
    train = make_pose_set(40)
    fresh = [GANAugmenter(args, train, make_templates(), h36m_camera_table(SUBJECTS),
                          torch.device("cpu"), make_generator(5, 1), progress=False)
             for _ in range(2)]
    fresh[0].load_state_dict(state["augmenter"])
    fresh[1].load_state_dict(loaded["augmenter"])
    assert torch.equal(fresh[0].run_epoch(1).pose3d, fresh[1].run_epoch(1).pose3d)


def test_the_older_numpy_tuple_rng_form_still_restores():
    np.random.seed(4)
    legacy = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
              "python": random.getstate()}
    first = np.random.rand(3)
    set_global_rng_state(legacy)
    assert np.array_equal(first, np.random.rand(3))


def test_non_finite_state_is_never_written_and_the_last_good_file_stays(tmp_path):
    path = tmp_path / "ckpt_last.pth.tar"
    save_checkpoint(path, {"epoch": 1, "model_pos": {"w": torch.ones(2)}})
    good = path.read_bytes()
    bad_state = {"epoch": 2, "model_pos": {"w": torch.tensor([1.0, float("nan")])}}
    with pytest.raises(NonFiniteError, match=r"refusing to write .*ckpt_last.pth.tar: model_pos.w"):
        save_checkpoint(path, bad_state)
    with pytest.raises(NonFiniteError, match="best.h36m_p1"):
        save_checkpoint(path, {"model_pos": {}, "best": {"h36m_p1": float("inf")}})
    assert path.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_architecture_mismatch_is_one_short_line(tmp_path):
    small = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.Linear(64, 48))
    big = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.Linear(128, 48), torch.nn.ReLU(),
                              torch.nn.Linear(48, 48))
    assert state_dict_mismatch(small.state_dict(), small.state_dict()) is None
    diff = state_dict_mismatch(big.state_dict(), small.state_dict())
    assert diff == ("2 missing (e.g. '3.weight'), 3 of another shape (e.g. '0.weight': (64, 32) in "
                    "the file, (128, 32) here)")
    with pytest.raises(DataError) as err:
        load_model_weights(big, small.state_dict(), tmp_path / "c.pth.tar")
    msg = str(err.value)
    assert str(tmp_path / "c.pth.tar") in msg and "\n" not in msg and len(msg) < 300
    before = {k: v.clone() for k, v in big.state_dict().items()}
    assert _same(before, big.state_dict())                  # nothing was half-loaded
    load_model_weights(small, small.state_dict(), "same")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_disk_full_while_saving_a_checkpoint_is_one_line_and_keeps_the_last_one(
        tmp_path, monkeypatch, capsys):
    from utils.io import run_command
    path = tmp_path / "ckpt_last.pth.tar"
    save_checkpoint(path, {"epoch": 1, "model_pos": {"w": torch.ones(3)}})
    good = path.read_bytes()
    real_open = open

    def full_disk_open(file, mode="r", *args, **kwargs):   # the temporary sits on a full disk
        if str(file).endswith(".tmp") and "w" in mode:
            return real_open("/dev/full", mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk_open)
    state = {"epoch": 2, "model_pos": {"w": torch.zeros(200_000)}}
    assert run_command(lambda: save_checkpoint(path, state)) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err.startswith(f"error: no space left on device writing {path};") and err.count("\n") == 1
    assert path.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == [path.name]
