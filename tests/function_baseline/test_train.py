import torch

from function_baseline.pose_set import PoseSet, batch_indices
from function_baseline.train import train_epoch
from utils.config import parse_args


class Lifter(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 48))

    def forward(self, x):
        return self.net(x).view(-1, 16, 3)


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    pose2d = torch.randn(n, 16, 2, generator=g) * 0.1
    # Fixed depth: the root-relative 3D target is an exact linear function of the 2D input.
    pose3d = torch.cat([pose2d * 4, torch.full((n, 16, 1), 4.0)], dim=-1)
    zeros = torch.zeros(n, dtype=torch.long)
    return PoseSet(pose2d, pose3d, torch.zeros(n, 16), zeros, zeros)


def test_batch_indices_cover_everything_once():
    g = torch.Generator().manual_seed(3)
    idx = torch.cat(list(batch_indices(10, 4, g)))
    assert sorted(idx.tolist()) == list(range(10))
    assert [len(b) for b in batch_indices(10, 4, g, drop_last=True)] == [4, 4]


def test_training_lowers_the_loss_and_flip_doubles_the_steps():
    torch.manual_seed(0)
    data = _data()
    args = parse_args(["--batch_size", "16"])
    model = Lifter()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    first = train_epoch(model, opt, data, args, g)["loss"]
    for _ in range(20):
        last = train_epoch(model, opt, data, args, g)["loss"]
    assert last < 0.2 * first
    steps = opt.state[next(iter(model.parameters()))]["step"].item()
    assert steps == 21 * 4 * 2                       # 4 batches, plain + mirrored step each
    args_noflip = parse_args(["--batch_size", "16", "--flip_pos_model_input", "False"])
    opt2 = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt2, data, args_noflip, g)
    assert opt2.state[next(iter(model.parameters()))]["step"].item() == 4


def test_final_batch_of_one_is_skipped():
    data = _data(17)
    args = parse_args(["--batch_size", "16", "--flip_pos_model_input", "False"])
    model = Lifter()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt, data, args, torch.Generator().manual_seed(0))
    assert opt.state[next(iter(model.parameters()))]["step"].item() == 1
