import pytest

from function_baseline.epoch_plan import plan_epoch, total_epochs
from utils.config import parse_args


def _args(*argv):
    return parse_args(["--epochs", "4", "--additional_train_epoch", "2", "--lr_p", "1e-3", *argv])


def test_gan_warmup_gives_warmup_plus_one_gan_only_epochs():
    args = _args("--warmup", "2")
    plans = [plan_epoch(e, args) for e in range(total_epochs(args))]
    assert total_epochs(args) == 6
    assert [p.trains for p in plans] == [False, False, False, True, True, True]
    assert all(p.augment for p in plans)


@pytest.mark.parametrize("method, augment", [("normal", True), ("NO_enhance", False)])
def test_other_methods_train_every_epoch(method, augment):
    args = _args("--data_enhancement_method", method, "--warmup", "3")
    plans = [plan_epoch(e, args) for e in range(total_epochs(args))]
    assert all(p.trains for p in plans) and all(p.augment is augment for p in plans)


def test_learning_rates_follow_the_linear_then_exponential_schedule():
    args = _args("--additional_LR_decay", "0.5")
    # linear decay lr_p * (1 - e / (epochs + 1)) up to e = epochs, then a factor 0.5 per epoch
    assert plan_epoch(0, args).lr == pytest.approx(1e-3)
    assert plan_epoch(2, args).lr == pytest.approx(1e-3 * (1 - 2 / 5))
    assert plan_epoch(4, args).lr == pytest.approx(1e-3 / 5)
    assert plan_epoch(5, args).lr == pytest.approx(1e-3 / 5 * 0.5)
    # the log row shows the rate after the original's scheduler step, i.e. the next epoch's
    assert plan_epoch(2, args).lr_logged == pytest.approx(plan_epoch(3, args).lr)
