import math
from argparse import Namespace

import pytest
import torch

from function_baseline.model_pos_preparation import (
    build_lifter, build_lifter_pair, count_parameters, init_lifter_weights,
    parse_architecture, receptive_field)
from models.lifter_poseformer import PoseFormerLifter
from models.lifter_videopose import DilatedTemporalLifter, StridedTemporalLifter


def _args(name, **kw):
    args = Namespace(posenet_name=name, stages=4, dropout=0.25, architecture="3,3,3")
    vars(args).update(kw)
    return args


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


# (name, flag overrides, parameter count in docs/lifters.md, receptive field)
CASES = [
    ("mlp", {"stages": 2}, 4_288_557, 1),
    ("mlp", {}, 8_495_149, 1),
    ("gcn", {}, 267_343, 1),
    ("videopose", {}, 8_485_933, 1),
    ("poseformer", {}, 8_473_170, 1),
    ("mulit_farme_videopose", {"architecture": "3,3"}, 4_347_952, 9),
    ("mulit_farme_videopose", {}, 8_546_352, 27),
    ("mulit_farme_videopose", {"architecture": "3,3,3,3"}, 12_744_752, 81),
    ("mulit_farme_poseformer", {"architecture": "3,3"}, 8_477_274, 9),
    ("mulit_farme_poseformer", {}, 8_486_508, 27),
    ("mulit_farme_poseformer", {"architecture": "3,3,3,3"}, 8_514_210, 81),
]


@pytest.mark.parametrize("name, flags, params, rf", CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_pair_counts_shapes_and_shared_weights(name, flags, params, rf):
    args = _args(name, **flags)
    assert receptive_field(args) == rf
    train, evaluation = build_lifter_pair(args, torch.Generator().manual_seed(0))
    assert count_parameters(train) == count_parameters(evaluation) == params
    assert _same_weights(train, evaluation)
    train.train()
    evaluation.eval()
    with torch.no_grad():
        if rf == 1:
            assert train(torch.randn(3, 16, 2)).shape == (3, 16, 3)
            assert evaluation(torch.randn(1, 32)).shape == (1, 16, 3)
        elif name == "mulit_farme_videopose":
            assert train(torch.randn(3, rf, 16, 2)).shape == (3, 1, 16, 3)
            assert evaluation(torch.randn(1, rf + 4, 16, 2)).shape == (1, 5, 16, 3)
        else:
            assert train(torch.randn(3, rf, 16, 2)).shape == (3, 1, 16, 3)
            assert evaluation(torch.randn(1, rf, 16, 2)).shape == (1, 1, 16, 3)


def test_eval_copies_have_their_own_form():
    train, evaluation = build_lifter_pair(_args("mulit_farme_videopose", architecture="3,3"))
    assert type(train) is StridedTemporalLifter and type(evaluation) is DilatedTemporalLifter
    for name in ("poseformer", "mulit_farme_poseformer"):
        train, evaluation = build_lifter_pair(_args(name, architecture="3"))
        assert isinstance(train, PoseFormerLifter) and type(evaluation) is type(train)
        assert max(m.rate for m in train.modules() if hasattr(m, "rate")) == pytest.approx(0.1)
        assert all(m.rate == 0 for m in evaluation.modules() if hasattr(m, "rate"))
    train, evaluation = build_lifter_pair(_args("gcn"))
    assert train is not evaluation and type(train) is type(evaluation)
    with torch.no_grad():   # separate modules: changing one leaves the other alone
        next(train.parameters()).add_(1.0)
    assert not _same_weights(train, evaluation)


def test_linear_weights_get_kaiming_normal_and_convs_keep_their_init():
    model = build_lifter(_args("mlp", stages=1), torch.Generator().manual_seed(1))
    w = model.linear_stages[0].w1.weight.detach()
    assert float(w.std()) == pytest.approx(math.sqrt(2.0 / 1024), rel=0.02)
    assert float(w.abs().max()) > 4 * math.sqrt(2.0 / 1024)      # Gaussian tails, not uniform
    vpose = build_lifter(_args("videopose", stages=1), torch.Generator().manual_seed(1))
    c = vpose.layers_conv[0].weight.detach()
    bound = 1.0 / math.sqrt(1024)                               # PyTorch's default conv init
    assert float(c.abs().max()) <= bound
    assert float(c.std()) == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_init_without_generator_only_redraws_linear_weights():
    torch.manual_seed(2)
    model = build_lifter(_args("mlp", stages=0), None)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    init_lifter_weights(model)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"w1.weight", "w2.weight"}


@pytest.mark.parametrize("name, flags", [("mlp", {"stages": 0}), ("gcn", {"stages": 1}),
                                         ("videopose", {"stages": 0}),
                                         ("mulit_farme_poseformer", {"architecture": "3"})])
def test_generator_alone_decides_the_weights(name, flags):
    args = _args(name, **flags)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    a = build_lifter(args, torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), state)       # caller's RNG left alone
    torch.manual_seed(4)
    b = build_lifter(args, torch.Generator().manual_seed(7))
    c = build_lifter(args, torch.Generator().manual_seed(8))
    assert _same_weights(a, b)
    assert not _same_weights(a, c)


def test_architecture_parser_refuses_even_or_non_numeric_widths():
    for bad in ("a,b", "3,4", "", "0"):
        with pytest.raises(ValueError, match="odd"):
            parse_architecture(bad)


def test_parse_architecture_and_count_parameters():
    assert parse_architecture("3,3,3") == (3, 3, 3)
    assert parse_architecture(" 1, 5") == (1, 5)
    assert count_parameters(torch.nn.Linear(3, 2)) == 8
    # BN running statistics are buffers, not parameters
    assert count_parameters(torch.nn.BatchNorm1d(5)) == 10
